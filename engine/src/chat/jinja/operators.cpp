// SPDX-License-Identifier: GPL-3.0-or-later
// Python's operators and object protocol as Jinja2 applies them, including the Undefined rules of
// Jinja's default Undefined (prints empty, iterates empty, falsy; anything else raises).
#include <algorithm>
#include <cstdint>
#include <cmath>

#include "chat/jinja/builtins.h"

namespace logitscope::jinja {

void fail_undefined(const Value& undefined) {
  throw RenderError("UndefinedError", undefined.str().empty() ? "undefined value" : undefined.str());
}

static std::string quoted(const std::string& name) { return py_repr(Value(name)); }

static Value missing_attribute(const Value& obj, const std::string& name) {
  return Value::undefined("'" + obj.type_repr() + "' has no attribute " + quoted(name));
}

std::size_t py_len(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined: return 0;
    case Kind::String: return utf8_length(v.str());
    case Kind::List: return v.items().size();
    case Kind::Dict:
      if (!v.is_namespace()) return v.dict_data().entries.size();
      [[fallthrough]];
    default: throw_type_error("object of type '" + v.python_type() + "' has no len()");
  }
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined: return {};
    case Kind::List: return v.items();
    case Kind::String: {
      std::vector<Value> out;
      for (char32_t c : utf8_decode(v.str())) {
        std::string s;
        utf8_append(s, c);
        out.emplace_back(std::move(s));
      }
      return out;
    }
    case Kind::Dict:
      if (!v.is_namespace()) {
        std::vector<Value> out;
        for (const auto& entry : v.dict_data().entries) out.push_back(entry.first);
        return out;
      }
      [[fallthrough]];
    default: throw_type_error("'" + v.python_type() + "' object is not iterable");
  }
}

Value get_attribute(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_dict()) {
    if (!obj.is_namespace()) {
      Value method = get_method(obj, name);
      if (!method.is_undefined()) return method;
    }
    if (const Value* v = obj.dict_data().find(name)) return *v;
    return missing_attribute(obj, name);
  }
  if (obj.is_string() || obj.is_list()) {
    Value method = get_method(obj, name);
    if (!method.is_undefined()) return method;
  }
  return missing_attribute(obj, name);
}

static bool normalize_index(std::int64_t& index, std::size_t size) {
  if (index < 0) index += static_cast<std::int64_t>(size);
  return index >= 0 && static_cast<std::size_t>(index) < size;
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_dict()) {
    if (!obj.is_namespace())
      if (const Value* v = obj.dict_data().find(key)) return *v;
    if (key.is_string()) return get_attribute(obj, key.str());
    return Value::undefined(obj.type_repr() + " has no element " + py_repr(key));
  }
  if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    std::int64_t index = key.as_int();
    if (obj.is_list()) {
      if (!normalize_index(index, obj.items().size()))
        return Value::undefined(obj.type_repr() + " has no element " + py_repr(key));
      return obj.items()[static_cast<std::size_t>(index)];
    }
    std::u32string u = utf8_decode(obj.str());
    if (!normalize_index(index, u.size()))
      return Value::undefined(obj.type_repr() + " has no element " + py_repr(key));
    std::string s;
    utf8_append(s, u[static_cast<std::size_t>(index)]);
    return Value(s);
  }
  if (key.is_string()) return get_attribute(obj, key.str());
  return Value::undefined(obj.type_repr() + " has no element " + py_repr(key));
}

// Python's slice.indices() followed by the selection.
template <typename Seq>
static Seq slice_seq(const Seq& seq, const Value& start_v, const Value& stop_v, const Value& step_v) {
  auto n = static_cast<std::int64_t>(seq.size());
  auto as_index = [](const Value& v) -> std::int64_t {
    if (v.is_int() || v.is_bool()) return v.as_int();
    throw_type_error("slice indices must be integers or None or have an __index__ method");
  };
  std::int64_t step = step_v.is_none() || step_v.is_undefined() ? 1 : as_index(step_v);
  if (step == 0) throw RenderError("ValueError", "slice step cannot be zero");
  std::int64_t start, stop;
  auto clamp = [&](const Value& v, std::int64_t fallback) -> std::int64_t {
    if (v.is_none() || v.is_undefined()) return fallback;
    std::int64_t i = as_index(v);
    if (i < 0) {
      i += n;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= n) {
      i = step < 0 ? n - 1 : n;
    }
    return i;
  };
  start = clamp(start_v, step < 0 ? n - 1 : 0);
  stop = clamp(stop_v, step < 0 ? -1 : n);
  Seq out;
  if (step > 0) {
    for (std::int64_t i = start; i < stop; i += step) out.push_back(seq[static_cast<std::size_t>(i)]);
  } else {
    for (std::int64_t i = start; i > stop; i += step) out.push_back(seq[static_cast<std::size_t>(i)]);
  }
  return out;
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_list()) return Value::list(slice_seq(obj.items(), start, stop, step), obj.list_data().tuple);
  if (obj.is_string()) return Value(utf8_encode(slice_seq(utf8_decode(obj.str()), start, stop, step)));
  throw_type_error("'" + obj.python_type() + "' object is not subscriptable");
}

// Python integers are unbounded; ours are 64-bit. A result past that range is an OverflowError (the
// template fails with a message) rather than undefined behaviour: no chat template needs such values.
[[noreturn]] static void throw_overflow(const char* op) {
  throw RenderError("OverflowError", std::string("integer result of ") + op + " does not fit in 64 bits");
}
static std::int64_t checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw_overflow("+");
  return r;
}
static std::int64_t checked_sub(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) throw_overflow("-");
  return r;
}
static std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* op = "*") {
  std::int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw_overflow(op);
  return r;
}
// a ** b for b >= 0 by squaring: O(log b) steps, so a huge exponent cannot stall the renderer.
static std::int64_t checked_pow(std::int64_t a, std::int64_t b) {
  if (a == 0) return b == 0 ? 1 : 0;
  if (a == 1) return 1;
  if (a == -1) return (b % 2) ? -1 : 1;
  std::int64_t r = 1;
  while (b > 0) {
    if (b & 1) r = checked_mul(r, a, "**");
    b >>= 1;
    if (b > 0) a = checked_mul(a, a, "**");
  }
  return r;
}
// Repetition (`"ab" * n`, `[x] * n`) past this many bytes or items is a MemoryError, not an OOM kill.
constexpr std::int64_t kMaxRepeat = std::int64_t(64) << 20;

static std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  if (a == INT64_MIN && b == -1) throw_overflow("//");
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

static std::string operand_error(const std::string& op, const Value& a, const Value& b) {
  return "unsupported operand type(s) for " + op + ": '" + a.python_type() + "' and '" + b.python_type() + "'";
}

Value op_binary(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") return Value(py_str(a) + py_str(b));
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  bool nums = a.is_number() && b.is_number();
  bool ints = nums && !a.is_float() && !b.is_float();
  if (op == "+") {
    if (ints) return Value(checked_add(a.as_int(), b.as_int()));
    if (nums) return Value(a.as_number() + b.as_number());
    if (a.is_string() && b.is_string()) return Value(a.str() + b.str());
    if (a.is_list() && b.is_list() && a.list_data().tuple == b.list_data().tuple) {
      std::vector<Value> items = a.items();
      items.insert(items.end(), b.items().begin(), b.items().end());
      return Value::list(std::move(items), a.list_data().tuple);
    }
    if (a.is_string()) throw_type_error("can only concatenate str (not \"" + b.python_type() + "\") to str");
    if (a.is_list()) throw_type_error("can only concatenate " + a.python_type() + " (not \"" + b.python_type() + "\") to " + a.python_type());
    throw_type_error(operand_error("+", a, b));
  }
  if (op == "-") {
    if (ints) return Value(checked_sub(a.as_int(), b.as_int()));
    if (nums) return Value(a.as_number() - b.as_number());
    throw_type_error(operand_error("-", a, b));
  }
  if (op == "*") {
    if (ints) return Value(checked_mul(a.as_int(), b.as_int()));
    if (nums) return Value(a.as_number() * b.as_number());
    const Value* seq = a.is_string() || a.is_list() ? &a : b.is_string() || b.is_list() ? &b : nullptr;
    const Value* count = seq == &a ? &b : &a;
    if (seq && (count->is_int() || count->is_bool())) {
      std::int64_t n = std::max<std::int64_t>(0, count->as_int());
      const std::int64_t unit = seq->is_string() ? std::int64_t(seq->str().size()) : std::int64_t(seq->items().size());
      if (unit > 0 && n > kMaxRepeat / unit)
        throw RenderError("MemoryError", "repetition would make " + std::to_string(n) + " copies of a " +
                                             seq->python_type() + " (limit " + std::to_string(kMaxRepeat) + " elements)");
      if (seq->is_string()) {
        std::string out;
        for (std::int64_t i = 0; i < n; ++i) out += seq->str();
        return Value(out);
      }
      std::vector<Value> items;
      for (std::int64_t i = 0; i < n; ++i) items.insert(items.end(), seq->items().begin(), seq->items().end());
      return Value::list(std::move(items), seq->list_data().tuple);
    }
    throw_type_error(operand_error("*", a, b));
  }
  if (op == "/") {
    if (!nums) throw_type_error(operand_error("/", a, b));
    if (b.as_number() == 0) throw RenderError("ZeroDivisionError", "division by zero");
    return Value(a.as_number() / b.as_number());
  }
  if (op == "//") {
    if (!nums) throw_type_error(operand_error("//", a, b));
    if (b.as_number() == 0) throw RenderError("ZeroDivisionError", "integer division or modulo by zero");
    if (ints) return Value(floor_div(a.as_int(), b.as_int()));
    return Value(std::floor(a.as_number() / b.as_number()));
  }
  if (op == "%") {
    if (a.is_string()) return Value(py_percent_format(a.str(), b));
    if (!nums) throw_type_error(operand_error("%", a, b));
    if (b.as_number() == 0) throw RenderError("ZeroDivisionError", "integer division or modulo by zero");
    if (ints) {
      // Python's modulo takes the divisor's sign; computed from C++'s remainder, so no step can
      // overflow (INT64_MIN % -1 traps in C++: its value is 0).
      const std::int64_t x = a.as_int(), y = b.as_int();
      if (y == -1) return Value(std::int64_t(0));
      std::int64_t r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) r += y;
      return Value(r);
    }
    double r = std::fmod(a.as_number(), b.as_number());
    if (r != 0 && ((r < 0) != (b.as_number() < 0))) r += b.as_number();
    return Value(r);
  }
  if (op == "**") {
    if (ints && b.as_int() >= 0) return Value(checked_pow(a.as_int(), b.as_int()));
    if (nums) return Value(std::pow(a.as_number(), b.as_number()));
    throw_type_error(operand_error("** or pow()", a, b));
  }
  throw_type_error("unknown operator " + op);
}

Value op_negate(const Value& a) {
  if (a.is_undefined()) fail_undefined(a);
  if (a.is_int() || a.is_bool()) return Value(checked_sub(0, a.as_int()));
  if (a.is_float()) return Value(-a.as_number());
  throw_type_error("bad operand type for unary -: '" + a.python_type() + "'");
}

int py_compare_order(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (!a.is_float() && !b.is_float()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
    return a.as_number() < b.as_number() ? -1 : a.as_number() > b.as_number() ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str() ? -1 : a.str() > b.str() ? 1 : 0;
  if (a.is_list() && b.is_list()) {
    const auto &x = a.items(), &y = b.items();
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (py_equal(x[i], y[i])) continue;
      return py_compare_order(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  throw_type_error("'<' not supported between instances of '" + a.python_type() + "' and '" + b.python_type() + "'");
}

bool op_contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::Undefined: return false;
    case Kind::String:
      if (!item.is_string())
        throw_type_error("'in <string>' requires string as left operand, not " + item.python_type());
      return container.str().find(item.str()) != std::string::npos;
    case Kind::List:
      return std::any_of(container.items().begin(), container.items().end(),
                         [&](const Value& v) { return py_equal(v, item); });
    case Kind::Dict:
      if (!container.is_namespace()) return container.dict_data().find(item) != nullptr;
      [[fallthrough]];
    default: throw_type_error("argument of type '" + container.python_type() + "' is not iterable");
  }
}

bool op_compare(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return py_equal(a, b);
  if (op == "!=") return !py_equal(a, b);
  if (op == "in") return op_contains(b, a);
  if (op == "notin") return !op_contains(b, a);
  if ((a.is_undefined() || b.is_undefined())) {
    fail_undefined(a.is_undefined() ? a : b);
  }
  int c;
  try {
    c = py_compare_order(a, b);
  } catch (const RenderError& e) {
    if (e.kind != "TypeError") throw;
    throw_type_error("'" + op + "' not supported between instances of '" + a.python_type() + "' and '" +
                     b.python_type() + "'");
  }
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

}  // namespace logitscope::jinja
