// SPDX-License-Identifier: GPL-3.0-or-later
// Writes small tokenizer.json files of our own (tests/fixtures/tokenizer/synthetic/NAME/) that
// exercise components the real tokenizers do not use: Metaspace (first/always, split), Digits,
// Whitespace/Punctuation, the Split behaviours, NFKC/NFKD/Lowercase/Strip/Prepend, unk and
// fuse_unk, continuing_subword_prefix / end_of_word_suffix, lstrip/rstrip/single_word and
// normalized added tokens, Strip/Metaspace/WordPiece/BPEDecoder decoders, Roberta/Bert/Sequence
// post-processors. The vocab comes from a tiny BPE trainer below; the goldens then come from HF.
//
// usage: node make-synthetic.js OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');

const outDir = process.argv[2];
if (!outDir) { console.error('usage: node make-synthetic.js OUT_DIR'); process.exit(2); }

const sample = ('the quick brown fox jumps over the lazy dog. hello world! hello there, world. ' +
  'tokenizers split text into tokens; the tokens become ids. naive cafe resume 1234567890 ' +
  'an apple a day keeps the doctor away. strawberry banana orange ').repeat(3);

// Greedy BPE training on words: symbols start as characters (with `prefix` before non-first ones
// and `suffix` after the last one); the most frequent pair merges, `steps` times.
function train(words, steps, { prefix = '', suffix = '' } = {}) {
  const vocab = new Set();
  let seqs = words.map((w) => Array.from(w).map((c, i, a) => (i > 0 ? prefix : '') + c + (i === a.length - 1 ? suffix : '')));
  seqs.forEach((s) => s.forEach((t) => vocab.add(t)));
  const merges = [];
  for (let step = 0; step < steps; step++) {
    const counts = new Map();
    for (const s of seqs) for (let i = 0; i + 1 < s.length; i++) {
      const k = s[i] + '\u0000' + s[i + 1];
      counts.set(k, (counts.get(k) || 0) + 1);
    }
    let best = null, bestCount = 1;
    for (const [k, c] of counts) if (c > bestCount) { best = k; bestCount = c; }
    if (!best) break;
    const [a, b] = best.split('\u0000');
    const merged = a + (prefix && b.startsWith(prefix) ? b.slice(prefix.length) : b);
    merges.push([a, b]);
    vocab.add(merged);
    seqs = seqs.map((s) => {
      const out = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) { out.push(merged); i++; } else out.push(s[i]);
      }
      return out;
    });
  }
  return { vocab: [...vocab], merges };
}

const added = (id, content, opts = {}) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false, ...opts,
});

function write(name, tokenizer) {
  const dir = path.join(outDir, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer, null, 1) + '\n');
  console.log(`synthetic ${name}: ${Object.keys(tokenizer.model.vocab).length} tokens`);
}

// 1. SentencePiece style: Metaspace "first", byte_fallback, unk + fuse_unk, Llama-2-like decoders.
{
  const words = sample.split(' ').filter(Boolean).map((w) => '\u2581' + w);
  const { vocab: learned, merges } = train(words, 120);
  const vocab = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  for (const t of learned) if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  const n = Object.keys(vocab).length;
  write('spm', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [
      added(0, '<unk>', { special: true }), added(1, '<s>', { special: true }), added(2, '</s>', { special: true }),
      added(n, '<mask>', { special: true, lstrip: true, rstrip: true }),
      added(n + 1, 'xyzzy', { single_word: true }),
      added(n + 2, 'HELLO WORLD', { normalized: true }),
    ],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Replace', pattern: { Regex: '\\s{3,}' }, content: '  ' }] },
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
    },
    decoder: { type: 'Sequence', decoders: [
      { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
      { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`) },
  });
}

// 2. Word-level style: lowercase/strip-accents normalizers, Whitespace + Punctuation + Digits,
//    "##" subword prefix and "</w>" suffix, unk without fusing, BertProcessing, WordPiece decoder.
{
  const words = sample.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  const { vocab: learned, merges } = train(words, 150, { prefix: '##', suffix: '</w>' });
  const vocab = { '[UNK]': 0, '[CLS]': 1, '[SEP]': 2 };
  for (const t of learned) if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  write('wordpiece', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [added(0, '[UNK]', { special: true }), added(1, '[CLS]', { special: true }), added(2, '[SEP]', { special: true })],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' },
      { type: 'Strip', strip_left: true, strip_right: true }] },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Whitespace' }, { type: 'Punctuation', behavior: 'Isolated' },
      { type: 'Digits', individual_digits: true }] },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', 2], cls: ['[CLS]', 1] },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'BPE', dropout: null, unk_token: '[UNK]', continuing_subword_prefix: '##', end_of_word_suffix: '</w>',
      fuse_unk: false, byte_fallback: false, vocab, merges },
  });
}

// 3. Byte-level with ByteLevel(use_regex, add_prefix_space) after Split behaviours, Prepend + NFKD +
//    Lowercase normalizers, Roberta + ByteLevel in a Sequence post-processor.
{
  const bytes = [];
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const p = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    bytes.push(String.fromCodePoint(p ? b : next++));
  }
  const toBl = (s) => Array.from(Buffer.from(s, 'utf8'), (b) => bytes[b]).join('');
  const words = sample.split(/(?= )/).map(toBl);
  const { vocab: learned, merges } = train(words, 150);
  const vocab = { '<s>': 0, '</s>': 1 };
  for (const c of bytes) vocab[c] = Object.keys(vocab).length;
  for (const t of learned) if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  write('splits', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [added(0, '<s>', { special: true }), added(1, '</s>', { special: true })],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKD' }, { type: 'Lowercase' }, { type: 'Prepend', prepend: '>' }] },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [
      { type: 'Split', pattern: { String: ',' }, behavior: 'MergedWithPrevious', invert: false },
      { type: 'Split', pattern: { String: '-' }, behavior: 'MergedWithNext', invert: false },
      { type: 'Split', pattern: { Regex: '[0-9]+' }, behavior: 'Contiguous', invert: false },
      { type: 'Split', pattern: { String: '|' }, behavior: 'Removed', invert: false },
      { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Removed', invert: true },
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true }] },
    post_processor: { type: 'Sequence', processors: [
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      { type: 'RobertaProcessing', sep: ['</s>', 1], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: true }] },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  });
}

// 4. Metaspace "always" without split, after Digits (contiguous); Metaspace decoder.
{
  const words = sample.split(' ').filter(Boolean).map((w) => '\u2581' + w);
  const { vocab: learned, merges } = train(words, 80);
  const vocab = { '<unk>': 0 };
  for (const t of learned) if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  write('metaspace', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [added(0, '<unk>', { special: true })],
    normalizer: { type: 'Strip', strip_left: false, strip_right: true },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: false },
      { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: false }] },
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: false },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', fuse_unk: false, byte_fallback: false, vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`) },
  });
}
