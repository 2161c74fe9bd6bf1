// SPDX-License-Identifier: GPL-3.0-or-later
// The logit lens against HF transformers (tests/reference/make_inspection_goldens.py: the final norm
// and lm_head applied to every block's output, via forward hooks): per layer the top tokens and
// their log-probabilities, the KL to the final distribution and the final top-1's rank, at the
// golden positions of every fixture that has inspect_golden.json.
#include <QtTest>

#include <cmath>

#include "golden.h"
#include "logitscope/errors.h"
#include "logitscope/lens.h"
#include "logitscope/model.h"
#include "reference_model.h"

using namespace logitscope;

class Lens : public QObject {
  Q_OBJECT
 private slots:
  void lens_matches_transformers_data() {
    QTest::addColumn<QString>("name");
    int rows = 0;
    for (const auto& name : logitscope::test::fixture_model_names())
      if (std::filesystem::exists(logitscope::test::model_dir(name) / "inspect_golden.json")) {
        QTest::newRow(name.c_str()) << QString::fromStdString(name);
        ++rows;
      }
    if (rows == 0) QTest::newRow("none") << QString();
  }
  void lens_matches_transformers() {
    QFETCH(QString, name);
    if (name.isEmpty()) QSKIP("no fixture has inspect_golden.json (tests/reference/make_inspection_goldens.py)");
    const auto gold = logitscope::test::read_json(logitscope::test::model_dir(name.toStdString()) / "inspect_golden.json");
    auto model = logitscope::test::load_cpu_reference(logitscope::test::model_dir(name.toStdString()), false);
    const auto ids = gold.at("prompt_ids").get<std::vector<TokenId>>();
    const std::int64_t V = model->config().vocab_size;
    double worst_logprob = 0.0, worst_kl = 0.0;
    for (const auto& at : gold.at("lens")) {
      const std::int64_t pos = at.at("pos").get<std::int64_t>();
      const auto ours = logit_lens(*model, ids, pos, 10);
      const auto& layers = at.at("layers");
      QCOMPARE(ours.size(), layers.size());
      const auto final_ref = layers.back().at("logprobs").get<std::vector<double>>();
      const auto best = std::size_t(std::max_element(final_ref.begin(), final_ref.end()) - final_ref.begin());
      for (std::size_t l = 0; l < layers.size(); ++l) {
        const auto ref = layers[l].at("logprobs").get<std::vector<double>>();
        QCOMPARE(std::int64_t(ref.size()), V);
        for (const TopKEntry& t : ours[l].top_k) worst_logprob = std::max(worst_logprob, std::fabs(t.logprob - ref[std::size_t(t.id)]));
        double kl = 0.0;
        std::int64_t rank = 0;
        for (std::int64_t v = 0; v < V; ++v) {
          kl += std::exp(final_ref[std::size_t(v)]) * (final_ref[std::size_t(v)] - ref[std::size_t(v)]);
          rank += ref[std::size_t(v)] > ref[best];
        }
        worst_kl = std::max(worst_kl, std::fabs(kl - ours[l].kl_to_final));
        QCOMPARE(ours[l].final_top1_rank, rank);
        QCOMPARE(ours[l].layer, layers[l].at("layer").get<int>());
      }
    }
    qInfo("%s: max |lens logprob diff| %.3g, max |KL diff| %.3g", qPrintable(name), worst_logprob, worst_kl);
    QVERIFY(worst_logprob < 2e-4);
    QVERIFY(worst_kl < 2e-4);
  }

  void the_last_layer_is_the_output_distribution() {
    LoadOptions o;
    o.snapshot.model = logitscope::test::model_dir("tiny-every-kind").string();
    o.threads = 1;
    o.max_context = 64;
    auto model = Model::load(o);
    const std::vector<TokenId> ids = {5, 17, 42, 99, 7};
    const auto lens = logit_lens(*model, ids, 3, 5);
    QCOMPARE(int(lens.size()), int(model->config().layers.size()));
    QCOMPARE(lens.back().kl_to_final, 0.0);
    QCOMPARE(lens.back().final_top1_rank, std::int64_t(0));
    QCOMPARE(lens.back().kind, model->config().layers.back());
    try {
      logit_lens(*model, ids, 9, 5);
      QFAIL("a position past the ids");
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).find("outside the 5 ids") != std::string::npos);
    }
    // A stopped lens (a newer question in the window) throws Cancelled, not a result or another error.
    std::stop_source stop;
    stop.request_stop();
    try {
      logit_lens(*model, ids, 3, 5, {}, stop.get_token());
      QFAIL("a stopped lens returned");
    } catch (const Cancelled&) {
    }
  }
};

QTEST_APPLESS_MAIN(Lens)
#include "test_lens.moc"
