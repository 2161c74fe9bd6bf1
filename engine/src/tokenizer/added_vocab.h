// SPDX-License-Identifier: GPL-3.0-or-later
// Added tokens (special or not) and how they are found in user text, as the Rust crate's
// AddedVocabulary does: leftmost-longest matching, non-normalized tokens on the raw text before
// normalization, normalized tokens on the normalized text, with single_word / lstrip / rstrip.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "logitscope/types.h"
#include "tokenizer/components.h"

namespace logitscope::tok {

struct AddedToken {
  std::string content;
  TokenId id = 0;
  bool single_word = false, lstrip = false, rstrip = false, normalized = false, special = false;
};

// A byte trie over token strings, answering "longest token starting here".
class TokenTrie {
 public:
  void insert(std::string_view key, int value);
  // Longest key that starts at text[pos]: its value and length, or -1.
  int longest(std::string_view text, std::size_t pos, std::size_t& length) const;
  bool empty() const { return nodes_.size() <= 1; }
  bool may_start(unsigned char b) const { return first_[b]; }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int>> next;  // sorted by byte
    int value = -1;
  };
  std::vector<Node> nodes_{Node{}};
  bool first_[256] = {};
};

// A segment of the input after added-token extraction: either an added token or normalized text.
struct Segment {
  Piece piece;         // normalized text (when token < 0)
  TokenId token = -1;  // the added token's id
};

class AddedVocabulary {
 public:
  // `tokens` in tokenizer.json order; ids already resolved. `normalizer` may be null.
  AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer);

  void extract_and_normalize(std::string_view text, const Normalizer* normalizer, std::vector<Segment>& out) const;

  const AddedToken* by_id(TokenId id) const;
  const AddedToken* by_content(std::string_view content) const;
  bool is_special_content(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  struct Match {
    std::size_t start, end;
    TokenId id;  // -1 for text between tokens
  };
  void find_matches(std::string_view text, const TokenTrie& trie, std::vector<Match>& out) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<TokenId, std::size_t> by_id_;
  std::unordered_map<std::string, std::size_t> by_content_;
  TokenTrie raw_trie_, normalized_trie_;  // values index tokens_
};

}  // namespace logitscope::tok
