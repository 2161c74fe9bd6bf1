// SPDX-License-Identifier: GPL-3.0-or-later
#include "generation_queue.h"

#include <iostream>

#include "generation_types.h"

namespace logitscope::server {

void PieceChannel::push(Piece piece) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    pieces_.push_back(std::move(piece));
  }
  ready_.notify_all();
}

void PieceChannel::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

std::vector<Piece> PieceChannel::take(std::chrono::milliseconds timeout, bool& finished) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, timeout, [&] { return closed_ || !pieces_.empty(); });
  std::vector<Piece> out(std::make_move_iterator(pieces_.begin()), std::make_move_iterator(pieces_.end()));
  pieces_.clear();
  finished = closed_;
  return out;
}

GenerationQueue::GenerationQueue(std::size_t max_waiting)
    : max_waiting_(max_waiting), worker_([this] { worker_loop(); }) {}

GenerationQueue::~GenerationQueue() { shutdown(); }

std::shared_ptr<GenerationQueue::Ticket> GenerationQueue::submit(Work work) {
  auto ticket = std::make_shared<Ticket>();
  ticket->work = std::move(work);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return nullptr;
    // One job runs and max_waiting wait behind it (a job not yet picked up counts as waiting).
    const std::size_t in_system = live_waiting_ + (running_job_ ? 1 : 0);
    if (in_system >= max_waiting_ + 1) return nullptr;
    jobs_.push_back(ticket);
    ++live_waiting_;
  }
  wake_.notify_one();
  return ticket;
}

void GenerationQueue::cancel(const std::shared_ptr<Ticket>& ticket) {
  if (!ticket) return;
  {
    std::lock_guard lock(mutex_);
    if (!ticket->cancelled && !ticket->started) --live_waiting_;
    ticket->cancelled = true;
  }
  ticket->stop.request_stop();
}

void GenerationQueue::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
    for (auto& job : jobs_) job->stop.request_stop();
  }
  wake_.notify_all();
  if (worker_.joinable() && std::this_thread::get_id() != worker_.get_id()) worker_.join();
}

std::size_t GenerationQueue::waiting() const {
  std::lock_guard lock(mutex_);
  return live_waiting_;
}

bool GenerationQueue::busy() const {
  std::lock_guard lock(mutex_);
  return running_job_;
}

std::uint64_t GenerationQueue::completed() const {
  std::lock_guard lock(mutex_);
  return completed_;
}

void GenerationQueue::worker_loop() {
  for (;;) {
    std::shared_ptr<Ticket> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping and drained
      job = jobs_.front();
      jobs_.pop_front();
      if (!job->cancelled) --live_waiting_;
      job->started = true;
      running_job_ = true;
      if (stopping_) job->stop.request_stop();
    }
    try {
      // A cancelled job still runs: it sees its stop token set and only closes its channel.
      job->work(job->stop.get_token());
    } catch (const std::exception& e) {
      std::cerr << "logitscope-cli serve: generation failed: " << e.what() << "\n";
    }
    {
      std::lock_guard lock(mutex_);
      running_job_ = false;
      ++completed_;
    }
  }
}

}  // namespace logitscope::server
