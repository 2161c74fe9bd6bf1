// SPDX-License-Identifier: GPL-3.0-or-later
// Checked access to tokenizer.json fields: every missing or mistyped field becomes one
// logitscope::Error naming the file, the component and the field, never an nlohmann exception.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "logitscope/errors.h"

namespace logitscope::tok {

using Json = nlohmann::json;

struct JsonCtx {
  std::string file;  // shown first in every message, e.g. "models/tokenizer.json"

  [[noreturn]] void fail(const std::string& message) const { throw Error(file + ": " + message); }

  const Json& field(const Json& obj, const char* name, const std::string& where) const {
    if (!obj.is_object()) fail(where + " must be an object");
    auto it = obj.find(name);
    if (it == obj.end()) fail(where + " has no field '" + name + "'");
    return *it;
  }
  std::string str(const Json& obj, const char* name, const std::string& where) const {
    const Json& v = field(obj, name, where);
    if (!v.is_string()) fail(where + " field '" + name + "' must be a string");
    return v.get<std::string>();
  }
  std::string str_or(const Json& obj, const char* name, const std::string& fallback, const std::string& where) const {
    if (!obj.is_object()) fail(where + " must be an object");
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) return fallback;
    if (!it->is_string()) fail(where + " field '" + name + "' must be a string");
    return it->get<std::string>();
  }
  bool flag(const Json& obj, const char* name, bool fallback, const std::string& where) const {
    if (!obj.is_object()) fail(where + " must be an object");
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(where + " field '" + name + "' must be true or false");
    return it->get<bool>();
  }
  long long integer(const Json& obj, const char* name, long long fallback, const std::string& where) const {
    if (!obj.is_object()) fail(where + " must be an object");
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) return fallback;
    if (!it->is_number_integer()) fail(where + " field '" + name + "' must be an integer");
    return it->get<long long>();
  }
  const Json& array(const Json& obj, const char* name, const std::string& where) const {
    const Json& v = field(obj, name, where);
    if (!v.is_array()) fail(where + " field '" + name + "' must be an array");
    return v;
  }
};

}  // namespace logitscope::tok
