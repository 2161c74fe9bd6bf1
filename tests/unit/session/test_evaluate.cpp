// SPDX-License-Identifier: GPL-3.0-or-later
// evaluate_text: every token's log-probability equals the logits path's (one forward over the ids,
// log-softmax of the row before it), whatever the chunk size; rank, entropy and top-k agree with
// that row; the CLI prints one object per position from the second on and the perplexity.
#include <QtTest>

#include <cmath>
#include <sstream>

#include "golden.h"
#include "logitscope/errors.h"
#include "logitscope/evaluate.h"
#include "logitscope/model.h"
#include "reference_model.h"
#include "logitscope/session.h"

using namespace logitscope;

class Evaluate : public QObject {
  Q_OBJECT
  std::unique_ptr<Model> model_;
  std::vector<TokenId> ids_;
  std::vector<float> logits_;  // [ids, vocab] from one forward

 private slots:
  void initTestCase() {
    model_ = logitscope::test::load_cpu_reference(logitscope::test::model_dir("tiny-every-kind"));
    for (int i = 0; i < 60; ++i) ids_.push_back(TokenId(3 + (i * 7919 + 13) % 250));
    Session session(*model_);
    logits_ = session.evaluate(ids_);
  }

  void logprobs_equal_the_logits_path_data() {
    QTest::addColumn<int>("chunk");
    for (int chunk : {1, 7, 512}) QTest::newRow(std::to_string(chunk).c_str()) << chunk;
  }
  void logprobs_equal_the_logits_path() {
    QFETCH(int, chunk);
    const std::int64_t V = model_->config().vocab_size;
    std::vector<TokenScore> scores;
    const TextScore total = evaluate_text(*model_, ids_, 5, [&](const TokenScore& s) { scores.push_back(s); }, chunk);
    QCOMPARE(std::int64_t(scores.size()), std::int64_t(ids_.size()) - 1);
    QCOMPARE(total.tokens, std::int64_t(scores.size()));
    double worst = 0.0, nll = 0.0;
    for (const TokenScore& s : scores) {
      const float* row = logits_.data() + (s.pos - 1) * V;
      double top = -INFINITY, sum = 0.0;
      for (std::int64_t v = 0; v < V; ++v) top = std::max(top, double(row[v]));
      for (std::int64_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - top);
      const double expected = double(row[s.id]) - top - std::log(sum);
      worst = std::max(worst, std::fabs(expected - s.logprob));
      std::int64_t rank = 0;
      for (std::int64_t v = 0; v < V; ++v) rank += row[v] > row[s.id];
      QCOMPARE(s.rank, rank);
      QCOMPARE(int(s.top_k.size()), 5);
      QVERIFY(s.top_k.front().logprob >= s.top_k.back().logprob);
      QVERIFY(s.entropy > 0.0f);
      nll -= s.logprob;
    }
    qInfo("chunk %d: max |logprob - logits path| = %.3g", chunk, worst);
    QVERIFY(worst < 1e-4);
    QVERIFY(std::fabs(total.total_nll - nll) < 1e-3);
    QVERIFY(std::fabs(total.perplexity() - std::exp(nll / double(scores.size()))) < 1e-3 * total.perplexity());
  }

  void refusals() {
    try {
      evaluate_text(*model_, std::vector<TokenId>{5}, 5, {});
      QFAIL("one token scored");
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).find("at least 2 tokens") != std::string::npos);
    }
    std::vector<TokenId> long_ids(300, 5);
    try {
      evaluate_text(*model_, long_ids, 5, {});
      QFAIL("past the context");
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).find("more than the context") != std::string::npos);
    }
  }

  void cli_prints_one_object_per_position() {
    const auto r = logitscope::test::run_cli({"evaluate", "--model", QString::fromStdString(logitscope::test::model_dir("tiny-every-kind").string()),
                                              "--ids", "5,17,42,99", "--top-k", "3", "--jsonl", "--threads", "1"});
    QVERIFY2(r.exit_code == 0, r.err.constData());
    std::istringstream lines(r.out.toStdString());
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      const auto j = nlohmann::json::parse(line);
      QCOMPARE(j["pos"].get<int>(), n + 1);
      QVERIFY(j.contains("logprob") && j.contains("top_k") && j["top_k"].size() == 3);
      ++n;
    }
    QCOMPARE(n, 3);
    QVERIFY2(r.err.contains("perplexity"), r.err.constData());
  }
};

QTEST_APPLESS_MAIN(Evaluate)
#include "test_evaluate.moc"
