// SPDX-License-Identifier: GPL-3.0-or-later
// Measuring the CUDA backend's decode step from inside (bench --profile, bench --timeline).
// Profile mode: the step runs eagerly with an event before every stage, so each stage's time
// includes its launch gap. Timeline mode (builds configured with LOGITSCOPE_CUDA_TIMELINE=ON): the
// step replays a CUDA graph whose kernels stamp the device clock as they start (kernels/launch.cuh),
// so each stage's share of a real replay, programmatic launches and all, is measured: from its first
// kernel's start to the next stage's first kernel's start. The shared expert runs on the main stream
// in that graph (the stamps of two streams would interleave).
#include <algorithm>
#include <map>
#include <set>

#include "backend/cuda/common.cuh"
#include "backend/cuda/cuda_backend_impl.h"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {
namespace {

// Adds one token's stage times to `rows` (one row per stage name, in first-seen order).
class TokenRows {
 public:
  explicit TokenRows(std::vector<KernelProfileRow>& rows) : rows_(rows) {
    for (std::size_t i = 0; i < rows_.size(); ++i) at_[rows_[i].name] = i;
  }
  void add(const std::string& name, double ms, std::uint64_t bytes) {
    auto it = at_.find(name);
    if (it == at_.end()) {
      it = at_.emplace(name, rows_.size()).first;
      rows_.push_back(KernelProfileRow{name});
    }
    KernelProfileRow& r = rows_[it->second];
    ++r.calls;
    r.ms += ms;
    r.bytes += bytes;
    if (seen_.insert(name).second) ++r.tokens;
  }

 private:
  std::vector<KernelProfileRow>& rows_;
  std::map<std::string, std::size_t> at_;
  std::set<std::string> seen_;
};

std::vector<KernelProfileRow> slowest_first(std::vector<KernelProfileRow> rows) {
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.ms > b.ms; });
  return rows;
}

}  // namespace

void CudaBackend::mark_impl(const char* name, std::uint64_t bytes) {
  if (tl_capturing_) {
    tl_marks_.push_back(TimelineMark{name, bytes, unsigned(launches_issued() - tl_base_)});
    return;
  }
  const std::size_t i = prof_marks_.size();
  while (prof_events_.size() < i + 2) {
    cudaEvent_t e = nullptr;
    LS_CUDA(cudaEventCreate(&e));
    prof_events_.push_back(e);
  }
  LS_CUDA(cudaEventRecord(prof_events_[i], stream_));
  prof_marks_.push_back({name, bytes});
}

void CudaBackend::profile_collect() {
  const std::size_t n = prof_marks_.size();
  if (n == 0) return;
  LS_CUDA(cudaEventRecord(prof_events_[n], stream_));
  LS_CUDA(cudaEventSynchronize(prof_events_[n]));
  TokenRows rows(prof_rows_);
  for (std::size_t i = 0; i < n; ++i) {
    float ms = 0.0f;
    LS_CUDA(cudaEventElapsedTime(&ms, prof_events_[i], prof_events_[i + 1]));
    rows.add(prof_marks_[i].first, ms, prof_marks_[i].second);
  }
}

void CudaBackend::set_profile(bool on) {
  std::lock_guard lock(mutex_);
  profile_ = on;
  if (on) prof_rows_.clear();
}

std::vector<KernelProfileRow> CudaBackend::profile_rows() {
  std::lock_guard lock(mutex_);
  return slowest_first(prof_rows_);
}

void CudaBackend::set_timeline(bool on) {
  std::lock_guard lock(mutex_);
  if (on && !timeline_built())
    throw Error("this build has no kernel timeline: configure it with -DLOGITSCOPE_CUDA_TIMELINE=ON");
  if (on && !tl_stamps_) {
    LS_CUDA(cudaMalloc(&tl_stamps_, kTimelineCapacity * sizeof(unsigned long long)));
    LS_CUDA(cudaMalloc(&tl_count_, sizeof(unsigned)));
    tl_host_.assign(kTimelineCapacity, 0);
  }
  LS_CUDA(cudaStreamSynchronize(stream_));
  if (on) {
    set_timeline_sink(tl_stamps_, tl_count_, kTimelineCapacity);
  } else {
    set_timeline_sink(nullptr, nullptr, 0);
  }
  timeline_ = on;
  tl_warm_ = false;
  if (on) tl_rows_.clear();
}

void CudaBackend::timeline_replay() {
  LS_CUDA(cudaMemsetAsync(tl_count_, 0, sizeof(unsigned), stream_));
  LS_CUDA(cudaGraphLaunch(graph_exec_, stream_));
  unsigned count = 0;
  LS_CUDA(cudaMemcpyAsync(&count, tl_count_, sizeof count, cudaMemcpyDeviceToHost, stream_));
  LS_CUDA(cudaMemcpyAsync(tl_host_.data(), tl_stamps_, std::size_t(tl_launches_) * sizeof(unsigned long long),
                          cudaMemcpyDeviceToHost, stream_));
  LS_CUDA(cudaStreamSynchronize(stream_));
  // Every kernel launched through launch_kernel() stamps once; a mismatch means one did not (a
  // kernel without pdl_enter(), or a launch around launch_kernel()) and the stages would be misnamed.
  if (count != tl_launches_ || tl_launches_ > kTimelineCapacity)
    throw Error("kernel timeline: " + std::to_string(count) + " stamps for the graph's " +
                std::to_string(tl_launches_) + " kernel launches");
  if (!tl_warm_) {  // the first replay after a capture warms caches and clocks: not counted
    tl_warm_ = true;
    return;
  }
  TokenRows rows(tl_rows_);
  const unsigned last = tl_launches_ - 1;  // timeline_end's stamp closes the last stage
  for (std::size_t i = 0; i < tl_marks_.size(); ++i) {
    const unsigned first = std::min(tl_marks_[i].first_launch, last);
    const unsigned next = i + 1 < tl_marks_.size() ? std::min(tl_marks_[i + 1].first_launch, last) : last;
    if (next <= first) continue;  // a stage that launched nothing
    rows.add(tl_marks_[i].name, double(tl_host_[next] - tl_host_[first]) * 1e-6, tl_marks_[i].bytes);
  }
}

std::vector<KernelProfileRow> CudaBackend::timeline_rows() {
  std::lock_guard lock(mutex_);
  return slowest_first(tl_rows_);
}

void cuda_backend_set_profile(Backend& backend, bool on) { as_cuda(backend).set_profile(on); }
std::vector<KernelProfileRow> cuda_backend_profile(Backend& backend) { return as_cuda(backend).profile_rows(); }

bool cuda_timeline_available() { return timeline_built(); }
void cuda_backend_set_timeline(Backend& backend, bool on) { as_cuda(backend).set_timeline(on); }
std::vector<KernelProfileRow> cuda_backend_timeline(Backend& backend) { return as_cuda(backend).timeline_rows(); }

}  // namespace logitscope::cuda
