// SPDX-License-Identifier: GPL-3.0-or-later
// Drives `logitscope-cli serve` with the official `openai` npm client (and raw fetch for inputs no
// client would send). One line per case ("ok NAME ..." / "FAIL NAME: ..."); exit 0 when all pass.
//
// usage: node serve-client.js SUITE --base-url http://127.0.0.1:PORT/v1 --model NAME --deps DIR [--api-key KEY]
//   SUITE: api | bad-input | load | queue | demo
'use strict';
const { loadOpenAI, Runner, watchdog } = require('./client-common');

function parseArgs(argv) {
  const out = { suite: argv[0] };
  for (let i = 1; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!args.suite || !args['base-url'] || !args.model || !args.deps) {
    console.error('usage: node serve-client.js SUITE --base-url URL --model NAME --deps DIR [--api-key KEY]');
    process.exit(2);
  }
  watchdog(Number(args['timeout-ms'] || 240000));
  const { OpenAI, openai, version } = loadOpenAI(args.deps);
  console.log(`openai npm ${version}, node ${process.version}, suite ${args.suite}`);
  const apiKey = args['api-key'] || '';
  const ctx = {
    OpenAI, openai, baseURL: args['base-url'], model: args.model, apiKey,
    headers: apiKey ? { Authorization: `Bearer ${apiKey}` } : {},
    client: new OpenAI({ baseURL: args['base-url'], apiKey: apiKey || 'none', maxRetries: 0, timeout: 60000 }),
  };
  const runner = new Runner();
  const run = (name, fn) => runner.run(name, fn);
  if (args.suite === 'api') await require('./suite-api')(ctx, run);
  else if (args.suite === 'bad-input') await require('./suite-bad-input')(ctx, run);
  else if (args.suite === 'load') await require('./suite-stress').load(ctx, run);
  else if (args.suite === 'queue') await require('./suite-stress').queue(ctx, run);
  else if (args.suite === 'demo') await require('./suite-demo')(ctx, run);
  else { console.error(`unknown suite ${args.suite}`); process.exit(2); }
  runner.finish();
}

main().catch((e) => { console.log(`FAIL main: ${e && e.stack ? e.stack : e}`); process.exit(1); });
