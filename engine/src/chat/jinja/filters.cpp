// SPDX-License-Identifier: GPL-3.0-or-later
// Jinja2's builtin filters (jinja2/filters.py) with transformers' tojson override:
// json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False), no HTML escaping.
#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "chat/jinja/builtins.h"
#include "chat/jinja/interpreter.h"

namespace logitscope::jinja {
namespace {

using FilterFn = Value (*)(Interpreter&, const Value&, CallArgs&);

Value arg(const CallArgs& a, std::size_t pos, const char* name, Value fallback) { return a.get_or(pos, name, std::move(fallback)); }

// make_attrgetter: "a.b.0" walks getitem, integers as indexes.
Value attr_path(const Value& item, const std::string& path) {
  Value v = item;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (numeric) {
      try {
        v = get_item(v, Value(static_cast<std::int64_t>(std::stoll(part))));
      } catch (const std::out_of_range&) {  // past 64 bits: no list is that long; look it up as a key
        v = get_item(v, Value(part));
      }
    } else {
      v = get_item(v, Value(part));
    }
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

Value f_abs(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_float()) return Value(std::fabs(v.as_number()));
  if (v.is_int() || v.is_bool()) {
    if (v.as_int() == INT64_MIN) throw RenderError("OverflowError", "abs() of the smallest 64-bit integer does not fit");
    return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  if (v.is_undefined()) fail_undefined(v);
  throw_type_error("bad operand type for abs(): '" + v.python_type() + "'");
}

Value f_attr(Interpreter&, const Value& v, CallArgs& a) { return get_attribute(v, py_str(arg(a, 0, "name", Value("")))); }

Value f_capitalize(Interpreter&, const Value& v, CallArgs&) { return Value(py_capitalize(py_str(v))); }

Value f_center(Interpreter&, const Value& v, CallArgs& a) {
  std::string s = py_str(v);
  std::int64_t width = arg(a, 0, "width", Value(80)).as_int();
  auto len = static_cast<std::int64_t>(utf8_length(s));
  if (width <= len) return Value(s);
  std::int64_t pad = width - len, left = pad / 2 + (pad & width & 1);
  return Value(std::string(static_cast<std::size_t>(left), ' ') + s + std::string(static_cast<std::size_t>(pad - left), ' '));
}

Value f_default(Interpreter&, const Value& v, CallArgs& a) {
  bool boolean = arg(a, 1, "boolean", Value(false)).truthy();
  if (v.is_undefined() || (boolean && !v.truthy())) return arg(a, 0, "default_value", Value(""));
  return v;
}

std::string sort_key_text(const Value& v, bool case_sensitive) {
  return case_sensitive ? v.str() : py_lower(v.str());
}

int compare_for_sort(const Value& x, const Value& y, bool case_sensitive) {
  if (!case_sensitive && x.is_string() && y.is_string()) {
    std::string a = sort_key_text(x, false), b = sort_key_text(y, false);
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return py_compare_order(x, y);
}

Value f_dictsort(Interpreter&, const Value& v, CallArgs& a) {
  if (!v.is_mapping()) throw RenderError("FilterArgumentError", "You can only sort by either \"key\" or \"value\"");
  bool case_sensitive = arg(a, 0, "case_sensitive", Value(false)).truthy();
  std::string by = py_str(arg(a, 1, "by", Value("key")));
  bool reverse = arg(a, 2, "reverse", Value(false)).truthy();
  int pos = by == "key" ? 0 : by == "value" ? 1 : -1;
  if (pos < 0) throw RenderError("FilterArgumentError", "You can only sort by either \"key\" or \"value\"");
  std::vector<Value> items;
  for (const auto& [key, value] : v.dict_data().entries) items.push_back(Value::list({key, value}, true));
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    int c = compare_for_sort(x.items()[static_cast<std::size_t>(pos)], y.items()[static_cast<std::size_t>(pos)], case_sensitive);
    return reverse ? c > 0 : c < 0;
  });
  return Value::list(std::move(items));
}

Value f_escape(Interpreter&, const Value& v, CallArgs&) {
  std::string out;
  for (char c : py_str(v)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return Value(out);
}

Value f_first(Interpreter&, const Value& v, CallArgs&) {
  auto items = iterate(v);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value f_last(Interpreter&, const Value& v, CallArgs&) {
  auto items = iterate(v);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

bool parse_python_float(std::string s, double& out) {
  s = py_strip(s, Value::none(), true, true);
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty()) return false;
  std::string lower = py_lower(s);
  std::string body = (lower[0] == '+' || lower[0] == '-') ? lower.substr(1) : lower;
  if (body == "inf" || body == "infinity" || body == "nan") {
    out = body == "nan" ? NAN : (lower[0] == '-' ? -INFINITY : INFINITY);
    return true;
  }
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}

Value f_float(Interpreter&, const Value& v, CallArgs& a) {
  Value fallback = arg(a, 0, "default", Value(0.0));
  if (v.is_number()) return Value(v.as_number());
  double d;
  if (v.is_string() && parse_python_float(v.str(), d)) return Value(d);
  return fallback;
}

Value f_int(Interpreter&, const Value& v, CallArgs& a) {
  Value fallback = arg(a, 0, "default", Value(0));
  std::int64_t base = arg(a, 1, "base", Value(10)).as_int();
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) return std::isfinite(v.as_number()) ? Value(static_cast<std::int64_t>(std::trunc(v.as_number()))) : fallback;
  if (v.is_string()) {
    std::string s = py_strip(v.str(), Value::none(), true, true);
    s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
    if (!s.empty()) {
      std::string digits = s;
      int b = static_cast<int>(base);
      std::size_t skip = (digits[0] == '+' || digits[0] == '-') ? 1 : 0;
      if (digits.size() > skip + 1 && digits[skip] == '0') {
        char p = static_cast<char>(std::tolower(static_cast<unsigned char>(digits[skip + 1])));
        if ((p == 'x' && b == 16) || (p == 'o' && b == 8) || (p == 'b' && b == 2)) digits.erase(skip, 2);
      }
      char* end = nullptr;
      long long n = std::strtoll(digits.c_str(), &end, b);
      if (end && *end == '\0' && digits.size() > skip) return Value(static_cast<std::int64_t>(n));
    }
    double d;
    if (parse_python_float(v.str(), d) && std::isfinite(d)) return Value(static_cast<std::int64_t>(std::trunc(d)));
  }
  return fallback;
}

Value f_format(Interpreter&, const Value& v, CallArgs& a) {
  if (!a.kwargs.empty()) {
    Value d = Value::dict();
    for (const auto& [k, val] : a.kwargs) d.dict_data().set(Value(k), val);
    return Value(py_percent_format(py_str(v), d));
  }
  return Value(py_percent_format(py_str(v), Value::list(a.args, true)));
}

Value f_indent(Interpreter&, const Value& v, CallArgs& a) {
  Value width = arg(a, 0, "width", Value(4));
  bool first = arg(a, 1, "first", Value(false)).truthy();
  bool blank = arg(a, 2, "blank", Value(false)).truthy();
  std::string indention = width.is_string() ? width.str() : std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, width.as_int())), ' ');
  std::string s = py_str(v) + "\n";
  // str.splitlines() on the text plus the quirk newline jinja appends.
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') {
      lines.push_back(s.substr(start, i - start));
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < s.size()) lines.push_back(s.substr(start));
  std::string rv;
  if (blank) {
    for (std::size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + indention : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (std::size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : indention + lines[i]);
  }
  if (first) rv = indention + rv;
  return Value(rv);
}

Value f_items(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return Value::list();
  if (!v.is_mapping()) throw_type_error("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [key, value] : v.dict_data().entries) out.push_back(Value::list({key, value}, true));
  return Value::list(std::move(out));
}

Value f_join(Interpreter&, const Value& v, CallArgs& a) {
  std::string sep = py_str(arg(a, 0, "d", Value("")));
  const Value* attribute = a.get(1, "attribute");
  std::string out;
  bool first = true;
  for (const auto& item : iterate(v)) {
    if (!first) out += sep;
    first = false;
    out += py_str(attribute && !attribute->is_none() ? attr_path(item, py_str(*attribute)) : item);
  }
  return Value(out);
}

Value f_length(Interpreter&, const Value& v, CallArgs&) { return Value(static_cast<std::int64_t>(py_len(v))); }
Value f_list(Interpreter&, const Value& v, CallArgs&) { return Value::list(iterate(v)); }
Value f_lower(Interpreter&, const Value& v, CallArgs&) { return Value(py_lower(py_str(v))); }
Value f_upper(Interpreter&, const Value& v, CallArgs&) { return Value(py_upper(py_str(v))); }

Value f_map(Interpreter& interp, const Value& v, CallArgs& a) {
  std::vector<Value> out;
  const Value* attribute = nullptr;
  for (const auto& kw : a.kwargs)
    if (kw.first == "attribute") attribute = &kw.second;
  if (attribute) {
    const Value* fallback = nullptr;
    for (const auto& kw : a.kwargs)
      if (kw.first == "default") fallback = &kw.second;
    for (const auto& item : iterate(v)) {
      Value r = attr_path(item, py_str(*attribute));
      out.push_back(r.is_undefined() && fallback ? *fallback : r);
    }
    return Value::list(std::move(out));
  }
  if (a.args.empty()) throw RenderError("FilterArgumentError", "map requires a filter argument");
  std::string name = py_str(a.args[0]);
  CallArgs rest;
  rest.args.assign(a.args.begin() + 1, a.args.end());
  rest.kwargs = a.kwargs;
  for (const auto& item : iterate(v)) {
    CallArgs copy = rest;
    out.push_back(call_filter(interp, name, item, copy));
  }
  return Value::list(std::move(out));
}

Value select_impl(Interpreter& interp, const Value& v, CallArgs& a, bool by_attribute, bool keep) {
  std::size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (a.args.empty()) throw_type_error("select_or_reject() missing required argument: 'attr'");
    attribute = py_str(a.args[next++]);
  }
  std::string test;
  if (next < a.args.size()) test = py_str(a.args[next++]);
  CallArgs rest;
  rest.args.assign(a.args.begin() + static_cast<std::ptrdiff_t>(std::min(next, a.args.size())), a.args.end());
  rest.kwargs = a.kwargs;
  std::vector<Value> out;
  for (const auto& item : iterate(v)) {
    Value probe = by_attribute ? attr_path(item, attribute) : item;
    bool ok;
    if (test.empty()) {
      ok = probe.truthy();
    } else {
      CallArgs copy = rest;
      ok = call_test(interp, test, probe, copy);
    }
    if (ok == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value f_select(Interpreter& i, const Value& v, CallArgs& a) { return select_impl(i, v, a, false, true); }
Value f_reject(Interpreter& i, const Value& v, CallArgs& a) { return select_impl(i, v, a, false, false); }
Value f_selectattr(Interpreter& i, const Value& v, CallArgs& a) { return select_impl(i, v, a, true, true); }
Value f_rejectattr(Interpreter& i, const Value& v, CallArgs& a) { return select_impl(i, v, a, true, false); }

Value min_max(const Value& v, CallArgs& a, bool want_max) {
  bool case_sensitive = arg(a, 0, "case_sensitive", Value(false)).truthy();
  const Value* attribute = a.get(1, "attribute");
  auto items = iterate(v);
  if (items.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
  std::size_t best = 0;
  for (std::size_t i = 1; i < items.size(); ++i) {
    Value x = attribute && !attribute->is_none() ? attr_path(items[i], py_str(*attribute)) : items[i];
    Value y = attribute && !attribute->is_none() ? attr_path(items[best], py_str(*attribute)) : items[best];
    int c = compare_for_sort(x, y, case_sensitive);
    if (want_max ? c > 0 : c < 0) best = i;
  }
  return items[best];
}

Value f_max(Interpreter&, const Value& v, CallArgs& a) { return min_max(v, a, true); }
Value f_min(Interpreter&, const Value& v, CallArgs& a) { return min_max(v, a, false); }

Value f_replace(Interpreter& interp, const Value& v, CallArgs& a) {
  Value method = get_method(Value(py_str(v)), "replace");
  CallArgs args;
  args.args.push_back(Value(py_str(arg(a, 0, "old", Value("")))));
  args.args.push_back(Value(py_str(arg(a, 1, "new", Value("")))));
  Value count = arg(a, 2, "count", Value::none());
  if (!count.is_none()) args.args.push_back(count);
  return method.callable().fn(interp, args);
}

Value f_reverse(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_string()) {
    std::u32string u = utf8_decode(v.str());
    std::reverse(u.begin(), u.end());
    return Value(utf8_encode(u));
  }
  auto items = iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

Value f_round(Interpreter&, const Value& v, CallArgs& a) {
  std::int64_t precision = arg(a, 0, "precision", Value(0)).as_int();
  std::string method = py_str(arg(a, 1, "method", Value("common")));
  if (!v.is_number()) throw_type_error("type " + v.python_type() + " doesn't define __round__ method");
  if (method == "common" && !v.is_float()) return Value(v.as_int());
  if (method == "common" && precision >= 0) {
    // Python rounds the exact binary value half-to-even (round(2.675, 2) == 2.67); printf does too.
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(std::min<std::int64_t>(precision, 300)), v.as_number());
    return Value(std::strtod(buf, nullptr));
  }
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_number() * scale;
  double r;
  if (method == "common") r = std::nearbyint(x);
  else if (method == "ceil") r = std::ceil(x);
  else if (method == "floor") r = std::floor(x);
  else throw RenderError("FilterArgumentError", "method must be common, ceil or floor");
  if (method == "common" && !v.is_float()) return Value(v.as_int());
  return Value(r / scale);
}

Value f_safe(Interpreter&, const Value& v, CallArgs&) { return Value(py_str(v)); }
Value f_string(Interpreter&, const Value& v, CallArgs&) { return Value(py_str(v)); }

Value f_sort(Interpreter&, const Value& v, CallArgs& a) {
  bool reverse = arg(a, 0, "reverse", Value(false)).truthy();
  bool case_sensitive = arg(a, 1, "case_sensitive", Value(false)).truthy();
  const Value* attribute = a.get(2, "attribute");
  auto items = iterate(v);
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    Value kx = attribute && !attribute->is_none() ? attr_path(x, py_str(*attribute)) : x;
    Value ky = attribute && !attribute->is_none() ? attr_path(y, py_str(*attribute)) : y;
    int c = compare_for_sort(kx, ky, case_sensitive);
    return reverse ? c > 0 : c < 0;
  });
  return Value::list(std::move(items));
}

Value f_sum(Interpreter&, const Value& v, CallArgs& a) {
  const Value* attribute = a.get(0, "attribute");
  Value total = arg(a, 1, "start", Value(0));
  for (const auto& item : iterate(v))
    total = op_binary("+", total, attribute && !attribute->is_none() ? attr_path(item, py_str(*attribute)) : item);
  return total;
}

// do_title: capitalise each chunk after -, whitespace, (, {, [ or <.
Value f_title(Interpreter&, const Value& v, CallArgs&) {
  std::u32string u = utf8_decode(py_str(v));
  std::string out;
  bool at_start = true;
  for (char32_t c : u) {
    bool sep = c == U'-' || c == U'(' || c == U'{' || c == U'[' || c == U'<' || py_isspace(c);
    auto cp = static_cast<utf8proc_int32_t>(c);
    if (sep) {
      utf8_append(out, c);
      at_start = true;
    } else {
      utf8_append(out, static_cast<char32_t>(at_start ? utf8proc_toupper(cp) : utf8proc_tolower(cp)));
      at_start = false;
    }
  }
  return Value(out);
}

// transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
Value f_tojson(Interpreter&, const Value& v, CallArgs& a) {
  JsonOptions o;
  o.ensure_ascii = arg(a, 0, "ensure_ascii", Value(false)).truthy();
  Value indent = arg(a, 1, "indent", Value::none());
  Value separators = arg(a, 2, "separators", Value::none());
  o.sort_keys = arg(a, 3, "sort_keys", Value(false)).truthy();
  if (!indent.is_none()) {
    o.has_indent = true;
    o.indent = indent.is_string() ? indent.str() : std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, indent.as_int())), ' ');
  }
  o.item_separator = o.has_indent ? "," : ", ";
  o.key_separator = ": ";
  if (!separators.is_none()) {
    auto parts = iterate(separators);
    if (parts.size() != 2) throw RenderError("ValueError", "separators must be a (item_separator, key_separator) pair");
    o.item_separator = py_str(parts[0]);
    o.key_separator = py_str(parts[1]);
  }
  return Value(py_json_dumps(v, o));
}

Value f_trim(Interpreter&, const Value& v, CallArgs& a) { return Value(py_strip(py_str(v), arg(a, 0, "chars", Value::none()), true, true)); }

Value f_truncate(Interpreter&, const Value& v, CallArgs& a) {
  std::u32string s = utf8_decode(py_str(v));
  auto length = static_cast<std::size_t>(arg(a, 0, "length", Value(255)).as_int());
  bool killwords = arg(a, 1, "killwords", Value(false)).truthy();
  std::u32string end = utf8_decode(py_str(arg(a, 2, "end", Value("..."))));
  Value leeway_v = arg(a, 3, "leeway", Value::none());
  std::size_t leeway = leeway_v.is_none() ? 5 : static_cast<std::size_t>(leeway_v.as_int());
  if (s.size() <= length + leeway) return Value(utf8_encode(s));
  std::size_t cut = length >= end.size() ? length - end.size() : 0;
  if (killwords) return Value(utf8_encode(s.substr(0, cut) + end));
  std::u32string head = s.substr(0, cut);
  std::size_t space = head.rfind(U' ');
  if (space != std::u32string::npos) head = head.substr(0, space);
  return Value(utf8_encode(head + end));
}

Value f_unique(Interpreter&, const Value& v, CallArgs& a) {
  bool case_sensitive = arg(a, 0, "case_sensitive", Value(false)).truthy();
  const Value* attribute = a.get(1, "attribute");
  std::vector<Value> out, seen;
  for (const auto& item : iterate(v)) {
    Value key = attribute && !attribute->is_none() ? attr_path(item, py_str(*attribute)) : item;
    if (!case_sensitive && key.is_string()) key = Value(py_lower(key.str()));
    bool dup = std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return py_equal(s, key); });
    if (dup) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value f_wordcount(Interpreter&, const Value& v, CallArgs&) {
  std::int64_t n = 0;
  bool in_word = false;
  for (char32_t c : utf8_decode(py_str(v))) {
    auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    bool word = c == U'_' || (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
                (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) || cat == UTF8PROC_CATEGORY_MN;
    if (word && !in_word) ++n;
    in_word = word;
  }
  return Value(n);
}

const std::map<std::string, FilterFn>& filters() {
  static const std::map<std::string, FilterFn> table = {
      {"abs", f_abs},           {"attr", f_attr},           {"capitalize", f_capitalize},
      {"center", f_center},     {"count", f_length},        {"d", f_default},
      {"default", f_default},   {"dictsort", f_dictsort},   {"e", f_escape},
      {"escape", f_escape},     {"first", f_first},         {"float", f_float},
      {"forceescape", f_escape}, {"format", f_format},      {"indent", f_indent},
      {"int", f_int},           {"items", f_items},         {"join", f_join},
      {"last", f_last},         {"length", f_length},       {"list", f_list},
      {"lower", f_lower},       {"map", f_map},             {"max", f_max},
      {"min", f_min},           {"reject", f_reject},       {"rejectattr", f_rejectattr},
      {"replace", f_replace},   {"reverse", f_reverse},     {"round", f_round},
      {"safe", f_safe},         {"select", f_select},       {"selectattr", f_selectattr},
      {"sort", f_sort},         {"string", f_string},       {"sum", f_sum},
      {"title", f_title},       {"tojson", f_tojson},       {"trim", f_trim},
      {"truncate", f_truncate}, {"unique", f_unique},       {"upper", f_upper},
      {"wordcount", f_wordcount},
  };
  return table;
}

}  // namespace

bool has_filter(const std::string& name) { return filters().count(name) != 0; }

Value call_filter(Interpreter& interp, const std::string& name, const Value& input, CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) throw RenderError("TemplateRuntimeError", "No filter named '" + name + "'.");
  return it->second(interp, input, args);
}

}  // namespace logitscope::jinja
