// SPDX-License-Identifier: GPL-3.0-or-later
// Value construction, Python equality/truthiness and the str()/repr() text of values.
#include "chat/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace logitscope::jinja {

void throw_type_error(const std::string& message) { throw RenderError("TypeError", message); }

Value Value::list(std::vector<Value> items, bool tuple) {
  Value v;
  v.kind_ = Kind::List;
  v.list_ = std::make_shared<ListData>();
  v.list_->items = std::move(items);
  v.list_->tuple = tuple;
  return v;
}

Value Value::dict() {
  Value v;
  v.kind_ = Kind::Dict;
  v.dict_ = std::make_shared<DictData>();
  return v;
}

Value Value::namespace_object() {
  Value v = dict();
  v.dict_->is_namespace = true;
  return v;
}

Value Value::function(std::string name, NativeFn fn) {
  Value v;
  v.kind_ = Kind::Callable;
  v.fn_ = std::make_shared<Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<std::int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned:
      return Value(static_cast<std::int64_t>(j.get<std::uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& item : j) items.push_back(from_json(item));
      return list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value d = dict();
      for (auto it = j.begin(); it != j.end(); ++it) d.dict_data().set(Value(it.key()), from_json(it.value()));
      return d;
    }
    default: return none();
  }
}

bool Value::is_mapping() const { return kind_ == Kind::Dict && !dict_->is_namespace; }
bool Value::is_namespace() const { return kind_ == Kind::Dict && dict_->is_namespace; }

bool Value::truthy() const {
  switch (kind_) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool:
    case Kind::Int: return int_ != 0;
    case Kind::Float: return float_ != 0.0;
    case Kind::String: return !str_.empty();
    case Kind::List: return !list_->items.empty();
    case Kind::Dict: return dict_->is_namespace || !dict_->entries.empty();
    case Kind::Callable: return true;
  }
  return false;
}

std::string Value::python_type() const {
  switch (kind_) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List: return list_->tuple ? "tuple" : "list";
    case Kind::Dict: return dict_->is_namespace ? "Namespace" : "dict";
    case Kind::Callable: return "function";
  }
  return "object";
}

std::string Value::type_repr() const {
  if (kind_ == Kind::None) return "None";
  return python_type() + " object";
}

const Value* DictData::find(const Value& key) const {
  for (const auto& entry : entries)
    if (py_equal(entry.first, key)) return &entry.second;
  return nullptr;
}

const Value* DictData::find(const std::string& key) const {
  for (const auto& entry : entries)
    if (entry.first.is_string() && entry.first.str() == key) return &entry.second;
  return nullptr;
}

void DictData::set(const Value& key, Value value) {
  for (auto& entry : entries) {
    if (py_equal(entry.first, key)) {
      entry.second = std::move(value);
      return;
    }
  }
  entries.emplace_back(key, std::move(value));
}

const Value* CallArgs::get(std::size_t position, const std::string& name) const {
  if (position < args.size()) return &args[position];
  for (const auto& kw : kwargs)
    if (kw.first == name) return &kw.second;
  return nullptr;
}

Value CallArgs::get_or(std::size_t position, const std::string& name, Value fallback) const {
  const Value* v = get(position, name);
  return v ? *v : fallback;
}

bool py_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_number() == b.as_number();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::String: return a.str() == b.str();
    case Kind::List: {
      if (a.list_data().tuple != b.list_data().tuple) return false;
      const auto &x = a.items(), &y = b.items();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!py_equal(x[i], y[i])) return false;
      return true;
    }
    case Kind::Dict: {
      if (a.is_namespace() || b.is_namespace()) return &a.dict_data() == &b.dict_data();
      const auto &x = a.dict_data().entries, &y = b.dict_data().entries;
      if (x.size() != y.size()) return false;
      for (const auto& entry : x) {
        const Value* other = b.dict_data().find(entry.first);
        if (!other || !py_equal(entry.second, *other)) return false;
      }
      return true;
    }
    case Kind::Callable: return &a.callable() == &b.callable();
    default: return false;
  }
}

// Python's repr(float): the shortest round-tripping digits, positional for exponents in [-4, 16).
std::string py_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (!sci.empty() && sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  auto epos = sci.find('e');
  std::string mantissa = sci.substr(0, epos);
  int exponent = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out;
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out = "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<std::size_t>(exponent) + 1 >= digits.size()) {
      out = digits + std::string(static_cast<std::size_t>(exponent) + 1 - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, static_cast<std::size_t>(exponent) + 1) + "." +
            digits.substr(static_cast<std::size_t>(exponent) + 1);
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exponent < 0 ? '-' : '+', exponent < 0 ? -exponent : exponent);
    out += e;
  }
  return sign + out;
}

// A namespace can be made to contain itself ({% set ns.me = ns %}); Python reports that instead of
// recursing forever, and so do repr() and json_dump() here.
namespace {
thread_local int nesting_depth = 0;
struct NestingGuard {
  NestingGuard() {
    if (++nesting_depth > 500) {
      --nesting_depth;
      throw RenderError("ValueError", "Circular reference detected");
    }
  }
  ~NestingGuard() { --nesting_depth; }
};
}  // namespace

static std::string repr_string(const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : utf8_decode(s)) {
    char buf[16];
    if (c == static_cast<char32_t>(quote) || c == U'\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == U'\n') {
      out += "\\n";
    } else if (c == U'\r') {
      out += "\\r";
    } else if (c == U'\t') {
      out += "\\t";
    } else if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else if ((c >= 0x200b && c <= 0x200f) || c == 0x2028 || c == 0x2029 || c == 0xfeff ||
               (c >= 0x2060 && c <= 0x2064)) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      utf8_append(out, c);
    }
  }
  out += quote;
  return out;
}

std::string py_repr(const Value& v) {
  NestingGuard guard;
  switch (v.kind()) {
    case Kind::String: return repr_string(v.str());
    case Kind::List: {
      const auto& data = v.list_data();
      std::string out = data.tuple ? "(" : "[";
      for (std::size_t i = 0; i < data.items.size(); ++i) {
        if (i) out += ", ";
        out += py_repr(data.items[i]);
      }
      if (data.tuple && data.items.size() == 1) out += ",";
      out += data.tuple ? ")" : "]";
      return out;
    }
    case Kind::Dict: {
      if (v.is_namespace()) {
        std::string out = "<Namespace {";
        bool first = true;
        for (const auto& [key, value] : v.dict_data().entries) {
          if (!first) out += ", ";
          first = false;
          out += py_repr(key) + ": " + py_repr(value);
        }
        return out + "}>";
      }
      std::string out = "{";
      bool first = true;
      for (const auto& [key, value] : v.dict_data().entries) {
        if (!first) out += ", ";
        first = false;
        out += py_repr(key) + ": " + py_repr(value);
      }
      return out + "}";
    }
    case Kind::Undefined: return "Undefined";
    default: return py_str(v);
  }
}

std::string py_str(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined: return "";
    case Kind::None: return "None";
    case Kind::Bool: return v.as_bool() ? "True" : "False";
    case Kind::Int: return std::to_string(v.as_int());
    case Kind::Float: return py_float_repr(v.as_number());
    case Kind::String: return v.str();
    case Kind::Callable: return "<function " + v.callable().name + ">";
    default: return py_repr(v);
  }
}

static void json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  for (char32_t c : utf8_decode(s)) {
    char buf[16];
    switch (c) {
      case U'"': out += "\\\""; break;
      case U'\\': out += "\\\\"; break;
      case U'\n': out += "\\n"; break;
      case U'\r': out += "\\r"; break;
      case U'\t': out += "\\t"; break;
      case U'\b': out += "\\b"; break;
      case U'\f': out += "\\f"; break;
      default:
        if (c < 0x20 || (ensure_ascii && c > 0x7e)) {
          if (c > 0xffff) {
            char32_t v = c - 0x10000;
            std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xd800 + (v >> 10)),
                          static_cast<unsigned>(0xdc00 + (v & 0x3ff)));
          } else {
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          }
          out += buf;
        } else {
          utf8_append(out, c);
        }
    }
  }
  out += '"';
}

static std::string json_key(const Value& key) {
  // json.dumps turns non-string keys into strings ("1", "true", "null").
  switch (key.kind()) {
    case Kind::String: return key.str();
    case Kind::None: return "null";
    case Kind::Bool: return key.as_bool() ? "true" : "false";
    case Kind::Int: return std::to_string(key.as_int());
    case Kind::Float: return py_float_repr(key.as_number());
    default: throw_type_error("keys must be str, int, float, bool or None, not " + key.python_type());
  }
}

static void json_dump(std::string& out, const Value& v, const JsonOptions& o, int depth) {
  NestingGuard guard;
  auto newline = [&](int level) {
    out += '\n';
    for (int i = 0; i < level; ++i) out += o.indent;
  };
  switch (v.kind()) {
    case Kind::None: out += "null"; return;
    case Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
    case Kind::Int: out += std::to_string(v.as_int()); return;
    case Kind::Float: {
      double d = v.as_number();
      if (std::isnan(d)) out += "NaN";
      else if (std::isinf(d)) out += d > 0 ? "Infinity" : "-Infinity";
      else out += py_float_repr(d);
      return;
    }
    case Kind::String: json_string(out, v.str(), o.ensure_ascii); return;
    case Kind::List: {
      const auto& items = v.items();
      if (items.empty()) { out += "[]"; return; }
      out += '[';
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += o.item_separator;
        if (o.has_indent) newline(depth + 1);
        json_dump(out, items[i], o, depth + 1);
      }
      if (o.has_indent) newline(depth);
      out += ']';
      return;
    }
    case Kind::Dict: {
      if (v.is_namespace()) throw_type_error("Object of type Namespace is not JSON serializable");
      auto entries = v.dict_data().entries;
      if (entries.empty()) { out += "{}"; return; }
      if (o.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto& a, const auto& b) { return json_key(a.first) < json_key(b.first); });
      }
      out += '{';
      for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i) out += o.item_separator;
        if (o.has_indent) newline(depth + 1);
        json_string(out, json_key(entries[i].first), o.ensure_ascii);
        out += o.key_separator;
        json_dump(out, entries[i].second, o, depth + 1);
      }
      if (o.has_indent) newline(depth);
      out += '}';
      return;
    }
    default:
      throw_type_error("Object of type " + v.python_type() + " is not JSON serializable");
  }
}

std::string py_json_dumps(const Value& v, const JsonOptions& options) {
  std::string out;
  json_dump(out, v, options, 0);
  return out;
}

nlohmann::ordered_json to_json(const Value& v) {
  switch (v.kind()) {
    case Kind::None: return nullptr;
    case Kind::Bool: return v.as_bool();
    case Kind::Int: return v.as_int();
    case Kind::Float: return v.as_number();
    case Kind::String: return v.str();
    case Kind::List: {
      auto out = nlohmann::ordered_json::array();
      for (const auto& item : v.items()) out.push_back(to_json(item));
      return out;
    }
    case Kind::Dict: {
      auto out = nlohmann::ordered_json::object();
      for (const auto& [key, value] : v.dict_data().entries) out[json_key(key)] = to_json(value);
      return out;
    }
    default: return nullptr;
  }
}

std::u32string utf8_decode(const std::string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int extra = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    bool ok = extra >= 0 && i + static_cast<std::size_t>(extra) < s.size();
    char32_t cp = extra <= 0 ? c : extra == 1 ? (c & 0x1f) : extra == 2 ? (c & 0x0f) : (c & 0x07);
    for (int k = 1; ok && k <= extra; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((cc & 0xc0) != 0x80) ok = false;
      else cp = (cp << 6) | (cc & 0x3f);
    }
    if (!ok) {
      // Invalid or truncated sequence: keep the byte as a code point so nothing is lost.
      out.push_back(c);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += static_cast<std::size_t>(extra) + 1;
  }
  return out;
}

void utf8_append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

std::string utf8_encode(const std::u32string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) utf8_append(out, c);
  return out;
}

std::size_t utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xc0) != 0x80) ++n;
  return n;
}

bool py_isspace(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x3000;
}

}  // namespace logitscope::jinja
