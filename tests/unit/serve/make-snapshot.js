// SPDX-License-Identifier: GPL-3.0-or-later
// Builds a chat-capable test snapshot for the serve tests: a fixture checkpoint (random weights,
// no tokenizer) plus a byte-level BPE tokenizer.json written here whose vocabulary fills the
// checkpoint's vocab_size exactly (256 bytes, 5 added tokens, merges for the rest), a small ChatML
// template with the enable_thinking switch, and tokenizer_config.json naming <|im_end|> as eos.
//
// usage: node make-snapshot.js FIXTURE_DIR OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');

const [fixture, out] = process.argv.slice(2);
if (!fixture || !out) { console.error('usage: node make-snapshot.js FIXTURE_DIR OUT_DIR'); process.exit(2); }
fs.mkdirSync(out, { recursive: true });
for (const name of ['config.json', 'generation_config.json', 'model.safetensors']) {
  const src = path.join(fixture, name);
  if (fs.existsSync(src)) fs.copyFileSync(src, path.join(out, name));
}
const vocabSize = JSON.parse(fs.readFileSync(path.join(fixture, 'config.json'), 'utf8')).vocab_size;

// GPT-2's byte -> printable character table used by byte-level BPE.
function byteChars() {
  const keep = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const table = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + extra++);
  return table;
}
const bytes = byteChars();
const vocab = {};
bytes.forEach((c, i) => { vocab[c] = i; });
const added = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<think>', '</think>'];
const addedTokens = added.map((content, k) => ({
  id: 256 + k, content, single_word: false, lstrip: false, rstrip: false, normalized: false,
  special: !content.includes('think'),
}));
// Merges of frequent English pairs until the vocabulary is full.
const sp = bytes[32];
const pairs = ['t', 'a', 's', 'w', 'o', 'i', 'c', 'b', 'f', 'm', 'p', 'h', 'd'].map((c) => [sp, c])
  .concat(['he', 'in', 'er', 'an', 're', 'on', 'at', 'en', 'nd', 'ou', 'ed', 'is', 'it', 'es', 'or', 'ar', 'al',
    'le', 'st', 'nt', 'ng', 'se', 'ha', 'as', 'te', 'to', 'ti', 'io', 'me', 'de'].map((p) => [p[0], p[1]]));
const merges = [];
let next = 256 + added.length;
for (const [a, b] of pairs) {
  if (next >= vocabSize) break;
  vocab[a + b] = next++;
  merges.push(`${a} ${b}`);
}
if (next !== vocabSize) { console.error(`cannot fill a vocabulary of ${vocabSize} (reached ${next})`); process.exit(1); }
for (const t of addedTokens) vocab[t.content] = t.id;

const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
const tokenizer = {
  version: '1.0', truncation: null, padding: null, added_tokens: addedTokens, normalizer: null,
  pre_tokenizer: byteLevel, post_processor: null, decoder: byteLevel,
  model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
};
fs.writeFileSync(path.join(out, 'tokenizer.json'), JSON.stringify(tokenizer));
fs.writeFileSync(path.join(out, 'tokenizer_config.json'),
  JSON.stringify({ bos_token: null, eos_token: '<|im_end|>', model_max_length: 4096 }));
fs.writeFileSync(path.join(out, 'chat_template.jinja'), [
  '{%- for message in messages %}',
  "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}",
  '{%- endfor %}',
  '{%- if add_generation_prompt %}',
  "{{- '<|im_start|>assistant\\n' }}",
  "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think></think>' }}{%- else %}{{- '<think>\\n' }}{%- endif %}",
  '{%- endif %}',
  ''].join('\n'));
console.log(`test snapshot in ${out}: vocabulary ${vocabSize}, ${merges.length} merges`);
