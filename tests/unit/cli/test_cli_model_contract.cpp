// SPDX-License-Identifier: GPL-3.0-or-later
// The `logits` and `generate` contracts other checks rely on, run through the real binary, and
// errors as one line on stderr with a non-zero exit.
#include <QtTest>

#include "golden.h"

using logitscope::test::run_cli;

namespace {

QString fixture(const char* name) {
  return QString::fromStdString((logitscope::test::fixtures_dir() / "models" / name).string());
}

}  // namespace

class CliModelContract : public QObject {
  Q_OBJECT
 private slots:
  void logits_prints_every_position() {
    const auto r = run_cli({"logits", "--model", fixture("tiny-fused-experts"), "--ids", "5,17,42"});
    QCOMPARE(r.exit_code, 0);
    const auto out = nlohmann::json::parse(r.out.toStdString());
    QCOMPARE(out.at("logits").size(), std::size_t(3));
    for (const auto& row : out.at("logits")) QCOMPARE(row.size(), std::size_t(200));
  }

  void generate_jsonl_contract() {
    const auto gold = logitscope::test::golden("tiny-every-kind");
    QStringList ids;
    for (const auto& id : gold.at("prompt_ids")) ids << QString::number(id.get<int>());
    const auto r = run_cli({"generate", "--model", fixture("tiny-every-kind"), "--ids", ids.join(","), "--max-new", "4",
                            "--greedy", "--top-k", "7", "--jsonl", "--ignore-eos"});
    QCOMPARE(r.exit_code, 0);
    const QList<QByteArray> lines = r.out.trimmed().split('\n');
    QCOMPARE(lines.size(), 4);
    for (int i = 0; i < lines.size(); ++i) {
      const auto e = nlohmann::json::parse(lines[i].toStdString());
      QCOMPARE(e.at("pos").get<int>(), int(gold.at("prompt_ids").size()) + i);
      QCOMPARE(e.at("id").get<int>(), gold.at("greedy_ids")[i].get<int>());
      for (const char* key : {"prob", "logprob", "entropy"}) QVERIFY(e.at(key).is_number());
      QCOMPARE(e.at("top_k").size(), std::size_t(7));
      QCOMPARE(e.at("top_k")[0].at("id").get<int>(), e.at("id").get<int>());
      for (const char* key : {"id", "prob", "logit"}) QVERIFY(e.at("top_k")[0].contains(key));
      QCOMPARE(e.at("routing").size(), std::size_t(3));  // three MoE layers
      QCOMPARE(e.at("routing")[0].at("layer").get<int>(), 2);
      QCOMPARE(e.at("routing")[0].at("experts").size(), std::size_t(2));
      QCOMPARE(e.at("routing")[0].at("weights").size(), std::size_t(2));
    }
  }

  void errors_are_one_line_and_nonzero() {
    struct Case {
      QStringList args;
      const char* needle;
    };
    const QList<Case> cases = {
        {{"logits", "--model", "/nonexistent/model/dir", "--ids", "1"}, "does not exist"},
        {{"logits", "--model", fixture("tiny-every-kind"), "--ids", "1,x"}, "--ids"},
        {{"logits", "--model", fixture("tiny-every-kind"), "--ids", "1,999999"}, "outside the vocabulary"},
        {{"logits", "--model", fixture("tiny-every-kind")}, "--ids"},
        {{"generate", "--model", fixture("tiny-every-kind"), "--ids", "1", "--top-p", "0"}, "--top-p"},
        {{"logits", "--bogus"}, "unknown option --bogus"},
        {{"logits", "--model", fixture("tiny-every-kind"), "--ids", "1", "--backend", "tpu"}, "unknown backend"},
    };
    for (const auto& c : cases) {
      const auto r = run_cli(c.args);
      QVERIFY2(r.exit_code != 0 && r.exit_code != -1, qPrintable(c.args.join(' ')));
      const QByteArray err = r.err.trimmed();
      QVERIFY2(!err.contains('\n'), err.constData());
      QVERIFY2(err.contains(c.needle), err.constData());
    }
  }
};

QTEST_APPLESS_MAIN(CliModelContract)
#include "test_cli_model_contract.moc"
