// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/telemetry/sample.h"

#include <algorithm>

namespace logitscope::telemetry {

int CpuInfo::online_count() const {
  return static_cast<int>(std::count(online.begin(), online.end(), true));
}

std::optional<double> CpuInfo::mean_load_pct() const {
  double sum = 0;
  int n = 0;
  for (std::size_t i = 0; i < load_pct.size(); ++i) {
    if (i < online.size() && online[i] && load_pct[i]) {
      sum += *load_pct[i];
      ++n;
    }
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

std::optional<double> GpuInfo::max_freq_mhz() const {
  if (!freq_mhz || freq_mhz->empty()) return std::nullopt;
  return *std::max_element(freq_mhz->begin(), freq_mhz->end());
}

const Temperature* Sample::find_temp(std::string_view name) const {
  auto lower_eq = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      char x = a[i], y = b[i];
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
      if (x != y) return false;
    }
    return true;
  };
  for (const auto& t : temps)
    if (lower_eq(t.name, name)) return &t;
  return nullptr;
}

}  // namespace logitscope::telemetry
