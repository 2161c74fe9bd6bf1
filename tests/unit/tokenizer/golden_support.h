// SPDX-License-Identifier: GPL-3.0-or-later
// Shared by the tokenizer golden tests: loading a golden file and comparing one tokenizer with it.
#pragma once

#include <QtTest/QtTest>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "logitscope/tokenizer.h"

namespace logitscope::test {

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// JSON-quoted, with invalid UTF-8 (a cut character) shown as U+FFFD.
inline std::string show(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::string ids_text(const std::vector<TokenId>& ids) {
  std::string s = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + "]";
}

inline std::string stream_decode(const Tokenizer& tok, const std::vector<TokenId>& ids, bool skip) {
  DecodeStream stream(tok, skip);
  std::string out;
  for (TokenId id : ids) out += stream.push(id);
  return out + stream.flush();
}

struct GoldenResult {
  int cases = 0, passed = 0;
  QStringList failures;
};

// Compares every case of a golden file (see tests/reference/tokenizer/generate-goldens.js).
inline GoldenResult check_golden(const Tokenizer& tok, const nlohmann::json& golden) {
  GoldenResult r;
  auto fail = [&](const std::string& what) {
    if (r.failures.size() < 12) r.failures << QString::fromStdString(what);
  };
  for (const auto& c : golden["cases"]) {
    ++r.cases;
    const std::string text = c["text"].get<std::string>();
    const std::string shown = show(text.substr(0, 60));
    bool ok = true;
    auto ids = tok.encode(text, false);
    auto ids_special = tok.encode(text, true);
    auto want = c["ids"].get<std::vector<TokenId>>();
    auto want_special = c["ids_special"].get<std::vector<TokenId>>();
    if (ids != want) {
      ok = false;
      fail("encode " + shown + ": got " + ids_text(ids) + " want " + ids_text(want));
    }
    if (ids_special != want_special) {
      ok = false;
      fail("encode+special " + shown + ": got " + ids_text(ids_special) + " want " + ids_text(want_special));
    }
    std::string decoded = tok.decode(want_special, false), decoded_skip = tok.decode(want_special, true);
    if (decoded != c["decoded"].get<std::string>()) {
      ok = false;
      fail("decode " + shown + ": got " + show(decoded));
    }
    if (decoded_skip != c["decoded_skip"].get<std::string>()) {
      ok = false;
      fail("decode skip " + shown + ": got " + show(decoded_skip));
    }
    // The stream must give the same text whenever the whole decode is clean UTF-8.
    const std::string& golden_text = c["decoded"].get_ref<const std::string&>();
    if (golden_text.find("\xEF\xBF\xBD") == std::string::npos && stream_decode(tok, want_special, false) != golden_text) {
      ok = false;
      fail("DecodeStream " + shown + ": got " + show(stream_decode(tok, want_special, false)));
    }
    r.passed += ok;
  }
  for (const auto& c : golden.value("decode_cases", nlohmann::json::array())) {
    ++r.cases;
    auto ids = c["ids"].get<std::vector<TokenId>>();
    std::string d = tok.decode(ids, false), ds = tok.decode(ids, true);
    bool ok = d == c["decoded"].get<std::string>() && ds == c["decoded_skip"].get<std::string>();
    if (!ok) fail("decode ids " + ids_text(ids) + ": got " + show(d) + " / " + show(ds));
    r.passed += ok;
  }
  return r;
}

}  // namespace logitscope::test
