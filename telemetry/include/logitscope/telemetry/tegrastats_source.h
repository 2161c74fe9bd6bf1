// SPDX-License-Identifier: GPL-3.0-or-later
// Runs `tegrastats --interval N` and parses its stdout line by line on a thread of its own.
// Stopped with SIGTERM to our own child, never with `tegrastats --stop` (that stops every
// tegrastats on the system, jtop's included). Restarted with exponential back-off if it dies.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "logitscope/telemetry/source.h"

namespace logitscope::telemetry {

// Searches PATH first (a wrapper or test double put there wins), then /usr/bin/tegrastats.
std::optional<std::filesystem::path> find_tegrastats();

struct TegrastatsOptions {
  std::chrono::milliseconds interval{1000};
  std::filesystem::path program;  // empty: find_tegrastats()
  // Run through `sudo -n` (needs a NOPASSWD sudoers rule for the binary): without root the EMC
  // and GR3D clocks, engines and Thor's GR3D token are missing.
  bool use_sudo = false;
  std::chrono::milliseconds restart_delay{500};        // first back-off after the child died
  std::chrono::milliseconds max_restart_delay{10000};  // back-off doubles up to this
  bool add_page_cache = true;  // tegrastats has no page-cache figure: read it from /proc/meminfo
  bool add_nvml_gpu_load = true;  // Thor prints no GPU load: take it from NVML when it loads
};

class TegrastatsSource : public TelemetrySource {
 public:
  // Throws TelemetryError when no tegrastats binary can be found.
  explicit TegrastatsSource(TegrastatsOptions options = {});
  ~TegrastatsSource() override;
  std::string name() const override { return "tegrastats"; }
  void start(SourceCallbacks callbacks) override;
  void stop() override;
  bool running() const override { return running_; }

  const std::filesystem::path& program() const { return options_.program; }
  int restarts() const { return restarts_; }
  int child_pid() const { return child_pid_; }  // 0 when no child runs; for tests and diagnostics

 private:
  void loop();
  bool wait_for_stop(std::chrono::milliseconds delay);
  int spawn(int& read_fd);
  void terminate_child(int pid);
  void deliver(std::string_view line);

  TegrastatsOptions options_;
  SourceCallbacks callbacks_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_requested_ = false;
  int wake_pipe_[2] = {-1, -1};  // lets stop() interrupt the blocking poll() at once
  std::atomic<bool> running_{false};
  std::atomic<int> restarts_{0};
  std::atomic<int> child_pid_{0};
  std::chrono::steady_clock::time_point t0_;
  struct Enricher;
  std::unique_ptr<Enricher> enricher_;
};

}  // namespace logitscope::telemetry
