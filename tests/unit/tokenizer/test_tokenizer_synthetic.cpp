// SPDX-License-Identifier: GPL-3.0-or-later
// Our own small tokenizer.json files (tests/fixtures/tokenizer/synthetic, made by
// tests/reference/tokenizer/make-synthetic.js) against goldens from the HF Rust tokenizers. They
// cover the components the real tokenizers do not use, and need nothing installed.
#include <QtTest/QtTest>

#include "golden_support.h"
#include "test_support.h"

using namespace logitscope;
using namespace logitscope::test;

class TokenizerSynthetic : public QObject {
  Q_OBJECT

  void run(const std::string& name) {
    auto tok = Tokenizer::from_file(fixtures_dir() / "tokenizer" / "synthetic" / name / "tokenizer.json");
    auto golden = read_json(fixtures_dir() / "tokenizer" / "goldens" / ("synthetic-" + name + ".json"));
    auto r = check_golden(*tok, golden);
    qInfo("synthetic-%s: %d/%d golden cases pass", name.c_str(), r.passed, r.cases);
    for (const auto& f : r.failures) qWarning("%s", qPrintable(f));
    QCOMPARE(r.passed, r.cases);
  }

 private slots:
  void spm() { run("spm"); }
  void wordpiece() { run("wordpiece"); }
  void splits() { run("splits"); }
  void metaspace() { run("metaspace"); }
};

QTEST_GUILESS_MAIN(TokenizerSynthetic)
#include "test_tokenizer_synthetic.moc"
