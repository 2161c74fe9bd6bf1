// SPDX-License-Identifier: GPL-3.0-or-later
// Methods templates call on values (message.content.split('</think>'), tool.get('x')), with Python's
// semantics. Transformers renders in an ImmutableSandboxedEnvironment, so methods that modify a list
// or dict raise SecurityError there; they do here too, so a template that works here works there.
#include <utf8proc.h>

#include <cmath>
#include <cstdio>

#include "chat/jinja/builtins.h"

namespace logitscope::jinja {

std::string py_upper(const std::string& s) {
  std::string out;
  for (char32_t c : utf8_decode(s)) {
    if (c == U'\u00df') {  // Python applies the full mapping: "ß".upper() == "SS"
      out += "SS";
      continue;
    }
    utf8_append(out, static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c))));
  }
  return out;
}

std::string py_lower(const std::string& s) {
  std::string out;
  for (char32_t c : utf8_decode(s)) utf8_append(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
  return out;
}

static bool is_cased_letter(char32_t c) {
  auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}

std::string py_capitalize(const std::string& s) {
  std::u32string u = utf8_decode(s);
  std::string out;
  for (std::size_t i = 0; i < u.size(); ++i) {
    auto c = static_cast<utf8proc_int32_t>(u[i]);
    utf8_append(out, static_cast<char32_t>(i == 0 ? utf8proc_totitle(c) : utf8proc_tolower(c)));
  }
  return out;
}

static std::string py_title(const std::string& s) {
  std::string out;
  bool previous_cased = false;
  for (char32_t c : utf8_decode(s)) {
    auto cp = static_cast<utf8proc_int32_t>(c);
    bool cased = is_cased_letter(c);
    utf8_append(out, static_cast<char32_t>(cased ? (previous_cased ? utf8proc_tolower(cp) : utf8proc_totitle(cp)) : cp));
    previous_cased = cased;
  }
  return out;
}

std::string py_strip(const std::string& s, const Value& chars, bool left, bool right) {
  std::u32string u = utf8_decode(s);
  std::u32string set;
  bool whitespace = chars.is_none() || chars.is_undefined();
  if (!whitespace) {
    if (!chars.is_string()) throw_type_error("strip arg must be None or str");
    set = utf8_decode(chars.str());
  }
  auto strip_it = [&](char32_t c) { return whitespace ? py_isspace(c) : set.find(c) != std::u32string::npos; };
  std::size_t b = 0, e = u.size();
  if (left) while (b < e && strip_it(u[b])) ++b;
  if (right) while (e > b && strip_it(u[e - 1])) --e;
  return utf8_encode(u.substr(b, e - b));
}

static std::vector<Value> py_split(const std::string& s, const Value& sep, std::int64_t maxsplit, bool from_right) {
  std::vector<std::string> parts;
  if (sep.is_none() || sep.is_undefined()) {
    std::u32string u = utf8_decode(s);
    if (!from_right) {
      std::size_t i = 0, n = u.size();
      std::int64_t splits = 0;
      while (true) {
        while (i < n && py_isspace(u[i])) ++i;
        if (i >= n) break;
        if (maxsplit >= 0 && splits >= maxsplit) {
          parts.push_back(utf8_encode(u.substr(i)));
          break;
        }
        std::size_t j = i;
        while (j < n && !py_isspace(u[j])) ++j;
        parts.push_back(utf8_encode(u.substr(i, j - i)));
        ++splits;
        i = j;
      }
    } else {
      std::size_t i = u.size();
      std::int64_t splits = 0;
      while (true) {
        while (i > 0 && py_isspace(u[i - 1])) --i;
        if (i == 0) break;
        if (maxsplit >= 0 && splits >= maxsplit) {
          parts.insert(parts.begin(), utf8_encode(u.substr(0, i)));
          break;
        }
        std::size_t j = i;
        while (j > 0 && !py_isspace(u[j - 1])) --j;
        parts.insert(parts.begin(), utf8_encode(u.substr(j, i - j)));
        ++splits;
        i = j;
      }
    }
  } else {
    if (!sep.is_string()) throw_type_error("must be str or None, not " + sep.python_type());
    const std::string& d = sep.str();
    if (d.empty()) throw RenderError("ValueError", "empty separator");
    if (!from_right) {
      std::size_t start = 0;
      std::int64_t splits = 0;
      while (true) {
        std::size_t p = (maxsplit >= 0 && splits >= maxsplit) ? std::string::npos : s.find(d, start);
        if (p == std::string::npos) {
          parts.push_back(s.substr(start));
          break;
        }
        parts.push_back(s.substr(start, p - start));
        start = p + d.size();
        ++splits;
      }
    } else {
      std::size_t end = s.size();
      std::int64_t splits = 0;
      while (true) {
        std::size_t p = std::string::npos;
        if (!(maxsplit >= 0 && splits >= maxsplit) && end >= d.size()) p = s.rfind(d, end - d.size());
        if (p == std::string::npos) {
          parts.insert(parts.begin(), s.substr(0, end));
          break;
        }
        parts.insert(parts.begin(), s.substr(p + d.size(), end - p - d.size()));
        end = p;
        ++splits;
      }
    }
  }
  std::vector<Value> out;
  for (auto& p : parts) out.emplace_back(std::move(p));
  return out;
}

static std::string py_replace(const std::string& s, const std::string& old, const std::string& repl, std::int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `repl` between every character (and at both ends).
    std::u32string u = utf8_decode(s);
    std::int64_t done = 0;
    for (std::size_t i = 0; i <= u.size(); ++i) {
      if (count < 0 || done < count) {
        out += repl;
        ++done;
      }
      if (i < u.size()) utf8_append(out, u[i]);
    }
    return out;
  }
  std::size_t start = 0;
  std::int64_t done = 0;
  while (count < 0 || done < count) {
    std::size_t p = s.find(old, start);
    if (p == std::string::npos) break;
    out += s.substr(start, p - start) + repl;
    start = p + old.size();
    ++done;
  }
  return out + s.substr(start);
}

// Code-point offset of a byte offset (str.find returns code-point indexes).
static std::int64_t cp_index(const std::string& s, std::size_t byte_offset) {
  return static_cast<std::int64_t>(utf8_length(s.substr(0, byte_offset)));
}

static bool starts_or_ends(const Value& self, const Value& affix, bool ends) {
  auto check = [&](const Value& a) {
    if (!a.is_string()) throw_type_error(std::string(ends ? "endswith" : "startswith") +
                                         " first arg must be str or a tuple of str, not " + a.python_type());
    const std::string &s = self.str(), &x = a.str();
    if (x.size() > s.size()) return false;
    return ends ? s.compare(s.size() - x.size(), x.size(), x) == 0 : s.compare(0, x.size(), x) == 0;
  };
  if (affix.is_list()) {
    for (const auto& a : affix.items())
      if (check(a)) return true;
    return false;
  }
  return check(affix);
}

static std::string str_format(const std::string& fmt, const CallArgs& args) {
  std::string out;
  std::size_t auto_index = 0;
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') { out += '{'; ++i; continue; }
    if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') { out += '}'; ++i; continue; }
    if (c != '{') { out += c; continue; }
    std::size_t close = fmt.find('}', i);
    if (close == std::string::npos) throw RenderError("ValueError", "Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    std::size_t colon = field.find(':');
    if (colon != std::string::npos) field = field.substr(0, colon);
    const Value* v = nullptr;
    if (field.empty()) {
      v = auto_index < args.args.size() ? &args.args[auto_index] : nullptr;
      ++auto_index;
    } else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
      std::size_t k = 0;
      try {
        k = std::stoul(field);
      } catch (const std::exception&) {  // more digits than fit: Python refuses them too
        throw RenderError("ValueError", "Too many decimal digits in format string");
      }
      v = k < args.args.size() ? &args.args[k] : nullptr;
    } else {
      for (const auto& kw : args.kwargs)
        if (kw.first == field) v = &kw.second;
      if (!v) throw RenderError("KeyError", py_repr(Value(field)));
    }
    if (!v) throw RenderError("IndexError", "Replacement index out of range for positional args tuple");
    out += py_str(*v);
    i = close;
  }
  return out;
}

std::string py_percent_format(const std::string& format, const Value& args) {
  std::vector<Value> values = args.is_list() && args.list_data().tuple ? args.items() : std::vector<Value>{args};
  std::size_t next = 0;
  std::string out;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') { out += format[i]; continue; }
    if (++i >= format.size()) throw RenderError("ValueError", "incomplete format");
    const Value* v = nullptr;
    if (format[i] == '(') {
      std::size_t close = format.find(')', i);
      if (close == std::string::npos || !args.is_mapping()) throw_type_error("format requires a mapping");
      v = args.dict_data().find(format.substr(i + 1, close - i - 1));
      if (!v) throw RenderError("KeyError", py_repr(Value(format.substr(i + 1, close - i - 1))));
      i = close + 1;
    }
    std::string spec;
    while (i < format.size() && std::string("-+ #0123456789.").find(format[i]) != std::string::npos) spec += format[i++];
    if (i >= format.size()) throw RenderError("ValueError", "incomplete format");
    char conv = format[i];
    if (conv == '%') { out += '%'; continue; }
    if (!v) {
      if (next >= values.size()) throw_type_error("not enough arguments for format string");
      v = &values[next++];
    }
    char buf[128];
    switch (conv) {
      case 's': out += py_str(*v); break;
      case 'r': out += py_repr(*v); break;
      case 'd': case 'i': case 'u':
        if (!v->is_number()) throw_type_error("%" + std::string(1, conv) + " format: a real number is required, not " + v->python_type());
        std::snprintf(buf, sizeof buf, ("%" + spec + "lld").c_str(),
                      static_cast<long long>(v->is_float() ? std::trunc(v->as_number()) : v->as_int()));
        out += buf;
        break;
      case 'f': case 'F': case 'e': case 'g':
        if (!v->is_number()) throw_type_error("must be real number, not " + v->python_type());
        std::snprintf(buf, sizeof buf, ("%" + spec + conv).c_str(), v->as_number());
        out += buf;
        break;
      default: throw RenderError("ValueError", std::string("unsupported format character '") + conv + "'");
    }
  }
  if (next < values.size() && !args.is_mapping()) throw_type_error("not all arguments converted during string formatting");
  return out;
}

static Value bound(const std::string& name, NativeFn fn) { return Value::function(name, std::move(fn)); }

static Value unsafe(const Value& obj, const std::string& name) {
  std::string message = "access to attribute '" + name + "' of '" + obj.python_type() + "' object is unsafe.";
  return bound(name, [message](Interpreter&, CallArgs&) -> Value { throw RenderError("SecurityError", message); });
}

static std::int64_t int_arg(const CallArgs& a, std::size_t pos, const std::string& name, std::int64_t fallback) {
  const Value* v = a.get(pos, name);
  if (!v || v->is_none()) return fallback;
  if (!v->is_int() && !v->is_bool()) throw_type_error("'" + v->python_type() + "' object cannot be interpreted as an integer");
  return v->as_int();
}

static const Value& required(const CallArgs& a, std::size_t pos, const std::string& name, const std::string& method) {
  const Value* v = a.get(pos, name);
  if (!v) throw_type_error(method + "() takes at least 1 argument (0 given)");
  return *v;
}

static Value string_method(const Value& self, const std::string& name) {
  const std::string s = self.str();
  if (name == "startswith" || name == "endswith") {
    bool ends = name == "endswith";
    return bound(name, [self, ends, name](Interpreter&, CallArgs& a) {
      return Value(starts_or_ends(self, required(a, 0, "prefix", name), ends));
    });
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    bool left = name != "rstrip", right = name != "lstrip";
    return bound(name, [s, left, right](Interpreter&, CallArgs& a) {
      return Value(py_strip(s, a.get_or(0, "chars", Value::none()), left, right));
    });
  }
  if (name == "split" || name == "rsplit") {
    bool from_right = name == "rsplit";
    return bound(name, [s, from_right](Interpreter&, CallArgs& a) {
      return Value::list(py_split(s, a.get_or(0, "sep", Value::none()), int_arg(a, 1, "maxsplit", -1), from_right));
    });
  }
  if (name == "splitlines") {
    return bound(name, [s](Interpreter&, CallArgs& a) {
      bool keep = a.get_or(0, "keepends", Value(false)).truthy();
      std::vector<Value> out;
      std::size_t start = 0;
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' || s[i] == '\r') {
          std::size_t end = i;
          if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
          out.emplace_back(s.substr(start, (keep ? i + 1 : end) - start));
          start = i + 1;
        }
      }
      if (start < s.size()) out.emplace_back(s.substr(start));
      return Value::list(std::move(out));
    });
  }
  if (name == "replace") {
    return bound(name, [s](Interpreter&, CallArgs& a) {
      const Value& old = required(a, 0, "old", "replace");
      const Value* repl = a.get(1, "new");
      if (!old.is_string() || !repl || !repl->is_string()) throw_type_error("replace() arguments must be str");
      return Value(py_replace(s, old.str(), repl->str(), int_arg(a, 2, "count", -1)));
    });
  }
  if (name == "upper") return bound(name, [s](Interpreter&, CallArgs&) { return Value(py_upper(s)); });
  if (name == "lower") return bound(name, [s](Interpreter&, CallArgs&) { return Value(py_lower(s)); });
  if (name == "title") return bound(name, [s](Interpreter&, CallArgs&) { return Value(py_title(s)); });
  if (name == "capitalize") return bound(name, [s](Interpreter&, CallArgs&) { return Value(py_capitalize(s)); });
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    return bound(name, [s, name](Interpreter&, CallArgs& a) {
      const Value& sub = required(a, 0, "sub", name);
      if (!sub.is_string()) throw_type_error("must be str, not " + sub.python_type());
      if (name == "count") {
        if (sub.str().empty()) return Value(static_cast<std::int64_t>(utf8_length(s) + 1));
        std::int64_t n = 0;
        for (std::size_t p = s.find(sub.str()); p != std::string::npos; p = s.find(sub.str(), p + sub.str().size())) ++n;
        return Value(n);
      }
      std::size_t p = name[0] == 'r' ? s.rfind(sub.str()) : s.find(sub.str());
      if (p == std::string::npos) {
        if (name == "index" || name == "rindex") throw RenderError("ValueError", "substring not found");
        return Value(static_cast<std::int64_t>(-1));
      }
      return Value(cp_index(s, p));
    });
  }
  if (name == "join") {
    return bound(name, [s](Interpreter&, CallArgs& a) {
      std::string out;
      bool first = true;
      for (const auto& item : iterate(required(a, 0, "iterable", "join"))) {
        if (!item.is_string()) throw_type_error("sequence item: expected str instance, " + item.python_type() + " found");
        if (!first) out += s;
        first = false;
        out += item.str();
      }
      return Value(out);
    });
  }
  if (name == "format") return bound(name, [s](Interpreter&, CallArgs& a) { return Value(str_format(s, a)); });
  if (name == "isdigit" || name == "isalpha" || name == "isspace" || name == "isalnum" || name == "isupper" ||
      name == "islower" || name == "isnumeric" || name == "isdecimal") {
    return bound(name, [s, name](Interpreter&, CallArgs&) {
      std::u32string u = utf8_decode(s);
      if (u.empty()) return Value(false);
      bool any_cased = false;
      for (char32_t c : u) {
        auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
        bool digit = cat == UTF8PROC_CATEGORY_ND;
        bool alpha = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
        if (name == "isspace" && !py_isspace(c)) return Value(false);
        if ((name == "isdigit" || name == "isnumeric" || name == "isdecimal") && !digit) return Value(false);
        if (name == "isalpha" && !alpha) return Value(false);
        if (name == "isalnum" && !alpha && !digit) return Value(false);
        if (name == "isupper" && cat == UTF8PROC_CATEGORY_LL) return Value(false);
        if (name == "islower" && cat == UTF8PROC_CATEGORY_LU) return Value(false);
        if (is_cased_letter(c)) any_cased = true;
      }
      if (name == "isupper" || name == "islower") return Value(any_cased);
      return Value(true);
    });
  }
  return Value();
}

static Value dict_method(const Value& self, const std::string& name) {
  if (name == "items" || name == "keys" || name == "values") {
    return bound(name, [self, name](Interpreter&, CallArgs&) {
      std::vector<Value> out;
      for (const auto& [key, value] : self.dict_data().entries) {
        if (name == "items") out.push_back(Value::list({key, value}, true));
        else out.push_back(name == "keys" ? key : value);
      }
      return Value::list(std::move(out));
    });
  }
  if (name == "get") {
    return bound(name, [self](Interpreter&, CallArgs& a) {
      const Value& key = required(a, 0, "key", "get");
      if (const Value* v = self.dict_data().find(key)) return *v;
      return a.get_or(1, "default", Value::none());
    });
  }
  if (name == "copy") return bound(name, [self](Interpreter&, CallArgs&) {
    Value out = Value::dict();
    out.dict_data().entries = self.dict_data().entries;
    return out;
  });
  if (name == "update" || name == "pop" || name == "popitem" || name == "setdefault" || name == "clear")
    return unsafe(self, name);
  return Value();
}

static Value list_method(const Value& self, const std::string& name) {
  if (name == "index" || name == "count") {
    return bound(name, [self, name](Interpreter&, CallArgs& a) {
      const Value& x = required(a, 0, "value", name);
      std::int64_t n = 0;
      for (std::size_t i = 0; i < self.items().size(); ++i) {
        if (!py_equal(self.items()[i], x)) continue;
        if (name == "index") return Value(static_cast<std::int64_t>(i));
        ++n;
      }
      if (name == "index") throw RenderError("ValueError", py_repr(x) + " is not in list");
      return Value(n);
    });
  }
  if (!self.list_data().tuple && (name == "append" || name == "extend" || name == "insert" || name == "pop" ||
                                  name == "remove" || name == "reverse" || name == "sort" || name == "clear"))
    return unsafe(self, name);
  return Value();
}

Value get_method(const Value& obj, const std::string& name) {
  if (obj.is_string()) return string_method(obj, name);
  if (obj.is_mapping()) return dict_method(obj, name);
  if (obj.is_list()) return list_method(obj, name);
  return Value();
}

}  // namespace logitscope::jinja
