// SPDX-License-Identifier: GPL-3.0-or-later
// The Python object protocol (operators, attribute and item access, iteration), Jinja's builtin
// filters and tests, and the str/dict/list methods templates call. Split over operators.cpp,
// filters.cpp, tests.cpp and methods.cpp.
#pragma once

#include <string>
#include <vector>

#include "chat/jinja/value.h"

namespace logitscope::jinja {

// Operators with Python's semantics; TypeError messages follow CPython's wording.
Value op_binary(const std::string& op, const Value& a, const Value& b);
Value op_negate(const Value& a);
bool op_compare(const std::string& op, const Value& a, const Value& b);
bool op_contains(const Value& container, const Value& item);  // item in container
int py_compare_order(const Value& a, const Value& b);           // for sorting; TypeError if unorderable

// Jinja's environment.getattr / getitem: dict keys, then methods; misses give Undefined with the
// hint Jinja prints when the Undefined is used.
Value get_attribute(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
std::vector<Value> iterate(const Value& v);
std::size_t py_len(const Value& v);
// Raises the UndefinedError an Undefined carries when it is used for more than printing.
[[noreturn]] void fail_undefined(const Value& undefined);

// Bound methods of str, dict and list (Undefined when the name is no method).
Value get_method(const Value& obj, const std::string& name);

bool has_filter(const std::string& name);
bool has_test(const std::string& name);
Value call_filter(Interpreter& interp, const std::string& name, const Value& input, CallArgs& args);
bool call_test(Interpreter& interp, const std::string& name, const Value& input, CallArgs& args);

// Python string helpers shared by filters and methods.
std::string py_strip(const std::string& s, const Value& chars, bool left, bool right);
std::string py_upper(const std::string& s);
std::string py_lower(const std::string& s);
std::string py_capitalize(const std::string& s);
std::string py_percent_format(const std::string& format, const Value& args);

}  // namespace logitscope::jinja
