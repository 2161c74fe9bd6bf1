// SPDX-License-Identifier: GPL-3.0-or-later
// Jinja2's builtin tests (jinja2/tests.py). Note the Python facts they encode: an Undefined is
// iterable and a sequence, bool is a number but not an integer, a string is iterable.
#include <cmath>
#include <map>

#include "chat/jinja/builtins.h"

namespace logitscope::jinja {
namespace {

using TestFn = bool (*)(Interpreter&, const Value&, CallArgs&);

const Value& first_arg(const CallArgs& a, const char* test) {
  const Value* v = a.get(0, "other");
  if (!v) throw_type_error(std::string("test '") + test + "' requires an argument");
  return *v;
}

bool integral_odd_even(const Value& v, bool odd) {
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_number()) throw_type_error("not all arguments converted during string formatting");
  if (v.is_float()) {
    double r = std::fmod(v.as_number(), 2.0);
    if (r < 0) r += 2.0;
    return odd ? r == 1.0 : r == 0.0;
  }
  std::int64_t r = v.as_int() % 2;
  return odd ? r != 0 : r == 0;
}

bool compare_test(const Value& v, const CallArgs& a, const char* op, const char* name) {
  return op_compare(op, v, first_arg(a, name));
}

const std::map<std::string, TestFn>& tests() {
  static const std::map<std::string, TestFn> table = {
      {"defined", [](Interpreter&, const Value& v, CallArgs&) { return !v.is_undefined(); }},
      {"undefined", [](Interpreter&, const Value& v, CallArgs&) { return v.is_undefined(); }},
      {"none", [](Interpreter&, const Value& v, CallArgs&) { return v.is_none(); }},
      {"string", [](Interpreter&, const Value& v, CallArgs&) { return v.is_string(); }},
      {"mapping", [](Interpreter&, const Value& v, CallArgs&) { return v.is_mapping(); }},
      {"iterable", [](Interpreter&, const Value& v, CallArgs&) {
         return v.is_undefined() || v.is_string() || v.is_list() || v.is_mapping();
       }},
      {"sequence", [](Interpreter&, const Value& v, CallArgs&) {
         return v.is_undefined() || v.is_string() || v.is_list() || v.is_mapping();
       }},
      {"number", [](Interpreter&, const Value& v, CallArgs&) { return v.is_number(); }},
      {"integer", [](Interpreter&, const Value& v, CallArgs&) { return v.is_int(); }},
      {"float", [](Interpreter&, const Value& v, CallArgs&) { return v.is_float(); }},
      {"boolean", [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool(); }},
      {"true", [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); }},
      {"false", [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); }},
      {"callable", [](Interpreter&, const Value& v, CallArgs&) { return v.is_callable(); }},
      {"odd", [](Interpreter&, const Value& v, CallArgs&) { return integral_odd_even(v, true); }},
      {"even", [](Interpreter&, const Value& v, CallArgs&) { return integral_odd_even(v, false); }},
      {"divisibleby", [](Interpreter&, const Value& v, CallArgs& a) {
         const Value& n = first_arg(a, "divisibleby");
         if (!v.is_number() || !n.is_number()) throw_type_error("divisibleby requires numbers");
         if (n.as_number() == 0) throw RenderError("ZeroDivisionError", "integer division or modulo by zero");
         return std::fmod(v.as_number(), n.as_number()) == 0;
       }},
      {"eq", [](Interpreter&, const Value& v, CallArgs& a) { return compare_test(v, a, "==", "eq"); }},
      {"equalto", [](Interpreter&, const Value& v, CallArgs& a) { return compare_test(v, a, "==", "equalto"); }},
      {"==", [](Interpreter&, const Value& v, CallArgs& a) { return compare_test(v, a, "==", "=="); }},
      {"ne", [](Interpreter&, const Value& v, CallArgs& a) { return compare_test(v, a, "!=", "ne"); }},
      {"!=", [](Interpreter&, const Value& v, CallArgs& a) { return compare_test(v, a, "!=", "!="); }},
      {"lt", [](Interpreter&, const Value& v, CallArgs& a) { return compare_test(v, a, "<", "lt"); }},
      {"lessthan", [](Interpreter&, const Value& v, CallArgs& a) { return compare_test(v, a, "<", "lessthan"); }},
      {"le", [](Interpreter&, const Value& v, CallArgs& a) { return compare_test(v, a, "<=", "le"); }},
      {"gt", [](Interpreter&, const Value& v, CallArgs& a) { return compare_test(v, a, ">", "gt"); }},
      {"greaterthan", [](Interpreter&, const Value& v, CallArgs& a) { return compare_test(v, a, ">", "greaterthan"); }},
      {"ge", [](Interpreter&, const Value& v, CallArgs& a) { return compare_test(v, a, ">=", "ge"); }},
      {"in", [](Interpreter&, const Value& v, CallArgs& a) { return op_contains(first_arg(a, "in"), v); }},
      {"sameas", [](Interpreter&, const Value& v, CallArgs& a) {
         const Value& o = first_arg(a, "sameas");
         if (v.kind() != o.kind()) return false;
         if (v.is_none() || v.is_undefined()) return true;
         if (v.is_bool() || v.is_int()) return v.as_int() == o.as_int();
         if (v.is_list()) return &v.list_data() == &o.list_data();
         if (v.is_dict()) return &v.dict_data() == &o.dict_data();
         if (v.is_callable()) return &v.callable() == &o.callable();
         return false;
       }},
      {"lower", [](Interpreter&, const Value& v, CallArgs&) {
         std::string s = py_str(v);
         return s == py_lower(s) && s != py_upper(s);
       }},
      {"upper", [](Interpreter&, const Value& v, CallArgs&) {
         std::string s = py_str(v);
         return s == py_upper(s) && s != py_lower(s);
       }},
      {"escaped", [](Interpreter&, const Value&, CallArgs&) { return false; }},
      {"filter", [](Interpreter&, const Value& v, CallArgs&) { return v.is_string() && has_filter(v.str()); }},
      {"test", [](Interpreter&, const Value& v, CallArgs&) { return v.is_string() && has_test(v.str()); }},
  };
  return table;
}

}  // namespace

bool has_test(const std::string& name) { return tests().count(name) != 0; }

bool call_test(Interpreter& interp, const std::string& name, const Value& input, CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) throw RenderError("TemplateRuntimeError", "No test named '" + name + "'.");
  return it->second(interp, input, args);
}

}  // namespace logitscope::jinja
