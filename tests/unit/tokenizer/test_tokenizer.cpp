// SPDX-License-Identifier: GPL-3.0-or-later
// Tokenizer behaviour on small hand-made tokenizer.json files: malformed files give one clear
// logitscope::Error (never a crash), both merge forms work, DecodeStream holds back split UTF-8.
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <fstream>

#include "golden_support.h"
#include "logitscope/errors.h"
#include "logitscope/tokenizer.h"
#include "test_support.h"

using namespace logitscope;
using Json = nlohmann::json;

namespace {

// GPT-2's printable stand-in for a byte, as UTF-8.
std::string byte_char(unsigned b) {
  bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  unsigned cp = b;
  if (!printable) {
    cp = 256;
    for (unsigned x = 0; x < b; ++x)
      if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) ++cp;
  }
  std::string s;
  if (cp < 0x80) s.push_back(char(cp));
  else {
    s.push_back(char(0xC0 | (cp >> 6)));
    s.push_back(char(0x80 | (cp & 0x3F)));
  }
  return s;
}

// A byte-level BPE: ids 0..255 are the bytes, then "ab" (256), "abc" (257), "Ġa" (258); <|end|> is 259.
Json byte_level(bool pair_merges) {
  Json vocab = Json::object();
  for (unsigned b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  vocab[byte_char(' ') + "a"] = 258;
  Json merges = pair_merges ? Json::array({Json::array({"a", "b"}), Json::array({"ab", "c"}), Json::array({byte_char(' '), "a"})})
                            : Json::array({"a b", "ab c", byte_char(' ') + " a"});
  return {
      {"version", "1.0"},
      {"added_tokens", Json::array({{{"id", 259}, {"content", "<|end|>"}, {"special", true}, {"normalized", false},
                                     {"lstrip", false}, {"rstrip", false}, {"single_word", false}}})},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"post_processor", {{"type", "TemplateProcessing"},
                          {"single", Json::array({Json::object({{"Sequence", {{"id", "A"}, {"type_id", 0}}}}),
                                                  Json::object({{"SpecialToken", {{"id", "<|end|>"}, {"type_id", 0}}}})})},
                          {"special_tokens", {{"<|end|>", {{"id", "<|end|>"}, {"ids", {259}}, {"tokens", {"<|end|>"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
  };
}

}  // namespace

class TokenizerUnit : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;

  std::string write(const std::string& name, const std::string& text) {
    std::string folder = dir_.path().toStdString() + "/" + name;
    std::filesystem::create_directories(folder);
    std::ofstream(folder + "/tokenizer.json", std::ios::binary) << text;
    return folder + "/tokenizer.json";
  }

  // Loading must throw logitscope::Error whose message contains `expected`.
  void expect_error(const std::string& name, const std::string& text, const std::string& expected) {
    std::string path = write(name, text);
    try {
      Tokenizer::from_file(path);
    } catch (const Error& e) {
      std::string message = e.what();
      if (message.find(expected) == std::string::npos)
        QFAIL(qPrintable(QString::fromStdString(name + ": message '" + message + "' lacks '" + expected + "'")));
      if (message.find("tokenizer.json") == std::string::npos)
        QFAIL(qPrintable(QString::fromStdString(name + ": message '" + message + "' does not name the file")));
      return;
    } catch (const std::exception& e) {
      QFAIL(qPrintable(QString::fromStdString(name + ": not a logitscope::Error: " + e.what())));
    }
    QFAIL(qPrintable(QString::fromStdString(name + ": loaded without error")));
  }

 private slots:
  void both_merge_forms() {
    for (bool pairs : {false, true}) {
      auto tok = Tokenizer::from_file(write(pairs ? "pairs" : "strings", byte_level(pairs).dump()));
      QCOMPARE(tok->encode("abc"), (std::vector<TokenId>{257}));
      QCOMPARE(tok->encode("ab a"), (std::vector<TokenId>{256, 258}));
      QCOMPARE(tok->encode("abc", true), (std::vector<TokenId>{257, 259}));
      QCOMPARE(tok->encode("x<|end|>abc"), (std::vector<TokenId>{'x', 259, 257}));
      QCOMPARE(tok->decode(std::vector<TokenId>{257, 259, 258}), std::string("abc<|end|> a"));
      QCOMPARE(tok->decode(std::vector<TokenId>{257, 259, 258}, true), std::string("abc a"));
      QCOMPARE(tok->encode(""), std::vector<TokenId>{});
      QCOMPARE(tok->encode("", true), std::vector<TokenId>{259});
    }
  }

  void lookups() {
    auto tok = Tokenizer::from_file(write("lookups", byte_level(false).dump()));
    QCOMPARE(tok->vocab_size(), std::size_t(260));
    QCOMPARE(tok->token_to_id("<|end|>").value_or(-1), 259);
    QCOMPARE(tok->token_to_id("abc").value_or(-1), 257);
    QVERIFY(!tok->token_to_id("nope"));
    QVERIFY(tok->is_special(259));
    QVERIFY(!tok->is_special(257));
    QCOMPARE(tok->token_string(258), byte_char(' ') + "a");
    QCOMPARE(tok->token_bytes(258), std::string(" a"));
    QCOMPARE(tok->token_bytes(0xE2), std::string("\xE2"));
    QCOMPARE(tok->token_bytes(259), std::string("<|end|>"));
    // Unknown ids are skipped when decoding, as in the Rust crate.
    QCOMPARE(tok->decode(std::vector<TokenId>{257, 99999, -1}), std::string("abc"));
  }

  void folder_path() {
    write("folder", byte_level(false).dump());
    auto tok = Tokenizer::from_file(dir_.path().toStdString() + "/folder");
    QCOMPARE(tok->encode("abc"), (std::vector<TokenId>{257}));
  }

  void invalid_utf8_text_is_an_error() {
    auto tok = Tokenizer::from_file(write("utf8", byte_level(false).dump()));
    QVERIFY_THROWS_EXCEPTION(Error, tok->encode("ab\xE2\x82"));
  }

  void decode_stream_holds_split_characters() {
    auto tok = Tokenizer::from_file(write("stream", byte_level(false).dump()));
    DecodeStream stream(*tok);
    QCOMPARE(stream.push(257), std::string("abc"));
    QCOMPARE(stream.push(0xE2), std::string());  // "€" = E2 82 AC, one byte token each
    QCOMPARE(stream.push(0x82), std::string());
    QCOMPARE(stream.push(0xAC), std::string("\xE2\x82\xAC"));
    QCOMPARE(stream.push(258), std::string(" a"));
    QCOMPARE(stream.push(0xF0), std::string());  // "😀" = F0 9F 98 80
    QCOMPARE(stream.push(0x9F), std::string());
    QCOMPARE(stream.push(0x98), std::string());
    QCOMPARE(stream.push(0x80), std::string("\xF0\x9F\x98\x80"));
    QCOMPARE(stream.push(259), std::string("<|end|>"));
    QCOMPARE(stream.flush(), std::string());
    // A character cut off at the end comes out of flush() as U+FFFD.
    QCOMPARE(stream.push(0xE2), std::string());
    QCOMPARE(stream.push(0x82), std::string());
    QCOMPARE(stream.flush(), std::string("\xEF\xBF\xBD"));
    DecodeStream skipping(*tok, true);
    QCOMPARE(skipping.push(259), std::string());
    QCOMPARE(skipping.push(257), std::string("abc"));
  }

  void malformed_files() {
    Json good = byte_level(false);
    auto with = [&](const char* key, Json value) {
      Json j = good;
      j[key] = std::move(value);
      return j.dump();
    };
    auto with_model = [&](const char* key, Json value) {
      Json j = good;
      j["model"][key] = std::move(value);
      return j.dump();
    };
    expect_error("not_json", "{\"model\": ", "is not valid JSON");
    expect_error("empty", "", "is not valid JSON");
    expect_error("array", "[1, 2]", "top level must be a JSON object");
    expect_error("no_model", Json{{"version", "1.0"}}.dump(), "has no field 'model'");
    expect_error("unigram", with("model", {{"type", "Unigram"}, {"vocab", Json::array()}}), "model type 'Unigram' is not supported");
    expect_error("pre_foo", with("pre_tokenizer", {{"type", "Foo"}}), "tokenizer.json: pre_tokenizer type 'Foo' is not supported");
    expect_error("pre_nested_foo",
                 with("pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", Json::array({Json{{"type", "Bar"}}})}}),
                 "pre_tokenizer type 'Bar' is not supported");
    expect_error("norm_foo", with("normalizer", {{"type", "Precompiled"}}), "normalizer type 'Precompiled' is not supported");
    expect_error("dec_foo", with("decoder", {{"type", "CTC"}}), "decoder type 'CTC' is not supported");
    expect_error("post_foo", with("post_processor", {{"type", "Weird"}}), "post_processor type 'Weird' is not supported");
    expect_error("pre_no_type", with("pre_tokenizer", Json::object()), "pre_tokenizer has no field 'type'");
    expect_error("split_no_pattern", with("pre_tokenizer", {{"type", "Split"}, {"behavior", "Isolated"}}),
                 "pre_tokenizer Split has no field 'pattern'");
    expect_error("split_bad_behavior",
                 with("pre_tokenizer", {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}}),
                 "behavior 'Sideways'");
    expect_error("split_bad_regex",
                 with("pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}}),
                 "does not compile");
    expect_error("vocab_not_object", with_model("vocab", Json::array({1, 2})), "'vocab' must be an object");
    expect_error("vocab_bad_id", with_model("vocab", {{"a", "zero"}}), "vocab entry 'a'");
    expect_error("no_merges", [&] { Json j = good; j["model"].erase("merges"); return j.dump(); }(), "has no field 'merges'");
    expect_error("merge_unknown", with_model("merges", Json::array({"a zz"})), "uses 'zz', which is not in the vocab");
    expect_error("merge_bad_form", with_model("merges", Json::array({42})), "must be \"a b\" or [\"a\", \"b\"]");
    expect_error("merge_no_space", with_model("merges", Json::array({"ab"})), "two tokens separated by a space");
    expect_error("unk_missing", with_model("unk_token", "<unk>"), "unk_token '<unk>' is not in the vocab");
    expect_error("added_not_array", with("added_tokens", 5), "'added_tokens' must be an array");
    expect_error("added_no_content", with("added_tokens", Json::array({Json{{"id", 1}}})), "added_tokens[0] has no field 'content'");
    expect_error("flag_not_bool", with("added_tokens", Json::array({Json{{"content", "x"}, {"special", "yes"}}})),
                 "'special' must be true or false");
    expect_error("template_unknown_special",
                 with("post_processor", {{"type", "TemplateProcessing"},
                                         {"single", Json::array({Json{{"SpecialToken", {{"id", "<x>"}, {"type_id", 0}}}}})},
                                         {"special_tokens", Json::object()}}),
                 "special token '<x>'");
    expect_error("truncation", with("truncation", {{"max_length", 5}}), "truncation is not supported");
    expect_error("model_wrong_type", with("model", "BPE"), "model must be an object");
  }

  void missing_files() {
    QVERIFY_THROWS_EXCEPTION(Error, Tokenizer::from_file(dir_.path().toStdString() + "/nope/tokenizer.json"));
    std::filesystem::create_directories(dir_.path().toStdString() + "/emptyfolder");
    try {
      Tokenizer::from_file(dir_.path().toStdString() + "/emptyfolder");
      QFAIL("loaded an empty folder");
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).find("has no tokenizer.json") != std::string::npos);
    }
  }
};

QTEST_GUILESS_MAIN(TokenizerUnit)
#include "test_tokenizer.moc"
