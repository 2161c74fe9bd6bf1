// SPDX-License-Identifier: GPL-3.0-or-later
#include "backend/cpu/thread_pool.h"

#include <algorithm>

namespace logitscope {

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks() {
  for (;;) {
    const std::int64_t begin = next_.fetch_add(chunk_);
    if (begin >= job_n_) return;
    (*job_)(begin, std::min(job_n_, begin + chunk_));
  }
}

void ThreadPool::worker_loop() {
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      ++active_;
    }
    run_chunks();
    {
      std::lock_guard lock(mutex_);
      if (--active_ == 0) done_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn,
                              std::int64_t min_chunk) {
  if (n <= 0) return;
  const std::int64_t threads = size();
  if (threads == 1 || n <= min_chunk) {
    fn(0, n);
    return;
  }
  // A few chunks per thread balance uneven rows without much counter traffic.
  const std::int64_t chunk = std::max<std::int64_t>(min_chunk, (n + threads * 4 - 1) / (threads * 4));
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    chunk_ = chunk;
    next_.store(0);
    ++generation_;
  }
  wake_.notify_all();
  run_chunks();
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return active_ == 0 && next_.load() >= job_n_; });
}

}  // namespace logitscope
