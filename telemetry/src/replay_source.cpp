// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/telemetry/replay_source.h"

#include <fstream>

#include "logitscope/telemetry/tegrastats_parser.h"
#include "numbers.h"

namespace logitscope::telemetry {

std::optional<double> tegrastats_timestamp_seconds(std::string_view ts) {
  // "MM-DD-YYYY HH:MM:SS"
  if (ts.size() != 19) return std::nullopt;
  auto field = [&](std::size_t pos, std::size_t len) { return detail::to_number(ts.substr(pos, len)); };
  auto mo = field(0, 2), d = field(3, 2), y = field(6, 4), h = field(11, 2), mi = field(14, 2), s = field(17, 2);
  if (!mo || !d || !y || !h || !mi || !s || *mo < 1 || *mo > 12) return std::nullopt;
  // Days from civil (Howard Hinnant's algorithm), so month and year boundaries count right.
  long yy = static_cast<long>(*y) - (*mo <= 2 ? 1 : 0);
  long era = (yy >= 0 ? yy : yy - 399) / 400;
  long yoe = yy - era * 400;
  long m = static_cast<long>(*mo);
  long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<long>(*d) - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  double days = static_cast<double>(era * 146097 + doe - 719468);
  return days * 86400.0 + *h * 3600.0 + *mi * 60.0 + *s;
}

ReplaySource::ReplaySource(ReplayOptions options) : options_(std::move(options)) {
  std::ifstream in(options_.file, std::ios::binary);
  if (!in) throw TelemetryError("cannot read the tegrastats log " + options_.file.string());
  std::string line;
  std::vector<std::optional<double>> stamps;
  while (std::getline(in, line)) {
    auto sample = parse_tegrastats_line(line);
    if (!sample) continue;
    sample->source = "replay";
    stamps.push_back(sample->timestamp ? tegrastats_timestamp_seconds(*sample->timestamp) : std::nullopt);
    samples_.push_back(std::move(*sample));
  }
  const double max_gap = std::chrono::duration<double>(options_.max_gap).count();
  double t = 0;
  for (std::size_t i = 0; i < samples_.size(); ++i) {
    double delay = 1.0;
    if (options_.interval) {
      delay = std::chrono::duration<double>(*options_.interval).count();
    } else if (i > 0 && stamps[i] && stamps[i - 1]) {
      double d = *stamps[i] - *stamps[i - 1];
      if (d > 0) {
        delay = std::min(d, max_gap);
      } else {
        // Sub-second interval: spread the lines of one printed second evenly over it.
        std::size_t same = 0;
        for (std::size_t k = 0; k < samples_.size(); ++k)
          if (stamps[k] && *stamps[k] == *stamps[i]) ++same;
        delay = 1.0 / static_cast<double>(std::max<std::size_t>(same, 1));
      }
    }
    if (i == 0) delay = 0;
    delays_s_.push_back(delay);
    t += delay;
    samples_[i].time_s = t;
  }
}

ReplaySource::~ReplaySource() { stop(); }

void ReplaySource::start(SourceCallbacks callbacks) {
  stop();
  callbacks_ = std::move(callbacks);
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = false;
  }
  running_ = true;
  thread_ = std::thread([this] { loop(); });
}

void ReplaySource::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  running_ = false;
}

void ReplaySource::loop() {
  double offset = 0;  // replay time added by earlier passes when looping
  auto next = std::chrono::steady_clock::now();
  do {
    for (std::size_t i = 0; i < samples_.size(); ++i) {
      if (!options_.as_fast_as_possible) {
        next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(i == 0 && offset > 0 ? 1.0 : delays_s_[i]));
        std::unique_lock lock(mutex_);
        if (wake_.wait_until(lock, next, [this] { return stop_requested_; })) {
          running_ = false;
          return;
        }
      } else {
        std::lock_guard lock(mutex_);
        if (stop_requested_) {
          running_ = false;
          return;
        }
      }
      Sample s = samples_[i];
      s.time_s += offset;
      if (callbacks_.on_sample) callbacks_.on_sample(std::move(s));
    }
    offset += (samples_.empty() ? 0.0 : samples_.back().time_s) + 1.0;
  } while (options_.loop && !samples_.empty());
  running_ = false;
  if (callbacks_.on_finished) callbacks_.on_finished();
}

}  // namespace logitscope::telemetry
