// SPDX-License-Identifier: GPL-3.0-or-later
// The API through the official client: models, chat (plain, streamed, thinking on/off, logprobs,
// seeds), completions (token ids, stepping, text, stop strings, legacy logprobs), the routing
// extension, and the errors a client sees as typed exceptions.
'use strict';
const { assert, eq, expectStatus, collectChat, collectCompletion } = require('./client-common');

const user = (text) => [{ role: 'user', content: text }];
const off = { chat_template_kwargs: { enable_thinking: false } };

module.exports = async function api(ctx, run) {
  const { client, model, openai } = ctx;
  let info;

  await run('models_list_and_retrieve', async () => {
    const list = await client.models.list();
    eq(list.data.map((m) => m.id), [model], 'model ids');
    info = list.data[0].logitscope;
    assert(info && info.max_context > 0 && Array.isArray(info.moe_layers), 'logitscope model info');
    const one = await client.models.retrieve(model);
    eq(one.id, model, 'retrieved id');
  });

  await run('chat_plain_shape', async () => {
    const r = await client.chat.completions.create({ model, messages: user('Hello there'), max_tokens: 12,
      temperature: 0, ...off });
    assert(r.id.startsWith('chatcmpl-') && r.object === 'chat.completion', 'id/object');
    const c = r.choices[0];
    eq(c.message.role, 'assistant', 'role');
    assert(typeof c.message.content === 'string', 'content is a string');
    assert(c.message.reasoning_content === null, 'no reasoning with thinking off');
    assert(['stop', 'length'].includes(c.finish_reason), `finish_reason ${c.finish_reason}`);
    eq(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens, 'usage sum');
    assert(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 12, 'completion_tokens');
    if (c.finish_reason === 'length') eq(r.usage.completion_tokens, 12, 'length means max_tokens');
    return `content=${JSON.stringify(c.message.content.slice(0, 40))} usage=${JSON.stringify(r.usage)}`;
  });

  for (const thinking of [true, false]) {
    await run(`chat_stream_equals_whole_thinking_${thinking}`, async () => {
      const params = { model, messages: user('Tell me a story'), max_tokens: 20, temperature: 0,
        chat_template_kwargs: { enable_thinking: thinking } };
      const whole = await client.chat.completions.create(params);
      const s = await collectChat(await client.chat.completions.create({ ...params, stream: true,
        stream_options: { include_usage: true } }));
      eq(s.chunks[0].choices[0].delta.role, 'assistant', 'first chunk role');
      assert(new Set(s.chunks.map((c) => c.id)).size === 1, 'one id for all chunks');
      assert(s.chunks.every((c) => c.object === 'chat.completion.chunk'), 'chunk object');
      eq(s.content, whole.choices[0].message.content, 'content');
      eq(s.reasoning, whole.choices[0].message.reasoning_content || '', 'reasoning');
      eq(s.finish, whole.choices[0].finish_reason, 'finish_reason');
      eq(s.usage, whole.usage, 'usage');
      if (thinking) {
        // The template opens <think>; until the model closes it, everything is reasoning.
        assert(whole.choices[0].message.reasoning_content || whole.choices[0].message.content !== undefined,
          'thinking on: a reasoning or content field');
        assert(!(s.content + s.reasoning).includes('<think>'), 'no tag in the output');
      } else {
        assert(whole.choices[0].message.reasoning_content === null, 'thinking off: reasoning_content null');
      }
      return `chunks=${s.chunks.length} reasoning=${s.reasoning.length}B content=${s.content.length}B`;
    });
  }

  await run('thinking_toggle_changes_prompt_and_split', async () => {
    const base = { model, messages: user('Why is the sky blue?'), max_tokens: 16, temperature: 0 };
    const on = await client.chat.completions.create(base);
    const no = await client.chat.completions.create({ ...base, ...off });
    const onMsg = on.choices[0].message, offMsg = no.choices[0].message;
    assert(offMsg.reasoning_content === null, 'off: reasoning_content null');
    // On: the prompt ends inside <think>, so text before any </think> is reasoning, not content.
    if (on.usage.completion_tokens > 1) assert(typeof onMsg.reasoning_content === 'string' && onMsg.reasoning_content.length > 0 || onMsg.content.length > 0, 'on: some output');
    assert(!onMsg.content.includes('</think>') && !(onMsg.reasoning_content || '').includes('</think>'), 'tags stripped');
    return `on: reasoning=${JSON.stringify((onMsg.reasoning_content || '').slice(0, 30))} content=${JSON.stringify(onMsg.content.slice(0, 30))}; off: content=${JSON.stringify(offMsg.content.slice(0, 30))}`;
  });

  await run('chat_logprobs_top_logprobs', async () => {
    for (const k of [0, 5, 20]) {
      const r = await client.chat.completions.create({ model, messages: user('Count'), max_tokens: 8, temperature: 0,
        logprobs: true, top_logprobs: k, ...off });
      const entries = r.choices[0].logprobs.content;
      assert(entries.length >= r.usage.completion_tokens - 1 && entries.length <= r.usage.completion_tokens,
        `entries ${entries.length} vs completion_tokens ${r.usage.completion_tokens}`);
      for (const e of entries) {
        assert(typeof e.token === 'string' && e.logprob <= 0 && Array.isArray(e.bytes), 'entry shape');
        eq(e.top_logprobs.length, k, 'top_logprobs length');
        for (let i = 1; i < k; i++) assert(e.top_logprobs[i - 1].logprob >= e.top_logprobs[i].logprob, 'sorted');
        if (k > 0) {  // greedy: the chosen token is the most likely one
          eq(e.token, e.top_logprobs[0].token, 'greedy token is top-1');
          assert(Math.abs(e.logprob - e.top_logprobs[0].logprob) < 1e-6, 'greedy logprob is top-1');
        }
      }
      const text = entries.map((e) => Buffer.from(e.bytes)).reduce((a, b) => Buffer.concat([a, b]), Buffer.alloc(0));
      // The answer is the text with leading whitespace trimmed (as vLLM's reasoning parsers do). Random
      // weights emit stray bytes; compare where the text is whole characters.
      const content = r.choices[0].message.content;
      if (!content.includes('\uFFFD')) eq(text.toString('utf8').trimStart(), content.trimStart(), 'bytes spell the content');
    }
    const s = await collectChat(await client.chat.completions.create({ model, messages: user('Count'), max_tokens: 8,
      temperature: 0, logprobs: true, top_logprobs: 3, stream: true, ...off }));
    assert(s.logprobs.length >= 1 && s.logprobs.every((e) => e.top_logprobs.length === 3), 'streamed logprobs');
  });

  await run('chat_seed_reproducible', async () => {
    const p = { model, messages: user('Pick words'), max_tokens: 16, temperature: 1.0, top_p: 0.95, seed: 1234, ...off };
    const a = await client.chat.completions.create(p);
    await client.chat.completions.create({ ...p, seed: 99 });
    const b = await client.chat.completions.create(p);
    const c = await client.chat.completions.create(p);
    eq(b.choices[0].message.content, a.choices[0].message.content, 'same seed, same text');
    eq(c.choices[0].message.content, a.choices[0].message.content, 'same seed twice in a row, same text');
  });

  await run('completions_token_ids_and_stepping', async () => {
    const prompt = [5, 17, 42, 7, 99];
    const whole = await client.completions.create({ model, prompt, max_tokens: 6, temperature: 0, logprobs: 3,
      return_tokens_as_token_ids: true, ignore_eos: true });
    const c = whole.choices[0];
    assert(whole.object === 'text_completion' && whole.id.startsWith('cmpl-'), 'object/id');
    eq(whole.usage.prompt_tokens, prompt.length, 'prompt_tokens counts the ids');
    eq(c.logprobs.tokens.length, 6, 'six tokens');
    eq(c.finish_reason, 'length', 'finish_reason length');
    const ids = c.logprobs.tokens.map((t) => { assert(/^token_id:\d+$/.test(t), `token ${t}`); return Number(t.slice(9)); });
    for (let i = 0; i < 6; i++) {
      const tops = c.logprobs.top_logprobs[i];
      assert(Object.keys(tops).length <= 3 && Object.keys(tops).length >= 1, 'legacy top_logprobs');
      assert(c.logprobs.token_logprobs[i] <= 0, 'token_logprobs');
    }
    // Stepping one token at a time, appending the chosen one, gives the same tokens.
    const seq = prompt.slice();
    for (let i = 0; i < 6; i++) {
      const step = await client.completions.create({ model, prompt: seq, max_tokens: 1, temperature: 0, logprobs: 1,
        return_tokens_as_token_ids: true, ignore_eos: true, logitscope: { tokens: true } });
      const ext = step.choices[0].logitscope.tokens;
      eq(ext.length, 1, 'one token');
      eq(ext[0].id, ids[i], `step ${i}`);
      eq(ext[0].pos, seq.length, 'pos');
      seq.push(ext[0].id);
    }
    return `ids=${ids.join(',')}`;
  });

  await run('completions_text_stop_strings', async () => {
    const base = { model, prompt: 'the cat sat on the', max_tokens: 32, temperature: 0, ignore_eos: true };
    const full = (await client.completions.create(base)).choices[0].text;
    assert(full.length >= 12, `need some text, got ${JSON.stringify(full)}`);
    const chars = Array.from(full);
    const stop = chars.slice(6, 8).join('');
    const expected = full.slice(0, full.indexOf(stop));
    const cut = await client.completions.create({ ...base, stop: [stop, 'never-appears'] });
    eq(cut.choices[0].text, expected, 'text before the stop string');
    eq(cut.choices[0].finish_reason, 'stop', 'finish_reason');
    const streamed = await collectCompletion(await client.completions.create({ ...base, stop, stream: true }));
    eq(streamed.text, expected, 'streamed text before the stop string');
    eq(streamed.finish, 'stop', 'streamed finish_reason');
    const chat = await client.chat.completions.create({ model, messages: user('x'), max_tokens: 24, temperature: 0, ...off });
    const ctext = chat.choices[0].message.content;
    if (Array.from(ctext).length >= 6) {
      const cstop = Array.from(ctext).slice(3, 5).join('');
      const cut2 = await client.chat.completions.create({ model, messages: user('x'), max_tokens: 24, temperature: 0,
        stop: cstop, ...off });
      eq(cut2.choices[0].message.content, ctext.slice(0, ctext.indexOf(cstop)), 'chat stop');
    }
    return `stop=${JSON.stringify(stop)}`;
  });

  await run('completions_stream_logprobs', async () => {
    const base = { model, prompt: [1, 2, 3, 4], max_tokens: 10, temperature: 0, logprobs: 2, ignore_eos: true };
    const whole = await client.completions.create(base);
    const s = await collectCompletion(await client.completions.create({ ...base, stream: true,
      stream_options: { include_usage: true } }));
    eq(s.text, whole.choices[0].text, 'text');
    eq(s.tokens, whole.choices[0].logprobs.tokens, 'tokens');
    eq(s.usage, whole.usage, 'usage');
    eq(s.finish, 'length', 'finish');
  });

  await run('routing_extension', async () => {
    const plain = await client.chat.completions.create({ model, messages: user('Route'), max_tokens: 3, temperature: 0, ...off });
    assert(!('logitscope' in plain.choices[0]), 'no extension unless asked');
    const r = await client.chat.completions.create({ model, messages: user('Route'), max_tokens: 3, temperature: 0,
      logitscope: { routing: true }, ...off });
    const toks = r.choices[0].logitscope.tokens;
    eq(toks.length, r.usage.completion_tokens, 'one entry per generated token');
    for (const t of toks) {
      eq(t.routing.length, info.moe_layers.length, 'one slice per MoE layer');
      eq(t.routing.map((s) => s.layer), info.moe_layers, 'layers');
      for (const s of t.routing) {
        eq(s.experts.length, info.num_experts_per_tok, 'experts per token');
        eq(s.weights.length, info.num_experts_per_tok, 'weights per token');
        assert(s.experts.every((e) => e >= 0 && e < info.n_routed_experts), 'expert ids');
      }
    }
    const s = await collectChat(await client.chat.completions.create({ model, messages: user('Route'), max_tokens: 3,
      temperature: 0, logitscope: { routing: true }, stream: true, ...off }));
    eq(s.ext.map((t) => t.id), toks.map((t) => t.id), 'streamed extension tokens');
    eq(s.ext.map((t) => t.routing), toks.map((t) => t.routing), 'streamed routing');
  });

  await run('errors_as_typed_exceptions', async () => {
    const bad = new ctx.OpenAI({ baseURL: ctx.baseURL, apiKey: 'wrong-key', maxRetries: 0 });
    await expectStatus(bad.models.list(), 401, openai.AuthenticationError);
    const e404 = await expectStatus(client.chat.completions.create({ model: 'no-such-model', messages: user('x') }), 404,
      openai.NotFoundError);
    eq(e404.code, 'model_not_found', 'code');
    await expectStatus(client.models.retrieve('no-such-model'), 404, openai.NotFoundError);
    const e400 = await expectStatus(client.chat.completions.create({ model, messages: user('x'), temperature: 5 }), 400,
      openai.BadRequestError);
    eq(e400.param, 'temperature', 'param');
    await expectStatus(client.chat.completions.create({ model, messages: user('x'), logprobs: true, top_logprobs: 21 }), 400);
    await expectStatus(client.chat.completions.create({ model, messages: user('x'), n: 2 }), 400);
    await expectStatus(client.chat.completions.create({ model, messages: [] }), 400);
    await expectStatus(client.completions.create({ model, prompt: [1, 2, 100000] }), 400);
    const long = Array.from({ length: info.max_context + 10 }, (_, i) => 3 + (i % 50));
    const eCtx = await expectStatus(client.completions.create({ model, prompt: long, max_tokens: 1 }), 400);
    assert(/maximum context length/.test(eCtx.message), `context message: ${eCtx.message}`);
    await expectStatus(client.completions.create({ model, prompt: [1, 2], max_tokens: info.max_context }), 400);
  });
};
