// SPDX-License-Identifier: GPL-3.0-or-later
// Builds the AST from tokens with Jinja2's grammar and operator precedence (jinja2/parser.py).
// Unknown filters, tests and tags are syntax errors at load time, as in Jinja.
#pragma once

#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/lexer.h"

namespace logitscope::jinja {

Program parse(const std::vector<Token>& tokens);

}  // namespace logitscope::jinja
