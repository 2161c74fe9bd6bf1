// SPDX-License-Identifier: GPL-3.0-or-later
// The CPU backend against HF transformers 5.17 goldens (tests/reference/make_fixtures.py, and
// make_quantized_fixtures.py for the FP8 / NVFP4 checkpoints): logits of every prompt position, the
// routing of every MoE layer, and a greedy continuation decoded with the caches one token at a time
// (ids, the logits each was chosen from, and its routing).
#include <QtTest>

#include <cmath>

#include "golden.h"
#include "logitscope/model.h"
#include "logitscope/session.h"

using namespace logitscope;
using logitscope::test::expert_set;

namespace {

double max_abs_diff(const float* ours, const nlohmann::json& reference) {
  double worst = 0.0;
  for (std::size_t i = 0; i < reference.size(); ++i)
    worst = std::max(worst, std::fabs(double(ours[i]) - reference[i].get<double>()));
  return worst;
}

std::unique_ptr<Model> load_fixture(const std::string& name) {
  LoadOptions options;
  options.snapshot.model = logitscope::test::model_dir(name).string();
  options.max_context = 256;
  options.threads = 2;
  return Model::load(options);
}

}  // namespace

class CpuReferenceMatchesTransformers : public QObject {
  Q_OBJECT
 private slots:
  void fixtures_are_present() { QVERIFY(logitscope::test::fixture_model_names().size() >= 3); }

  void prompt_logits_and_routing_data() {
    QTest::addColumn<QString>("name");
    for (const auto& name : logitscope::test::fixture_model_names()) QTest::newRow(name.c_str()) << QString::fromStdString(name);
    // FP8 and NVFP4 checkpoints: the reference dequantizes exactly, so it meets the same bound.
    for (const auto& name : logitscope::test::quantized_fixture_names())
      QTest::newRow(name.c_str()) << QString::fromStdString(name);
    QTest::newRow("demo-model") << QString("demo-model");
  }
  void prompt_logits_and_routing() {
    QFETCH(QString, name);
    const auto gold = logitscope::test::golden(name.toStdString());
    auto model = load_fixture(name.toStdString());
    Session session(*model);
    const auto ids = gold.at("prompt_ids").get<std::vector<TokenId>>();
    std::vector<std::vector<RoutingSlice>> routing;
    const std::vector<float> logits = session.evaluate(ids, &routing);
    const std::size_t vocab = static_cast<std::size_t>(model->config().vocab_size);
    QCOMPARE(logits.size(), ids.size() * vocab);
    double worst = 0.0;
    for (std::size_t p = 0; p < ids.size(); ++p)
      worst = std::max(worst, max_abs_diff(logits.data() + p * vocab, gold.at("logits")[p]));
    qInfo("%s: prompt of %zu tokens, max |logit diff| = %.3g", qPrintable(name), ids.size(), worst);
    QVERIFY2(worst < 2e-4, qPrintable(QString("max |logit diff| %1").arg(worst)));
    QCOMPARE(routing.size(), ids.size());
    for (std::size_t p = 0; p < ids.size(); ++p) {
      const auto& expected = gold.at("prompt_routing")[p];
      QCOMPARE(routing[p].size(), expected.size());
      for (std::size_t l = 0; l < expected.size(); ++l) {
        QCOMPARE(routing[p][l].layer, expected[l].at("layer").get<int>());
        std::set<int> ours(routing[p][l].experts.begin(), routing[p][l].experts.end());
        QVERIFY2(ours == expert_set(expected[l]), qPrintable(QString("position %1 layer %2").arg(p).arg(routing[p][l].layer)));
      }
    }
  }

  void greedy_decode_with_cache_data() { prompt_logits_and_routing_data(); }
  void greedy_decode_with_cache() {
    QFETCH(QString, name);
    const auto gold = logitscope::test::golden(name.toStdString());
    auto model = load_fixture(name.toStdString());
    Session session(*model);
    session.prefill(gold.at("prompt_ids").get<std::vector<TokenId>>());
    SamplingParams greedy;
    greedy.greedy = true;
    ProbeOptions probe;
    probe.top_k = 5;
    const auto& expected_ids = gold.at("greedy_ids");
    double worst = 0.0;
    for (std::size_t i = 0; i < expected_ids.size(); ++i) {
      const std::vector<float> logits = session.last_logits();  // the distribution the next token comes from
      worst = std::max(worst, max_abs_diff(logits.data(), gold.at("greedy_logits")[i]));
      const TokenEvent event = session.step(greedy, probe);
      QCOMPARE(event.id, expected_ids[i].get<TokenId>());
      QCOMPARE(event.top_k.front().id, event.id);
      const auto& expected_routing = gold.at("greedy_routing")[i];
      QCOMPARE(event.routing.size(), expected_routing.size());
      for (std::size_t l = 0; l < expected_routing.size(); ++l) {
        std::set<int> ours(event.routing[l].experts.begin(), event.routing[l].experts.end());
        QVERIFY(ours == expert_set(expected_routing[l]));
        for (std::size_t k = 0; k < event.routing[l].weights.size(); ++k) {
          // Weights are reported in descending order of selection score; match by expert id.
          const int expert = event.routing[l].experts[k];
          const auto& ids = expected_routing[l].at("experts");
          const auto pos = std::find(ids.begin(), ids.end(), expert) - ids.begin();
          QVERIFY(std::fabs(event.routing[l].weights[k] - expected_routing[l].at("weights")[pos].get<float>()) < 1e-5);
        }
      }
    }
    qInfo("%s: %zu greedy tokens identical, max |logit diff| while decoding = %.3g", qPrintable(name),
          expected_ids.size(), worst);
    QVERIFY2(worst < 2e-4, qPrintable(QString("max |logit diff| %1").arg(worst)));
  }
};

QTEST_APPLESS_MAIN(CpuReferenceMatchesTransformers)
#include "test_cpu_reference_matches_transformers.moc"
