// SPDX-License-Identifier: GPL-3.0-or-later
// Expression parsing with Jinja2's precedence: conditional < or < and < not < comparisons <
// + - < ~ < * / // % < ** < unary, then postfix (attribute, item, call), filters and tests.
#include <limits>
#include "chat/jinja/builtins.h"
#include "chat/jinja/parser_impl.h"

namespace logitscope::jinja::detail {

bool Parser::at_expression_end() const {
  return cur().type == Tok::VarEnd || cur().type == Tok::BlockEnd || cur().type == Tok::Eof ||
         (cur().type == Tok::Op && (cur().text == ")" || cur().text == "]" || cur().text == "}"));
}


ExprPtr Parser::tuple_expr(bool with_condexpr) {
  int line = cur().line;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) {
      if (!skip_op(",")) break;
      is_tuple = true;
      if (at_expression_end()) break;
    }
    items.push_back(with_condexpr ? expression(true) : or_expr());
    if (!is_op(",")) break;
  }
  if (items.empty()) fail("Expected an expression, got '" + describe(cur()) + "'");
  if (!is_tuple) return std::move(items[0]);
  auto e = make(ExprKind::Tuple, line);
  e->items = std::move(items);
  return e;
}


ExprPtr Parser::expression(bool with_condexpr) {
  DepthGuard guard(*this);
  ExprPtr e = or_expr();
  if (!with_condexpr) return e;
  while (is_name("if")) {
    int line = cur().line;
    ++i_;
    auto c = make(ExprKind::CondExpr, line);
    c->a = or_expr();
    c->items.push_back(std::move(e));
    c->items.push_back(skip_name("else") ? expression(true) : nullptr);
    e = std::move(c);
  }
  return e;
}


ExprPtr Parser::binary(const char* op, ExprPtr left, ExprPtr right, int line) {
  auto e = make(ExprKind::Binary, line);
  e->name = op;
  e->a = std::move(left);
  e->b = std::move(right);
  return e;
}


ExprPtr Parser::or_expr() {
  ExprPtr left = and_expr();
  while (is_name("or")) {
    int line = next().line;
    left = binary("or", std::move(left), and_expr(), line);
  }
  return left;
}


ExprPtr Parser::and_expr() {
  ExprPtr left = not_expr();
  while (is_name("and")) {
    int line = next().line;
    left = binary("and", std::move(left), not_expr(), line);
  }
  return left;
}


ExprPtr Parser::not_expr() {
  if (is_name("not")) {
    int line = next().line;
    auto e = make(ExprKind::Unary, line);
    e->name = "not";
    e->a = not_expr();
    return e;
  }
  return compare();
}


ExprPtr Parser::compare() {
  int line = cur().line;
  ExprPtr left = math1();
  ExprPtr node;
  while (true) {
    std::string op;
    if (cur().type == Tok::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                  cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
      op = next().text;
    } else if (is_name("in")) {
      ++i_;
      op = "in";
    } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
      i_ += 2;
      op = "notin";
    } else {
      break;
    }
    if (!node) {
      node = make(ExprKind::Compare, line);
      node->a = std::move(left);
    }
    node->ops.push_back(op);
    node->items.push_back(math1());
  }
  return node ? std::move(node) : std::move(left);
}


ExprPtr Parser::math1() {
  ExprPtr left = concat();
  while (is_op("+") || is_op("-")) {
    const Token& op = next();
    left = binary(op.text == "+" ? "+" : "-", std::move(left), concat(), op.line);
  }
  return left;
}


ExprPtr Parser::concat() {
  ExprPtr left = math2();
  while (is_op("~")) {
    int line = next().line;
    left = binary("~", std::move(left), math2(), line);
  }
  return left;
}


ExprPtr Parser::math2() {
  ExprPtr left = pow_expr();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    const Token& op = next();
    std::string name = op.text;
    auto e = make(ExprKind::Binary, op.line);
    e->name = name;
    e->a = std::move(left);
    e->b = pow_expr();
    left = std::move(e);
  }
  return left;
}


ExprPtr Parser::pow_expr() {
  ExprPtr left = unary(true);
  while (is_op("**")) {
    int line = next().line;
    left = binary("**", std::move(left), unary(true), line);
  }
  return left;
}


ExprPtr Parser::unary(bool with_filter) {
  DepthGuard guard(*this);
  ExprPtr node;
  if (is_op("-") || is_op("+")) {
    const Token& op = next();
    node = make(ExprKind::Unary, op.line);
    node->name = op.text;
    node->a = unary(false);
  } else {
    node = primary();
  }
  node = postfix(std::move(node));
  if (with_filter) node = filter_expr(std::move(node));
  return node;
}


ExprPtr Parser::primary() {
  const Token& tok = cur();
  int line = tok.line;
  if (tok.type == Tok::Name) {
    ++i_;
    if (tok.text == "true" || tok.text == "True") return literal(Value(true), line);
    if (tok.text == "false" || tok.text == "False") return literal(Value(false), line);
    if (tok.text == "none" || tok.text == "None") return literal(Value::none(), line);
    auto e = make(ExprKind::Name, line);
    e->name = tok.text;
    return e;
  }
  if (tok.type == Tok::String) {
    std::string s;
    while (cur().type == Tok::String) s += next().text;
    return literal(Value(s), line);
  }
  if (tok.type == Tok::Int) {
    // stoll throws std::out_of_range past 64 bits (Python has big ints; we refuse them).
    std::int64_t v = 0;
    try {
      v = static_cast<std::int64_t>(std::stoll(tok.text));
    } catch (const std::exception&) {
      fail("integer literal " + tok.text + " does not fit in 64 bits");
    }
    ++i_;
    return literal(Value(v), line);
  }
  if (tok.type == Tok::Float) {
    double v = 0;
    try {
      v = std::stod(tok.text);  // out_of_range for 1e999 and for denormals such as 1e-400
    } catch (const std::exception&) {
      v = tok.text.find("e-") != std::string::npos || tok.text.find("E-") != std::string::npos
              ? 0.0 : std::numeric_limits<double>::infinity();  // what Python's float() gives
    }
    ++i_;
    return literal(Value(v), line);
  }
  if (skip_op("(")) {
    if (skip_op(")")) {
      auto e = make(ExprKind::Tuple, line);
      return e;
    }
    ExprPtr e = tuple_expr(true);
    expect_op(")");
    return e;
  }
  if (skip_op("[")) {
    auto e = make(ExprKind::List, line);
    while (!is_op("]")) {
      if (!e->items.empty()) expect_op(",");
      if (is_op("]")) break;
      e->items.push_back(expression(true));
    }
    expect_op("]");
    return e;
  }
  if (skip_op("{")) {
    auto e = make(ExprKind::Dict, line);
    while (!is_op("}")) {
      if (!e->items.empty()) expect_op(",");
      if (is_op("}")) break;
      e->items.push_back(expression(true));
      expect_op(":");
      e->items.push_back(expression(true));
    }
    expect_op("}");
    return e;
  }
  fail("unexpected '" + describe(tok) + "'");
}


ExprPtr Parser::literal(Value v, int line) {
  auto e = make(ExprKind::Literal, line);
  e->value = std::move(v);
  return e;
}


ExprPtr Parser::postfix(ExprPtr node) {
  while (true) {
    if (is_op(".") || is_op("[")) node = subscript(std::move(node));
    else if (is_op("(")) node = call(std::move(node));
    else return node;
  }
}


ExprPtr Parser::filter_expr(ExprPtr node) {
  while (true) {
    if (is_op("|")) {
      ++i_;
      node = filter(std::move(node));
    } else if (is_name("is")) {
      node = test(std::move(node));
    } else if (is_op("(")) {
      node = call(std::move(node));
    } else {
      return node;
    }
  }
}


ExprPtr Parser::subscript(ExprPtr node) {
  const Token& tok = next();
  if (tok.text == ".") {
    if (cur().type == Tok::Name) {
      auto e = make(ExprKind::Getattr, tok.line);
      e->a = std::move(node);
      e->name = next().text;
      return e;
    }
    if (cur().type == Tok::Int) {
      auto e = make(ExprKind::Getitem, tok.line);
      e->a = std::move(node);
      const std::string digits = next().text;
      std::int64_t index = 0;
      try {
        index = static_cast<std::int64_t>(std::stoll(digits));
      } catch (const std::exception&) {  // out_of_range past 64 bits (found by fuzz_chat_template)
        fail("index ." + digits + " does not fit in 64 bits");
      }
      e->b = literal(Value(index), tok.line);
      return e;
    }
    fail("expected name or number");
  }
  // '[' : index or slice
  std::vector<ExprPtr> parts;
  bool is_slice = false;
  ExprPtr part[3];
  int idx = 0;
  while (!is_op("]")) {
    if (is_op(":")) {
      ++i_;
      is_slice = true;
      if (++idx > 2) fail("invalid slice");
      continue;
    }
    if (is_op(",")) fail("tuple subscripts are not supported");
    part[idx] = expression(true);
  }
  expect_op("]");
  if (!is_slice) {
    if (!part[0]) fail("expected subscript expression");
    auto e = make(ExprKind::Getitem, tok.line);
    e->a = std::move(node);
    e->b = std::move(part[0]);
    return e;
  }
  auto e = make(ExprKind::Slice, tok.line);
  e->a = std::move(node);
  for (auto& p : part) e->items.push_back(std::move(p));
  return e;
}


void Parser::call_args(Expr& e) {
  expect_op("(");
  bool first = true;
  while (!is_op(")")) {
    if (!first) expect_op(",");
    first = false;
    if (is_op(")")) break;
    if (is_op("*") || is_op("**")) fail("*args and **kwargs in calls are not supported");
    if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
      std::string key = next().text;
      ++i_;
      e.kwargs.emplace_back(key, expression(true));
    } else {
      if (!e.kwargs.empty()) fail("invalid syntax for function call expression");
      e.items.push_back(expression(true));
    }
  }
  expect_op(")");
}


ExprPtr Parser::call(ExprPtr node) {
  auto e = make(ExprKind::Call, cur().line);
  e->a = std::move(node);
  call_args(*e);
  return e;
}


ExprPtr Parser::filter(ExprPtr node) {
  int line = cur().line;
  std::string name = expect_name();
  while (is_op(".")) {
    ++i_;
    name += "." + expect_name();
  }
  if (!has_filter(name)) {
    --i_;
    fail("No filter named '" + name + "'.");
  }
  auto e = make(ExprKind::Filter, line);
  e->a = std::move(node);
  e->name = name;
  if (is_op("(")) call_args(*e);
  return e;
}


ExprPtr Parser::test(ExprPtr node) {
  int line = next().line;  // 'is'
  bool negated = skip_name("not");
  std::string name = expect_name();
  while (is_op(".")) {
    ++i_;
    name += "." + expect_name();
  }
  if (!has_test(name)) {
    --i_;
    fail("No test named '" + name + "'.");
  }
  auto e = make(ExprKind::Test, line);
  e->a = std::move(node);
  e->name = name;
  e->negated = negated;
  if (is_op("(")) {
    call_args(*e);
  } else if ((cur().type == Tok::Name || cur().type == Tok::String || cur().type == Tok::Int ||
              cur().type == Tok::Float || is_op("(") || is_op("[") || is_op("{")) &&
             !(cur().type == Tok::Name &&
               (cur().text == "else" || cur().text == "or" || cur().text == "and"))) {
    if (is_name("is")) fail("You cannot chain multiple tests with is");
    e->items.push_back(postfix(primary()));
  }
  return e;
}

}  // namespace logitscope::jinja::detail
