// SPDX-License-Identifier: GPL-3.0-or-later
// NVML, loaded with dlopen at run time: no link-time dependency and no nvml.h, so the same binary
// runs on machines without the NVIDIA driver. On Thor it is the only source of GPU load.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "logitscope/telemetry/polling_source.h"

namespace logitscope::telemetry {

class ProcSource;

struct NvmlReading {
  int index = 0;
  std::string name;
  std::optional<double> mem_used_mb, mem_total_mb;  // N/A on Thor (unified memory)
  std::optional<double> gpu_util_pct, mem_util_pct;
  std::optional<double> sm_clock_mhz;
  std::optional<double> power_mw;
  std::optional<double> temp_c;
};

// The loaded library and the handful of entry points used. Not copyable; shuts NVML down on
// destruction.
class NvmlLibrary {
 public:
  // Loads `library` (default "libnvidia-ml.so.1") and calls nvmlInit. Returns nullptr and sets
  // `error` when the library is absent, lacks a symbol or fails to initialise.
  static std::unique_ptr<NvmlLibrary> load(std::string* error = nullptr,
                                           const std::string& library = "libnvidia-ml.so.1");
  ~NvmlLibrary();
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  int device_count() const;
  // Each query that NVML answers with NotSupported (Orin, Thor memory) stays unset.
  std::optional<NvmlReading> read(int index) const;

 private:
  NvmlLibrary() = default;
  struct Api;
  void* handle_ = nullptr;
  std::unique_ptr<Api> api_;
};

struct NvmlOptions {
  std::chrono::milliseconds interval{1000};
  int device = 0;
  std::string library = "libnvidia-ml.so.1";
  // Also fill RAM, swap and CPU from /proc so the panel has host numbers too.
  bool include_host = true;
};

class NvmlSource : public PollingSource {
 public:
  // Throws TelemetryError when NVML cannot be loaded or the device does not exist.
  explicit NvmlSource(NvmlOptions options = {});
  ~NvmlSource() override;
  std::string name() const override { return "nvml"; }
  std::optional<Sample> poll() override;

 private:
  NvmlOptions options_;
  std::unique_ptr<NvmlLibrary> nvml_;
  std::unique_ptr<ProcSource> host_;
};

// Copies an NVML reading into a sample: gpu{load, [sm clock]}, a "GPU" power rail, a "gpu"
// temperature and the device's name and memory.
void apply_nvml(const NvmlReading& reading, Sample& sample);

}  // namespace logitscope::telemetry
