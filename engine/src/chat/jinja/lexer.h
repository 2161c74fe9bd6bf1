// SPDX-License-Identifier: GPL-3.0-or-later
// Splits template source into tokens the way Jinja2's lexer does with trim_blocks and
// lstrip_blocks on: the whitespace rules decide the output byte for byte, so they follow
// jinja2/lexer.py closely (newline normalisation, the dropped trailing newline, `-`/`+` markers).
#pragma once

#include <string>
#include <vector>

namespace logitscope::jinja {

enum class Tok { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
  Tok type;
  std::string text;  // Data text, name, operator, decoded string literal, number text
  int line;
};

// Syntax errors carry the line; ChatTemplate turns them into logitscope::Error.
struct SyntaxError {
  std::string message;
  int line;
};

// Python Jinja's source preparation: CRLF and CR become LF; one trailing newline is dropped.
std::string normalize_newlines(const std::string& source);

// `source` must already be normalised.
std::vector<Token> tokenize(const std::string& source);

}  // namespace logitscope::jinja
