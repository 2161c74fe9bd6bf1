// SPDX-License-Identifier: GPL-3.0-or-later
// Normalizers: Unicode forms (utf8proc), Lowercase, Replace, Prepend, Strip, StripAccents, Sequence.
#include <utf8proc.h>

#include <cstdlib>

#include "tokenizer/components.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode.h"

namespace logitscope::tok {

namespace {

class UnicodeForm : public Normalizer {
 public:
  UnicodeForm(int options, std::string name) : options_(options), name_(std::move(name)) {}
  void normalize(std::string& text) const override {
    if (text.empty()) return;
    utf8proc_uint8_t* out = nullptr;
    auto len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), utf8proc_ssize_t(text.size()),
                            &out, utf8proc_option_t(options_ | UTF8PROC_STABLE));
    if (len < 0) throw Error("tokenizer " + name_ + " normalizer: " + utf8proc_errmsg(len));
    text.assign(reinterpret_cast<char*>(out), std::size_t(len));
    std::free(out);
  }

 private:
  int options_;
  std::string name_;
};

// Rust's char::to_lowercase, applied per character (no final-sigma context, as HF does).
class Lowercase : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0, len = 0; i < text.size(); i += len) {
      char32_t c = decode_utf8(text, i, len);
      if (c < 0x80) {
        out.push_back(char(c >= 'A' && c <= 'Z' ? c + 32 : c));
      } else if (c == 0x130) {
        out += "i\xCC\x87";  // the one full (multi-character) lowercase mapping
      } else {
        append_utf8(out, char32_t(utf8proc_tolower(utf8proc_int32_t(c))));
      }
    }
    text = std::move(out);
  }
};

class Replace : public Normalizer {
 public:
  Replace(const Json& j, const JsonCtx& ctx)
      : pattern_(ctx.field(j, "pattern", "normalizer Replace"), ctx, "normalizer Replace"),
        content_(ctx.str(j, "content", "normalizer Replace")) {}
  void normalize(std::string& text) const override { text = pattern_.replace_all(text, content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  // Like the Rust crate, an empty string stays empty.
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    std::size_t begin = 0, end = text.size(), len = 0;
    if (left_) {
      while (begin < end && is_whitespace(decode_utf8(text, begin, len))) begin += len;
    }
    if (right_) {
      while (end > begin) {
        std::size_t p = end - 1;
        while (p > begin && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
        if (!is_whitespace(decode_utf8(text, p, len))) break;
        end = p;
      }
    }
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

// Drops combining marks (Mn, Mc, Me, as the Rust crate's is_combining_mark); used after NFD.
class StripAccents : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0, len = 0; i < text.size(); i += len) {
      char32_t c = decode_utf8(text, i, len);
      if (c >= 0x80) {
        auto cat = utf8proc_category(utf8proc_int32_t(c));
        if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME) continue;
      }
      out.append(text, i, len);
    }
    text = std::move(out);
  }
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> items) : items_(std::move(items)) {}
  void normalize(std::string& text) const override {
    for (const auto& n : items_) n->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> items_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const Json& j, const JsonCtx& ctx) {
  if (j.is_null()) return nullptr;
  std::string type = ctx.str(j, "type", "normalizer");
  if (type == "NFC") return std::make_unique<UnicodeForm>(UTF8PROC_COMPOSE, type);
  if (type == "NFD") return std::make_unique<UnicodeForm>(UTF8PROC_DECOMPOSE, type);
  if (type == "NFKC") return std::make_unique<UnicodeForm>(UTF8PROC_COMPOSE | UTF8PROC_COMPAT, type);
  if (type == "NFKD") return std::make_unique<UnicodeForm>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, type);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Replace") return std::make_unique<Replace>(j, ctx);
  if (type == "Prepend") return std::make_unique<Prepend>(ctx.str(j, "prepend", "normalizer Prepend"));
  if (type == "Strip")
    return std::make_unique<Strip>(ctx.flag(j, "strip_left", false, "normalizer Strip"),
                                   ctx.flag(j, "strip_right", false, "normalizer Strip"));
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> items;
    for (const auto& item : ctx.array(j, "normalizers", "normalizer Sequence")) {
      if (auto n = make_normalizer(item, ctx)) items.push_back(std::move(n));
    }
    return std::make_unique<Sequence>(std::move(items));
  }
  ctx.fail("normalizer type '" + type + "' is not supported");
}

}  // namespace logitscope::tok
