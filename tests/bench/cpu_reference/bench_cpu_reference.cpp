// SPDX-License-Identifier: GPL-3.0-or-later
// Speed of the fp32 CPU reference on the fixture models: prefill (one forward over the prompt) and
// decode (one token at a time from the caches). Prints numbers; asserts nothing about speed.
#include <QtTest>

#include <chrono>

#include "golden.h"
#include "logitscope/model.h"
#include "logitscope/session.h"

using namespace logitscope;

class BenchCpuReference : public QObject {
  Q_OBJECT
 private slots:
  void prefill_and_decode() {
    std::printf("%-26s %8s %12s %14s %12s %10s\n", "fixture", "prompt", "prefill ms", "prefill tok/s", "decode ms/t",
                "decode tok/s");
    for (const auto& name : logitscope::test::fixture_model_names()) {
      LoadOptions options;
      options.snapshot.model = (logitscope::test::fixtures_dir() / "models" / name).string();
      options.max_context = 1024;
      auto model = Model::load(options);
      const auto prompt = logitscope::test::golden(name).at("prompt_ids").get<std::vector<TokenId>>();
      Session session(*model);
      session.evaluate(prompt);  // warm-up
      constexpr int kRepeats = 20, kDecode = 64;
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < kRepeats; ++i) session.evaluate(prompt);
      const double prefill_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / kRepeats;
      GenerateOptions generate;
      generate.max_new_tokens = kDecode;
      generate.stop_ids = {-1};
      SamplingParams greedy;
      greedy.greedy = true;
      const GenerateResult result = session.generate(generate, greedy, ProbeOptions{});
      const double decode_ms = result.decode_ms / double(result.events.size());
      std::printf("%-26s %8zu %12.3f %14.0f %12.3f %10.0f\n", name.c_str(), prompt.size(), prefill_ms,
                  prompt.size() / prefill_ms * 1000.0, decode_ms, 1000.0 / decode_ms);
      QCOMPARE(int(result.events.size()), kDecode);
    }
  }
};

QTEST_APPLESS_MAIN(BenchCpuReference)
#include "bench_cpu_reference.moc"
