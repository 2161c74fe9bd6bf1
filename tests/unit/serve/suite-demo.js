// SPDX-License-Identifier: GPL-3.0-or-later
// Against the bundled demo model (trained, so it opens and closes its thinking block): reasoning and
// answer apart, the thinking toggle, streamed deltas adding up to the whole answer.
'use strict';
const { assert, eq, collectChat } = require('./client-common');

module.exports = async function demo(ctx, run) {
  const { client, model } = ctx;
  const messages = [{ role: 'user', content: 'What does serendipity mean?' }];

  await run('demo_reasoning_split', async () => {
    const on = await client.chat.completions.create({ model, messages, max_tokens: 160, temperature: 0 });
    const m = on.choices[0].message;
    eq(on.choices[0].finish_reason, 'stop', 'the demo model finishes');
    assert(typeof m.reasoning_content === 'string' && m.reasoning_content.length > 0, 'reasoning_content');
    assert(m.content.length > 0, 'content');
    for (const tag of ['<think>', '</think>', '<|im_end|>'])
      assert(!m.content.includes(tag) && !m.reasoning_content.includes(tag), `no ${tag} in the output`);
    const s = await collectChat(await client.chat.completions.create({ model, messages, max_tokens: 160, temperature: 0,
      stream: true }));
    eq(s.reasoning, m.reasoning_content, 'streamed reasoning');
    eq(s.content, m.content, 'streamed content');
    return `reasoning=${JSON.stringify(m.reasoning_content.slice(0, 50))} content=${JSON.stringify(m.content.slice(0, 50))}`;
  });

  await run('demo_thinking_off', async () => {
    const off = await client.chat.completions.create({ model, messages, max_tokens: 160, temperature: 0,
      chat_template_kwargs: { enable_thinking: false } });
    const m = off.choices[0].message;
    assert(m.reasoning_content === null, 'no reasoning');
    assert(m.content.length > 0 && !m.content.includes('<think>'), 'an answer without tags');
    return `content=${JSON.stringify(m.content.slice(0, 50))}`;
  });
};
