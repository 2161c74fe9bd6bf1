// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/telemetry/engine_counters.h"

#include <cmath>
#include <cstdio>

namespace logitscope::telemetry {

MemoryBreakdown memory_breakdown(const Sample& s, const EngineCounters& c) {
  MemoryBreakdown b;
  b.unified = s.unified_memory;
  if (s.ram) {
    b.total_mb = s.ram->total_mb;
    b.used_mb = s.ram->used_mb;
    b.cached_mb = s.ram->cached_mb;
  }
  if (c.model_loaded || c.device_allocated_mb) b.model_mb = c.device_allocated_mb;
  // On unified memory the model's allocations are part of RAM used; elsewhere they live on the GPU.
  if (b.unified && b.used_mb && b.model_mb) b.other_mb = std::max(0.0, *b.used_mb - *b.model_mb);
  if (s.device) {
    b.gpu_used_mb = s.device->mem_used_mb;
    b.gpu_total_mb = s.device->mem_total_mb;
  }
  return b;
}

void HeldMemoryWatch::model_loading(const Sample& before) {
  unloaded_at_.reset();
  showing_ = false;
  if (before.ram) {
    baseline_used_mb_ = before.ram->used_mb;
    baseline_cached_mb_ = before.ram->cached_mb;
  }
}

void HeldMemoryWatch::model_unloaded(double time_s) { unloaded_at_ = time_s; }

bool HeldMemoryWatch::update(const Sample& s) {
  if (!unloaded_at_ || !s.ram) {
    showing_ = false;
    return false;
  }
  if (s.time_s - *unloaded_at_ < settle_s_) return showing_;
  double held = 0;
  if (baseline_used_mb_) held = std::max(held, s.ram->used_mb - *baseline_used_mb_);
  if (s.ram->cached_mb) held = std::max(held, *s.ram->cached_mb - baseline_cached_mb_.value_or(0.0));
  showing_ = held > threshold_mb_;
  return showing_;
}

std::string HeldMemoryWatch::hint(const Sample& s) const {
  char text[256];
  double cached = s.ram && s.ram->cached_mb ? *s.ram->cached_mb / 1024.0 : 0.0;
  std::snprintf(text, sizeof text,
                "Memory is still held after unloading the model (page cache %.1f GiB: the kernel keeps "
                "the weight files cached). To free it: ",
                cached);
  return std::string(text) + kDropCachesCommand;
}

}  // namespace logitscope::telemetry
