// SPDX-License-Identifier: GPL-3.0-or-later
// The CLI contract other checks rely on: `tokenize` prints one JSON array of ids for the whole
// file, `detokenize` prints the decoded text exactly (no newline). Expected values are the HF
// goldens; the Tekken tokenizer (Nemotron's stand-in) and Qwen3 come from the tokenizer_deps fixture.
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <cstdlib>

#include "golden_support.h"
#include "test_support.h"

using namespace logitscope;
using namespace logitscope::test;

namespace {

std::filesystem::path deps_dir() {
  if (const char* env = std::getenv("LOGITSCOPE_TOKENIZER_DEPS")) return env;
  return LOGITSCOPE_TOKENIZER_DEPS;
}

QString qs(const std::filesystem::path& p) { return QString::fromStdString(p.string()); }

std::string ids_arg(const std::vector<TokenId>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s;
}

}  // namespace

class TokenizerCli : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  int files_ = 0;

  QString text_file(const std::string& text) {
    QString path = dir_.filePath(QString("text%1.txt").arg(files_++));
    std::ofstream(path.toStdString(), std::ios::binary) << text;
    return path;
  }

  std::vector<TokenId> tokenize(const QString& tokenizer, const std::string& text, bool special) {
    QStringList args{"tokenize", "--tokenizer", tokenizer, "--text-file", text_file(text)};
    if (special) args << "--add-special-tokens";
    auto r = run_cli(args);
    if (r.exit_code != 0) qWarning("tokenize failed: %s", r.err.constData());
    auto j = nlohmann::json::parse(r.out.toStdString());
    if (!j.is_array()) return {-1};
    return j.get<std::vector<TokenId>>();
  }

 private slots:
  void tokenize_and_detokenize_match_goldens() {
    auto golden = read_json(fixtures_dir() / "tokenizer" / "goldens" / "tekken.json");
    QString tokenizer = qs(deps_dir() / "tokenizers" / "tekken" / "tokenizer.json");
    const auto& cases = golden["cases"];
    int checked = 0;
    for (std::size_t i = 0; i < cases.size(); i += 37) {
      const auto& c = cases[i];
      std::string text = c["text"].get<std::string>();
      auto want = c["ids"].get<std::vector<TokenId>>();
      auto want_special = c["ids_special"].get<std::vector<TokenId>>();
      QCOMPARE(tokenize(tokenizer, text, false), want);
      QCOMPARE(tokenize(tokenizer, text, true), want_special);
      auto r = run_cli({"detokenize", "--tokenizer", tokenizer, "--ids", QString::fromStdString(ids_arg(want_special))});
      QCOMPARE(r.exit_code, 0);
      QCOMPARE(r.out.toStdString(), c["decoded"].get<std::string>());
      r = run_cli({"detokenize", "--tokenizer", tokenizer, "--ids", QString::fromStdString(ids_arg(want_special)),
                   "--skip-special-tokens"});
      QCOMPARE(r.exit_code, 0);
      QCOMPARE(r.out.toStdString(), c["decoded_skip"].get<std::string>());
      ++checked;
    }
    qInfo("%d CLI round trips checked", checked);
  }

  void folder_path_and_special_text() {
    auto golden = read_json(fixtures_dir() / "tokenizer" / "goldens" / "qwen3.json");
    QString folder = qs(deps_dir() / "tokenizers" / "qwen3");
    for (const auto& c : golden["cases"]) {
      std::string text = c["text"].get<std::string>();
      if (text.find("<|im_start|>user") != 0) continue;
      QCOMPARE(tokenize(folder, text, false), c["ids"].get<std::vector<TokenId>>());
    }
    // The JSON array is the whole output: exactly one line.
    auto r = run_cli({"tokenize", "--tokenizer", folder, "--text-file", text_file("Hello world")});
    QCOMPARE(r.exit_code, 0);
    QCOMPARE(r.out, QByteArray("[9707,1879]\n"));
    r = run_cli({"tokenize", "--tokenizer", folder, "--text-file", text_file("")});
    QCOMPARE(r.out, QByteArray("[]\n"));
    r = run_cli({"detokenize", "--tokenizer", folder, "--ids", "9707,1879,198"});
    QCOMPARE(r.out, QByteArray("Hello world\n"));
    r = run_cli({"detokenize", "--tokenizer", folder, "--ids", "[9707, 1879]"});
    QCOMPARE(r.out, QByteArray("Hello world"));
  }

  void errors_are_reported() {
    auto r = run_cli({"tokenize", "--tokenizer", dir_.filePath("missing.json"), "--text-file", text_file("x")});
    QVERIFY(r.exit_code != 0);
    QVERIFY(r.err.contains("missing.json"));
    QString bad = dir_.filePath("bad.json");
    std::ofstream(bad.toStdString()) << R"({"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "Foo"}})";
    r = run_cli({"tokenize", "--tokenizer", bad, "--text-file", text_file("x")});
    QVERIFY(r.exit_code != 0);
    QVERIFY2(r.err.contains("pre_tokenizer type 'Foo' is not supported"), r.err.constData());
    r = run_cli({"detokenize", "--tokenizer", bad, "--ids", "1"});
    QVERIFY(r.exit_code != 0);
    r = run_cli({"tokenize", "--tokenizer", qs(deps_dir() / "tokenizers" / "tekken"), "--text-file", dir_.filePath("nope.txt")});
    QVERIFY(r.exit_code != 0);
    QVERIFY(r.err.contains("nope.txt"));
  }
};

QTEST_GUILESS_MAIN(TokenizerCli)
#include "test_tokenizer_cli.moc"
