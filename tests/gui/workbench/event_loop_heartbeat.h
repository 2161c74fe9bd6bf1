// SPDX-License-Identifier: GPL-3.0-or-later
// A 5 ms timer on the GUI thread whose gaps are the event loop's stalls, for the tests that check
// the window keeps answering while tokens stream. It records the longest gap in wall time, in this
// thread's own CPU time, and in wall time less the time the thread was runnable but waiting for a
// CPU (Linux /proc/thread-self/schedstat): wall gaps include time the OS gave the engine thread and
// other processes (on a loaded 2-core machine that says nothing about our code); the last measure
// does not, yet still counts time the thread spent blocked (on a lock, say), which CPU time misses.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace logitscope::test {

// Time this thread has spent runnable but not running, ms; < 0 where the kernel does not say.
inline double thread_runqueue_wait_ms() {
  std::FILE* f = std::fopen("/proc/thread-self/schedstat", "r");
  if (!f) return -1.0;
  unsigned long long on_cpu = 0, waiting = 0;
  const int n = std::fscanf(f, "%llu %llu", &on_cpu, &waiting);
  std::fclose(f);
  return n == 2 ? double(waiting) / 1e6 : -1.0;
}

inline double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

class EventLoopHeartbeat {
 public:
  EventLoopHeartbeat() {
    timer_.setTimerType(Qt::PreciseTimer);
    timer_.setInterval(5);
    QObject::connect(&timer_, &QTimer::timeout, [this] {
      const qint64 now = clock_.elapsed();
      const double cpu = thread_cpu_ms();
      const double wait = thread_runqueue_wait_ms();
      worst_ = std::max(worst_, now - last_);
      worst_cpu_ = std::max(worst_cpu_, cpu - last_cpu_);
      const double waited = wait >= 0.0 && last_wait_ >= 0.0 ? wait - last_wait_ : 0.0;
      worst_own_ = std::max(worst_own_, double(now - last_) - waited);
      last_ = now;
      last_cpu_ = cpu;
      last_wait_ = wait;
    });
  }
  void start() {
    clock_.start();
    last_ = 0;
    last_cpu_ = thread_cpu_ms();
    last_wait_ = thread_runqueue_wait_ms();
    worst_ = 0;
    worst_cpu_ = 0.0;
    worst_own_ = 0.0;
    timer_.start();
  }
  void stop() { timer_.stop(); }
  qint64 worst_wall_ms() const { return worst_; }
  double worst_cpu_ms() const { return worst_cpu_; }
  // Wall gap less the time spent waiting for a CPU (the wall gap where the kernel does not say).
  double worst_own_ms() const { return worst_own_; }

 private:
  QTimer timer_;
  QElapsedTimer clock_;
  qint64 last_ = 0, worst_ = 0;
  double last_cpu_ = 0.0, worst_cpu_ = 0.0;
  double last_wait_ = -1.0, worst_own_ = 0.0;
};

}  // namespace logitscope::test
