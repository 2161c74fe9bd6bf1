// SPDX-License-Identifier: GPL-3.0-or-later
// The one generation worker: jobs run one at a time, in arrival order, on a thread that owns the
// session. At most `max_waiting` jobs wait behind the running one; past that submit() refuses, and
// the HTTP layer answers 429. A cancelled job leaves the queue at once (its slot frees) and is run
// later with its stop token already set, so it only closes its channel.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

namespace logitscope::server {

class GenerationQueue {
 public:
  using Work = std::function<void(std::stop_token)>;
  struct Ticket;

  explicit GenerationQueue(std::size_t max_waiting);
  ~GenerationQueue();
  GenerationQueue(const GenerationQueue&) = delete;
  GenerationQueue& operator=(const GenerationQueue&) = delete;

  // Null when the queue is full or shutting down.
  std::shared_ptr<Ticket> submit(Work work);
  // Stops the job: a waiting one gives its slot back, a running one sees its stop token set.
  void cancel(const std::shared_ptr<Ticket>& ticket);
  // Cancels everything and joins the worker; later submits are refused.
  void shutdown();

  std::size_t waiting() const;
  bool busy() const;
  std::size_t max_waiting() const { return max_waiting_; }
  std::uint64_t completed() const;

 private:
  void worker_loop();

  const std::size_t max_waiting_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Ticket>> jobs_;
  std::size_t live_waiting_ = 0;   // queued and not cancelled
  bool running_job_ = false;
  bool stopping_ = false;
  std::uint64_t completed_ = 0;
  std::thread worker_;
};

struct GenerationQueue::Ticket {
  Work work;
  std::stop_source stop;
  bool started = false;     // guarded by the queue's mutex
  bool cancelled = false;
};

}  // namespace logitscope::server
