// SPDX-License-Identifier: GPL-3.0-or-later
// Session behaviour on the CPU backend: rewinding is exact (same logits as a fresh prefill of the
// kept tokens) and replays only from the nearest checkpoint; branching; generate's stop reasons,
// thinking budget, cancellation and context limits.
#include <QtTest>

#include "golden.h"
#include "logitscope/errors.h"
#include "logitscope/model.h"
#include "logitscope/session.h"

using namespace logitscope;

namespace {

std::unique_ptr<Model> load(const std::string& name, std::int64_t max_context = 512) {
  LoadOptions options;
  options.snapshot.model = (logitscope::test::fixtures_dir() / "models" / name).string();
  options.max_context = max_context;
  options.threads = 2;
  return Model::load(options);
}

std::vector<float> fresh_last_logits(const Model& model, const std::vector<TokenId>& tokens) {
  Session fresh(model);
  const std::vector<float> all = fresh.evaluate(tokens);
  const std::size_t vocab = static_cast<std::size_t>(model.config().vocab_size);
  return std::vector<float>(all.end() - static_cast<std::ptrdiff_t>(vocab), all.end());
}

SamplingParams sampled(std::uint64_t seed) {
  SamplingParams s;
  s.temperature = 0.9f;
  s.seed = seed;
  return s;
}

}  // namespace

class SessionRewindAndGenerate : public QObject {
  Q_OBJECT
 private slots:
  void rewind_equals_fresh_prefill() {
    auto model = load("tiny-every-kind");
    SessionOptions options;
    options.checkpoint_interval = 4;
    Session session(*model, options);
    const auto prompt = logitscope::test::golden("tiny-every-kind").at("prompt_ids").get<std::vector<TokenId>>();
    session.prefill(prompt);
    ProbeOptions probe;
    for (int i = 0; i < 24; ++i) session.step(sampled(7), probe);
    const std::vector<TokenId> all = session.tokens();
    for (std::int64_t target : {std::int64_t(all.size()) - 1, std::int64_t(all.size()) - 9, std::int64_t(prompt.size()) + 1,
                                std::int64_t(prompt.size()), std::int64_t(5), std::int64_t(1)}) {
      // Grow back to the full sequence first, so every rewind starts from a fed state.
      session.rewind_to(std::int64_t(session.tokens().size()));
      session.rewind_to(target);
      QCOMPARE(session.length(), target);
      const std::vector<TokenId> kept(all.begin(), all.begin() + target);
      QCOMPARE(session.tokens(), kept);
      const std::vector<float> ours = session.last_logits();
      QVERIFY2(session.last_replay_length() <= 2 * options.checkpoint_interval,
               qPrintable(QString("replayed %1 tokens for target %2").arg(session.last_replay_length()).arg(target)));
      const std::vector<float> expected = fresh_last_logits(*model, kept);
      QCOMPARE(ours.size(), expected.size());
      float worst = 0.0f;
      for (std::size_t i = 0; i < ours.size(); ++i) worst = std::max(worst, std::fabs(ours[i] - expected[i]));
      QVERIFY2(worst <= 1e-6f, qPrintable(QString("target %1: max diff %2").arg(target).arg(worst)));
      // Re-extend with the original tokens for the next round.
      session.prefill(std::vector<TokenId>(all.begin() + target, all.end()));
    }
  }

  void branching_changes_the_continuation() {
    auto model = load("tiny-every-kind");
    Session session(*model);
    const auto prompt = logitscope::test::golden("tiny-every-kind").at("prompt_ids").get<std::vector<TokenId>>();
    session.prefill(prompt);
    SamplingParams greedy;
    greedy.greedy = true;
    ProbeOptions probe;
    probe.top_k = 5;
    const NextTokenPreview preview = session.peek(probe);
    QCOMPARE(session.length(), std::int64_t(prompt.size()));  // peeking appends nothing
    const TokenEvent first = session.step(greedy, probe);
    QCOMPARE(preview.pos, first.pos);
    QCOMPARE(preview.entropy, first.entropy);
    QCOMPARE(preview.top_k.size(), first.top_k.size());
    for (std::size_t i = 0; i < preview.top_k.size(); ++i) QCOMPARE(preview.top_k[i].id, first.top_k[i].id);
    std::vector<TokenId> original;
    for (int i = 0; i < 6; ++i) original.push_back(session.step(greedy, probe).id);
    // Back to just before the first generated token and force its runner-up instead.
    session.rewind_to(std::int64_t(prompt.size()));
    const TokenId alternative = first.top_k.at(1).id;
    const TokenEvent forced = session.step(greedy, probe, alternative);
    QVERIFY(forced.forced);
    QCOMPARE(forced.id, alternative);
    QCOMPARE(forced.prob, first.top_k.at(1).prob);
    std::vector<TokenId> branch;
    for (int i = 0; i < 6; ++i) branch.push_back(session.step(greedy, probe).id);
    QVERIFY(branch != original);
    // And the original branch comes back exactly.
    session.rewind_to(std::int64_t(prompt.size()));
    QCOMPARE(session.step(greedy, probe, first.id).id, first.id);
    std::vector<TokenId> again;
    for (int i = 0; i < 6; ++i) again.push_back(session.step(greedy, probe).id);
    QCOMPARE(again, original);
  }

  void same_seed_same_tokens() {
    auto model = load("tiny-groups-bf16-sharded");
    auto run = [&](std::uint64_t seed) {
      Session session(*model);
      session.prefill(std::vector<TokenId>{5, 17, 42});
      GenerateOptions options;
      options.max_new_tokens = 12;
      options.stop_ids = {-1};
      std::vector<TokenId> out;
      for (const auto& e : session.generate(options, sampled(seed), ProbeOptions{}).events) out.push_back(e.id);
      return out;
    };
    QCOMPARE(run(3), run(3));
    QVERIFY(run(3) != run(4));
  }

  void thinking_budget_forces_the_end_of_thinking() {
    auto model = load("tiny-every-kind");
    Session session(*model);
    session.prefill(std::vector<TokenId>{10, 20, 30});
    GenerateOptions options;
    options.max_new_tokens = 8;
    options.stop_ids = {-1};
    options.starts_in_thinking = true;
    options.think_start_id = 12;
    options.think_end_id = 13;
    options.thinking_budget = 3;
    const GenerateResult result = session.generate(options, sampled(1), ProbeOptions{});
    QCOMPARE(int(result.events.size()), 8);
    int end_at = -1;
    for (int i = 0; i < 8 && end_at < 0; ++i)
      if (result.events[i].id == 13) end_at = i;
    QVERIFY(end_at >= 0 && end_at <= 3);
    if (end_at == 3) QVERIFY(result.events[3].forced);
    for (int i = end_at + 1; i < 8; ++i) QVERIFY(!result.events[i].forced);
  }

  void stop_reasons() {
    auto model = load("tiny-every-kind", 32);
    const std::vector<TokenId> prompt{1, 2, 3};
    SamplingParams greedy;
    greedy.greedy = true;
    {  // The first greedy token as a stop id ends generation on it.
      Session session(*model);
      session.prefill(prompt);
      const TokenId first = session.step(greedy, ProbeOptions{}).id;
      session.rewind_to(3);
      GenerateOptions options;
      options.max_new_tokens = 10;
      options.stop_ids = {first};
      const auto result = session.generate(options, greedy, ProbeOptions{});
      QCOMPARE(result.reason, StopReason::StopToken);
      QCOMPARE(int(result.events.size()), 1);
    }
    {  // The callback asks to stop.
      Session session(*model);
      session.prefill(prompt);
      GenerateOptions options;
      options.max_new_tokens = 10;
      options.stop_ids = {-1};
      int seen = 0;
      const auto result = session.generate(options, greedy, ProbeOptions{}, [&](const TokenEvent&) { return ++seen < 3; });
      QCOMPARE(result.reason, StopReason::Cancelled);
      QCOMPARE(int(result.events.size()), 3);
    }
    {  // A stop requested before the start.
      Session session(*model);
      session.prefill(prompt);
      std::stop_source stop;
      stop.request_stop();
      GenerateOptions options;
      const auto result = session.generate(options, greedy, ProbeOptions{}, {}, stop.get_token());
      QCOMPARE(result.reason, StopReason::Cancelled);
      QVERIFY(result.events.empty());
      // The session is still usable afterwards.
      QVERIFY(session.step(greedy, ProbeOptions{}).id >= 0);
    }
    {  // The context fills up.
      Session session(*model);
      session.prefill(prompt);
      GenerateOptions options;
      options.max_new_tokens = 100;
      options.stop_ids = {-1};
      const auto result = session.generate(options, greedy, ProbeOptions{});
      QCOMPARE(result.reason, StopReason::ContextFull);
      QCOMPARE(session.length(), std::int64_t(32));
    }
  }

  void a_prompt_longer_than_the_context_is_an_error() {
    auto model = load("tiny-every-kind", 8);
    Session session(*model);
    QVERIFY_THROWS_EXCEPTION(Error, session.prefill(std::vector<TokenId>(9, 5)));
    QCOMPARE(session.length(), std::int64_t(0));
    QVERIFY_THROWS_EXCEPTION(Error, session.prefill(std::vector<TokenId>{5, 999999}));
    QVERIFY_THROWS_EXCEPTION(Error, session.step(SamplingParams{}, ProbeOptions{}));  // nothing to continue from
  }
};

QTEST_APPLESS_MAIN(SessionRewindAndGenerate)
#include "test_session_rewind_and_generate.moc"
