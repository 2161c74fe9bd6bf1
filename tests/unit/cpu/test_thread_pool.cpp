// SPDX-License-Identifier: GPL-3.0-or-later
// The CPU backend's pool: every index of every call is visited exactly once, across back-to-back
// calls of different sizes and chunkings (a late worker must never mix two calls).
#include <QtTest>

#include <atomic>
#include <random>

#include "backend/cpu/thread_pool.h"

using logitscope::ThreadPool;

class ThreadPoolTest : public QObject {
  Q_OBJECT
 private slots:
  void every_index_exactly_once_under_churn() {
    ThreadPool pool(4);
    std::mt19937 rng(1);
    for (int round = 0; round < 20000; ++round) {
      const std::int64_t n = 1 + rng() % 300;
      const std::int64_t min_chunk = 1 + rng() % 17;
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      pool.parallel_for(n, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
      }, min_chunk);
      for (std::int64_t i = 0; i < n; ++i)
        if (hits[i].load() != 1) QFAIL(qPrintable(QString("round %1: index %2 visited %3 times").arg(round).arg(i).arg(hits[i].load())));
    }
  }
};

QTEST_APPLESS_MAIN(ThreadPoolTest)
#include "test_thread_pool.moc"
