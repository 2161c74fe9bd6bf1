// SPDX-License-Identifier: GPL-3.0-or-later
// The engine's own numbers, filled by the GUI from session events, and the memory picture of a
// unified-memory board: RAM used, page cache and what the model holds, shown separately, with a
// hint for freeing the page cache when memory stays held after the model was unloaded.
#pragma once

#include <optional>
#include <string>

#include "logitscope/telemetry/sample.h"

namespace logitscope::telemetry {

struct EngineCounters {
  std::optional<double> device_allocated_mb;  // what the engine allocated (weights, KV, state)
  std::optional<double> prefill_tokens_per_s;
  std::optional<double> decode_tokens_per_s;
  std::optional<double> time_to_first_token_ms;
  bool model_loaded = false;
};

struct MemoryBreakdown {
  std::optional<double> total_mb;
  std::optional<double> used_mb;    // RAM in use (tegrastats' RAM, /proc's total - available)
  std::optional<double> cached_mb;  // page cache: weight files the kernel keeps after reading
  std::optional<double> model_mb;   // allocated by the engine (part of used_mb on unified memory)
  std::optional<double> other_mb;   // used_mb - model_mb
  std::optional<double> gpu_used_mb, gpu_total_mb;  // discrete GPU (NVML)
  bool unified = false;
};

MemoryBreakdown memory_breakdown(const Sample& sample, const EngineCounters& counters);

// The command that frees the page cache; shown, never run.
inline constexpr const char* kDropCachesCommand = "sync; echo 1 | sudo tee /proc/sys/vm/drop_caches";

// Watches memory after the model is unloaded. Memory that stays held (page cache of the weight
// files, or RAM not returned) for `settle_s` seconds turns the hint on; it clears once memory
// drops back or a model is loaded again.
class HeldMemoryWatch {
 public:
  explicit HeldMemoryWatch(double threshold_mb = 1024.0, double settle_s = 5.0)
      : threshold_mb_(threshold_mb), settle_s_(settle_s) {}
  // Before loading: remember the baseline to compare against after unloading.
  void model_loading(const Sample& before);
  void model_unloaded(double time_s);
  void model_loaded() { unloaded_at_.reset(); }
  // Returns true while the hint should show.
  bool update(const Sample& sample);
  std::string hint(const Sample& sample) const;

 private:
  double threshold_mb_, settle_s_;
  std::optional<double> baseline_used_mb_, baseline_cached_mb_;
  std::optional<double> unloaded_at_;
  bool showing_ = false;
};

}  // namespace logitscope::telemetry
