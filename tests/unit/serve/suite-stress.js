// SPDX-License-Identifier: GPL-3.0-or-later
// Load, queueing and cancellation: 32 concurrent streaming clients; a saturated queue answering 429;
// a client that disconnects mid-stream (or while queued) freeing the model for the next request.
'use strict';
const { assert, eq, sleep, expectStatus, collectChat } = require('./client-common');

const user = (text) => [{ role: 'user', content: text }];
const off = { chat_template_kwargs: { enable_thinking: false } };

async function load(ctx, run) {
  const { client, model } = ctx;
  await run('load_32_concurrent_streams', async () => {
    const clients = 32;
    const start = Date.now();
    const latencies = [];
    const results = await Promise.all(Array.from({ length: clients }, async (_, i) => {
      const t0 = Date.now();
      const s = await collectChat(await client.chat.completions.create({ model, messages: user(`client ${i} says hi`),
        max_tokens: 24, temperature: 0.8, seed: i, stream: true, stream_options: { include_usage: true },
        logprobs: i % 2 === 0, top_logprobs: i % 2 === 0 ? 2 : undefined,
        chat_template_kwargs: { enable_thinking: i % 3 !== 0 } }));
      latencies.push(Date.now() - t0);
      return s;
    }));
    const wall = Date.now() - start;
    let tokens = 0;
    results.forEach((s, i) => {
      eq(s.chunks[0].choices[0].delta.role, 'assistant', `client ${i}: role chunk`);
      assert(new Set(s.chunks.map((c) => c.id)).size === 1, `client ${i}: one id`);
      assert(['stop', 'length'].includes(s.finish), `client ${i}: finish_reason ${s.finish}`);
      assert(s.usage && s.usage.completion_tokens >= 1 && s.usage.completion_tokens <= 24, `client ${i}: usage`);
      const last = s.chunks[s.chunks.length - 1];
      eq(last.choices.length, 0, `client ${i}: usage chunk last`);
      if (i % 2 === 0) assert(s.logprobs.length >= s.usage.completion_tokens - 1, `client ${i}: logprobs`);
      tokens += s.usage.completion_tokens;
    });
    latencies.sort((a, b) => a - b);
    const health = await fetch(ctx.baseURL.replace(/\/v1$/, '/health'), { headers: ctx.headers });
    eq(health.status, 200, 'healthy after the load');
    const again = await client.chat.completions.create({ model, messages: user('still there?'), max_tokens: 4, ...off });
    assert(again.choices[0].finish_reason, 'serves after the load');
    return `clients=${clients} wall_ms=${wall} tokens=${tokens} tok_per_s=${(tokens / (wall / 1000)).toFixed(1)} ` +
      `latency_ms p50=${latencies[clients >> 1]} max=${latencies[clients - 1]}`;
  });
}

// Needs a server started with --max-queue 1 and a per-token delay, so requests stay busy for seconds.
async function queue(ctx, run) {
  const { client, model, OpenAI, baseURL } = ctx;
  const noRetry = new OpenAI({ baseURL, apiKey: ctx.apiKey || 'none', maxRetries: 0, timeout: 30000 });
  const long = { model, messages: user('go on'), max_tokens: 300, temperature: 0, ignore_eos: true, stream: true, ...off };

  // Starts a stream and resolves once its first content arrives; `abort` hangs up.
  async function startStream() {
    const controller = new AbortController();
    const stream = await noRetry.chat.completions.create(long, { signal: controller.signal });
    const it = stream[Symbol.asyncIterator]();
    let chunks = 0;
    const firstToken = (async () => {
      for (;;) {
        const { value, done } = await it.next();
        if (done) return false;
        chunks++;
        if (value.choices[0] && value.choices[0].delta.content) return true;
      }
    })();
    return { controller, firstToken, chunks: () => chunks, drain: async () => { try { for (;;) { const r = await it.next(); if (r.done) break; } } catch (e) { /* aborted */ } } };
  }

  await run('queue_full_gives_429_and_disconnect_cancels', async () => {
    const a = await startStream();
    assert(await a.firstToken, 'A streams');
    const bStart = Date.now();
    const b = await startStream();  // waits behind A
    await sleep(200);
    const e = await expectStatus(noRetry.chat.completions.create({ model, messages: user('c'), max_tokens: 2 }), 429,
      ctx.openai.RateLimitError);
    eq(e.code, 'queue_full', 'code');
    // A would run ~300 tokens x delay; hanging up must hand the model to B at once.
    const abortAt = Date.now();
    a.controller.abort();
    a.drain();
    assert(await b.firstToken, 'B streams');
    const handover = Date.now() - abortAt;
    assert(handover < 2500, `B started ${handover} ms after A hung up`);
    b.controller.abort();
    b.drain();
    const t0 = Date.now();
    const next = await noRetry.chat.completions.create({ model, messages: user('quick'), max_tokens: 3, ...off });
    const served = Date.now() - t0;
    assert(next.choices[0].finish_reason, 'next request served');
    assert(served < 5000, `next request took ${served} ms`);
    return `429 ok; handover_ms=${handover}; next_ms=${served}; B waited ${abortAt - bStart} ms`;
  });

  await run('queued_client_that_leaves_frees_its_slot', async () => {
    const a = await startStream();
    assert(await a.firstToken, 'A streams');
    const b = await startStream();  // queued
    await sleep(100);
    b.controller.abort();
    b.drain();
    // The server notices within its keep-alive interval (1 s) and gives the slot back, long before
    // A (300 tokens x 20 ms) would have finished and freed it anyway.
    const abortAt = Date.now();
    let freedAfter = -1;
    while (freedAfter < 0 && Date.now() - abortAt < 3000) {
      await sleep(100);
      const c = await startStream().then((s) => s, (err) => { if (err.status !== 429) throw err; return null; });
      if (c) { freedAfter = Date.now() - abortAt; c.controller.abort(); c.drain(); }
    }
    a.controller.abort();
    a.drain();
    assert(freedAfter >= 0, 'the queue slot of a departed client was not freed within 3 s');
    return `slot freed ${freedAfter} ms after the client left`;
  });

  await run('non_streaming_client_that_leaves_is_cancelled', async () => {
    // The clients of the tests before have left; wait until the model is free again.
    for (let t0 = Date.now(); ; await sleep(100)) {
      const probe = await noRetry.chat.completions.create({ model, messages: user('free?'), max_tokens: 1, ...off })
        .then(() => true, (err) => { if (err.status !== 429) throw err; return false; });
      if (probe) break;
      assert(Date.now() - t0 < 10000, 'the server stayed busy for 10 s');
    }
    // A non-streaming request of ~300 tokens x 20 ms; the client hangs up while it generates.
    const controller = new AbortController();
    const started = Date.now();
    const pending = noRetry.chat.completions.create({ ...long, stream: false }, { signal: controller.signal })
      .then(() => 'finished', (err) => (controller.signal.aborted ? 'aborted' : `failed: ${err.message}`));
    await sleep(800);
    const abortAt = Date.now();
    controller.abort();
    eq(await pending, 'aborted', 'the client hung up before the answer');
    // The server notices within a second and the model is free: a short request is served at once
    // instead of after the ~6 s the abandoned generation would still take.
    const next = await noRetry.chat.completions.create({ model, messages: user('quick'), max_tokens: 3, ...off });
    const served = Date.now() - abortAt;
    assert(next.choices[0].finish_reason, 'next request served');
    assert(served < 2500, `the next request was served ${served} ms after the client left`);
    return `hung up after ${abortAt - started} ms; next served ${served} ms later`;
  });
}

module.exports = { load, queue };
