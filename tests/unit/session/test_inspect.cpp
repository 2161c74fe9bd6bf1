// SPDX-License-Identifier: GPL-3.0-or-later
// Layer internals against HF transformers (tests/reference/make_inspection_goldens.py, forward hooks
// on the routers and Mamba in_proj, eager attention weights): every router's scores (sigmoid of its
// logits) at every position, every Mamba layer's dt, every attention layer's weights.
#include <QtTest>

#include <algorithm>
#include <cmath>

#include "golden.h"
#include "logitscope/errors.h"
#include "logitscope/inspect.h"
#include "logitscope/model.h"
#include "reference_model.h"

using namespace logitscope;

class Inspect : public QObject {
  Q_OBJECT
 private slots:
  void internals_match_transformers_data() {
    QTest::addColumn<QString>("name");
    for (const auto& name : logitscope::test::fixture_model_names())
      if (std::filesystem::exists(logitscope::test::model_dir(name) / "inspect_golden.json"))
        QTest::newRow(name.c_str()) << QString::fromStdString(name);
  }
  void internals_match_transformers() {
    QFETCH(QString, name);
    const auto gold = logitscope::test::read_json(logitscope::test::model_dir(name.toStdString()) / "inspect_golden.json");
    auto model = logitscope::test::load_cpu_reference(logitscope::test::model_dir(name.toStdString()), false);
    const auto ids = gold.at("prompt_ids").get<std::vector<TokenId>>();
    const PromptInternals in = inspect_prompt(*model, ids);
    const std::int64_t T = std::int64_t(ids.size());
    QCOMPARE(in.positions, T);
    double worst_router = 0.0, worst_dt = 0.0, worst_attention = 0.0;
    QCOMPARE(in.routers.size(), gold.at("router").size());
    for (std::size_t r = 0; r < in.routers.size(); ++r) {
      const auto& ref = gold.at("router")[r];
      QCOMPARE(in.routers[r].layer, ref.at("layer").get<int>());
      for (std::int64_t t = 0; t < T; ++t)
        for (int e = 0; e < in.experts; ++e) {
          const double expected = 1.0 / (1.0 + std::exp(-ref.at("logits")[t][e].get<double>()));
          worst_router = std::max(worst_router, std::fabs(expected - in.routers[r].scores[std::size_t(t * in.experts + e)]));
        }
    }
    QCOMPARE(in.mambas.size(), gold.at("mamba_dt").size());
    for (std::size_t m = 0; m < in.mambas.size(); ++m) {
      const auto& ref = gold.at("mamba_dt")[m];
      QCOMPARE(in.mambas[m].layer, ref.at("layer").get<int>());
      for (std::int64_t t = 0; t < T; ++t)
        for (int h = 0; h < in.mamba_heads; ++h)
          worst_dt = std::max(worst_dt, std::fabs(ref.at("dt")[t][h].get<double>() - in.mambas[m].dt[std::size_t(t * in.mamba_heads + h)]));
      for (float norm : in.mambas[m].state_norm) QVERIFY(std::isfinite(norm) && norm >= 0.0f);
    }
    // The SSM state's norm after the last token against the state HF's cache holds after the prompt
    // (goldens made before the cache's state was found carry none).
    const auto& state_gold = gold.at("mamba_state_norm");
    double worst_state = 0.0;
    for (const auto& ref : state_gold) {
      const auto it = std::find_if(in.mambas.begin(), in.mambas.end(), [&](const MambaInternals& m) { return m.layer == ref.at("layer").get<int>(); });
      QVERIFY(it != in.mambas.end());
      for (int h = 0; h < in.mamba_heads; ++h) {
        const double want = ref.at("norm")[h].get<double>();
        const double got = it->state_norm[std::size_t((T - 1) * in.mamba_heads + h)];
        worst_state = std::max(worst_state, std::fabs(got - want) / std::max(1.0, std::fabs(want)));
      }
    }
    if (state_gold.empty()) qInfo("%s: the golden has no SSM states from HF's cache", qPrintable(name));
    QVERIFY2(worst_state < 1e-5, qPrintable(QString::number(worst_state)));
    QCOMPARE(in.attentions.size(), gold.at("attention").size());
    for (std::size_t a = 0; a < in.attentions.size(); ++a) {
      const auto& ref = gold.at("attention")[a];
      QCOMPARE(in.attentions[a].layer, ref.at("layer").get<int>());
      for (int h = 0; h < in.attention_heads; ++h)
        for (std::int64_t t = 0; t < T; ++t)
          for (std::int64_t s = 0; s < T; ++s)
            worst_attention = std::max(worst_attention, std::fabs(ref.at("weights")[h][t][s].get<double>() -
                                                                  in.attentions[a].weights[std::size_t((h * T + t) * T + s)]));
    }
    qInfo("%s: max |diff| router scores %.3g, Mamba dt %.3g, attention weights %.3g", qPrintable(name), worst_router, worst_dt,
          worst_attention);
    QVERIFY(worst_router < 1e-5);
    QVERIFY(worst_dt < 1e-5);
    QVERIFY(worst_attention < 1e-5);
    // The routing recorded beside the scores carries the margins the views show.
    QCOMPARE(std::int64_t(in.routing.size()), T);
    for (const auto& slices : in.routing)
      for (const auto& s : slices) QVERIFY(std::isfinite(s.margin) && s.margin >= 0.0f);
  }

  // A capture can keep the attention of chosen query rows only (a long text's full maps would not
  // fit): those rows equal the full capture's, the others are absent, and nothing else changes.
  void attention_rows_keep_only_the_rows_asked_for() {
    auto model = logitscope::test::load_cpu_reference(logitscope::test::model_dir("tiny-every-kind"), false);
    const std::vector<TokenId> ids = {5, 17, 42, 99, 3, 64, 7};
    const std::int64_t T = std::int64_t(ids.size());
    const PromptInternals full = inspect_prompt(*model, ids);
    InspectOptions options;
    options.attention_rows = {6, 2, 6};  // unordered, repeated
    const PromptInternals rows = inspect_prompt(*model, ids, options);
    QVERIFY(!full.attentions.empty());
    QCOMPARE(rows.attentions.size(), full.attentions.size());
    for (std::size_t a = 0; a < full.attentions.size(); ++a) {
      QVERIFY(full.attentions[a].rows.empty());
      QCOMPARE(rows.attentions[a].rows, (std::vector<std::int64_t>{2, 6}));
      QCOMPARE(rows.attentions[a].weights.size(), std::size_t(full.attention_heads * 2 * T));
      for (int h = 0; h < full.attention_heads; ++h)
        for (std::int64_t pos = 0; pos < T; ++pos) {
          const float* kept = rows.attentions[a].row(h, pos, T);
          QCOMPARE(kept != nullptr, pos == 2 || pos == 6);
          if (!kept) continue;
          const float* want = full.attentions[a].row(h, pos, T);  // [T]
          for (std::int64_t k = 0; k < T; ++k) QCOMPARE(kept[k], want[k]);
        }
    }
    for (std::size_t r = 0; r < full.routers.size(); ++r) QCOMPARE(rows.routers[r].scores, full.routers[r].scores);
    for (std::size_t m = 0; m < full.mambas.size(); ++m) QCOMPARE(rows.mambas[m].state_norm, full.mambas[m].state_norm);

    InspectOptions none;
    none.attention = false;
    const PromptInternals without = inspect_prompt(*model, ids, none);
    QVERIFY(without.attentions.empty());
    QCOMPARE(without.routers.size(), full.routers.size());

    std::stop_source stop;  // a stopped capture (a newer question in the window) throws Cancelled
    stop.request_stop();
    QVERIFY_THROWS_EXCEPTION(Cancelled, inspect_prompt(*model, ids, {}, stop.get_token()));

    InspectOptions outside;
    outside.attention_rows = {T};
    try {
      (void)inspect_prompt(*model, ids, outside);
      QFAIL("a row past the ids was accepted");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("attention row 7 is not a position of the 7 ids (expected 0..6)") != std::string::npos, e.what());
    }
  }

  void cli_prints_every_layer_at_a_position() {
    const auto r = logitscope::test::run_cli({"inspect", "--model", QString::fromStdString(logitscope::test::model_dir("tiny-every-kind").string()),
                                              "--ids", "5,17,42,99", "--pos", "2", "--threads", "1"});
    QVERIFY2(r.exit_code == 0, r.err.constData());
    const auto j = nlohmann::json::parse(r.out.toStdString());
    QCOMPARE(j["pos"].get<int>(), 2);
    QCOMPARE(int(j["routers"].size()), 3);
    for (const auto& router : j["routers"]) {
      QCOMPARE(int(router["scores"].size()), 8);
      QCOMPARE(int(router["experts"].size()), 2);
      QVERIFY(router["margin"].get<double>() >= 0.0 && router["entropy"].get<double>() > 0.0);
    }
    for (const auto& a : j["attention"]) {
      double total = 0.0;
      for (const auto& w : a["mean"]) total += w.get<double>();
      QVERIFY(std::fabs(total - 1.0) < 1e-5);  // position 2 attends over 3 positions
      QCOMPARE(int(a["mean"].size()), 3);
      QCOMPARE(int(a["heads"].size()), 4);
      QCOMPARE(int(a["kv_groups"].size()), 2);
    }
    QCOMPARE(int(j["mamba"].size()), 3);
    QCOMPARE(int(j["mamba"][0]["dt"].size()), 4);
  }
};

QTEST_APPLESS_MAIN(Inspect)
#include "test_inspect.moc"
