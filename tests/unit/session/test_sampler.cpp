// SPDX-License-Identifier: GPL-3.0-or-later
// The host sampler: raw probabilities and entropy, the top-k report, and each filter of sampling.
#include <QtTest>

#include <cmath>
#include <map>

#include "session/sampler.h"

using namespace logitscope;

namespace {

ChoiceRequest request(double uniform, SamplingParams s = {}, int report = 4) {
  ChoiceRequest r;
  r.sampling = s;
  r.uniform = uniform;
  r.report_top_k = report;
  return r;
}

// Draws many samples and returns the frequency of each id.
std::map<int, double> frequencies(const std::vector<float>& logits, SamplingParams s, int n = 4000) {
  std::map<int, double> counts;
  for (int i = 0; i < n; ++i) counts[choose_from_logits(logits, request((i + 0.5) / n, s)).id] += 1.0 / n;
  return counts;
}

}  // namespace

class Sampler : public QObject {
  Q_OBJECT
 private slots:
  void raw_distribution_and_entropy() {
    const std::vector<float> logits{std::log(0.5f), std::log(0.25f), std::log(0.125f), std::log(0.125f)};
    SamplingParams greedy;
    greedy.greedy = true;
    const ChoiceResult r = choose_from_logits(logits, request(0.3, greedy));
    QCOMPARE(r.id, 0);
    QVERIFY(std::fabs(r.prob - 0.5f) < 1e-6f);
    QVERIFY(std::fabs(r.logprob - std::log(0.5f)) < 1e-6f);
    const double entropy = -(0.5 * std::log(0.5) + 0.25 * std::log(0.25) + 2 * 0.125 * std::log(0.125));
    QVERIFY(std::fabs(r.entropy - entropy) < 1e-5);
    QCOMPARE(int(r.top_k.size()), 4);
    QCOMPARE(r.top_k[2].id, 2);  // ties resolve to the lower id
    QCOMPARE(r.top_k[3].id, 3);
  }

  void forced_token_reports_its_own_probability() {
    const std::vector<float> logits{0.0f, 1.0f, 2.0f};
    ChoiceRequest r = request(0.0);
    r.forced = 0;
    const ChoiceResult c = choose_from_logits(logits, r);
    QCOMPARE(c.id, 0);
    const double expected = 1.0 / (1.0 + std::exp(1.0) + std::exp(2.0));
    QVERIFY(std::fabs(c.prob - expected) < 1e-6);
    r.forced = 7;
    QVERIFY_THROWS_EXCEPTION(std::exception, choose_from_logits(logits, r));
  }

  void temperature_one_samples_the_distribution() {
    const std::vector<float> logits{std::log(0.6f), std::log(0.3f), std::log(0.1f)};
    SamplingParams s;
    const auto f = frequencies(logits, s);
    QVERIFY(std::fabs(f.at(0) - 0.6) < 0.01 && std::fabs(f.at(1) - 0.3) < 0.01 && std::fabs(f.at(2) - 0.1) < 0.01);
  }

  void filters_cut_the_tail() {
    const std::vector<float> logits{std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
    SamplingParams top_k;
    top_k.top_k = 2;
    auto f = frequencies(logits, top_k);
    QCOMPARE(int(f.size()), 2);
    QVERIFY(std::fabs(f.at(0) - 0.625) < 0.01);
    SamplingParams top_p;
    top_p.top_p = 0.85f;  // keeps 0.5 + 0.3 + 0.15 (the first set reaching 0.85)
    f = frequencies(logits, top_p);
    QCOMPARE(int(f.size()), 3);
    SamplingParams min_p;
    min_p.min_p = 0.5f;  // keeps p >= 0.25
    f = frequencies(logits, min_p);
    QCOMPARE(int(f.size()), 2);
    SamplingParams cold;
    cold.temperature = 0.05f;
    f = frequencies(logits, cold);
    QVERIFY(f.at(0) > 0.99);
  }
};

QTEST_APPLESS_MAIN(Sampler)
#include "test_sampler.moc"
