// SPDX-License-Identifier: GPL-3.0-or-later
// Walks the AST and writes the output, with Jinja2's scoping: a for loop gives every iteration a
// fresh scope (sets inside do not survive the iteration), if blocks share their scope, macros see
// the scope they were defined in as it is when they are called, namespaces are shared objects.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chat/jinja/ast.h"

namespace logitscope::jinja {

struct Frame {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Frame> parent;
  const Value* lookup(const std::string& name) const;
};
using FramePtr = std::shared_ptr<Frame>;

class Interpreter {
 public:
  // strftime: formats the current time for strftime_now (injected so tests can pin the clock).
  explicit Interpreter(std::function<std::string(const std::string&)> strftime);

  std::string render(const Program& program, const std::vector<std::pair<std::string, Value>>& context);

  Value call(const Value& fn, CallArgs& args);
  // namespace() registers what it makes, so render() can break reference cycles through it.
  void track_namespace(const Value& ns);
  int line() const { return line_; }

 private:
  enum class Flow { Normal, Break, Continue };

  Flow exec(const Body& body, const FramePtr& frame, std::string& out);
  Flow exec_stmt(const Stmt& s, const FramePtr& frame, std::string& out);
  Flow exec_for(const Stmt& s, const FramePtr& frame, std::string& out);
  void exec_set(const Stmt& s, const FramePtr& frame, Value value);
  Value make_macro(const Stmt& s, const FramePtr& frame, const std::string& name);
  Value eval(const Expr& e, const FramePtr& frame);
  CallArgs eval_args(const Expr& e, const FramePtr& frame);
  void bind_targets(const Stmt& s, Frame& frame, const Value& value);

  std::function<std::string(const std::string&)> strftime_;
  int line_ = 0;
  int depth_ = 0;  // macro recursion guard
  std::vector<FramePtr> macro_scopes_;  // frames that define macros, kept for the render
  std::vector<Value> namespaces_;       // every namespace() of the current render
};

}  // namespace logitscope::jinja
