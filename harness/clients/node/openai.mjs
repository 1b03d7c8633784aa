// node-openai: the `openai` npm package. Non-stream: chat.completions.create; stream: the SDK's own
// accumulation, chat.completions.stream(...) -> ChatCompletionStream.finalChatCompletion().
// The recorded request body is sent as it was (the SDK passes unknown keys through).

import { describe } from './describe.mjs';

export async function setup({ require, version }) {
  const mod = require('openai');
  const OpenAI = mod.OpenAI ?? mod.default ?? mod;
  return {
    library: 'openai',
    version: version('openai'),
    async run(job) {
      const client = new OpenAI({ baseURL: job.base_url, apiKey: 'replay', maxRetries: 0,
        timeout: job.timeout_ms });
      const body = { ...job.request };
      const stream = job.mode === 'stream';
      const api = stream ? 'chat.completions.stream' : 'chat.completions.create';
      if (stream) body.stream = true; else if (body.stream) body.stream = false;
      let completion;
      try {
        completion = stream
          ? await client.chat.completions.stream(body).finalChatCompletion()
          : await client.chat.completions.create(body);
      } catch (error) {
        return { api, tool_calls: [], finish_reason: null, text: null, error: describe(error, 'call') };
      }
      try {
        return { api, ...read(completion), error: null };
      } catch (error) {
        return { api, tool_calls: [], finish_reason: null, text: null, error: describe(error, 'result') };
      }
    },
  };
}

// As a user's tool loop reads it; a completion that is not one throws here (a result-stage error).
function read(completion) {
  const choice = completion.choices[0];
  const message = choice.message;
  const calls = (message.tool_calls ?? []).map((call) => ({
    id: call.id ?? null,
    name: call.function.name ?? null,
    arguments: call.function.arguments ?? null,
    rejected: null,
  }));
  if (message.function_call) {
    calls.push({ id: null, name: message.function_call.name ?? null,
      arguments: message.function_call.arguments ?? null, rejected: null });
  }
  return { tool_calls: calls, finish_reason: choice.finish_reason ?? null, text: message.content ?? null };
}
