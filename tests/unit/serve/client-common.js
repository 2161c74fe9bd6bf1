// SPDX-License-Identifier: GPL-3.0-or-later
// Shared by the serve test suites: loading the installed `openai` package, a tiny case runner that
// prints one line per case and bounded waits.
'use strict';
const path = require('path');

function loadOpenAI(depsDir) {
  const resolved = require.resolve('openai', { paths: [path.join(depsDir, 'node_modules')] });
  const mod = require(resolved);
  const version = require(path.join(path.dirname(resolved), 'package.json')).version;
  return { OpenAI: mod.OpenAI || mod.default || mod, openai: mod, version };
}

class Runner {
  constructor() { this.failed = 0; this.passed = 0; }
  async run(name, fn) {
    const start = Date.now();
    try {
      const detail = await fn();
      this.passed++;
      console.log(`ok ${name} (${Date.now() - start} ms)${detail ? ' ' + detail : ''}`);
    } catch (e) {
      this.failed++;
      console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
    }
  }
  finish() {
    console.log(`${this.passed} passed, ${this.failed} failed`);
    process.exit(this.failed ? 1 : 0);
  }
}

function assert(cond, message) { if (!cond) throw new Error(message); }
function eq(a, b, message) {
  const sa = JSON.stringify(a), sb = JSON.stringify(b);
  if (sa !== sb) throw new Error(`${message}: ${sa} != ${sb}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Expects `promise` to reject with an OpenAI APIError of `status`; returns the error.
async function expectStatus(promise, status, ErrorClass) {
  try {
    await promise;
  } catch (e) {
    assert(e.status === status, `expected HTTP ${status}, got ${e.status}: ${e.message}`);
    if (ErrorClass) assert(e instanceof ErrorClass, `expected ${ErrorClass.name}, got ${e.constructor.name}`);
    assert(e.error && typeof e.error.message === 'string' && typeof e.error.type === 'string',
      `error body lacks message/type: ${JSON.stringify(e.error)}`);
    return e;
  }
  throw new Error(`expected HTTP ${status}, but the request succeeded`);
}

// Reads a whole stream: the concatenated parts, the chunks and the finish reason.
async function collectChat(stream) {
  const out = { content: '', reasoning: '', chunks: [], finish: null, usage: null, logprobs: [], ext: [] };
  for await (const chunk of stream) {
    out.chunks.push(chunk);
    if (chunk.usage) out.usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.delta.content) out.content += choice.delta.content;
      if (choice.delta.reasoning_content) out.reasoning += choice.delta.reasoning_content;
      if (choice.logprobs && choice.logprobs.content) out.logprobs.push(...choice.logprobs.content);
      if (choice.logitscope) out.ext.push(...choice.logitscope.tokens);
      if (choice.finish_reason) {
        assert(out.finish === null, 'two chunks carry a finish_reason');
        out.finish = choice.finish_reason;
      }
    }
  }
  return out;
}

async function collectCompletion(stream) {
  const out = { text: '', chunks: [], finish: null, usage: null, tokens: [] };
  for await (const chunk of stream) {
    out.chunks.push(chunk);
    if (chunk.usage) out.usage = chunk.usage;
    for (const choice of chunk.choices) {
      out.text += choice.text;
      if (choice.logprobs) out.tokens.push(...choice.logprobs.tokens);
      if (choice.finish_reason) out.finish = choice.finish_reason;
    }
  }
  return out;
}

// The whole run may not outlast `ms`: a hung server fails the test instead of stalling CTest.
function watchdog(ms) {
  setTimeout(() => { console.log(`FAIL watchdog: the suite did not finish within ${ms} ms`); process.exit(3); }, ms).unref();
}

module.exports = { loadOpenAI, Runner, assert, eq, sleep, expectStatus, collectChat, collectCompletion, watchdog };
