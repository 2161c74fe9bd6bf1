// SPDX-License-Identifier: GPL-3.0-or-later
// The parsed template. Nodes are deliberately generic (a kind plus children) so the parser and the
// interpreter stay small; each kind documents which fields it uses.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja/value.h"

namespace logitscope::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  Literal,    // value
  Name,       // name
  List,       // items
  Tuple,      // items
  Dict,       // items: key, value, key, value, ...
  Getattr,    // a.name
  Getitem,    // a[b]
  Slice,      // a[items[0]:items[1]:items[2]] (null items are omitted bounds)
  Call,       // a(items, kwargs)
  Filter,     // a|name(items, kwargs); a is null inside {% filter %}
  Test,       // a is [not] name(items)
  Unary,      // name in {"-", "+", "not"} applied to a
  Binary,     // a name b, name in {+ - * / // % ** ~ and or}
  Compare,    // a (ops[i] items[i])...
  CondExpr,   // items[1] if a else items[2] (items[2] may be null)
};

struct Expr {
  ExprKind kind;
  int line = 0;
  std::string name;
  Value value;
  ExprPtr a, b;
  std::vector<ExprPtr> items;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class StmtKind {
  Data,         // text
  Output,       // expr
  If,           // conds[i] -> bodies[i]; else_body
  For,          // targets in expr [if cond]: body else else_body
  Set,          // targets (or ns.attr via attr) = expr
  SetBlock,     // targets = rendered body, through filters
  Macro,        // name(params = defaults) body
  CallBlock,    // expr (a call) with caller(params) = body
  FilterBlock,  // filters applied to the rendered body
  With,         // targets[i] = conds[i]; body
  Generation,   // transformers' {% generation %}: renders its body
  Break,
  Continue,
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;                 // Data; Set's namespace attribute; Macro name
  ExprPtr expr;                     // Output, For iterable, Set value, CallBlock call
  ExprPtr cond;                     // For filter
  std::vector<std::string> targets; // For/Set/With names; Macro/CallBlock parameters
  std::vector<ExprPtr> defaults;    // Macro/CallBlock parameter defaults (null = required)
  std::vector<ExprPtr> conds;       // If conditions; With values; SetBlock/FilterBlock filters
  std::vector<Body> bodies;         // If bodies
  Body body;
  Body else_body;
  bool unpack = false;              // For/Set with a tuple of names
};

struct Program {
  Body body;
};

}  // namespace logitscope::jinja
