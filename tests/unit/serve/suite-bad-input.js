// SPDX-License-Identifier: GPL-3.0-or-later
// Requests no well-behaved client sends, over raw fetch: malformed JSON, wrong types, huge bodies,
// unknown routes, missing keys; unknown fields are ignored. Also the raw SSE framing.
'use strict';
const { assert, eq } = require('./client-common');

module.exports = async function badInput(ctx, run) {
  const { baseURL, model } = ctx;
  const post = (path, body, headers = ctx.headers) => fetch(baseURL + path, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  // A 4xx with the OpenAI error object.
  async function expectError(response, status, what) {
    eq(response.status, status, `${what}: status`);
    assert((response.headers.get('content-type') || '').startsWith('application/json'), `${what}: JSON content type`);
    const body = await response.json();
    assert(body.error && typeof body.error.message === 'string' && body.error.message.length > 0 &&
      typeof body.error.type === 'string' && 'code' in body.error, `${what}: error object ${JSON.stringify(body)}`);
    return body.error;
  }
  const msgs = [{ role: 'user', content: 'hi' }];

  await run('malformed_json', async () => {
    for (const text of ['{', '{"messages": [}', 'not json at all', '', '[1, 2]', '"a string"', '42'])
      await expectError(await post('/chat/completions', text), 400, `body ${JSON.stringify(text)}`);
  });

  await run('wrong_types', async () => {
    const cases = [
      ['/chat/completions', { messages: 'hi' }, 'messages'],
      ['/chat/completions', { messages: [{ role: 'user', content: 42 }] }, 'messages[0].content'],
      ['/chat/completions', { messages: [{ content: 'no role' }] }, 'messages[0].role'],
      ['/chat/completions', { messages: ['text'] }, 'messages[0]'],
      ['/chat/completions', { messages: msgs, max_tokens: '5' }, 'max_tokens'],
      ['/chat/completions', { messages: msgs, max_tokens: 2.5 }, 'max_tokens'],
      ['/chat/completions', { messages: msgs, max_tokens: -1 }, 'max_tokens'],
      ['/chat/completions', { messages: msgs, temperature: 'hot' }, 'temperature'],
      ['/chat/completions', { messages: msgs, stream: 'yes' }, 'stream'],
      ['/chat/completions', { messages: msgs, stop: 5 }, 'stop'],
      ['/chat/completions', { messages: msgs, stop: ['a', 7] }, 'stop'],
      ['/chat/completions', { messages: msgs, seed: 'x' }, 'seed'],
      ['/chat/completions', { messages: msgs, logprobs: 'true' }, 'logprobs'],
      ['/chat/completions', { messages: msgs, model: 7 }, 'model'],
      ['/chat/completions', { messages: msgs, chat_template_kwargs: [] }, 'chat_template_kwargs'],
      ['/chat/completions', { messages: msgs, chat_template_kwargs: { enable_thinking: 'no' } }, 'enable_thinking'],
      ['/chat/completions', { messages: msgs, logitscope: true }, 'logitscope'],
      ['/chat/completions', {}, 'messages'],
      ['/completions', { prompt: { text: 'x' } }, 'prompt'],
      ['/completions', { prompt: [1, 'two'] }, 'prompt'],
      ['/completions', { prompt: [1, 2], logprobs: true }, 'logprobs'],
      ['/completions', { prompt: [] }, 'prompt'],
      ['/completions', { prompt: [-1] }, 'prompt'],
      ['/completions', { prompt: ['a', 'b'] }, 'prompt'],
    ];
    for (const [path, body, param] of cases) {
      const err = await expectError(await post(path, body), 400, `${path} ${JSON.stringify(body)}`);
      assert(err.param === param || (err.param || '').startsWith(param.split('[')[0]), `param for ${JSON.stringify(body)}: ${err.param}`);
    }
    return `${cases.length} cases`;
  });

  await run('unknown_fields_ignored', async () => {
    const r = await post('/chat/completions', { model, messages: [{ role: 'user', content: 'hi', name: 'bob', extra: 1 }],
      max_tokens: 2, frobnicate: { deep: [1, 2] }, user: 'someone', metadata: { a: 'b' }, store: false,
      presence_penalty: 0, logit_bias: {}, parallel_tool_calls: true });
    eq(r.status, 200, 'status');
    const body = await r.json();
    assert(body.choices && body.choices.length === 1, 'a completion');
    const c = await post('/completions', { model, prompt: 'abc', max_tokens: 2, unknown_option: null, best_of: 1 });
    eq(c.status, 200, 'completions status');
  });

  await run('huge_body_413', async () => {
    const big = JSON.stringify({ model, messages: [{ role: 'user', content: 'x'.repeat(9 << 20) }] });
    let response;
    try {
      response = await post('/chat/completions', big);
    } catch (e) {
      throw new Error(`the server dropped the connection instead of answering 413: ${e.cause || e}`);
    }
    const err = await expectError(response, 413, 'huge body');
    return err.message;
  });

  await run('routes_methods_and_auth', async () => {
    await expectError(await fetch(baseURL + '/nope', { headers: ctx.headers }), 404, 'unknown route');
    await expectError(await fetch(baseURL.replace(/\/v1$/, '') + '/v2/models', { headers: ctx.headers }), 404, 'v2');
    if (ctx.apiKey) {
      await expectError(await post('/chat/completions', { messages: msgs }, {}), 401, 'no key');
      await expectError(await post('/chat/completions', { messages: msgs }, { Authorization: 'Bearer nope' }), 401, 'bad key');
      await expectError(await fetch(baseURL + '/models', { headers: { Authorization: ctx.apiKey } }), 401, 'no Bearer');
      await expectError(await fetch(baseURL.replace(/\/v1$/, '/health')), 401, 'health without key');
    }
  });

  await run('raw_sse_framing', async () => {
    const r = await post('/chat/completions', { model, messages: msgs, max_tokens: 5, stream: true, temperature: 0,
      stream_options: { include_usage: true }, chat_template_kwargs: { enable_thinking: false } });
    eq(r.status, 200, 'status');
    assert((r.headers.get('content-type') || '').startsWith('text/event-stream'), 'event-stream');
    const text = await r.text();
    assert(text.endsWith('data: [DONE]\n\n'), 'ends with [DONE]');
    const events = text.split('\n\n').filter((e) => e.length > 0 && !e.startsWith(':'));
    for (const e of events) assert(e.startsWith('data: '), `event framing: ${JSON.stringify(e)}`);
    const objects = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
    assert(objects.length >= 3, 'role chunk, content, finish, usage');
    eq(objects[objects.length - 1].choices, [], 'usage chunk');
    return `${events.length} events`;
  });
};
