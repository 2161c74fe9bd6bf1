// SPDX-License-Identifier: GPL-3.0-or-later
// One telemetry sample, whatever produced it (tegrastats line, NVML, /proc). Every field is optional
// because every source prints a different subset: absent means "unknown", never zero. Plain structs
// so that widgets and the CLI can use them without knowing about the sources.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace logitscope::telemetry {

// `X%@F`, `X%`, `@F` or a bare `F` (EMC, engines).
struct LoadFreq {
  std::optional<double> load_pct;
  std::optional<double> freq_mhz;
};

struct RamInfo {
  double used_mb = 0;   // MiB as the kernel counts them
  double total_mb = 0;
  // tegrastats' "largest free block": lfb_count blocks of lfb_size lfb_unit.
  std::optional<double> lfb_count;
  std::optional<double> lfb_size;
  std::string lfb_unit;
  // Page cache (from /proc/meminfo); tegrastats does not print it.
  std::optional<double> cached_mb;
};

struct SwapInfo {
  double used_mb = 0;
  double total_mb = 0;
  std::optional<double> cached_mb;
};

struct IramInfo {
  double used_kb = 0;
  double total_kb = 0;
  std::optional<double> lfb_kb;
};

// One entry per possible core, index positions kept; an `off` core has online=false and no values.
struct CpuInfo {
  std::vector<std::optional<double>> load_pct;
  std::vector<std::optional<double>> freq_mhz;
  std::vector<bool> online;
  int count() const { return static_cast<int>(online.size()); }
  int online_count() const;
  // Mean load over the online cores that report one.
  std::optional<double> mean_load_pct() const;
};

// GR3D_FREQ: load (absent on Thor) and one clock per GPC (absent without root on r32).
struct GpuInfo {
  std::optional<double> load_pct;
  std::optional<std::vector<double>> freq_mhz;
  std::optional<double> max_freq_mhz() const;
};

struct MtsInfo {
  std::optional<double> fg_pct;
  std::optional<double> bg_pct;
};

// NVENC, NVDEC, VIC, OFA, NVDLA0, PVA0_FREQ, ... as printed.
struct EngineInfo {
  std::string name;
  bool off = false;
  std::optional<double> load_pct;
  std::optional<double> freq_mhz;
};

struct Temperature {
  std::string name;  // case as printed ("GPU" on JP5, "gpu" on JP6+)
  double celsius = 0;
  std::optional<double> max_celsius;  // JetPack 7.2 `cur C/max C`
  // tegrastats prints -256C for an offline sensor (jtop's TEMPERATURE_OFFLINE).
  bool offline() const { return celsius <= -255.0; }
};

// `NAME cur/avg[/max]`, mW even where the line prints no unit. Kept as a list: names repeat (`NC`).
struct PowerRail {
  std::string name;
  std::optional<double> cur_mw;
  std::optional<double> avg_mw;
  std::optional<double> max_mw;
};

// What NVML tells about a discrete (or Thor) GPU.
struct GpuDeviceInfo {
  int index = 0;
  std::string name;
  std::optional<double> mem_used_mb;
  std::optional<double> mem_total_mb;
};

struct Sample {
  std::string source;  // "tegrastats", "replay", "nvml", "proc"
  // Seconds on the source's own monotonic clock (replay: position in the log). Never the printed
  // timestamp, which has one-second resolution and no time zone.
  double time_s = 0;
  std::optional<std::string> timestamp;  // tegrastats' "MM-DD-YYYY HH:MM:SS", as printed

  std::optional<RamInfo> ram;
  std::optional<SwapInfo> swap;
  std::optional<IramInfo> iram;
  std::optional<CpuInfo> cpu;
  std::optional<LoadFreq> emc;
  std::optional<GpuInfo> gpu;
  std::optional<GpuInfo> gpu2;  // GR3D2_FREQ (early JetPack 5 AGX Orin)
  std::optional<double> ape_mhz;
  std::optional<MtsInfo> mts;
  std::vector<EngineInfo> engines;
  std::vector<Temperature> temps;
  std::vector<PowerRail> rails;
  std::vector<std::string> extras;  // tokens the parser did not recognise, verbatim
  std::optional<GpuDeviceInfo> device;

  // Jetson: CPU and GPU share RAM, so "GPU memory" is RAM used.
  bool unified_memory = false;

  const Temperature* find_temp(std::string_view name_case_insensitive) const;
};

}  // namespace logitscope::telemetry
