// SPDX-License-Identifier: GPL-3.0-or-later
#include "tokenizer/bpe.h"

#include <cstdio>
#include <queue>

#include "tokenizer/unicode.h"

namespace logitscope::tok {

namespace {

constexpr std::size_t kCacheCapacity = 100000;
constexpr std::size_t kMaxCachedWordBytes = 256;

std::uint64_t pair_key(TokenId a, TokenId b) { return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b); }

}  // namespace

BpeModel::BpeModel(const Json& model, const JsonCtx& ctx) {
  const std::string where = "model BPE";
  const Json& vocab = ctx.field(model, "vocab", where);
  if (!vocab.is_object()) ctx.fail(where + " field 'vocab' must be an object of token -> id");
  vocab_.reserve(vocab.size());
  TokenId max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<long long>() < 0 || it.value().get<long long>() > INT32_MAX)
      ctx.fail(where + " vocab entry '" + it.key() + "' must have a non-negative integer id");
    TokenId id = it.value().get<TokenId>();
    vocab_.emplace(it.key(), id);
    max_id = std::max(max_id, id);
  }
  id_to_token_.resize(std::size_t(max_id + 1));
  has_id_.assign(std::size_t(max_id + 1), false);
  for (const auto& [token, id] : vocab_) {
    id_to_token_[std::size_t(id)] = token;
    has_id_[std::size_t(id)] = true;
  }

  prefix_ = ctx.str_or(model, "continuing_subword_prefix", "", where);
  suffix_ = ctx.str_or(model, "end_of_word_suffix", "", where);
  byte_fallback_ = ctx.flag(model, "byte_fallback", false, where);
  fuse_unk_ = ctx.flag(model, "fuse_unk", false, where);
  ignore_merges_ = ctx.flag(model, "ignore_merges", false, where);
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"].is_number() &&
      model["dropout"].get<double>() > 0.0)
    ctx.fail(where + " dropout is not supported (it makes encoding random)");
  std::string unk = ctx.str_or(model, "unk_token", "", where);
  if (!unk.empty()) {
    auto it = vocab_.find(unk);
    if (it == vocab_.end()) ctx.fail(where + " unk_token '" + unk + "' is not in the vocab");
    unk_id_ = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto it = vocab_.find(std::string_view(name));
    byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
  }

  const Json& merges = ctx.array(model, "merges", where);
  merges_.reserve(merges.size());
  auto lookup = [&](const std::string& token, std::size_t rank) {
    auto it = vocab_.find(token);
    if (it == vocab_.end())
      ctx.fail(where + " merge #" + std::to_string(rank) + " uses '" + token + "', which is not in the vocab");
    return it->second;
  };
  std::string a, b;
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const Json& m = merges[rank];
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      auto space = s.find(' ');
      if (space == std::string::npos)
        ctx.fail(where + " merge #" + std::to_string(rank) + " '" + s + "' must be two tokens separated by a space");
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      ctx.fail(where + " merge #" + std::to_string(rank) + " must be \"a b\" or [\"a\", \"b\"]");
    }
    TokenId ia = lookup(a, rank), ib = lookup(b, rank);
    std::string merged = a + (b.compare(0, prefix_.size(), prefix_) == 0 ? b.substr(prefix_.size()) : b);
    TokenId im = lookup(merged, rank);
    merges_[pair_key(ia, ib)] = {std::uint32_t(rank), im};
  }
}

std::optional<TokenId> BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(TokenId id) const {
  if (id < 0 || std::size_t(id) >= has_id_.size() || !has_id_[std::size_t(id)]) return nullptr;
  return &id_to_token_[std::size_t(id)];
}

void BpeModel::tokenize(std::string_view word, std::vector<TokenId>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (auto it = vocab_.find(word); it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (auto it = cache_.find(word); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<TokenId> ids;
  merge_word(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(word), std::move(ids));
  }
}

void BpeModel::merge_word(std::string_view word, std::vector<TokenId>& out) const {
  struct Symbol {
    TokenId id;
    int prev, next;
    std::uint32_t len;  // bytes of the word it covers; 0 once merged into its left neighbour
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&](TokenId id, std::uint32_t len) {
    int index = int(symbols.size());
    symbols.push_back({id, index - 1, -1, len});
    if (index > 0) symbols[std::size_t(index - 1)].next = index;
  };

  // Initial symbols: one per character (with prefix/suffix), else its bytes, else unk. Unknown
  // characters wait in (unk_pending, unk_len) so that fuse_unk can join a run of them.
  TokenId unk_pending = -1;
  std::uint32_t unk_len = 0;
  std::string piece;
  for (std::size_t i = 0, len = 0; i < word.size(); i += len) {
    len = utf8_len(static_cast<unsigned char>(word[i]));
    if (i + len > word.size()) len = word.size() - i;
    piece.clear();
    if (i > 0) piece += prefix_;
    piece.append(word.substr(i, len));
    if (i + len == word.size()) piece += suffix_;
    if (auto it = vocab_.find(piece); it != vocab_.end()) {
      if (unk_pending >= 0) {
        add(unk_pending, unk_len);
        unk_pending = -1;
      }
      add(it->second, std::uint32_t(len));
      continue;
    }
    if (byte_fallback_) {
      // Like the Rust crate, the fallback covers the piece's bytes including any prefix/suffix.
      bool all = true;
      for (unsigned char b : piece) all = all && byte_ids_[b] >= 0;
      if (all) {
        for (unsigned char b : piece) add(byte_ids_[b], 1);
        continue;
      }
    }
    if (unk_id_) {
      if (unk_pending >= 0 && fuse_unk_) {
        unk_len += std::uint32_t(len);
      } else {
        if (unk_pending >= 0) add(unk_pending, unk_len);
        unk_pending = *unk_id_;
        unk_len = std::uint32_t(len);
      }
    }
  }
  if (unk_pending >= 0) add(unk_pending, unk_len);

  struct Candidate {
    std::uint32_t rank;
    int pos;
    TokenId new_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto push_pair = [&](int left) {
    int right = symbols[std::size_t(left)].next;
    if (right < 0) return;
    auto it = merges_.find(pair_key(symbols[std::size_t(left)].id, symbols[std::size_t(right)].id));
    if (it != merges_.end()) queue.push({it->second.first, left, it->second.second});
  };
  for (int i = 0; i + 1 < int(symbols.size()); ++i) push_pair(i);

  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[std::size_t(top.pos)];
    if (left.len == 0 || left.next < 0) continue;
    Symbol& right = symbols[std::size_t(left.next)];
    auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.second != top.new_id) continue;  // stale entry
    left.id = top.new_id;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (left.next >= 0) symbols[std::size_t(left.next)].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (const auto& s : symbols) {
    if (s.len > 0) out.push_back(s.id);
  }
}

}  // namespace logitscope::tok
