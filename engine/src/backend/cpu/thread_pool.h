// SPDX-License-Identifier: GPL-3.0-or-later
// A small fork-join pool for the CPU backend: parallel_for splits a range into chunks that the
// workers and the calling thread claim from a counter. Each call has its own Job, so a worker that
// wakes late can never mix the counters or chunk sizes of two calls.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace logitscope {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // total threads including the caller; <= 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls fn(begin, end) on disjoint ranges covering [0, n); returns when all are done. `fn` must
  // not throw. The result does not depend on which thread ran which chunk.
  void parallel_for(std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn,
                    std::int64_t min_chunk = 1);

 private:
  struct Job {
    const std::function<void(std::int64_t, std::int64_t)>* fn = nullptr;
    std::int64_t n = 0, chunk = 1, chunks = 0;
    std::atomic<std::int64_t> next{0};      // next chunk to claim
    std::atomic<std::int64_t> finished{0};  // chunks done
  };

  void worker_loop();
  // Runs chunks of `job` until none is left to claim; true if this thread finished the last one.
  bool run_chunks(Job& job);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
  std::shared_ptr<Job> job_;  // the current call's job, guarded by mutex_
};

}  // namespace logitscope
