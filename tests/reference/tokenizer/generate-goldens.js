// SPDX-License-Identifier: GPL-3.0-or-later
// Writes the tokenizer goldens with Hugging Face's own Rust tokenizers (npm `tokenizers`).
//
// usage: node generate-goldens.js DEPS_DIR OUT_DIR
//   DEPS_DIR: the folder install-tokenizers.sh filled; OUT_DIR: tests/fixtures/tokenizer/goldens
//
// Per tokenizer one JSON file: for every corpus string (ours plus llama.cpp's test inputs) the ids
// with and without special tokens and the decode of the ids with them (skip_special_tokens off/on),
// plus decode-only cases for partial UTF-8, unknown ids and special ids.
'use strict';
const fs = require('fs');
const path = require('path');

const [depsDir, outDir] = process.argv.slice(2);
if (!depsDir || !outDir) {
  console.error('usage: node generate-goldens.js DEPS_DIR OUT_DIR');
  process.exit(2);
}
const { Tokenizer } = require(path.resolve(depsDir, 'node_modules', 'tokenizers'));
const corpus = require('./corpus.js');

// llama.cpp's test inputs (strings joined by a separator line).
function llamaCppInputs() {
  const dir = path.resolve(__dirname, '..', '..', 'fixtures', 'tokenizer', 'llama.cpp');
  const texts = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.inp')).sort()) {
    for (const t of fs.readFileSync(path.join(dir, f), 'utf8').split('\n__ggml_vocab_test__\n')) {
      if (!texts.includes(t)) texts.push(t);
    }
  }
  return texts;
}

// Real tokenizers (installed) and our synthetic ones (committed, see make-synthetic.js).
const syntheticDir = path.resolve(__dirname, '..', '..', 'fixtures', 'tokenizer', 'synthetic');
const targets = [
  ...['qwen3', 'llama3', 'gpt4o', 'gemma3', 'tekken'].map((n) => ({ name: n, file: path.resolve(depsDir, 'tokenizers', n, 'tokenizer.json') })),
  ...fs.readdirSync(syntheticDir).sort().map((n) => ({ name: `synthetic-${n}`, file: path.join(syntheticDir, n, 'tokenizer.json') })),
];

(async () => {
  const texts = [...corpus];
  for (const t of llamaCppInputs()) if (!texts.includes(t)) texts.push(t);
  fs.mkdirSync(outDir, { recursive: true });
  for (const { name, file } of targets) {
    const tok = Tokenizer.fromFile(file);
    const cases = [];
    for (const text of texts) {
      const ids = Array.from((await tok.encode(text, null, { addSpecialTokens: false })).getIds());
      const idsSpecial = Array.from((await tok.encode(text, null, { addSpecialTokens: true })).getIds());
      cases.push({
        text, ids, ids_special: idsSpecial,
        decoded: await tok.decode(idsSpecial, false),
        decoded_skip: await tok.decode(idsSpecial, true),
      });
    }
    // Decode-only cases: single bytes of "€" (E2 82 AC) and of "😀" (F0 9F 98 80), alone and in
    // runs, unknown ids, specials mixed with text.
    const byteId = (b) => {
      const bl = tok.tokenToId(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      if (bl !== null && bl !== undefined) return bl;
      const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      let cp = b;
      if (!printable) { let n = 256; for (let x = 0; x < b; x++) { const p = (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255); if (!p) n++; } cp = n; }
      return tok.tokenToId(String.fromCodePoint(cp));
    };
    const euro = [0xe2, 0x82, 0xac].map(byteId);
    const grin = [0xf0, 0x9f, 0x98, 0x80].map(byteId);
    const hello = Array.from((await tok.encode('Hello', null, { addSpecialTokens: false })).getIds());
    const vocabSize = tok.getVocabSize(true);
    const specialIds = [...new Set(cases.flatMap((c) => c.ids_special.filter((id, i) => !c.ids.includes(id))))].slice(0, 3);
    const decodeIds = [
      euro, euro.slice(0, 2), euro.slice(1), [euro[0], ...hello], [...hello, euro[0], euro[1]], grin, grin.slice(0, 3),
      [grin[0], grin[1], euro[0], euro[1], euro[2]], [vocabSize + 5, ...hello, vocabSize + 100000],
      [...specialIds, ...hello, ...specialIds], [], hello,
    ];
    const decodeCases = [];
    for (const ids of decodeIds) {
      if (ids.some((x) => x === null || x === undefined)) continue;
      decodeCases.push({ ids, decoded: await tok.decode(ids, false), decoded_skip: await tok.decode(ids, true) });
    }
    const out = { tokenizer: name, reference: 'HF tokenizers (Rust) 0.23.2 via npm', cases, decode_cases: decodeCases };
    fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(out, null, 1) + '\n');
    console.log(`${name}: ${cases.length} cases, ${decodeCases.length} decode cases`);
  }
})().catch((e) => { console.error(e); process.exit(1); });
