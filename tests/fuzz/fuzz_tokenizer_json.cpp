// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes tokenizer.json loading (Tokenizer::from_file reads only from disk, so the input goes through
// a scratch file), then encodes and decodes with whatever loaded. Input: the tokenizer.json bytes,
// optionally followed by a NUL and a text to encode (fixed samples otherwise).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "logitscope/errors.h"
#include "logitscope/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto* nul = static_cast<const std::uint8_t*>(std::memchr(data, 0, size));
  const std::size_t json_size = nul ? static_cast<std::size_t>(nul - data) : size;
  const auto path = logitscope::fuzz::write_scratch("tokenizer.json", data, json_size);
  std::unique_ptr<logitscope::Tokenizer> tokenizer;
  try {
    tokenizer = logitscope::Tokenizer::from_file(path);
  } catch (const logitscope::Error&) {
    return 0;
  }
  std::string texts[3] = {"Hello world! <think>caf\xC3\xA9 \xF0\x9F\x98\x80 12345</think>\n\n  x", "\xFF\xC3", ""};
  if (nul) texts[2].assign(reinterpret_cast<const char*>(nul + 1), size - json_size - 1);
  for (const std::string& text : texts) {
    try {
      for (bool special : {false, true}) {
        const auto ids = tokenizer->encode(text, special);
        (void)tokenizer->decode(ids, false);
        (void)tokenizer->decode(ids, true);
        logitscope::DecodeStream stream(*tokenizer);
        for (auto id : ids) (void)stream.push(id);
        (void)stream.flush();
        for (auto id : ids) {
          (void)tokenizer->token_bytes(id);
          (void)tokenizer->token_string(id);
        }
      }
    } catch (const logitscope::Error&) {
    }
  }
  // Ids outside the vocabulary must be an Error, not an out-of-bounds read.
  const std::size_t vocab = tokenizer->vocab_size();
  for (logitscope::TokenId id : {logitscope::TokenId(-1), logitscope::TokenId(vocab), logitscope::TokenId(vocab + 7)}) {
    try {
      const logitscope::TokenId one[1] = {id};
      (void)tokenizer->decode(one, false);
      (void)tokenizer->token_bytes(id);
      (void)tokenizer->token_string(id);
    } catch (const logitscope::Error&) {
    }
  }
  return 0;
}
