// SPDX-License-Identifier: GPL-3.0-or-later
// The parser's internals, shared by parser.cpp (statements) and parser_expressions.cpp
// (expressions and their precedence levels).
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/lexer.h"

namespace logitscope::jinja::detail {

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  Program run();

 private:
  const std::vector<Token>& t_;
  std::size_t i_ = 0;
  std::vector<std::string> open_blocks_;
  int depth_ = 0;

  // Bounds recursion so a pathological template is a syntax error, not a stack overflow.
  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > 400) {
        --p.depth_;
        p.fail("template nested too deeply");
      }
    }
    ~DepthGuard() { --p.depth_; }
  };

  const Token& cur() const { return t_[i_]; }
  const Token& peek(std::size_t n = 1) const { return t_[std::min(i_ + n, t_.size() - 1)]; }
  const Token& next() { return t_[i_ < t_.size() - 1 ? i_++ : i_]; }
  [[noreturn]] void fail(const std::string& message) const { throw SyntaxError{message, cur().line}; }
  bool is_op(const char* op) const { return cur().type == Tok::Op && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == Tok::Name && cur().text == name; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    ++i_;
    return true;
  }
  bool skip_name(const char* name) {
    if (!is_name(name)) return false;
    ++i_;
    return true;
  }
  static std::string describe(const Token& tok) {
    switch (tok.type) {
      case Tok::Eof: return "end of template";
      case Tok::BlockEnd: return "end of statement block";
      case Tok::VarEnd: return "end of print statement";
      case Tok::Name: return tok.text;
      case Tok::Op: return tok.text;
      case Tok::String: return "string";
      case Tok::Int: return "integer";
      case Tok::Float: return "float";
      default: return "template data";
    }
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) fail(std::string("expected token '") + op + "', got '" + describe(cur()) + "'");
  }
  void expect_block_end() {
    if (cur().type != Tok::BlockEnd) fail("expected token 'end of statement block', got '" + describe(cur()) + "'");
    ++i_;
  }
  std::string expect_name() {
    if (cur().type != Tok::Name) fail("expected token 'name', got '" + describe(cur()) + "'");
    return next().text;
  }
  ExprPtr make(ExprKind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }
  StmtPtr make_stmt(StmtKind kind, int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = line;
    return s;
  }

  // Parses statements until a block tag named in `end_tags` (left unconsumed: cur() is its name).
  Body statements(const std::set<std::string>& end_tags) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& tok = cur();
      if (tok.type == Tok::Eof) {
        if (end_tags.empty()) return body;
        std::string wanted;
        for (const auto& tag : end_tags) wanted += (wanted.empty() ? "'" : " or '") + tag + "'";
        fail("Unexpected end of template. Jinja was looking for the following tags: " + wanted +
             ". The innermost block that needs to be closed is '" + open_blocks_.back() + "'.");
      }
      if (tok.type == Tok::Data) {
        auto s = make_stmt(StmtKind::Data, tok.line);
        s->text = tok.text;
        body.push_back(std::move(s));
        ++i_;
      } else if (tok.type == Tok::VarBegin) {
        ++i_;
        auto s = make_stmt(StmtKind::Output, tok.line);
        s->expr = tuple_expr(true);
        if (cur().type != Tok::VarEnd) fail("expected token 'end of print statement', got '" + describe(cur()) + "'");
        ++i_;
        body.push_back(std::move(s));
      } else if (tok.type == Tok::BlockBegin) {
        ++i_;
        if (cur().type == Tok::Name && end_tags.count(cur().text)) return body;
        body.push_back(statement());
      } else {
        fail("unexpected '" + describe(tok) + "'");
      }
    }
  }

  // Body up to one of `ends`; returns which end tag closed it (consumed with its block end unless
  // it takes further arguments, like elif).
  std::string body_until(Body& body, const std::set<std::string>& ends) {
    body = statements(ends);
    return next().text;
  }

  StmtPtr statement();
  StmtPtr if_stmt(int line);
  void assign_targets(Stmt& s);
  StmtPtr for_stmt(int line);
  StmtPtr set_stmt(int line);
  void params(Stmt& s);
  StmtPtr macro_stmt(int line);
  StmtPtr call_stmt(int line);
  StmtPtr filter_stmt(int line);
  StmtPtr with_stmt(int line);
  bool at_expression_end() const;
  ExprPtr tuple_expr(bool with_condexpr);
  ExprPtr expression(bool with_condexpr);
  ExprPtr binary(const char* op, ExprPtr left, ExprPtr right, int line);
  ExprPtr or_expr();
  ExprPtr and_expr();
  ExprPtr not_expr();
  ExprPtr compare();
  ExprPtr math1();
  ExprPtr concat();
  ExprPtr math2();
  ExprPtr pow_expr();
  ExprPtr unary(bool with_filter);
  ExprPtr primary();
  ExprPtr literal(Value v, int line);
  ExprPtr postfix(ExprPtr node);
  ExprPtr filter_expr(ExprPtr node);
  ExprPtr subscript(ExprPtr node);
  void call_args(Expr& e);
  ExprPtr call(ExprPtr node);
  ExprPtr filter(ExprPtr node);
  ExprPtr test(ExprPtr node);
};

}  // namespace logitscope::jinja::detail
