// SPDX-License-Identifier: GPL-3.0-or-later
// A 5 ms timer on the GUI thread whose gaps are the event loop's stalls, for the tests that check
// the window keeps answering while tokens stream. It records the longest gap in wall time and in
// this thread's own CPU time: wall gaps include time the OS gave the engine thread and other
// processes (on a loaded 2-core machine that says nothing about our code), CPU gaps do not.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <algorithm>
#include <ctime>

namespace logitscope::test {

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
      worst_ = std::max(worst_, now - last_);
      worst_cpu_ = std::max(worst_cpu_, cpu - last_cpu_);
      last_ = now;
      last_cpu_ = cpu;
    });
  }
  void start() {
    clock_.start();
    last_ = 0;
    last_cpu_ = thread_cpu_ms();
    worst_ = 0;
    worst_cpu_ = 0.0;
    timer_.start();
  }
  void stop() { timer_.stop(); }
  qint64 worst_wall_ms() const { return worst_; }
  double worst_cpu_ms() const { return worst_cpu_; }

 private:
  QTimer timer_;
  QElapsedTimer clock_;
  qint64 last_ = 0, worst_ = 0;
  double last_cpu_ = 0.0, worst_cpu_ = 0.0;
};

}  // namespace logitscope::test
