// SPDX-License-Identifier: GPL-3.0-or-later
// The BPE model of tokenizer.json: vocab + ranked merges, byte-level or SentencePiece-style
// (byte_fallback, unk, fuse_unk), ignore_merges, continuing_subword_prefix / end_of_word_suffix.
// Merges run lowest rank first, leftmost first on ties, exactly as the Rust crate's Word::merge_all.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "logitscope/types.h"
#include "tokenizer/json_util.h"

namespace logitscope::tok {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringMap = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  BpeModel(const Json& model, const JsonCtx& ctx);

  // Appends the ids of one pre-tokenized word.
  void tokenize(std::string_view word, std::vector<TokenId>& out) const;

  std::optional<TokenId> token_to_id(std::string_view token) const;
  const std::string* id_to_token(TokenId id) const;  // null when the id is not in the vocab
  std::size_t vocab_entries() const { return vocab_.size(); }
  TokenId max_id() const { return TokenId(id_to_token_.size()) - 1; }
  bool byte_fallback() const { return byte_fallback_; }

 private:
  void merge_word(std::string_view word, std::vector<TokenId>& out) const;

  StringMap vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  // (left id << 32 | right id) -> (rank, merged id)
  std::unordered_map<std::uint64_t, std::pair<std::uint32_t, TokenId>> merges_;
  std::optional<TokenId> unk_id_;
  std::string prefix_, suffix_;
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
  TokenId byte_ids_[256];  // "<0xXX>" ids for byte_fallback, -1 when absent

  // Words seen before: most text repeats words, so this makes long inputs cheap.
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<TokenId>, StringHash, std::equal_to<>> cache_;
};

}  // namespace logitscope::tok
