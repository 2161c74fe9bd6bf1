// SPDX-License-Identifier: GPL-3.0-or-later
// Decoders: ByteLevel, ByteFallback, Metaspace, Fuse, Strip, Replace, WordPiece, BPEDecoder, Sequence,
// each a decode_chain over token strings as in the Rust crate.
#include <cstdlib>

#include "tokenizer/components.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode.h"

namespace logitscope::tok {

namespace {

// Maps every character back to its byte; a token with any character outside the map keeps its own
// UTF-8 bytes (that is how added tokens like "<think>" survive). Invalid UTF-8 becomes U+FFFD.
class ByteLevelDec : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    const auto& map = byte_level_map();
    std::string bytes;
    for (const auto& t : tokens) {
      std::size_t mark = bytes.size();
      bool ok = true;
      for (std::size_t i = 0, len = 0; i < t.size(); i += len) {
        char32_t c = decode_utf8(t, i, len);
        int b = c < map.char_to_byte.size() ? map.char_to_byte[c] : -1;
        if (b < 0) {
          ok = false;
          break;
        }
        bytes.push_back(char(b));
      }
      if (!ok) {
        bytes.resize(mark);
        bytes += t;
      }
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
  void raw_bytes(std::string& token) const override {
    const auto& map = byte_level_map();
    std::string bytes;
    for (std::size_t i = 0, len = 0; i < token.size(); i += len) {
      char32_t c = decode_utf8(token, i, len);
      int b = c < map.char_to_byte.size() ? map.char_to_byte[c] : -1;
      if (b < 0) return;  // not a byte-level token: its own UTF-8 is its text
      bytes.push_back(char(b));
    }
    token = std::move(bytes);
  }
};

// "<0x41>" -> 0x41, or -1 when the token is not a byte token.
int parse_byte_token(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// Runs of byte tokens become their UTF-8 text, or one U+FFFD per byte token when invalid.
class ByteFallbackDec : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    auto flush = [&] {
      if (pending.empty()) return;
      if (find_invalid_utf8(pending) == std::string::npos) {
        out.push_back(pending);
      } else {
        for (std::size_t i = 0; i < pending.size(); ++i) out.push_back("\xEF\xBF\xBD");
      }
      pending.clear();
    };
    for (auto& t : tokens) {
      int b = parse_byte_token(t);
      if (b >= 0) {
        pending.push_back(char(b));
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }
  void raw_bytes(std::string& token) const override {
    if (int b = parse_byte_token(token); b >= 0) token.assign(1, char(b));
  }
};

class MetaspaceDec : public Decoder {
 public:
  MetaspaceDec(const Json& j, const JsonCtx& ctx) {
    const std::string where = "decoder Metaspace";
    replacement_ = ctx.str_or(j, "replacement", "\xE2\x96\x81", where);
    std::string scheme = ctx.str_or(j, "prepend_scheme", "", where);
    if (scheme.empty()) scheme = ctx.flag(j, "add_prefix_space", true, where) ? "always" : "never";
    if (scheme != "first" && scheme != "always" && scheme != "never")
      ctx.fail(where + " prepend_scheme '" + scheme + "' is not one of first, always, never");
    strip_first_ = scheme != "never";
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      // As in the Rust crate: in the first token every replacement character is dropped (not only
      // the prefix one), elsewhere each becomes a space.
      bool drop = i == 0 && strip_first_;
      std::size_t pos = 0;
      while (pos < t.size()) {
        if (t.compare(pos, replacement_.size(), replacement_) == 0) {
          if (!drop) out.push_back(' ');
          pos += replacement_.size();
        } else {
          out.push_back(t[pos++]);
        }
      }
      tokens[i] = std::move(out);
    }
  }
  void raw_bytes(std::string& token) const override {
    std::string out;
    for (std::size_t pos = 0; pos < token.size();) {
      if (token.compare(pos, replacement_.size(), replacement_) == 0) {
        out.push_back(' ');
        pos += replacement_.size();
      } else {
        out.push_back(token[pos++]);
      }
    }
    token = std::move(out);
  }

 private:
  std::string replacement_;
  bool strip_first_ = true;
};

class FuseDec : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

class StripDec : public Decoder {
 public:
  StripDec(const Json& j, const JsonCtx& ctx) {
    const std::string where = "decoder Strip";
    std::string content = ctx.str(j, "content", where);
    std::size_t len = 0;
    if (content.empty() || (decode_utf8(content, 0, len), len != content.size()))
      ctx.fail(where + " content must be a single character");
    content_ = decode_utf8(content, 0, len);
    start_ = std::size_t(ctx.integer(j, "start", 0, where));
    stop_ = std::size_t(ctx.integer(j, "stop", 0, where));
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      std::vector<std::pair<char32_t, std::size_t>> chars;  // (code point, byte offset)
      for (std::size_t i = 0, len = 0; i < t.size(); i += len) chars.emplace_back(decode_utf8(t, i, len), i);
      std::size_t begin = 0, end = chars.size();
      for (std::size_t i = 0; i < start_ && i < chars.size() && chars[i].first == content_; ++i) begin = i + 1;
      for (std::size_t i = 0; i < stop_ && i < chars.size(); ++i) {
        std::size_t index = chars.size() - i - 1;
        if (chars[index].first != content_) break;
        end = index;
      }
      if (end <= begin) {
        t.clear();
      } else {
        std::size_t b = chars[begin].second, e = end < chars.size() ? chars[end].second : t.size();
        t = t.substr(b, e - b);
      }
    }
  }

 private:
  char32_t content_ = ' ';
  std::size_t start_ = 0, stop_ = 0;
};

class ReplaceDec : public Decoder {
 public:
  ReplaceDec(const Json& j, const JsonCtx& ctx)
      : pattern_(ctx.field(j, "pattern", "decoder Replace"), ctx, "decoder Replace"),
        content_(ctx.str(j, "content", "decoder Replace")) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) t = pattern_.replace_all(t, content_);
  }
  void raw_bytes(std::string& token) const override { token = pattern_.replace_all(token, content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

void replace_in(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

// BERT-style cleanup of spaces before punctuation and around contractions.
void cleanup_tokenization(std::string& s) {
  for (const char* p : {" .", " ?", " !", " ,"}) replace_in(s, p, std::string(p + 1));
  replace_in(s, " ' ", "'");
  replace_in(s, " n't", "n't");
  replace_in(s, " 'm", "'m");
  replace_in(s, " do not", " don't");
  replace_in(s, " 's", "'s");
  replace_in(s, " 've", "'ve");
  replace_in(s, " 're", "'re");
}

class WordPieceDec : public Decoder {
 public:
  WordPieceDec(const Json& j, const JsonCtx& ctx)
      : prefix_(ctx.str_or(j, "prefix", "##", "decoder WordPiece")),
        cleanup_(ctx.flag(j, "cleanup", true, "decoder WordPiece")) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0) t.erase(0, prefix_.size());
        else t.insert(0, " ");
      }
      if (cleanup_) cleanup_tokenization(t);
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

// Classic BPE with an end-of-word suffix ("</w>"): the suffix becomes a space except at the end.
class BpeDec : public Decoder {
 public:
  BpeDec(const Json& j, const JsonCtx& ctx) : suffix_(ctx.str_or(j, "suffix", "</w>", "decoder BPEDecoder")) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) replace_in(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  }

 private:
  std::string suffix_;
};

class SequenceDec : public Decoder {
 public:
  explicit SequenceDec(std::vector<std::unique_ptr<Decoder>> items) : items_(std::move(items)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& d : items_) d->decode_chain(tokens);
  }
  void raw_bytes(std::string& token) const override {
    for (const auto& d : items_) d->raw_bytes(token);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> items_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const Json& j, const JsonCtx& ctx) {
  if (j.is_null()) return nullptr;
  std::string type = ctx.str(j, "type", "decoder");
  if (type == "ByteLevel") return std::make_unique<ByteLevelDec>();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDec>();
  if (type == "Metaspace") return std::make_unique<MetaspaceDec>(j, ctx);
  if (type == "Fuse") return std::make_unique<FuseDec>();
  if (type == "Strip") return std::make_unique<StripDec>(j, ctx);
  if (type == "Replace") return std::make_unique<ReplaceDec>(j, ctx);
  if (type == "WordPiece") return std::make_unique<WordPieceDec>(j, ctx);
  if (type == "BPEDecoder") return std::make_unique<BpeDec>(j, ctx);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> items;
    for (const auto& item : ctx.array(j, "decoders", "decoder Sequence")) {
      if (auto d = make_decoder(item, ctx)) items.push_back(std::move(d));
    }
    return std::make_unique<SequenceDec>(std::move(items));
  }
  ctx.fail("decoder type '" + type + "' is not supported");
}

}  // namespace logitscope::tok
