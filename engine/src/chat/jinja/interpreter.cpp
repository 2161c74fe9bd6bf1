// SPDX-License-Identifier: GPL-3.0-or-later
// Statement execution and expression evaluation.
#include "chat/jinja/interpreter.h"

#include "chat/jinja/builtins.h"

namespace logitscope::jinja {

const Value* Frame::lookup(const std::string& name) const {
  for (const Frame* f = this; f; f = f->parent.get()) {
    auto it = f->vars.find(name);
    if (it != f->vars.end()) return &it->second;
  }
  return nullptr;
}

Interpreter::Interpreter(std::function<std::string(const std::string&)> strftime) : strftime_(std::move(strftime)) {}

static FramePtr child_of(const FramePtr& parent) {
  auto f = std::make_shared<Frame>();
  f->parent = parent;
  return f;
}

// Jinja's globals plus transformers' raise_exception and strftime_now.
static void install_globals(Frame& g, const std::function<std::string(const std::string&)>& strftime) {
  g.vars["raise_exception"] = Value::function("raise_exception", [](Interpreter&, CallArgs& a) -> Value {
    const Value* message = a.get(0, "message");
    throw RenderError("TemplateError", message ? py_str(*message) : "");
  });
  g.vars["strftime_now"] = Value::function("strftime_now", [strftime](Interpreter&, CallArgs& a) -> Value {
    const Value* format = a.get(0, "format");
    if (!format || !format->is_string()) throw_type_error("strftime_now() argument must be str");
    return Value(strftime(format->str()));
  });
  g.vars["namespace"] = Value::function("namespace", [](Interpreter& self, CallArgs& a) -> Value {
    Value ns = Value::namespace_object();
    self.track_namespace(ns);
    for (const auto& arg : a.args) {
      if (!arg.is_mapping()) throw_type_error("namespace() positional argument must be a mapping");
      for (const auto& [k, v] : arg.dict_data().entries) ns.dict_data().set(k, v);
    }
    for (const auto& [k, v] : a.kwargs) ns.dict_data().set(Value(k), v);
    return ns;
  });
  g.vars["dict"] = Value::function("dict", [](Interpreter&, CallArgs& a) -> Value {
    Value d = Value::dict();
    for (const auto& arg : a.args)
      if (arg.is_mapping())
        for (const auto& [k, v] : arg.dict_data().entries) d.dict_data().set(k, v);
    for (const auto& [k, v] : a.kwargs) d.dict_data().set(Value(k), v);
    return d;
  });
  g.vars["range"] = Value::function("range", [](Interpreter&, CallArgs& a) -> Value {
    std::vector<std::int64_t> n;
    for (const auto& arg : a.args) {
      if (!arg.is_int() && !arg.is_bool()) throw_type_error("'" + arg.python_type() + "' object cannot be interpreted as an integer");
      n.push_back(arg.as_int());
    }
    if (n.empty() || n.size() > 3) throw_type_error("range expected at most 3 arguments");
    std::int64_t start = n.size() == 1 ? 0 : n[0], stop = n.size() == 1 ? n[0] : n[1], step = n.size() == 3 ? n[2] : 1;
    if (step == 0) throw RenderError("ValueError", "range() arg 3 must not be zero");
    std::vector<Value> out;
    for (std::int64_t i = start; step > 0 ? i < stop : i > stop;) {
      // The sandbox caps ranges (MAX_RANGE) so a template cannot exhaust memory.
      if (out.size() >= 100000) throw RenderError("OverflowError", "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
      out.emplace_back(i);
      if (__builtin_add_overflow(i, step, &i)) break;  // the next value is past any 64-bit stop
    }
    return Value::list(std::move(out));
  });
}

std::string Interpreter::render(const Program& program, const std::vector<std::pair<std::string, Value>>& context) {
  auto globals = std::make_shared<Frame>();
  install_globals(*globals, strftime_);
  auto top = child_of(globals);
  for (const auto& [name, value] : context) top->vars[name] = value;
  // A namespace is the one value a template can change after making it, so every reference cycle
  // ({% set ns.self = ns %}, or through a list or a bound method) runs through one. Python's
  // collector frees those; here the namespaces made by this render are emptied when it ends, on
  // success or error, which breaks every cycle (nothing made in a render outlives it).
  struct NamespaceReaper {
    std::vector<Value>& made;
    ~NamespaceReaper() {
      for (const Value& ns : made) ns.dict_data().entries.clear();
      made.clear();
    }
  } reaper{namespaces_};
  std::string out;
  exec(program.body, top, out);
  return out;
}

void Interpreter::track_namespace(const Value& ns) { namespaces_.push_back(ns); }

Interpreter::Flow Interpreter::exec(const Body& body, const FramePtr& frame, std::string& out) {
  for (const auto& s : body) {
    Flow flow = exec_stmt(*s, frame, out);
    if (flow != Flow::Normal) return flow;
  }
  return Flow::Normal;
}

static Value apply_filters(Interpreter& interp, const std::vector<ExprPtr>& filters, Value value,
                           const std::function<CallArgs(const Expr&)>& args_of) {
  for (const auto& f : filters) {
    CallArgs args = args_of(*f);
    value = call_filter(interp, f->name, value, args);
  }
  return value;
}

Interpreter::Flow Interpreter::exec_stmt(const Stmt& s, const FramePtr& frame, std::string& out) {
  line_ = s.line;
  switch (s.kind) {
    case StmtKind::Data: out += s.text; return Flow::Normal;
    case StmtKind::Output: out += py_str(eval(*s.expr, frame)); return Flow::Normal;
    case StmtKind::If:
      for (std::size_t i = 0; i < s.conds.size(); ++i) {
        line_ = s.conds[i]->line;
        if (eval(*s.conds[i], frame).truthy()) return exec(s.bodies[i], frame, out);
      }
      return exec(s.else_body, frame, out);
    case StmtKind::For: return exec_for(s, frame, out);
    case StmtKind::Set: exec_set(s, frame, eval(*s.expr, frame)); return Flow::Normal;
    case StmtKind::SetBlock: {
      std::string body;
      exec(s.body, frame, body);
      exec_set(s, frame, apply_filters(*this, s.conds, Value(body), [&](const Expr& f) { return eval_args(f, frame); }));
      return Flow::Normal;
    }
    case StmtKind::Macro: frame->vars[s.text] = make_macro(s, frame, s.text); return Flow::Normal;
    case StmtKind::CallBlock: {
      Value caller = make_macro(s, frame, "caller");
      const Expr& call_expr = *s.expr;
      Value fn = eval(*call_expr.a, frame);
      CallArgs args = eval_args(call_expr, frame);
      args.kwargs.emplace_back("caller", caller);
      out += py_str(call(fn, args));
      return Flow::Normal;
    }
    case StmtKind::FilterBlock: {
      std::string body;
      exec(s.body, child_of(frame), body);
      out += py_str(apply_filters(*this, s.conds, Value(body), [&](const Expr& f) { return eval_args(f, frame); }));
      return Flow::Normal;
    }
    case StmtKind::With: {
      auto inner = child_of(frame);
      for (std::size_t i = 0; i < s.targets.size(); ++i) inner->vars[s.targets[i]] = eval(*s.conds[i], frame);
      return exec(s.body, inner, out);
    }
    case StmtKind::Generation: return exec(s.body, frame, out);
    case StmtKind::Break: return Flow::Break;
    case StmtKind::Continue: return Flow::Continue;
  }
  return Flow::Normal;
}

void Interpreter::bind_targets(const Stmt& s, Frame& frame, const Value& value) {
  if (!s.unpack) {
    frame.vars[s.targets[0]] = value;
    return;
  }
  std::vector<Value> parts = iterate(value);
  if (parts.size() < s.targets.size())
    throw RenderError("ValueError", "not enough values to unpack (expected " + std::to_string(s.targets.size()) +
                                        ", got " + std::to_string(parts.size()) + ")");
  if (parts.size() > s.targets.size())
    throw RenderError("ValueError", "too many values to unpack (expected " + std::to_string(s.targets.size()) + ")");
  for (std::size_t i = 0; i < parts.size(); ++i) frame.vars[s.targets[i]] = parts[i];
}

void Interpreter::exec_set(const Stmt& s, const FramePtr& frame, Value value) {
  if (!s.text.empty()) {
    const Value* ns = frame->lookup(s.targets[0]);
    if (!ns || !ns->is_namespace())
      throw RenderError("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
    ns->dict_data().set(Value(s.text), std::move(value));
    return;
  }
  bind_targets(s, *frame, value);
}

Interpreter::Flow Interpreter::exec_for(const Stmt& s, const FramePtr& frame, std::string& out) {
  std::vector<Value> items = iterate(eval(*s.expr, frame));
  if (s.cond) {
    std::vector<Value> kept;
    for (auto& item : items) {
      auto probe = child_of(frame);
      bind_targets(s, *probe, item);
      if (eval(*s.cond, probe).truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  const auto n = static_cast<std::int64_t>(items.size());
  for (std::int64_t i = 0; i < n; ++i) {
    auto iteration = child_of(frame);
    bind_targets(s, *iteration, items[static_cast<std::size_t>(i)]);
    Value loop = Value::dict();
    auto& d = loop.dict_data();
    d.set(Value("index"), Value(i + 1));
    d.set(Value("index0"), Value(i));
    d.set(Value("revindex"), Value(n - i));
    d.set(Value("revindex0"), Value(n - i - 1));
    d.set(Value("first"), Value(i == 0));
    d.set(Value("last"), Value(i == n - 1));
    d.set(Value("length"), Value(n));
    d.set(Value("depth"), Value(1));
    d.set(Value("depth0"), Value(0));
    if (i > 0) d.set(Value("previtem"), items[static_cast<std::size_t>(i - 1)]);
    if (i + 1 < n) d.set(Value("nextitem"), items[static_cast<std::size_t>(i + 1)]);
    d.set(Value("cycle"), Value::function("cycle", [i](Interpreter&, CallArgs& a) -> Value {
      if (a.args.empty()) throw_type_error("no items for cycling given");
      return a.args[static_cast<std::size_t>(i) % a.args.size()];
    }));
    iteration->vars["loop"] = loop;
    Flow flow = exec(s.body, iteration, out);
    if (flow == Flow::Break) break;
  }
  if (n == 0) exec(s.else_body, child_of(frame), out);
  return Flow::Normal;
}

Value Interpreter::make_macro(const Stmt& s, const FramePtr& frame, const std::string& name) {
  const Stmt* def = &s;
  // The macro lives in the frame it captures; a strong capture would be a reference cycle that
  // leaks every render. The interpreter keeps the frame alive for the render instead.
  macro_scopes_.push_back(frame);
  std::weak_ptr<Frame> weak_scope = frame;
  return Value::function(name, [def, weak_scope, name](Interpreter& self, CallArgs& a) -> Value {
    FramePtr scope = weak_scope.lock();
    if (!scope) throw RenderError("TemplateRuntimeError", "macro '" + name + "' called after its render ended");
    if (++self.depth_ > 200) {
      --self.depth_;
      throw RenderError("RecursionError", "maximum recursion depth exceeded in macro '" + name + "'");
    }
    auto local = child_of(scope);
    std::vector<Value> varargs;
    for (std::size_t i = 0; i < a.args.size(); ++i) {
      if (i < def->targets.size()) local->vars[def->targets[i]] = a.args[i];
      else varargs.push_back(a.args[i]);
    }
    Value kwargs = Value::dict();
    for (const auto& [key, value] : a.kwargs) {
      bool is_param = false;
      for (const auto& p : def->targets) is_param = is_param || p == key;
      if (is_param || key == "caller") local->vars[key] = value;
      else kwargs.dict_data().set(Value(key), value);
    }
    for (std::size_t i = 0; i < def->targets.size(); ++i) {
      if (local->vars.count(def->targets[i])) continue;
      local->vars[def->targets[i]] = def->defaults[i] ? self.eval(*def->defaults[i], local)
                                                      : Value::undefined("parameter '" + def->targets[i] + "' was not provided");
    }
    local->vars["varargs"] = Value::list(std::move(varargs), true);
    local->vars["kwargs"] = kwargs;
    std::string out;
    int saved_line = self.line_;
    try {
      self.exec(def->body, local, out);
    } catch (...) {
      --self.depth_;
      throw;
    }
    --self.depth_;
    self.line_ = saved_line;
    return Value(out);
  });
}

Value Interpreter::call(const Value& fn, CallArgs& args) {
  if (fn.is_undefined()) fail_undefined(fn);
  if (!fn.is_callable()) throw_type_error("'" + fn.python_type() + "' object is not callable");
  return fn.callable().fn(*this, args);
}

CallArgs Interpreter::eval_args(const Expr& e, const FramePtr& frame) {
  CallArgs args;
  for (const auto& item : e.items) args.args.push_back(eval(*item, frame));
  for (const auto& [key, value] : e.kwargs) args.kwargs.emplace_back(key, eval(*value, frame));
  return args;
}

Value Interpreter::eval(const Expr& e, const FramePtr& frame) {
  line_ = e.line;
  switch (e.kind) {
    case ExprKind::Literal: return e.value;
    case ExprKind::Name: {
      if (const Value* v = frame->lookup(e.name)) return *v;
      return Value::undefined("'" + e.name + "' is undefined");
    }
    case ExprKind::List:
    case ExprKind::Tuple: {
      std::vector<Value> items;
      for (const auto& item : e.items) items.push_back(eval(*item, frame));
      return Value::list(std::move(items), e.kind == ExprKind::Tuple);
    }
    case ExprKind::Dict: {
      Value d = Value::dict();
      for (std::size_t i = 0; i + 1 < e.items.size(); i += 2) {
        Value key = eval(*e.items[i], frame);
        d.dict_data().set(key, eval(*e.items[i + 1], frame));
      }
      return d;
    }
    case ExprKind::Getattr: return get_attribute(eval(*e.a, frame), e.name);
    case ExprKind::Getitem: {
      Value obj = eval(*e.a, frame);
      return get_item(obj, eval(*e.b, frame));
    }
    case ExprKind::Slice: {
      Value obj = eval(*e.a, frame);
      Value parts[3];
      for (int i = 0; i < 3; ++i) parts[i] = e.items[static_cast<std::size_t>(i)] ? eval(*e.items[static_cast<std::size_t>(i)], frame) : Value::none();
      return get_slice(obj, parts[0], parts[1], parts[2]);
    }
    case ExprKind::Call: {
      Value fn = eval(*e.a, frame);
      CallArgs args = eval_args(e, frame);
      line_ = e.line;
      return call(fn, args);
    }
    case ExprKind::Filter: {
      Value input = eval(*e.a, frame);
      CallArgs args = eval_args(e, frame);
      line_ = e.line;
      return call_filter(*this, e.name, input, args);
    }
    case ExprKind::Test: {
      Value input = eval(*e.a, frame);
      CallArgs args = eval_args(e, frame);
      line_ = e.line;
      return Value(call_test(*this, e.name, input, args) != e.negated);
    }
    case ExprKind::Unary: {
      Value v = eval(*e.a, frame);
      if (e.name == "not") return Value(!v.truthy());
      if (e.name == "-") return op_negate(v);
      if (v.is_undefined()) fail_undefined(v);
      if (!v.is_number()) throw_type_error("bad operand type for unary +: '" + v.python_type() + "'");
      return v.is_bool() ? Value(v.as_int()) : v;
    }
    case ExprKind::Binary: {
      Value left = eval(*e.a, frame);
      if (e.name == "and") return left.truthy() ? eval(*e.b, frame) : left;
      if (e.name == "or") return left.truthy() ? left : eval(*e.b, frame);
      Value right = eval(*e.b, frame);
      line_ = e.line;
      return op_binary(e.name, left, right);
    }
    case ExprKind::Compare: {
      Value left = eval(*e.a, frame);
      for (std::size_t i = 0; i < e.ops.size(); ++i) {
        Value right = eval(*e.items[i], frame);
        line_ = e.line;
        if (!op_compare(e.ops[i], left, right)) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case ExprKind::CondExpr: {
      if (eval(*e.a, frame).truthy()) return eval(*e.items[0], frame);
      if (e.items[1]) return eval(*e.items[1], frame);
      return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                              " evaluated to false and no else section was defined.");
    }
  }
  return Value();
}

}  // namespace logitscope::jinja
