// SPDX-License-Identifier: GPL-3.0-or-later
// The CPU reference gives bit-identical logits run after run and whatever the thread count: it is
// the yardstick the CUDA backend is checked against.
#include <QtTest>

#include "golden.h"
#include "logitscope/model.h"
#include "logitscope/session.h"

using namespace logitscope;

class CpuBackendIsDeterministic : public QObject {
  Q_OBJECT
 private slots:
  void same_logits_every_run_and_thread_count() {
    for (const auto& name : logitscope::test::fixture_model_names()) {
      const auto prompt = logitscope::test::golden(name).at("prompt_ids").get<std::vector<TokenId>>();
      std::vector<float> first;
      for (int threads : {1, 2, 3, 4, 4, 4}) {
        LoadOptions options;
        options.snapshot.model = logitscope::test::model_dir(name).string();
        options.threads = threads;
        options.max_context = 128;
        auto model = Model::load(options);
        Session session(*model);
        for (int repeat = 0; repeat < 3; ++repeat) {
          std::vector<float> logits = session.evaluate(prompt);
          if (first.empty()) first = logits;
          QVERIFY2(logits == first, qPrintable(QString("%1: %2 threads differ").arg(name.c_str()).arg(threads)));
        }
      }
    }
  }
};

QTEST_APPLESS_MAIN(CpuBackendIsDeterministic)
#include "test_cpu_backend_is_deterministic.moc"
