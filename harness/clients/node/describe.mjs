// What a client raised, as {type, message, stage}: the class name (the AI SDK's `AI_…` name when it has
// one) and the message, with its cause, on one line.

const MAX_MESSAGE = 500;

export function describe(error, stage = 'call') {
  if (!(error instanceof Error)) {
    // The AI SDK hands on a provider's in-stream `{"error": {...}}` object as it came.
    const shown = typeof error === 'string' ? error : JSON.stringify(error);
    const type = error === null ? 'null' : Array.isArray(error) ? 'array' : typeof error;
    return { type: `${type} (not an Error)`, message: String(shown).slice(0, MAX_MESSAGE), stage };
  }
  const type = (error && (typeof error.name === 'string' && error.name.startsWith('AI_') ? error.name
    : error.constructor && error.constructor.name)) || typeof error;
  let message = error && error.message !== undefined ? String(error.message) : String(error);
  const cause = error && error.cause;
  if (cause && cause.message && !message.includes(cause.message)) {
    message += ` (cause: ${cause.message})`;
  }
  return { type, message: message.split(/\s+/).join(' ').slice(0, MAX_MESSAGE), stage };
}
