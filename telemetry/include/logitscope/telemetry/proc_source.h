// SPDX-License-Identifier: GPL-3.0-or-later
// The fallback that works on any Linux: RAM, page cache and swap from /proc/meminfo, per-core load
// from /proc/stat deltas, clocks from cpufreq and temperatures from the thermal zones in /sys.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "logitscope/telemetry/polling_source.h"

namespace logitscope::telemetry {

struct ProcOptions {
  std::chrono::milliseconds interval{1000};
  // Roots so that tests can point the reader at a fake tree.
  std::filesystem::path proc_root = "/proc";
  std::filesystem::path sys_root = "/sys";
};

// /proc/meminfo in MiB. Returns nullopt when the file cannot be read.
struct MemInfo {
  double total_mb = 0, available_mb = 0, free_mb = 0, cached_mb = 0, buffers_mb = 0;
  double swap_total_mb = 0, swap_free_mb = 0, swap_cached_mb = 0;
  double used_mb() const { return total_mb - available_mb; }
};
std::optional<MemInfo> read_meminfo(const std::filesystem::path& file);

// Fills sample.ram (with cached_mb) and sample.swap (absent when no swap is configured, as in
// tegrastats) from `info`.
void apply_meminfo(const MemInfo& info, Sample& sample);

class ProcSource : public PollingSource {
 public:
  explicit ProcSource(ProcOptions options = {});
  ~ProcSource() override;
  std::string name() const override { return "proc"; }
  std::optional<Sample> poll() override;

 private:
  struct CpuTimes {
    unsigned long long busy = 0, total = 0;
  };
  std::map<int, CpuTimes> read_stat() const;
  ProcOptions options_;
  std::map<int, CpuTimes> previous_;
  bool unified_ = false;
  int possible_cores_ = 0;
};

}  // namespace logitscope::telemetry
