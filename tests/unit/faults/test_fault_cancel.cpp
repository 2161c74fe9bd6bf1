// SPDX-License-Identifier: GPL-3.0-or-later
// Cancellation from another thread, through a std::stop_source, in the middle of a prefill and in
// the middle of a decode: the session stays usable, and its logits afterwards equal those of a fresh
// session fed the same tokens.
#include <QtTest>

#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <stop_token>
#include <thread>

#include "logitscope/errors.h"
#include "logitscope/model.h"
#include "logitscope/session.h"
#include "test_support.h"

using namespace logitscope;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Model> load(std::int64_t max_context) {
  LoadOptions options;
  options.snapshot.model = (logitscope::test::fixtures_dir() / "models" / "tiny-every-kind").string();
  options.max_context = max_context;
  options.threads = 2;
  return Model::load(options);
}

std::vector<float> fresh_logits(const Model& model, const std::vector<TokenId>& tokens, int interval) {
  SessionOptions options;
  options.checkpoint_interval = interval;
  Session fresh(model, options);
  fresh.prefill(tokens);
  return fresh.last_logits();
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  float worst = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

}  // namespace

class FaultCancel : public QObject {
  Q_OBJECT
 private slots:
  void cancel_during_prefill() {
    constexpr int kInterval = 16;
    auto model = load(2048);
    std::mt19937 rng(5);
    std::uniform_int_distribution<TokenId> pick(0, TokenId(model->config().vocab_size - 1));
    std::vector<TokenId> prompt(1536);
    for (auto& id : prompt) id = pick(rng);

    // The stop lands at some point of a long prefill; try growing delays until one lands mid-way
    // (after some chunks were fed, before the end).
    int cancelled = 0;
    for (auto delay = 1ms; delay <= 512ms && cancelled < 2; delay *= 2) {
      SessionOptions options;
      options.checkpoint_interval = kInterval;
      Session session(*model, options);
      session.prefill(prompt);
      std::stop_source stop;
      std::jthread canceller([&] {
        std::this_thread::sleep_for(delay);
        stop.request_stop();
      });
      bool was_cancelled = false;
      try {
        session.flush(stop.get_token());
      } catch (const Cancelled&) {
        was_cancelled = true;
      }
      canceller.join();
      if (!was_cancelled) continue;  // finished before the stop: try a shorter run's worth later
      ++cancelled;
      // Usable afterwards: the tokens are still there, feeding them gives a fresh prefill's logits.
      QCOMPARE(session.tokens(), prompt);
      const std::vector<float> ours = session.last_logits();
      const float diff = max_diff(ours, fresh_logits(*model, prompt, kInterval));
      QVERIFY2(diff <= 1e-6f, qPrintable(QString("delay %1 ms: max diff %2").arg(delay.count()).arg(diff)));
      // And it carries on.
      QVERIFY(session.step(SamplingParams{}, ProbeOptions{}).id >= 0);
    }
    QVERIFY2(cancelled >= 1, "no stop landed during the prefill");
  }

  void cancel_during_decode() {
    auto model = load(1024);
    SessionOptions options;
    options.checkpoint_interval = 8;
    Session session(*model, options);
    const std::vector<TokenId> prompt{5, 17, 3, 99, 42, 7, 1, 64};
    session.prefill(prompt);
    std::stop_source stop;
    std::atomic<int> produced{0};
    std::jthread canceller([&] {
      while (produced.load() < 5) std::this_thread::sleep_for(1ms);
      stop.request_stop();
    });
    GenerateOptions generate;
    generate.max_new_tokens = 900;
    generate.stop_ids = {-1};  // never stops by itself
    SamplingParams sampling;
    sampling.temperature = 0.8f;
    sampling.seed = 11;
    const GenerateResult result = session.generate(generate, sampling, ProbeOptions{}, [&](const TokenEvent&) {
      produced.fetch_add(1);
      return true;
    }, stop.get_token());
    canceller.join();
    QCOMPARE(result.reason, StopReason::Cancelled);
    QVERIFY(result.events.size() >= 5 && result.events.size() < 900);
    QCOMPARE(session.length(), std::int64_t(prompt.size() + result.events.size()));
    // Usable afterwards: the logits after the cancelled decode equal a fresh prefill of the same tokens
    // (decode fed them one by one, the fresh session in chunks: the same up to float rounding).
    const std::vector<float> ours = session.last_logits();
    const float diff = max_diff(ours, fresh_logits(*model, session.tokens(), 8));
    QVERIFY2(diff <= 1e-4f, qPrintable(QString("max diff %1").arg(diff)));
    // Generation continues from where it stopped.
    GenerateOptions more;
    more.max_new_tokens = 3;
    more.stop_ids = {-1};
    QCOMPARE(session.generate(more, sampling, ProbeOptions{}).events.size(), std::size_t(3));
  }
};

QTEST_GUILESS_MAIN(FaultCancel)
#include "test_fault_cancel.moc"
