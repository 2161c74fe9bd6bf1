// SPDX-License-Identifier: GPL-3.0-or-later
// Replays a tegrastats log (a `tegrastats --logfile` capture or a copied terminal) for demos,
// tests and post-mortems. Lines that are not tegrastats output (`date` banners) are skipped.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "logitscope/telemetry/source.h"

namespace logitscope::telemetry {

struct ReplayOptions {
  std::filesystem::path file;
  // Fixed pace. Unset: the pace of the file's own timestamps (lines sharing a second are spread
  // over it), or one second per line when the log has none.
  std::optional<std::chrono::milliseconds> interval;
  bool as_fast_as_possible = false;  // no waiting at all (tests, CLI)
  bool loop = false;                 // start over at the end (demos)
  // Gaps longer than this (a log stitched from several captures) are shortened to it.
  std::chrono::milliseconds max_gap{5000};
};

// Seconds since an arbitrary epoch for "MM-DD-YYYY HH:MM:SS"; nullopt when malformed. Only
// differences are meaningful (the printed time is local and has no zone).
std::optional<double> tegrastats_timestamp_seconds(std::string_view timestamp);

class ReplaySource : public TelemetrySource {
 public:
  // Reads the whole file; throws TelemetryError naming it when it cannot be read.
  explicit ReplaySource(ReplayOptions options);
  ~ReplaySource() override;
  std::string name() const override { return "replay"; }
  void start(SourceCallbacks callbacks) override;
  void stop() override;
  bool running() const override { return running_; }

  // The parsed samples with their replay times (time_s), without starting a thread.
  const std::vector<Sample>& samples() const { return samples_; }

 private:
  void loop();
  ReplayOptions options_;
  std::vector<Sample> samples_;
  std::vector<double> delays_s_;  // wait before each sample
  SourceCallbacks callbacks_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_requested_ = false;
  std::atomic<bool> running_{false};
};

}  // namespace logitscope::telemetry
