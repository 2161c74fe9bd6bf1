// SPDX-License-Identifier: GPL-3.0-or-later
// Recursive-descent parser for Jinja2's statements (jinja2/parser.py); expressions are in
// parser_expressions.cpp.
#include "chat/jinja/parser.h"

#include "chat/jinja/parser_impl.h"

namespace logitscope::jinja {
namespace detail {

Program Parser::run() {
  Program program;
  program.body = statements({});
  if (cur().type != Tok::Eof) fail("unexpected token");
  return program;
}

StmtPtr Parser::statement() {
  if (cur().type != Tok::Name) fail("tag name expected");
  std::string tag = cur().text;
  int line = cur().line;
  ++i_;
  if (tag == "if") return if_stmt(line);
  if (tag == "for") return for_stmt(line);
  if (tag == "set") return set_stmt(line);
  if (tag == "macro") return macro_stmt(line);
  if (tag == "call") return call_stmt(line);
  if (tag == "filter") return filter_stmt(line);
  if (tag == "with") return with_stmt(line);
  if (tag == "generation") {
    expect_block_end();
    auto s = make_stmt(StmtKind::Generation, line);
    open_blocks_.push_back("generation");
    body_until(s->body, {"endgeneration"});
    open_blocks_.pop_back();
    expect_block_end();
    return s;
  }
  if (tag == "break" || tag == "continue") {
    expect_block_end();
    return make_stmt(tag == "break" ? StmtKind::Break : StmtKind::Continue, line);
  }
  --i_;
  std::string message = "Encountered unknown tag '" + tag + "'.";
  if (!open_blocks_.empty())
    message += " The innermost block that needs to be closed is '" + open_blocks_.back() + "'.";
  fail(message);
}


StmtPtr Parser::if_stmt(int line) {
  auto s = make_stmt(StmtKind::If, line);
  open_blocks_.push_back("if");
  s->conds.push_back(tuple_expr(false));
  expect_block_end();
  while (true) {
    Body body;
    std::string end = body_until(body, {"elif", "else", "endif"});
    s->bodies.push_back(std::move(body));
    if (end == "elif") {
      s->conds.push_back(tuple_expr(false));
      expect_block_end();
      continue;
    }
    expect_block_end();
    if (end == "else") {
      body_until(s->else_body, {"endif"});
      expect_block_end();
    }
    break;
  }
  open_blocks_.pop_back();
  return s;
}

// Assignment targets: a name, or names separated by commas (optionally parenthesised).
void Parser::assign_targets(Stmt& s) {
  bool paren = skip_op("(");
  s.targets.push_back(expect_name());
  while (skip_op(",")) {
    if (cur().type != Tok::Name) break;
    s.targets.push_back(expect_name());
    s.unpack = true;
  }
  if (s.targets.size() > 1) s.unpack = true;
  if (paren) {
    expect_op(")");
    s.unpack = true;
  }
}


StmtPtr Parser::for_stmt(int line) {
  auto s = make_stmt(StmtKind::For, line);
  open_blocks_.push_back("for");
  assign_targets(*s);
  if (!skip_name("in")) fail("expected token 'in', got '" + describe(cur()) + "'");
  s->expr = tuple_expr(false);
  if (skip_name("if")) s->cond = expression(true);
  if (is_name("recursive")) fail("recursive loops are not supported");
  expect_block_end();
  std::string end = body_until(s->body, {"endfor", "else"});
  expect_block_end();
  if (end == "else") {
    body_until(s->else_body, {"endfor"});
    expect_block_end();
  }
  open_blocks_.pop_back();
  return s;
}


StmtPtr Parser::set_stmt(int line) {
  auto s = make_stmt(StmtKind::Set, line);
  if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == ".") {
    s->targets.push_back(next().text);
    ++i_;
    s->text = expect_name();  // namespace attribute
  } else {
    assign_targets(*s);
  }
  if (skip_op("=")) {
    s->expr = tuple_expr(true);
    expect_block_end();
    return s;
  }
  if (!s->text.empty()) fail("expected token '=', got '" + describe(cur()) + "'");
  s->kind = StmtKind::SetBlock;
  while (skip_op("|")) s->conds.push_back(filter(nullptr));
  expect_block_end();
  open_blocks_.push_back("set");
  body_until(s->body, {"endset"});
  expect_block_end();
  open_blocks_.pop_back();
  return s;
}


void Parser::params(Stmt& s) {
  expect_op("(");
  while (!is_op(")")) {
    if (!s.targets.empty()) expect_op(",");
    if (is_op(")")) break;
    s.targets.push_back(expect_name());
    if (skip_op("=")) s.defaults.push_back(expression(true));
    else s.defaults.push_back(nullptr);
  }
  expect_op(")");
}


StmtPtr Parser::macro_stmt(int line) {
  auto s = make_stmt(StmtKind::Macro, line);
  s->text = expect_name();
  params(*s);
  expect_block_end();
  open_blocks_.push_back("macro");
  body_until(s->body, {"endmacro"});
  expect_block_end();
  open_blocks_.pop_back();
  return s;
}


StmtPtr Parser::call_stmt(int line) {
  auto s = make_stmt(StmtKind::CallBlock, line);
  if (is_op("(")) params(*s);
  s->expr = expression(true);
  if (s->expr->kind != ExprKind::Call) fail("expected call");
  expect_block_end();
  open_blocks_.push_back("call");
  body_until(s->body, {"endcall"});
  expect_block_end();
  open_blocks_.pop_back();
  return s;
}


StmtPtr Parser::filter_stmt(int line) {
  auto s = make_stmt(StmtKind::FilterBlock, line);
  s->conds.push_back(filter(nullptr));
  while (skip_op("|")) s->conds.push_back(filter(nullptr));
  expect_block_end();
  open_blocks_.push_back("filter");
  body_until(s->body, {"endfilter"});
  expect_block_end();
  open_blocks_.pop_back();
  return s;
}


StmtPtr Parser::with_stmt(int line) {
  auto s = make_stmt(StmtKind::With, line);
  while (cur().type != Tok::BlockEnd) {
    if (!s->targets.empty()) expect_op(",");
    s->targets.push_back(expect_name());
    expect_op("=");
    s->conds.push_back(expression(true));
  }
  expect_block_end();
  open_blocks_.push_back("with");
  body_until(s->body, {"endwith"});
  expect_block_end();
  open_blocks_.pop_back();
  return s;
}

// ---- expressions ----

}  // namespace detail

Program parse(const std::vector<Token>& tokens) { return detail::Parser(tokens).run(); }

}  // namespace logitscope::jinja
