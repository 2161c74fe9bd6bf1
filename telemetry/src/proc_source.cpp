// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/telemetry/proc_source.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "numbers.h"

namespace logitscope::telemetry {

namespace {

std::optional<std::string> read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::optional<double> read_number_file(const std::filesystem::path& file) {
  auto text = read_text(file);
  if (!text) return std::nullopt;
  return detail::to_number(detail::trim(*text));
}

// "0-11" or "0-3,5" -> highest index + 1.
int count_from_range(std::string_view text) {
  int highest = -1;
  std::string_view rest = detail::trim(text);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    auto dash = part.find('-');
    std::string_view last = dash == std::string_view::npos ? part : part.substr(dash + 1);
    if (auto v = detail::to_number(last)) highest = std::max(highest, static_cast<int>(*v));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return highest + 1;
}

}  // namespace

std::optional<MemInfo> read_meminfo(const std::filesystem::path& file) {
  auto text = read_text(file);
  if (!text) return std::nullopt;
  MemInfo info;
  bool have_available = false, have_total = false;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string_view key(line.data(), colon);
    std::string_view value = detail::trim(std::string_view(line).substr(colon + 1));
    auto space = value.find(' ');
    auto kb = detail::to_number(value.substr(0, space));
    if (!kb) continue;
    double mb = *kb / 1024.0;
    if (key == "MemTotal") info.total_mb = mb, have_total = true;
    else if (key == "MemAvailable") info.available_mb = mb, have_available = true;
    else if (key == "MemFree") info.free_mb = mb;
    else if (key == "Cached") info.cached_mb = mb;
    else if (key == "Buffers") info.buffers_mb = mb;
    else if (key == "SwapTotal") info.swap_total_mb = mb;
    else if (key == "SwapFree") info.swap_free_mb = mb;
    else if (key == "SwapCached") info.swap_cached_mb = mb;
  }
  if (!have_total) return std::nullopt;
  // Kernels before 3.14 lack MemAvailable: estimate it the way `free` did.
  if (!have_available) info.available_mb = info.free_mb + info.buffers_mb + info.cached_mb;
  return info;
}

void apply_meminfo(const MemInfo& info, Sample& sample) {
  RamInfo ram;
  ram.used_mb = info.used_mb();
  ram.total_mb = info.total_mb;
  ram.cached_mb = info.cached_mb;
  sample.ram = std::move(ram);
  if (info.swap_total_mb > 0)
    sample.swap = SwapInfo{info.swap_total_mb - info.swap_free_mb, info.swap_total_mb, info.swap_cached_mb};
}

ProcSource::ProcSource(ProcOptions options) : PollingSource(options.interval), options_(std::move(options)) {
  // Jetson boards share RAM between CPU and GPU; the device tree says which SoC this is.
  if (auto compatible = read_text(options_.proc_root / "device-tree" / "compatible"))
    unified_ = compatible->find("nvidia,tegra") != std::string::npos;
  if (auto possible = read_text(options_.sys_root / "devices/system/cpu/possible"))
    possible_cores_ = count_from_range(*possible);
  previous_ = read_stat();  // so that the first poll() already has a delta
}

ProcSource::~ProcSource() { stop(); }

std::map<int, ProcSource::CpuTimes> ProcSource::read_stat() const {
  std::map<int, CpuTimes> out;
  auto text = read_text(options_.proc_root / "stat");
  if (!text) return out;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    // "cpu3 user nice system idle iowait irq softirq steal guest guest_nice"; skip the "cpu " total.
    if (line.size() < 4 || line.compare(0, 3, "cpu") != 0 || line[3] == ' ') continue;
    std::istringstream fields(line);
    std::string label;
    fields >> label;
    auto index = detail::to_number(std::string_view(label).substr(3));
    if (!index) continue;
    std::vector<unsigned long long> v;
    std::string word;
    while (fields >> word) {
      auto n = detail::to_number(word);
      v.push_back(n ? static_cast<unsigned long long>(*n) : 0ULL);
    }
    if (v.size() < 4) continue;
    CpuTimes t;
    // guest time is already counted in user; idle + iowait is the idle part.
    for (std::size_t k = 0; k < v.size() && k < 8; ++k) t.total += v[k];
    unsigned long long idle = v[3] + (v.size() > 4 ? v[4] : 0);
    t.busy = t.total - idle;
    out[static_cast<int>(*index)] = t;
  }
  return out;
}

std::optional<Sample> ProcSource::poll() {
  Sample s;
  s.source = "proc";
  s.time_s = elapsed_s();
  s.unified_memory = unified_;
  if (auto info = read_meminfo(options_.proc_root / "meminfo")) apply_meminfo(*info, s);

  auto now = read_stat();
  int cores = possible_cores_;
  if (!now.empty()) cores = std::max(cores, now.rbegin()->first + 1);
  if (cores > 0) {
    CpuInfo cpu;
    for (int i = 0; i < cores; ++i) {
      auto it = now.find(i);
      if (it == now.end()) {  // offline core: absent from /proc/stat, like tegrastats' `off`
        cpu.load_pct.push_back(std::nullopt);
        cpu.freq_mhz.push_back(std::nullopt);
        cpu.online.push_back(false);
        continue;
      }
      std::optional<double> load;
      auto prev = previous_.find(i);
      if (prev != previous_.end() && it->second.total > prev->second.total) {
        double dt = static_cast<double>(it->second.total - prev->second.total);
        double db = static_cast<double>(it->second.busy >= prev->second.busy ? it->second.busy - prev->second.busy : 0);
        load = std::min(100.0, 100.0 * db / dt);
      }
      auto khz = read_number_file(options_.sys_root / ("devices/system/cpu/cpu" + std::to_string(i)) /
                                  "cpufreq/scaling_cur_freq");
      cpu.load_pct.push_back(load);
      cpu.freq_mhz.push_back(khz ? std::optional<double>(*khz / 1000.0) : std::nullopt);
      cpu.online.push_back(true);
    }
    s.cpu = std::move(cpu);
  }
  previous_ = std::move(now);

  // Thermal zones: "<type>" and "<millidegrees>".
  std::error_code ec;
  std::filesystem::path thermal = options_.sys_root / "class/thermal";
  std::vector<std::pair<int, Temperature>> zones;
  for (std::filesystem::directory_iterator it(thermal, ec), end; !ec && it != end; it.increment(ec)) {
    std::string dir = it->path().filename().string();
    if (dir.rfind("thermal_zone", 0) != 0) continue;
    auto type = read_text(it->path() / "type");
    auto milli = read_number_file(it->path() / "temp");
    auto index = detail::to_number(std::string_view(dir).substr(12));
    if (!type || !milli || !index) continue;
    std::string name(detail::trim(*type));
    for (const char* suffix : {"-thermal", "-therm"}) {
      std::string_view sv(suffix);
      if (name.size() > sv.size() && name.compare(name.size() - sv.size(), sv.size(), sv) == 0)
        name.resize(name.size() - sv.size());
    }
    zones.push_back({static_cast<int>(*index), Temperature{name, *milli / 1000.0, std::nullopt}});
  }
  std::sort(zones.begin(), zones.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& z : zones) s.temps.push_back(std::move(z.second));
  return s;
}

}  // namespace logitscope::telemetry
