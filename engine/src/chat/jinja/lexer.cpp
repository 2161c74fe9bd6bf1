// SPDX-License-Identifier: GPL-3.0-or-later
// The tokenizer: text between tags, and the tokens inside {{ }} and {% %}.
#include "chat/jinja/lexer.h"

#include <algorithm>
#include <cctype>

#include "chat/jinja/value.h"

namespace logitscope::jinja {

std::string normalize_newlines(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
  return out;
}

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Python's str.rstrip(): strips Unicode whitespace too (NBSP etc.).
std::string py_rstrip(const std::string& text) {
  std::u32string u = utf8_decode(text);
  std::size_t end = u.size();
  while (end > 0 && py_isspace(u[end - 1])) --end;
  return utf8_encode(u.substr(0, end));
}

class Lexer {
 public:
  explicit Lexer(const std::string& src) : src_(src) {
    for (std::size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') newlines_.push_back(i);
  }

  std::vector<Token> run() {
    std::size_t pos = 0;
    while (pos < src_.size()) {
      std::size_t start = find_tag(pos);
      std::string text = src_.substr(pos, start == std::string::npos ? std::string::npos : start - pos);
      if (start == std::string::npos) {
        emit(Tok::Data, text, pos);
        break;
      }
      char kind = src_[start + 1];  // '{', '%' or '#'
      std::size_t after = start + 2;
      char sign = 0;
      if (after < src_.size() && (src_[after] == '-' || src_[after] == '+')) sign = src_[after];
      std::size_t raw_body = 0;
      bool raw = kind == '%' && match_raw_begin(after + (sign ? 1 : 0), raw_body);
      text = strip_text(text, sign, kind != '{', pos);
      emit(Tok::Data, text, pos);
      std::size_t inner = after + (sign ? 1 : 0);
      if (raw) {
        pos = lex_raw(raw_body, start);
      } else if (kind == '#') {
        pos = lex_comment(inner, start);
      } else {
        emit(kind == '{' ? Tok::VarBegin : Tok::BlockBegin, "", start);
        pos = lex_tag(inner, kind == '{');
      }
    }
    tokens_.push_back({Tok::Eof, "", line_at(src_.size())});
    return std::move(tokens_);
  }

 private:
  const std::string& src_;
  std::vector<std::size_t> newlines_;
  std::vector<Token> tokens_;

  int line_at(std::size_t offset) const {
    return 1 + static_cast<int>(std::lower_bound(newlines_.begin(), newlines_.end(), offset) - newlines_.begin());
  }
  [[noreturn]] void fail(const std::string& message, std::size_t offset) const {
    throw SyntaxError{message, line_at(offset)};
  }
  void emit(Tok type, std::string text, std::size_t offset) {
    if (type == Tok::Data && text.empty()) return;
    tokens_.push_back({type, std::move(text), line_at(offset)});
  }

  std::size_t find_tag(std::size_t pos) const {
    for (std::size_t i = src_.find('{', pos); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  // lexer.py: `-` strips all whitespace before the tag; lstrip_blocks strips spaces and tabs
  // between a line start and a block or comment tag unless the tag says `+`.
  std::string strip_text(const std::string& text, char sign, bool block_or_comment, std::size_t text_pos) const {
    if (sign == '-') return py_rstrip(text);
    if (sign == '+' || !block_or_comment) return text;
    std::size_t nl = text.rfind('\n');
    std::size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
    bool line_starting = text_pos == 0 || src_[text_pos - 1] == '\n';
    if (l_pos > 0 || line_starting) {
      std::string tail = text.substr(l_pos);
      if (!tail.empty() && py_rstrip(tail).empty()) return text.substr(0, l_pos);
    }
    return text;
  }

  bool match_raw_begin(std::size_t p, std::size_t& body) const {
    while (p < src_.size() && is_ws(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    if (p < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[p])) || src_[p] == '_')) return false;
    while (p < src_.size() && is_ws(src_[p])) ++p;
    if (src_.compare(p, 3, "-%}") == 0) {
      p += 3;
      while (p < src_.size() && is_ws(src_[p])) ++p;
    } else if (src_.compare(p, 2, "%}") == 0) {
      p += 2;
    } else {
      return false;
    }
    body = p;
    return true;
  }

  std::size_t lex_raw(std::size_t body, std::size_t tag_start) {
    for (std::size_t i = src_.find("{%", body); i != std::string::npos; i = src_.find("{%", i + 1)) {
      std::size_t p = i + 2;
      char sign = 0;
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
      while (p < src_.size() && is_ws(src_[p])) ++p;
      if (src_.compare(p, 6, "endraw") != 0) continue;
      p += 6;
      while (p < src_.size() && is_ws(src_[p])) ++p;
      std::size_t end = end_of_block_close(p);
      if (end == std::string::npos) continue;
      std::string text = strip_text(src_.substr(body, i - body), sign, true, body);
      emit(Tok::Data, text, body);
      return end;
    }
    fail("Missing end of raw directive", tag_start);
  }

  // After `%}`: `-%}` eats following whitespace, plain `%}` eats one newline (trim_blocks).
  std::size_t end_of_block_close(std::size_t p) const {
    if (src_.compare(p, 3, "+%}") == 0) return p + 3;
    if (src_.compare(p, 3, "-%}") == 0) {
      p += 3;
      while (p < src_.size() && is_ws(src_[p])) ++p;
      return p;
    }
    if (src_.compare(p, 2, "%}") == 0) {
      p += 2;
      if (p < src_.size() && src_[p] == '\n') ++p;
      return p;
    }
    return std::string::npos;
  }

  std::size_t lex_comment(std::size_t p, std::size_t tag_start) {
    for (; p < src_.size(); ++p) {
      if (src_.compare(p, 3, "+#}") == 0) return p + 3;
      if (src_.compare(p, 3, "-#}") == 0) {
        p += 3;
        while (p < src_.size() && is_ws(src_[p])) ++p;
        return p;
      }
      if (src_.compare(p, 2, "#}") == 0) {
        p += 2;
        if (p < src_.size() && src_[p] == '\n') ++p;
        return p;
      }
    }
    fail("Missing end of comment tag", tag_start);
  }

  std::size_t lex_tag(std::size_t p, bool variable) {
    std::vector<char> balance;
    while (true) {
      while (p < src_.size() && is_ws(src_[p])) ++p;
      if (p >= src_.size()) fail(variable ? "unexpected end of template, expected 'end of print statement'."
                                          : "unexpected end of template, expected 'end of statement block'.", p);
      if (balance.empty()) {
        if (variable) {
          if (src_.compare(p, 3, "-}}") == 0) {
            emit(Tok::VarEnd, "", p);
            p += 3;
            while (p < src_.size() && is_ws(src_[p])) ++p;
            return p;
          }
          if (src_.compare(p, 2, "}}") == 0) {
            emit(Tok::VarEnd, "", p);
            return p + 2;
          }
        } else {
          std::size_t end = end_of_block_close(p);
          if (end != std::string::npos) {
            emit(Tok::BlockEnd, "", p);
            return end;
          }
        }
      }
      char c = src_[p];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        p = lex_number(p);
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        std::size_t s = p;
        while (p < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[p])) || src_[p] == '_')) ++p;
        emit(Tok::Name, src_.substr(s, p - s), s);
      } else if (c == '\'' || c == '"') {
        p = lex_string(p);
      } else {
        static const char* ops[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">",
                                    "=", ".", ",", ":", "|", "(", ")", "[", "]", "{", "}", ";"};
        const char* found = nullptr;
        for (const char* op : ops) {
          if (src_.compare(p, std::char_traits<char>::length(op), op) == 0) {
            found = op;
            break;
          }
        }
        if (!found) fail(std::string("unexpected char '") + c + "' at " + std::to_string(p), p);
        std::string op = found;
        if (op == "(" || op == "[" || op == "{") {
          balance.push_back(op == "(" ? ')' : op == "[" ? ']' : '}');
        } else if (op == ")" || op == "]" || op == "}") {
          if (balance.empty()) fail("unexpected '" + op + "'", p);
          if (balance.back() != op[0]) fail("unexpected '" + op + "', expected '" + balance.back() + "'", p);
          balance.pop_back();
        }
        emit(Tok::Op, op, p);
        p += op.size();
      }
    }
  }

  std::size_t lex_number(std::size_t p) {
    std::size_t s = p;
    auto digits = [&] {
      while (p < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[p])) || src_[p] == '_')) ++p;
    };
    digits();
    bool is_float = false;
    if (p + 1 < src_.size() && src_[p] == '.' && std::isdigit(static_cast<unsigned char>(src_[p + 1]))) {
      is_float = true;
      ++p;
      digits();
    }
    if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      std::size_t q = p + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) {
        is_float = true;
        p = q;
        digits();
      }
    }
    std::string text;
    for (std::size_t i = s; i < p; ++i)
      if (src_[i] != '_') text += src_[i];
    emit(is_float ? Tok::Float : Tok::Int, text, s);
    return p;
  }

  // Python string-literal escapes, as Jinja decodes them with "unicode-escape".
  std::size_t lex_string(std::size_t p) {
    char quote = src_[p];
    std::size_t s = p++;
    std::string out;
    while (true) {
      if (p >= src_.size()) fail("unexpected char '" + std::string(1, quote) + "' at " + std::to_string(s), s);
      char c = src_[p];
      if (c == quote) {
        ++p;
        break;
      }
      if (c != '\\') {
        out += c;
        ++p;
        continue;
      }
      if (p + 1 >= src_.size()) fail("unterminated string", s);
      char e = src_[p + 1];
      p += 2;
      auto hex = [&](int n) {
        if (p + static_cast<std::size_t>(n) > src_.size()) fail("truncated \\x escape in string", s);
        // Every digit must be hex (std::stoul would throw on "zz" and accept "1z"), and the code point
        // must exist, as in Python.
        char32_t v = 0;
        for (std::size_t i = p; i < p + static_cast<std::size_t>(n); ++i) {
          const char d = src_[i];
          const int digit = d >= '0' && d <= '9' ? d - '0' : d >= 'a' && d <= 'f' ? d - 'a' + 10 : d >= 'A' && d <= 'F' ? d - 'A' + 10 : -1;
          if (digit < 0) fail("invalid escape in string: expected " + std::to_string(n) + " hex digits", s);
          v = v * 16 + static_cast<char32_t>(digit);
        }
        if (v > 0x10FFFF) fail("escape in string names a code point past U+10FFFF", s);
        p += static_cast<std::size_t>(n);
        utf8_append(out, v);
      };
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\n': break;
        case 'x': hex(2); break;
        case 'u': hex(4); break;
        case 'U': hex(8); break;
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0';
            for (int k = 0; k < 2 && p < src_.size() && src_[p] >= '0' && src_[p] <= '7'; ++k) v = v * 8 + (src_[p++] - '0');
            utf8_append(out, static_cast<char32_t>(v));
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    emit(Tok::String, out, s);
    return p;
  }
};

}  // namespace

std::vector<Token> tokenize(const std::string& source) { return Lexer(source).run(); }

}  // namespace logitscope::jinja
