// SPDX-License-Identifier: GPL-3.0-or-later
// UTF-8 and Unicode helpers for the tokenizer. The predicates mirror the Rust `char` methods the
// Hugging Face tokenizers crate uses (is_whitespace, is_alphanumeric, is_numeric, punctuation), so
// splits and added-token checks agree with it character for character.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace logitscope::tok {

// Decodes the code point starting at text[pos] (text must be valid UTF-8); sets `len` to its bytes.
char32_t decode_utf8(std::string_view text, std::size_t pos, std::size_t& len);
void append_utf8(std::string& out, char32_t cp);
// Length of the UTF-8 sequence introduced by lead byte `b` (1 for stray bytes).
inline std::size_t utf8_len(unsigned char b) {
  return b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
}
// Offset of the first invalid byte, or npos when `text` is valid UTF-8.
std::size_t find_invalid_utf8(std::string_view text);
// Rust's String::from_utf8_lossy: each maximal invalid subpart becomes one U+FFFD.
std::string utf8_lossy(std::string_view bytes);

bool is_whitespace(char32_t c);    // Unicode White_Space (Rust char::is_whitespace)
bool is_numeric(char32_t c);       // general category N* (Rust char::is_numeric)
bool is_alphanumeric(char32_t c);  // L*, Nl and N* (close to Rust char::is_alphanumeric)
bool is_punctuation(char32_t c);   // ASCII punctuation or category P* (HF's is_punc)

// GPT-2's byte <-> printable character map used by the ByteLevel pre-tokenizer and decoder.
struct ByteLevelMap {
  std::array<std::string, 256> byte_to_utf8;  // byte -> UTF-8 of its stand-in character
  std::array<int, 324> char_to_byte;          // stand-in code point (< 324) -> byte, -1 if none
};
const ByteLevelMap& byte_level_map();

}  // namespace logitscope::tok
