// node-ai-sdk: `ai` (generateText / streamText) over `@ai-sdk/openai-compatible`.
//
// The AI SDK does not take an OpenAI request body: the recorded one is converted to its call (messages,
// tools without `execute`, so it reports calls and runs none; tool_choice; sampling settings), and every
// other key is passed through providerOptions, which openai-compatible merges into the body. Tool
// schemas go through `jsonSchema()` without a validator, so a call is judged on JSON, not on a schema.

import { describe } from './describe.mjs';

const PROVIDER = 'replay';
const SETTINGS = {
  temperature: 'temperature', top_p: 'topP', max_tokens: 'maxOutputTokens',
  max_completion_tokens: 'maxOutputTokens', presence_penalty: 'presencePenalty',
  frequency_penalty: 'frequencyPenalty', seed: 'seed',
};
const CONVERTED = new Set(['model', 'messages', 'tools', 'tool_choice', 'functions', 'function_call',
  'stream', 'stream_options', 'stop', ...Object.keys(SETTINGS)]);

export async function setup({ require, version }) {
  const ai = require('ai');
  const { createOpenAICompatible } = require('@ai-sdk/openai-compatible');
  return {
    library: 'ai + @ai-sdk/openai-compatible',
    version: `ai ${version('ai')}, @ai-sdk/openai-compatible ${version('@ai-sdk/openai-compatible')}`,
    async run(job) {
      const request = job.request ?? {};
      const stream = job.mode === 'stream';
      const api = stream ? 'streamText' : 'generateText';
      const provider = createOpenAICompatible({ name: PROVIDER, baseURL: job.base_url, apiKey: 'replay',
        includeUsage: Boolean(request.stream_options && request.stream_options.include_usage) });
      const call = {
        model: provider.chatModel(request.model ?? 'replay'),
        messages: convertMessages(request.messages ?? []),
        tools: convertTools(request, ai),
        toolChoice: convertToolChoice(request.tool_choice ?? request.function_call),
        maxRetries: 0,
        abortSignal: AbortSignal.timeout(job.timeout_ms),
        providerOptions: { [PROVIDER]: extras(request) },
        ...settings(request),
      };
      let outcome;
      try {
        outcome = stream ? await streamed(ai, call) : await ai.generateText(call);
      } catch (error) {
        return { api, tool_calls: [], finish_reason: null, text: null, error: describe(error, 'call') };
      }
      try {
        const { toolCalls, finishReason, text } = outcome;
        return { api, tool_calls: toolCalls.map(readCall), finish_reason: finishReason ?? null,
          text: text ?? null, error: null };
      } catch (error) {
        return { api, tool_calls: [], finish_reason: null, text: null, error: describe(error, 'result') };
      }
    },
  };
}

// streamText reports failures as `error` parts (and to onError) instead of throwing: the first one is
// what a user consuming fullStream sees, so it is raised as the call's error.
async function streamed(ai, call) {
  const errors = [];
  const result = ai.streamText({ ...call, onError: ({ error }) => { errors.push(error); } });
  for await (const part of result.fullStream) {
    if (part.type === 'error') errors.push(part.error);
  }
  if (errors.length) throw errors[0];
  return { toolCalls: await result.toolCalls, finishReason: await result.finishReason, text: await result.text };
}

function readCall(call) {
  return {
    id: call.toolCallId ?? null,
    name: call.toolName ?? null,
    arguments: call.input === undefined ? null : call.input,
    rejected: call.invalid ? describe(call.error).message || 'invalid' : null,
  };
}

function settings(request) {
  const out = {};
  for (const [key, name] of Object.entries(SETTINGS)) {
    if (typeof request[key] === 'number') out[name] = request[key];
  }
  if (request.stop != null) out.stopSequences = Array.isArray(request.stop) ? request.stop : [request.stop];
  return out;
}

function extras(request) {
  return Object.fromEntries(Object.entries(request).filter(([key]) => !CONVERTED.has(key)));
}

function convertTools(request, ai) {
  const functions = [
    ...(request.tools ?? []).filter((t) => t && t.function).map((t) => t.function),
    ...(request.functions ?? []),
  ];
  if (!functions.length) return undefined;
  return Object.fromEntries(functions.map((fn) => [fn.name, ai.tool({
    description: fn.description,
    inputSchema: ai.jsonSchema(fn.parameters ?? { type: 'object', properties: {} }),
  })]));
}

function convertToolChoice(choice) {
  if (choice == null) return undefined;
  if (typeof choice === 'string') return choice === 'any' ? 'required' : choice;
  const name = choice.function ? choice.function.name : choice.name;
  return name ? { type: 'tool', toolName: name } : undefined;
}

function text(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (p && typeof p.text === 'string' ? p.text : '')).join('');
  return content == null ? '' : JSON.stringify(content);
}

function parseArguments(raw) {
  if (raw && typeof raw === 'object') return raw;
  try {
    const value = JSON.parse(raw || '{}');
    return value && typeof value === 'object' ? value : {};
  } catch {
    return {};
  }
}

function userContent(content) {
  if (!Array.isArray(content)) return text(content);
  return content.map((part) => {
    if (part && part.type === 'image_url') {
      return { type: 'image', image: part.image_url && part.image_url.url };
    }
    return { type: 'text', text: part && typeof part.text === 'string' ? part.text : '' };
  });
}

// OpenAI chat messages -> AI SDK model messages; tool results get their tool's name from the call.
function convertMessages(messages) {
  const names = new Map();
  const out = [];
  for (const m of messages) {
    if (!m || typeof m !== 'object') continue;
    if (m.role === 'system' || m.role === 'developer') {
      out.push({ role: 'system', content: text(m.content) });
    } else if (m.role === 'user') {
      out.push({ role: 'user', content: userContent(m.content) });
    } else if (m.role === 'assistant') {
      const parts = [];
      if (text(m.content)) parts.push({ type: 'text', text: text(m.content) });
      const calls = [...(m.tool_calls ?? [])];
      if (m.function_call) calls.push({ id: `legacy-${out.length}`, function: m.function_call });
      for (const c of calls) {
        const name = c.function ? c.function.name : undefined;
        names.set(c.id, name);
        parts.push({ type: 'tool-call', toolCallId: String(c.id), toolName: name ?? 'unknown',
          input: parseArguments(c.function && c.function.arguments) });
      }
      out.push({ role: 'assistant', content: parts.length ? parts : '' });
    } else if (m.role === 'tool' || m.role === 'function') {
      const id = m.tool_call_id ?? `legacy-${out.length - 1}`;
      out.push({ role: 'tool', content: [{ type: 'tool-result', toolCallId: String(id),
        toolName: names.get(id) ?? m.name ?? 'unknown', output: { type: 'text', value: text(m.content) } }] });
    }
  }
  return out;
}
