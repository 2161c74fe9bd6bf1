// SPDX-License-Identifier: GPL-3.0-or-later
#include "tokenizer/added_vocab.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace logitscope::tok {

void TokenTrie::insert(std::string_view key, int value) {
  if (key.empty()) return;
  first_[static_cast<unsigned char>(key[0])] = true;
  int node = 0;
  for (unsigned char b : key) {
    auto& next = nodes_[std::size_t(node)].next;
    auto it = std::lower_bound(next.begin(), next.end(), b, [](const auto& e, unsigned char v) { return e.first < v; });
    if (it != next.end() && it->first == b) {
      node = it->second;
    } else {
      int child = int(nodes_.size());
      next.insert(it, {b, child});
      nodes_.emplace_back();
      node = child;
    }
  }
  // The first token with a given content wins, like the pattern order of the Rust matcher.
  if (nodes_[std::size_t(node)].value < 0) nodes_[std::size_t(node)].value = value;
}

int TokenTrie::longest(std::string_view text, std::size_t pos, std::size_t& length) const {
  int node = 0, best = -1;
  for (std::size_t i = pos; i < text.size(); ++i) {
    const auto& next = nodes_[std::size_t(node)].next;
    unsigned char b = static_cast<unsigned char>(text[i]);
    auto it = std::lower_bound(next.begin(), next.end(), b, [](const auto& e, unsigned char v) { return e.first < v; });
    if (it == next.end() || it->first != b) break;
    node = it->second;
    if (nodes_[std::size_t(node)].value >= 0) {
      best = nodes_[std::size_t(node)].value;
      length = i + 1 - pos;
    }
  }
  return best;
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer)
    : tokens_(std::move(tokens)) {
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    by_id_[t.id] = i;  // a later entry for the same id replaces the earlier, as in the Rust map
    by_content_.emplace(t.content, i);
    if (t.normalized) {
      std::string pattern = t.content;
      if (normalizer) normalizer->normalize(pattern);
      normalized_trie_.insert(pattern, int(i));
    } else {
      raw_trie_.insert(t.content, int(i));
    }
  }
}

const AddedToken* AddedVocabulary::by_id(TokenId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::by_content(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

bool AddedVocabulary::is_special_content(std::string_view content) const {
  const AddedToken* t = by_content(content);
  return t && t->special;
}

namespace {

// The last character of `text` is a word character (alphanumeric or '_').
bool ends_with_word(std::string_view text) {
  if (text.empty()) return false;
  std::size_t p = text.size() - 1, len = 0;
  while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
  char32_t c = decode_utf8(text, p, len);
  return c == '_' || is_alphanumeric(c);
}

bool starts_with_word(std::string_view text) {
  if (text.empty()) return false;
  std::size_t len = 0;
  char32_t c = decode_utf8(text, 0, len);
  return c == '_' || is_alphanumeric(c);
}

// Start of the whitespace run that ends `text` (text.size() if none).
std::size_t trailing_space_start(std::string_view text) {
  std::size_t end = text.size(), len = 0;
  while (end > 0) {
    std::size_t p = end - 1;
    while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
    if (!is_whitespace(decode_utf8(text, p, len))) break;
    end = p;
  }
  return end;
}

// Bytes of the whitespace run that begins `text`.
std::size_t leading_space_length(std::string_view text) {
  std::size_t pos = 0, len = 0;
  while (pos < text.size() && is_whitespace(decode_utf8(text, pos, len))) pos += len;
  return pos;
}

}  // namespace

void AddedVocabulary::find_matches(std::string_view text, const TokenTrie& trie, std::vector<Match>& out) const {
  out.clear();
  std::size_t start_offset = 0;
  if (!trie.empty()) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      if (!trie.may_start(static_cast<unsigned char>(text[pos]))) {
        ++pos;
        continue;
      }
      std::size_t length = 0;
      int index = trie.longest(text, pos, length);
      if (index < 0) {
        ++pos;
        continue;
      }
      const AddedToken& token = tokens_[std::size_t(index)];
      std::size_t start = pos, stop = pos + length;
      pos = stop;  // matching resumes after this match even when it is rejected below
      if (token.single_word) {
        bool start_space = start == 0 || !ends_with_word(text.substr(0, start));
        bool stop_space = stop == text.size() || !starts_with_word(text.substr(stop));
        if (!start_space || !stop_space) continue;
      }
      if (token.lstrip) start = std::max(trailing_space_start(text.substr(0, start)), start_offset);
      if (token.rstrip) stop += leading_space_length(text.substr(stop));
      if (start_offset < start) out.push_back({start_offset, start, -1});
      out.push_back({start, stop, token.id});
      start_offset = stop;
      pos = stop;
    }
  }
  if (start_offset < text.size()) out.push_back({start_offset, text.size(), -1});
}

void AddedVocabulary::extract_and_normalize(std::string_view text, const Normalizer* normalizer,
                                            std::vector<Segment>& out) const {
  out.clear();
  std::vector<Match> raw, normalized;
  find_matches(text, raw_trie_, raw);
  for (const Match& m : raw) {
    if (m.id >= 0) {
      out.push_back({Piece{}, m.id});
      continue;
    }
    std::string piece(text.substr(m.start, m.end - m.start));
    if (normalizer) normalizer->normalize(piece);
    bool at_start = m.start == 0;
    if (normalized_trie_.empty()) {
      if (!piece.empty()) out.push_back({Piece{std::move(piece), at_start}, -1});
      continue;
    }
    find_matches(piece, normalized_trie_, normalized);
    for (const Match& n : normalized) {
      if (n.id >= 0) out.push_back({Piece{}, n.id});
      else if (n.end > n.start) out.push_back({Piece{piece.substr(n.start, n.end - n.start), at_start && n.start == 0}, -1});
    }
  }
}

}  // namespace logitscope::tok
