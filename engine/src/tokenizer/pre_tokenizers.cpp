// SPDX-License-Identifier: GPL-3.0-or-later
// Pre-tokenizers: Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit, Punctuation,
// BertPreTokenizer, CharDelimiterSplit, Sequence. The split behaviours follow the Rust crate's
// NormalizedString::split fold exactly (including how MergedWith* treat runs of matches).
#include <algorithm>

#include "tokenizer/components.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode.h"

namespace logitscope::tok {

namespace {

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parse_behavior(const std::string& name, const JsonCtx& ctx, const std::string& where) {
  if (name == "Removed") return Behavior::Removed;
  if (name == "Isolated") return Behavior::Isolated;
  if (name == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::MergedWithNext;
  if (name == "Contiguous") return Behavior::Contiguous;
  ctx.fail(where + " behavior '" + name + "' is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
}

struct Span {
  std::size_t start, end;
  bool match;
};

// Turns match ranges into spans covering the whole text (gaps are non-matches).
void spans_from_matches(std::size_t len, const std::vector<std::pair<std::size_t, std::size_t>>& matches, bool invert,
                        std::vector<Span>& spans) {
  spans.clear();
  std::size_t prev = 0;
  for (auto [s, e] : matches) {
    if (s > prev) spans.push_back({prev, s, invert});
    spans.push_back({s, e, !invert});
    prev = e;
  }
  if (prev < len) spans.push_back({prev, len, invert});
}

// Every character for which `pred` holds is its own match (the Rust crate's `Fn(char) -> bool` pattern).
template <typename Pred>
void spans_from_chars(std::string_view text, Pred pred, bool invert, std::vector<Span>& spans) {
  spans.clear();
  std::size_t prev = 0, len = 0;
  for (std::size_t i = 0; i < text.size(); i += len) {
    char32_t c = decode_utf8(text, i, len);
    if (pred(c)) {
      if (i > prev) spans.push_back({prev, i, invert});
      spans.push_back({i, i + len, !invert});
      prev = i + len;
    }
  }
  if (prev < text.size()) spans.push_back({prev, text.size(), invert});
}

void apply_behavior(const Piece& piece, std::vector<Span>& spans, Behavior behavior, std::vector<Piece>& out) {
  // After this block each kept span is emitted; `match` marks spans to remove.
  std::vector<Span> merged;
  switch (behavior) {
    case Behavior::Removed:
      merged = spans;
      break;
    case Behavior::Isolated:
      merged = spans;
      for (auto& s : merged) s.match = false;
      break;
    case Behavior::MergedWithPrevious: {
      bool previous_match = false;
      for (const auto& s : spans) {
        if (s.match && !previous_match && !merged.empty()) {
          merged.back().end = s.end;
        } else {
          merged.push_back({s.start, s.end, false});
        }
        previous_match = s.match;
      }
      break;
    }
    case Behavior::MergedWithNext: {
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->match && !previous_match && !merged.empty()) {
          merged.back().start = it->start;
        } else {
          merged.push_back({it->start, it->end, false});
        }
        previous_match = it->match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
    }
    case Behavior::Contiguous: {
      bool previous_match = false;
      for (const auto& s : spans) {
        if (s.match == previous_match && !merged.empty()) {
          merged.back().end = s.end;
        } else {
          merged.push_back({s.start, s.end, false});
        }
        previous_match = s.match;
      }
      break;
    }
  }
  for (const auto& s : merged) {
    if (s.match || s.end == s.start) continue;
    out.push_back({piece.text.substr(s.start, s.end - s.start), piece.at_start && s.start == 0});
  }
}

class Split : public PreTokenizer {
 public:
  Split(const Json& j, const JsonCtx& ctx)
      : pattern_(ctx.field(j, "pattern", "pre_tokenizer Split"), ctx, "pre_tokenizer Split"),
        behavior_(parse_behavior(ctx.str(j, "behavior", "pre_tokenizer Split"), ctx, "pre_tokenizer Split")),
        invert_(ctx.flag(j, "invert", false, "pre_tokenizer Split")) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    out.reserve(pieces.size() * 4);
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    std::vector<Span> spans;
    for (const auto& p : pieces) {
      pattern_.find_all(p.text, matches);
      spans_from_matches(p.text.size(), matches, invert_, spans);
      apply_behavior(p, spans, behavior_, out);
    }
    pieces = std::move(out);
  }

 private:
  Pattern pattern_;
  Behavior behavior_;
  bool invert_;
};

const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(const Json& j, const JsonCtx& ctx)
      : add_prefix_space_(ctx.flag(j, "add_prefix_space", true, "pre_tokenizer ByteLevel")),
        use_regex_(ctx.flag(j, "use_regex", true, "pre_tokenizer ByteLevel")) {
    if (use_regex_) regex_ = std::make_unique<Regex>(kGpt2Pattern, ctx.file + ": pre_tokenizer ByteLevel");
  }
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> split;
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    std::vector<Span> spans;
    for (auto& p : pieces) {
      if (add_prefix_space_ && !p.text.empty() && p.text[0] != ' ') p.text.insert(0, " ");
      if (use_regex_) {
        regex_->find_all(p.text, matches);
        spans_from_matches(p.text.size(), matches, false, spans);
        apply_behavior(p, spans, Behavior::Isolated, split);
      } else if (!p.text.empty()) {
        split.push_back(std::move(p));
      }
    }
    const auto& map = byte_level_map();
    for (auto& p : split) {
      std::string mapped;
      mapped.reserve(p.text.size() * 2);
      for (unsigned char b : p.text) mapped += map.byte_to_utf8[b];
      p.text = std::move(mapped);
    }
    pieces = std::move(split);
  }

 private:
  bool add_prefix_space_, use_regex_;
  std::unique_ptr<Regex> regex_;
};

class Metaspace : public PreTokenizer {
 public:
  enum class Scheme { First, Always, Never };
  Metaspace(const Json& j, const JsonCtx& ctx) {
    const std::string where = "pre_tokenizer Metaspace";
    replacement_ = ctx.str_or(j, "replacement", "\xE2\x96\x81", where);
    std::size_t len = 0;
    if (replacement_.empty() || (decode_utf8(replacement_, 0, len), len != replacement_.size()))
      ctx.fail(where + " replacement must be a single character");
    replacement_cp_ = decode_utf8(replacement_, 0, len);
    std::string scheme = ctx.str_or(j, "prepend_scheme", "", where);
    if (scheme.empty()) {
      scheme = ctx.flag(j, "add_prefix_space", true, where) ? "always" : "never";
    }
    if (scheme == "first") scheme_ = Scheme::First;
    else if (scheme == "always") scheme_ = Scheme::Always;
    else if (scheme == "never") scheme_ = Scheme::Never;
    else ctx.fail(where + " prepend_scheme '" + scheme + "' is not one of first, always, never");
    split_ = ctx.flag(j, "split", true, where);
  }
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    std::vector<Span> spans;
    for (auto& p : pieces) {
      std::string text;
      text.reserve(p.text.size() + 8);
      for (char c : p.text) {
        if (c == ' ') text += replacement_;
        else text.push_back(c);
      }
      bool starts = text.compare(0, replacement_.size(), replacement_) == 0;
      if (!text.empty() && !starts &&
          (scheme_ == Scheme::Always || (scheme_ == Scheme::First && p.at_start)))
        text.insert(0, replacement_);
      Piece np{std::move(text), p.at_start};
      if (!split_) {
        if (!np.text.empty()) out.push_back(std::move(np));
        continue;
      }
      char32_t r = replacement_cp_;
      spans_from_chars(np.text, [r](char32_t c) { return c == r; }, false, spans);
      apply_behavior(np, spans, Behavior::MergedWithNext, out);
    }
    pieces = std::move(out);
  }

 private:
  std::string replacement_;
  char32_t replacement_cp_ = 0x2581;
  Scheme scheme_ = Scheme::Always;
  bool split_ = true;
};

// Splits on characters matching a predicate with a fixed behaviour (Digits, WhitespaceSplit, ...).
template <typename Pred>
class CharSplit : public PreTokenizer {
 public:
  CharSplit(Pred pred, Behavior behavior) : pred_(pred), behavior_(behavior) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    std::vector<Span> spans;
    for (const auto& p : pieces) {
      spans_from_chars(p.text, pred_, false, spans);
      apply_behavior(p, spans, behavior_, out);
    }
    pieces = std::move(out);
  }

 private:
  Pred pred_;
  Behavior behavior_;
};

template <typename Pred>
std::unique_ptr<PreTokenizer> char_split(Pred pred, Behavior behavior) {
  return std::make_unique<CharSplit<Pred>>(pred, behavior);
}

// Whitespace: keeps the matches of \w+|[^\w\s]+ and drops everything else. \w is spelled out as the
// Rust regex crate defines it (Alphabetic, marks, decimal digits, connectors, joiners); PCRE2's own
// \w leaves out combining marks.
#define LOGITSCOPE_RUST_WORD R"(\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D})"
class WhitespacePre : public PreTokenizer {
 public:
  explicit WhitespacePre(const JsonCtx& ctx)
      : regex_("[" LOGITSCOPE_RUST_WORD "]+|[^" LOGITSCOPE_RUST_WORD R"(\s]+)",
               ctx.file + ": pre_tokenizer Whitespace") {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    std::vector<Span> spans;
    for (const auto& p : pieces) {
      regex_.find_all(p.text, matches);
      spans_from_matches(p.text.size(), matches, true, spans);
      apply_behavior(p, spans, Behavior::Removed, out);
    }
    pieces = std::move(out);
  }

 private:
  Regex regex_;
};

class SequencePre : public PreTokenizer {
 public:
  explicit SequencePre(std::vector<std::unique_ptr<PreTokenizer>> items) : items_(std::move(items)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& item : items_) item->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> items_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j, const JsonCtx& ctx) {
  if (j.is_null()) return nullptr;
  std::string type = ctx.str(j, "type", "pre_tokenizer");
  if (type == "Split") return std::make_unique<Split>(j, ctx);
  if (type == "ByteLevel") return std::make_unique<ByteLevel>(j, ctx);
  if (type == "Metaspace") return std::make_unique<Metaspace>(j, ctx);
  if (type == "Digits") {
    bool individual = ctx.flag(j, "individual_digits", false, "pre_tokenizer Digits");
    return char_split([](char32_t c) { return is_numeric(c); }, individual ? Behavior::Isolated : Behavior::Contiguous);
  }
  if (type == "WhitespaceSplit") return char_split([](char32_t c) { return is_whitespace(c); }, Behavior::Removed);
  if (type == "Whitespace") return std::make_unique<WhitespacePre>(ctx);
  if (type == "Punctuation") {
    Behavior b = parse_behavior(ctx.str_or(j, "behavior", "Isolated", "pre_tokenizer Punctuation"), ctx,
                                "pre_tokenizer Punctuation");
    return char_split([](char32_t c) { return is_punctuation(c); }, b);
  }
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> items;
    items.push_back(char_split([](char32_t c) { return is_whitespace(c); }, Behavior::Removed));
    items.push_back(char_split([](char32_t c) { return is_punctuation(c); }, Behavior::Isolated));
    return std::make_unique<SequencePre>(std::move(items));
  }
  if (type == "CharDelimiterSplit") {
    std::string d = ctx.str(j, "delimiter", "pre_tokenizer CharDelimiterSplit");
    std::size_t len = 0;
    char32_t cp = d.empty() ? 0 : decode_utf8(d, 0, len);
    if (d.empty() || len != d.size()) ctx.fail("pre_tokenizer CharDelimiterSplit delimiter must be one character");
    return char_split([cp](char32_t c) { return c == cp; }, Behavior::Removed);
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> items;
    for (const auto& item : ctx.array(j, "pretokenizers", "pre_tokenizer Sequence")) {
      if (auto p = make_pre_tokenizer(item, ctx)) items.push_back(std::move(p));
    }
    return std::make_unique<SequencePre>(std::move(items));
  }
  ctx.fail("pre_tokenizer type '" + type + "' is not supported");
}

}  // namespace logitscope::tok
