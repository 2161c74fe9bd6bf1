// SPDX-License-Identifier: GPL-3.0-or-later
// The values a chat template computes with. They mirror the Python objects Jinja2 sees when
// transformers renders a template (str, int, float, bool, None, list, tuple, dict, Undefined,
// namespace, callables) because the rendered text depends on Python's str()/repr()/json.dumps() of
// them, byte for byte.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace logitscope::jinja {

class Value;
class Interpreter;

// A failure while rendering; the interpreter adds the template name and line before it leaves the
// engine as logitscope::Error. `kind` names the Python exception Jinja would raise.
struct RenderError : std::runtime_error {
  RenderError(std::string kind_, const std::string& message)
      : std::runtime_error(message), kind(std::move(kind_)) {}
  std::string kind;  // "TemplateError", "UndefinedError", "TypeError", "SecurityError", ...
};

[[noreturn]] void throw_type_error(const std::string& message);

struct ListData {
  std::vector<Value> items;
  bool tuple = false;  // printed as (a, b) by repr()
};

struct DictData;
struct CallArgs;

using NativeFn = std::function<Value(Interpreter&, CallArgs&)>;
struct Callable {
  std::string name;
  NativeFn fn;
};

enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Callable };

class Value {
 public:
  Value() = default;  // Undefined
  static Value undefined(std::string hint) {
    Value v;
    v.str_ = std::move(hint);
    return v;
  }
  static Value none() { Value v; v.kind_ = Kind::None; return v; }
  Value(bool b) : kind_(Kind::Bool), int_(b) {}
  Value(std::int64_t i) : kind_(Kind::Int), int_(i) {}
  Value(int i) : kind_(Kind::Int), int_(i) {}
  Value(double d) : kind_(Kind::Float), float_(d) {}
  Value(std::string s) : kind_(Kind::String), str_(std::move(s)) {}
  Value(const char* s) : kind_(Kind::String), str_(s) {}
  static Value list(std::vector<Value> items = {}, bool tuple = false);
  static Value dict();
  static Value namespace_object();
  static Value function(std::string name, NativeFn fn);
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }       // excludes bool
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_mapping() const;  // a dict, not a namespace
  bool is_namespace() const;
  bool is_callable() const { return kind_ == Kind::Callable; }

  bool as_bool() const { return int_ != 0; }
  std::int64_t as_int() const { return int_; }  // Int or Bool
  double as_number() const { return kind_ == Kind::Float ? float_ : static_cast<double>(int_); }
  const std::string& str() const { return str_; }        // String, or Undefined's hint
  ListData& list_data() const { return *list_; }
  std::vector<Value>& items() const { return list_->items; }
  DictData& dict_data() const { return *dict_; }
  const Callable& callable() const { return *fn_; }

  bool truthy() const;
  // Python's type name as Jinja prints it in errors ("dict object", "str object", "None").
  std::string type_repr() const;
  std::string python_type() const;  // "dict", "str", "int", "NoneType", ...

 private:
  Kind kind_ = Kind::Undefined;
  std::int64_t int_ = 0;
  double float_ = 0;
  std::string str_;
  std::shared_ptr<ListData> list_;
  std::shared_ptr<DictData> dict_;
  std::shared_ptr<Callable> fn_;
};

// Insertion-ordered like a Python dict. Chat-template dicts are small, so a linear scan is fine.
struct DictData {
  std::vector<std::pair<Value, Value>> entries;
  bool is_namespace = false;
  const Value* find(const Value& key) const;
  const Value* find(const std::string& key) const;
  void set(const Value& key, Value value);
};

struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
  // Binds a parameter by position or name, as Python would; nullptr when absent.
  const Value* get(std::size_t position, const std::string& name) const;
  Value get_or(std::size_t position, const std::string& name, Value fallback) const;
};

// Python semantics used everywhere.
bool py_equal(const Value& a, const Value& b);
std::string py_str(const Value& v);   // str(v); Undefined prints as ""
std::string py_repr(const Value& v);  // repr(v)
std::string py_float_repr(double d);

struct JsonOptions {
  bool has_indent = false;
  std::string indent;           // the text of one level
  std::string item_separator;   // defaults follow json.dumps
  std::string key_separator;
  bool sort_keys = false;
  bool ensure_ascii = false;
};
std::string py_json_dumps(const Value& v, const JsonOptions& options);
nlohmann::ordered_json to_json(const Value& v);

// Unicode-aware helpers: Python strings index by code point.
std::u32string utf8_decode(const std::string& s);
std::string utf8_encode(const std::u32string& s);
void utf8_append(std::string& out, char32_t c);
std::size_t utf8_length(const std::string& s);
bool py_isspace(char32_t c);

}  // namespace logitscope::jinja
