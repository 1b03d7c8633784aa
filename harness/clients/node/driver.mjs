// toolcall-harness client driver: one long-lived Node process per client library, fed over JSON lines.
//
//   node driver.mjs --client openai|ai-sdk --root <folder holding node_modules>
//
// stdout carries the protocol only. First line: {"ready": {"library", "version"}} or {"fatal": "..."}.
// Then one line in per exchange: {"seq", "base_url", "mode": "stream"|"nonstream", "request", "timeout_ms"}
// and one line out, in any order (exchanges run concurrently): {"seq", "result": {...}} or, when the
// driver itself failed, {"seq", "driver_error": "..."}.
// A result is {api, tool_calls: [{id, name, arguments, rejected}], finish_reason, text, error}, where
// error is {type, message, stage: "call"|"result"} for what the client raised, or null.
// The packages are loaded from --root (npm ci's folder), not from beside this file, so the scripts ship
// inside the Python package while node_modules lives in a user cache.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { setup as setupOpenAI } from './openai.mjs';
import { setup as setupAISDK } from './ai-sdk.mjs';
import { describe } from './describe.mjs';

const CLIENTS = { openai: setupOpenAI, 'ai-sdk': setupAISDK };

const write = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
// Libraries may log; only protocol lines may reach stdout.
console.log = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
console.info = console.log;
globalThis.AI_SDK_LOG_WARNINGS = false;
// A promise a client library leaves rejected after its error was reported must not end the process,
// and with it every exchange in flight.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`unhandled rejection: ${reason && reason.stack || reason}\n`);
});

function option(name) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
}

function loader(root) {
  const require = createRequire(path.join(root, 'package.json'));
  return {
    require,
    version(name) {
      const file = path.join(root, 'node_modules', ...name.split('/'), 'package.json');
      return JSON.parse(readFileSync(file, 'utf8')).version;
    },
  };
}

async function main() {
  const name = option('client');
  const root = option('root');
  if (!CLIENTS[name] || !root) {
    write({ fatal: `usage: driver.mjs --client ${Object.keys(CLIENTS).join('|')} --root <folder>` });
    process.exit(2);
  }
  let client;
  try {
    client = await CLIENTS[name](loader(root));
  } catch (error) {
    write({ fatal: `cannot load the ${name} packages from ${root}: ${describe(error).message}` });
    process.exit(3);
  }
  write({ ready: { library: client.library, version: client.version } });
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const pending = new Set();
  for await (const line of lines) {
    if (!line.trim()) continue;
    const job = JSON.parse(line);
    // client.run reports what the client raised inside its result; anything escaping it is a driver bug.
    const work = client.run(job)
      .then((result) => write({ seq: job.seq, result }))
      .catch((error) => write({ seq: job.seq, driver_error: `driver failed: ${error && error.stack || error}` }));
    pending.add(work);
    work.finally(() => pending.delete(work));
  }
  await Promise.all(pending);
}

main();
