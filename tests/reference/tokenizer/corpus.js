// SPDX-License-Identifier: GPL-3.0-or-later
// Test strings for the tokenizer goldens: scripts, emoji, combining marks, whitespace runs, CRLF,
// digits, code, special tokens inside user text, edge cases. Kept in code so long strings are short.
'use strict';

const specials = [
  '<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n',
  '<|endoftext|>',
  'text<|endoftext|>more text',
  '<think>\nLet me reason.\n</think>\n\nThe answer is 42.',
  '<think></think>',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>',
  '<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n',
  '<s>[INST] What is 2+2? [/INST]4</s>',
  '[INST][/INST][TOOL_CALLS]',
  '<|endofprompt|> after',
  ' <|im_end|> spaced <|im_end|>  ',
  '<|im_start', 'im_start|>', '<|im_start|', '<<|im_end|>>', '<|im_start|><|im_start|>',
  '<unk> <pad> <mask>', '<SPECIAL_10> <SPECIAL_999>', '<unused0><unused1>',
  '<tool_call>{"name": "f"}</tool_call>', '<image_soft_token>', '<start_of_image>',
  // for the synthetic tokenizers: lstrip/rstrip, single_word and normalized added tokens
  'fill  <mask>  here', 'a<mask>b', '<mask>', ' <mask> <mask> ', 'xyzzy', 'the xyzzy word', 'axyzzy', 'xyzzy_', 'xyzzy!',
  'Hello World and hello world', 'HELLO WORLD', '<s>text</s>', '[CLS] [SEP] [UNK]',
  'a,b,,c-d--e 12|34|| 5 6', 'comma, separated - dashed | piped 2024',
];

const basic = [
  '', ' ', '  ', '   ', 'a', 'A', '.', '!', '?', '\n', '\t', '\r', '\r\n', '\n\n', '\n\n\n', ' \n', '\n ', ' \n ',
  'Hello world', 'Hello, world!', ' Hello world', 'Hello world ', 'hello   world', 'HELLO WORLD', 'hElLo WoRlD',
  "I'm here, you're there, he's gone, we'll see, they'd know, I've been.",
  "DON'T SHOUT, I'LL LISTEN", "it's 'quoted' and \"double\"", "rock 'n' roll", "'s 't 're",
  'The quick brown fox jumps over the lazy dog.',
  'line one\nline two\r\nline three\rline four',
  'trailing spaces   \n   leading spaces', 'tabs\tand\t\ttabs', 'a\u00a0b\u00a0\u00a0c',
  'mixed \t \n \r\n whitespace', '\n\n\nHello\n\n\n', '    indented', 'end with newline\n',
  '0', '1', '12', '123', '1234', '12345', '123456789', '1234567890123', '3.14159', '-42', '1,000,000',
  '1e-10', '0x1F', 'v1.2.3', '2024-01-31', '12:30:45', '$100.00', '50%', '1st 2nd 3rd 4th',
  '١٢٣ ٤٥٦', '一二三 123', '①②③', 'Ⅻ ⅻ', '²³¹',
];

const unicode = [
  'naïve café résumé', 'e\u0301 vs \u00e9', 'cafe\u0301', 'A\u030a vs \u00c5', 'n\u0303', 'Z\u0351\u0305\u0308a\u0300l\u0301g\u0300o',
  'ﬁ ﬂ ﬀ', 'ＡＢＣ１２３', '™ ℃ ½', 'Straße', 'İstanbul ıi', 'ΣΑΣ σας ς', 'ǅ ǈ',
  '你好，世界！', '我爱自然语言处理。今天天气很好。', '日本語のテキストです。カタカナ、ひらがな。', '한국어 텍스트입니다',
  'Привет, мир! Как дела?', 'Γειά σου Κόσμε', 'مرحبا بالعالم', 'שלום עולם', 'नमस्ते दुनिया', 'สวัสดีชาวโลก',
  'Tiếng Việt có dấu', 'ქართული', 'Հայերեն', 'ᚠᛇᚻ᛫ᛒᛦᚦ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '𝟘𝟙𝟚',
  '🤖', '🤖🤖🤖', 'I ❤️ emoji 😀😃😄', '👨‍👩‍👧‍👦 family', '👍🏽 👍🏿', '🇫🇷🇩🇪🇯🇵', '🏳️‍🌈', '#️⃣ 1️⃣',
  'zero\u200bwidth\u200cjoiner\u200d', '\ufeffBOM', 'ideographic\u3000space', 'line\u2028sep\u2029para',
  'control\u0001\u0002chars\u007f', 'nul\u0000byte', 'em—dash – en‐hyphen', '“curly” ‘quotes’ «guillemets»',
  '…⋯', '→ ← ↑ ↓ ⇒', '∀x∈ℝ: x²≥0', '€£¥₹₿', '©®', '\u0300leading combining', 'ab\u0301\u0302\u0303cd',
  '▁already▁metaspace', 'ĠĠ Ġhello Ċ', '<0x41> <0xE2>', '##sub ##word', '</w> end',
];

const code = [
  'def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n',
  '#include <iostream>\nint main() {\n\tstd::cout << "hi" << std::endl;\n\treturn 0;\n}\n',
  'for (int i = 0; i < 10; ++i) { sum += a[i] * b[i]; }',
  '{"key": "value", "list": [1, 2, 3], "nested": {"a": null, "b": true}}',
  '<html><body><p class="x">Hello &amp; bye</p></body></html>',
  'SELECT id, name FROM users WHERE age >= 18 ORDER BY name;',
  'https://example.com/path?query=1&b=two#frag', 'user.name+tag@example.co.uk',
  '$ ls -la /usr/local/bin | grep -v "^d" > out.txt 2>&1',
  '```python\nprint("hello")\n```', '# Title\n\n- item 1\n- item 2\n\n**bold** _it_ `code`',
  'x += 1;; y -= 2;;; z **= 3', 'a==b!=c<=d>=e&&f||g', '/* comment */ // line', '\\n\\t\\r escaped',
  '    \n    \n', 'CamelCaseIdentifier snake_case_identifier kebab-case-identifier SCREAMING_CASE',
  'self.assertEqual(len(tokens), 42)  # noqa: E501',
];

const long = [
  'a'.repeat(1000), 'ab'.repeat(300), '1'.repeat(200), ' '.repeat(100) + 'x', '\n'.repeat(50),
  'supercalifragilisticexpialidocious', 'Donaudampfschifffahrtsgesellschaftskapitän',
  'pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism',
  'word '.repeat(200),
  '😀'.repeat(30), '中文'.repeat(100), 'é'.repeat(100),
  ('Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod tempor incididunt ut labore ' +
   'et dolore magna aliqua. 1234567 Ut enim ad minim veniam!\n').repeat(5),
  'Mixed: English, 中文, 日本語, 한국어, العربية, русский, emoji 🎉, code `x=1`, numbers 3.14, and\r\nCRLF.',
];

module.exports = [...basic, ...specials, ...unicode, ...code, ...long];
