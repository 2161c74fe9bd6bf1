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

bool ThreadPool::run_chunks(Job& job) {
  bool finished_last = false;
  for (;;) {
    const std::int64_t c = job.next.fetch_add(1);
    if (c >= job.chunks) return finished_last;
    const std::int64_t begin = c * job.chunk;
    (*job.fn)(begin, std::min(job.n, begin + job.chunk));
    finished_last = job.finished.fetch_add(1) + 1 == job.chunks;
  }
}

void ThreadPool::worker_loop() {
  std::uint64_t seen = 0;
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;  // may be null, or already fully claimed: then there is nothing to do
    }
    if (job && run_chunks(*job)) {
      std::lock_guard lock(mutex_);
      done_.notify_all();
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
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n = n;
  job->chunk = std::max<std::int64_t>(min_chunk, (n + threads * 4 - 1) / (threads * 4));
  job->chunks = (n + job->chunk - 1) / job->chunk;
  {
    std::lock_guard lock(mutex_);
    job_ = job;
    ++generation_;
  }
  wake_.notify_all();
  run_chunks(*job);
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return job->finished.load() == job->chunks; });
  job_.reset();  // a worker waking later finds no job (or one with nothing left to claim)
}

}  // namespace logitscope
