// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes encoding arbitrary bytes (pasted text, invalid UTF-8 included) with the repository's
// synthetic tokenizers (byte-level BPE with splits, SentencePiece-style BPE, Metaspace, WordPiece),
// then decodes the ids back, in one go and as a stream.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "logitscope/errors.h"
#include "logitscope/tokenizer.h"

namespace {
std::vector<std::unique_ptr<logitscope::Tokenizer>>& tokenizers() {
  static std::vector<std::unique_ptr<logitscope::Tokenizer>> all = [] {
    std::vector<std::unique_ptr<logitscope::Tokenizer>> v;
    for (const char* kind : {"splits", "spm", "metaspace", "wordpiece"})
      v.push_back(logitscope::Tokenizer::from_file(std::filesystem::path(LOGITSCOPE_FUZZ_FIXTURES) / "tokenizer" /
                                                   "synthetic" / kind / "tokenizer.json"));
    return v;
  }();
  return all;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first byte picks the tokenizer and whether special tokens are added.
  auto& all = tokenizers();
  const logitscope::Tokenizer& tokenizer = *all[data[0] % all.size()];
  const bool special = (data[0] / all.size()) & 1;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const auto ids = tokenizer.encode(text, special);
    for (auto id : ids)
      if (id < 0 || static_cast<std::size_t>(id) >= tokenizer.vocab_size()) __builtin_trap();
    (void)tokenizer.decode(ids, false);
    (void)tokenizer.decode(ids, true);
    logitscope::DecodeStream stream(tokenizer);
    for (auto id : ids) (void)stream.push(id);
    (void)stream.flush();
  } catch (const logitscope::Error&) {
  }
  return 0;
}
