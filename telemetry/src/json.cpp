// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/telemetry/json.h"

#include <cmath>

namespace logitscope::telemetry {

namespace {

using json = nlohmann::ordered_json;

// Whole numbers print as integers so that `"AO": 29` stays 29, not 29.0.
json num(double v) {
  if (std::isfinite(v) && std::fabs(v) < 1e15 && std::floor(v) == v) return static_cast<std::int64_t>(v);
  return v;
}
json num(const std::optional<double>& v) { return v ? num(*v) : json(nullptr); }

json load_freq(const std::optional<double>& load, const std::optional<double>& freq) {
  json j = json::object();
  j["load_pct"] = num(load);
  j["freq_mhz"] = num(freq);
  return j;
}

json gpu_json(const std::optional<GpuInfo>& gpu) {
  if (!gpu) return nullptr;
  json j = json::object();
  j["load_pct"] = num(gpu->load_pct);
  if (gpu->freq_mhz) {
    json list = json::array();
    for (double f : *gpu->freq_mhz) list.push_back(num(f));
    j["freq_mhz"] = std::move(list);
  } else {
    j["freq_mhz"] = nullptr;
  }
  return j;
}

}  // namespace

nlohmann::ordered_json to_json(const Sample& s, const JsonOptions& options) {
  json j = json::object();
  if (options.live) {
    j["source"] = s.source;
    j["time_s"] = s.time_s;
  }
  j["timestamp"] = s.timestamp ? json(*s.timestamp) : json(nullptr);

  if (s.ram) {
    json r = json::object();
    r["used_mb"] = num(s.ram->used_mb);
    r["total_mb"] = num(s.ram->total_mb);
    r["lfb_count"] = num(s.ram->lfb_count);
    r["lfb_size"] = num(s.ram->lfb_size);
    r["lfb_unit"] = s.ram->lfb_unit.empty() ? json(nullptr) : json(s.ram->lfb_unit);
    if (s.ram->cached_mb) r["cached_mb"] = num(s.ram->cached_mb);
    j["ram"] = std::move(r);
  } else {
    j["ram"] = nullptr;
  }

  if (s.swap) {
    j["swap"] = {{"used_mb", num(s.swap->used_mb)}, {"total_mb", num(s.swap->total_mb)}, {"cached_mb", num(s.swap->cached_mb)}};
  } else {
    j["swap"] = nullptr;
  }

  if (s.iram) {
    j["iram"] = {{"used_kb", num(s.iram->used_kb)}, {"total_kb", num(s.iram->total_kb)}, {"lfb_kb", num(s.iram->lfb_kb)}};
  } else {
    j["iram"] = nullptr;
  }

  if (s.cpu) {
    json c = json::object();
    c["count"] = s.cpu->count();
    c["online"] = s.cpu->online_count();
    json loads = json::array(), freqs = json::array();
    for (const auto& v : s.cpu->load_pct) loads.push_back(num(v));
    for (const auto& v : s.cpu->freq_mhz) freqs.push_back(num(v));
    c["load_pct"] = std::move(loads);
    c["freq_mhz"] = std::move(freqs);
    j["cpu"] = std::move(c);
  } else {
    j["cpu"] = nullptr;
  }

  j["emc"] = s.emc ? load_freq(s.emc->load_pct, s.emc->freq_mhz) : json(nullptr);
  j["gpu"] = gpu_json(s.gpu);
  j["gpu2"] = gpu_json(s.gpu2);
  j["ape_mhz"] = num(s.ape_mhz);
  j["mts"] = s.mts ? json{{"fg_pct", num(s.mts->fg_pct)}, {"bg_pct", num(s.mts->bg_pct)}} : json(nullptr);

  json engines = json::object();
  for (const auto& e : s.engines) engines[e.name] = e.off ? json("off") : load_freq(e.load_pct, e.freq_mhz);
  j["engines"] = std::move(engines);

  json temps = json::object(), temps_max = json::object();
  for (const auto& t : s.temps) {
    temps[t.name] = num(t.celsius);
    if (t.max_celsius) temps_max[t.name] = num(t.max_celsius);
  }
  j["temps_c"] = std::move(temps);
  j["temps_max_c"] = std::move(temps_max);

  json rails = json::array();
  for (const auto& r : s.rails) {
    json o = json::object();
    o["name"] = r.name;
    o["cur_mw"] = num(r.cur_mw);
    o["avg_mw"] = num(r.avg_mw);
    if (r.max_mw) o["max_mw"] = num(r.max_mw);
    rails.push_back(std::move(o));
  }
  j["power_mw"] = std::move(rails);

  if (options.live) {
    j["unified_memory"] = s.unified_memory;
    if (s.device) {
      j["device"] = {{"index", s.device->index},
                     {"name", s.device->name},
                     {"mem_used_mb", num(s.device->mem_used_mb)},
                     {"mem_total_mb", num(s.device->mem_total_mb)}};
    }
  }
  if (options.extras) {
    json extras = json::array();
    for (const auto& e : s.extras) extras.push_back(e);
    j["extras"] = std::move(extras);
  }
  return j;
}

}  // namespace logitscope::telemetry
