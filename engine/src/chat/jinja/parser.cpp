// SPDX-License-Identifier: GPL-3.0-or-later
// Recursive-descent parser for the statement and expression grammar of Jinja2.
#include "chat/jinja/parser.h"

#include <set>

#include "chat/jinja/builtins.h"

namespace logitscope::jinja {
namespace {

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  Program run() {
    Program program;
    program.body = statements({});
    if (cur().type != Tok::Eof) fail("unexpected token");
    return program;
  }

 private:
  const std::vector<Token>& t_;
  std::size_t i_ = 0;
  std::vector<std::string> open_blocks_;

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

  StmtPtr statement() {
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

  StmtPtr if_stmt(int line) {
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
  void assign_targets(Stmt& s) {
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

  StmtPtr for_stmt(int line) {
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

  StmtPtr set_stmt(int line) {
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

  void params(Stmt& s) {
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

  StmtPtr macro_stmt(int line) {
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

  StmtPtr call_stmt(int line) {
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

  StmtPtr filter_stmt(int line) {
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

  StmtPtr with_stmt(int line) {
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

  bool at_expression_end() const {
    return cur().type == Tok::VarEnd || cur().type == Tok::BlockEnd || cur().type == Tok::Eof ||
           (cur().type == Tok::Op && (cur().text == ")" || cur().text == "]" || cur().text == "}"));
  }

  ExprPtr tuple_expr(bool with_condexpr) {
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

  ExprPtr expression(bool with_condexpr) {
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

  ExprPtr binary(const char* op, ExprPtr left, ExprPtr right, int line) {
    auto e = make(ExprKind::Binary, line);
    e->name = op;
    e->a = std::move(left);
    e->b = std::move(right);
    return e;
  }

  ExprPtr or_expr() {
    ExprPtr left = and_expr();
    while (is_name("or")) {
      int line = next().line;
      left = binary("or", std::move(left), and_expr(), line);
    }
    return left;
  }

  ExprPtr and_expr() {
    ExprPtr left = not_expr();
    while (is_name("and")) {
      int line = next().line;
      left = binary("and", std::move(left), not_expr(), line);
    }
    return left;
  }

  ExprPtr not_expr() {
    if (is_name("not")) {
      int line = next().line;
      auto e = make(ExprKind::Unary, line);
      e->name = "not";
      e->a = not_expr();
      return e;
    }
    return compare();
  }

  ExprPtr compare() {
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

  ExprPtr math1() {
    ExprPtr left = concat();
    while (is_op("+") || is_op("-")) {
      const Token& op = next();
      left = binary(op.text == "+" ? "+" : "-", std::move(left), concat(), op.line);
    }
    return left;
  }

  ExprPtr concat() {
    ExprPtr left = math2();
    while (is_op("~")) {
      int line = next().line;
      left = binary("~", std::move(left), math2(), line);
    }
    return left;
  }

  ExprPtr math2() {
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

  ExprPtr pow_expr() {
    ExprPtr left = unary(true);
    while (is_op("**")) {
      int line = next().line;
      left = binary("**", std::move(left), unary(true), line);
    }
    return left;
  }

  ExprPtr unary(bool with_filter) {
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

  ExprPtr primary() {
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
      ++i_;
      return literal(Value(static_cast<std::int64_t>(std::stoll(tok.text))), line);
    }
    if (tok.type == Tok::Float) {
      ++i_;
      return literal(Value(std::stod(tok.text)), line);
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

  ExprPtr literal(Value v, int line) {
    auto e = make(ExprKind::Literal, line);
    e->value = std::move(v);
    return e;
  }

  ExprPtr postfix(ExprPtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) node = subscript(std::move(node));
      else if (is_op("(")) node = call(std::move(node));
      else return node;
    }
  }

  ExprPtr filter_expr(ExprPtr node) {
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

  ExprPtr subscript(ExprPtr node) {
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
        e->b = literal(Value(static_cast<std::int64_t>(std::stoll(next().text))), tok.line);
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

  void call_args(Expr& e) {
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

  ExprPtr call(ExprPtr node) {
    auto e = make(ExprKind::Call, cur().line);
    e->a = std::move(node);
    call_args(*e);
    return e;
  }

  ExprPtr filter(ExprPtr node) {
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

  ExprPtr test(ExprPtr node) {
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
};

}  // namespace

Program parse(const std::vector<Token>& tokens) { return Parser(tokens).run(); }

}  // namespace logitscope::jinja
