// SPDX-License-Identifier: GPL-3.0-or-later
// Hugging Face tokenizer.json, natively: BPE (byte-level and SentencePiece-style), normalizers,
// pre-tokenizers, added tokens, post-processors and decoders. (API contract; owned by the tokenizer work.)
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "logitscope/types.h"

namespace logitscope {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // `path` is a tokenizer.json or a folder holding one. Throws logitscope::Error naming the file,
  // the component and what was expected.
  static std::unique_ptr<Tokenizer> from_file(const std::filesystem::path& path);

  virtual std::vector<TokenId> encode(std::string_view text, bool add_special_tokens = false) const = 0;
  virtual std::string decode(std::span<const TokenId> ids, bool skip_special_tokens = false) const = 0;
  // The raw bytes one token stands for (after the decoder's byte mapping), e.g. "\xE2\x80" or " the".
  virtual std::string token_bytes(TokenId id) const = 0;
  // The token's string as written in the vocabulary ("Ġthe", "<think>").
  virtual std::string token_string(TokenId id) const = 0;
  virtual std::optional<TokenId> token_to_id(std::string_view token) const = 0;
  virtual bool is_special(TokenId id) const = 0;
  virtual std::size_t vocab_size() const = 0;
};

// The first id that does not stand for the same bytes in both (an id only one of them has counts):
// models whose tokenizers differ cannot be compared token by token, even at the same vocabulary size.
// std::nullopt when every id agrees.
std::optional<TokenId> first_differing_token(const Tokenizer& a, const Tokenizer& b);

// Turns a stream of token ids into text, emitting only complete UTF-8 characters.
class DecodeStream {
 public:
  explicit DecodeStream(const Tokenizer& tokenizer, bool skip_special_tokens = false);
  // Text that became complete with this token (may be empty).
  std::string push(TokenId id);
  // Whatever is held back at the end (invalid trailing bytes come out as U+FFFD); resets the stream.
  std::string flush();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::vector<TokenId> ids_;
  std::size_t emitted_bytes_ = 0;  // bytes of prefix_
  std::size_t prefix_start_ = 0;   // ids_[0, prefix_start_) are context already emitted
  std::string prefix_;             // decode(ids_) when text was last emitted

};

}  // namespace logitscope
