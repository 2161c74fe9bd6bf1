// SPDX-License-Identifier: GPL-3.0-or-later
// `logitscope-cli telemetry`: parse a tegrastats log, or stream live samples (tegrastats, NVML,
// /proc). With --json, one JSON object per line; the fields follow the tegrastats reference's
// expected.json (see logitscope/telemetry/json.h).
#include <csignal>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>

#include "args.h"
#include "command.h"
#include "logitscope/telemetry/json.h"
#include "logitscope/telemetry/replay_source.h"
#include "logitscope/telemetry/source.h"
#include "logitscope/telemetry/tegrastats_parser.h"

namespace logitscope::cli {
namespace {

namespace tel = logitscope::telemetry;

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_sigint(int) { g_interrupted = 1; }

std::string fmt(const std::optional<double>& v, const char* unit, int decimals = 0) {
  if (!v) return "n/a";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f%s", decimals, *v, unit);
  return text;
}

// One human-readable line per sample for a terminal.
std::string summary(const tel::Sample& s) {
  std::string out = s.timestamp ? *s.timestamp + " " : "";
  if (s.ram) out += "RAM " + fmt(s.ram->used_mb, "") + "/" + fmt(s.ram->total_mb, "MB");
  if (s.ram && s.ram->cached_mb) out += " (cache " + fmt(s.ram->cached_mb, "MB") + ")";
  if (s.cpu) out += "  CPU " + fmt(s.cpu->mean_load_pct(), "%") + " of " + std::to_string(s.cpu->online_count()) + " cores";
  if (s.gpu) out += "  GPU " + fmt(s.gpu->load_pct, "%") + " @" + fmt(s.gpu->max_freq_mhz(), "MHz");
  if (s.device && s.device->mem_total_mb)
    out += "  VRAM " + fmt(s.device->mem_used_mb, "") + "/" + fmt(s.device->mem_total_mb, "MB");
  for (const auto& r : s.rails) out += "  " + r.name + " " + fmt(r.cur_mw, "mW");
  for (const auto& t : s.temps)
    if (!t.offline()) out += "  " + t.name + " " + fmt(t.celsius, "C", 1);
  return out;
}

void print(const tel::Sample& s, bool as_json, const tel::JsonOptions& options) {
  if (as_json) {
    // Unknown tokens are raw bytes from the log: replace invalid UTF-8 instead of failing.
    std::cout << tel::to_json(s, options).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << summary(s) << "\n";
  }
  std::cout.flush();
}

int run_log(const std::string& file, const Args& args, bool as_json, tel::JsonOptions options) {
  if (!args.has("realtime")) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw tel::TelemetryError("cannot read the tegrastats log " + file);
    for (std::string line; std::getline(in, line);) {
      if (auto s = tel::parse_tegrastats_line(line)) print(*s, as_json, options);
    }
    return 0;
  }
  // --realtime: replay at the file's own pace (or --interval-ms), as the GUI does.
  tel::ReplayOptions replay_options;
  replay_options.file = file;
  if (args.has("interval-ms")) replay_options.interval = std::chrono::milliseconds(args.get_int("interval-ms", 1000));
  tel::ReplaySource replay(replay_options);
  options.live = true;
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  replay.start({[&](tel::Sample s) {
                  std::lock_guard lock(mutex);
                  print(s, as_json, options);
                },
                {},
                [&] {
                  std::lock_guard lock(mutex);
                  done = true;
                  cv.notify_all();
                }});
  std::unique_lock lock(mutex);
  while (!done && !g_interrupted) cv.wait_for(lock, std::chrono::milliseconds(100));
  lock.unlock();
  replay.stop();
  return 0;
}

int run_live(const Args& args, bool as_json, tel::JsonOptions options) {
  auto kind = tel::parse_source_kind(args.get_or("source", "auto"));
  auto interval = args.get_int("interval-ms", 1000);
  if (interval < 10 || interval > 3600000) throw tel::TelemetryError("--interval-ms must be between 10 and 3600000");
  std::int64_t count = args.get_int("count", 0);  // 0: until interrupted
  auto source = tel::make_source(kind, tel::SourceOptions{std::chrono::milliseconds(interval)});
  options.live = true;

  // The source thread queues; this thread prints, so output never interleaves.
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<tel::Sample> queue;
  source->start({[&](tel::Sample s) {
                   std::lock_guard lock(mutex);
                   queue.push_back(std::move(s));
                   cv.notify_all();
                 },
                 [&](const std::string& message) { std::cerr << "telemetry: " << message << "\n"; },
                 {}});
  std::int64_t printed = 0;
  while (!g_interrupted && (count == 0 || printed < count)) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return !queue.empty(); });
    while (!queue.empty() && (count == 0 || printed < count)) {
      tel::Sample s = std::move(queue.front());
      queue.pop_front();
      print(s, as_json, options);
      ++printed;
    }
  }
  source->stop();
  return g_interrupted ? 130 : 0;
}

int run(const std::vector<std::string>& words) {
  Args args(words, {"tegrastats-log", "source", "interval-ms", "count"}, {"json", "extras", "realtime"});
  bool as_json = args.has("json");
  tel::JsonOptions options;
  options.extras = args.has("extras");
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  if (auto file = args.get("tegrastats-log")) {
    if (args.has("source")) throw tel::TelemetryError("--tegrastats-log and --source exclude each other");
    return run_log(*file, args, as_json, options);
  }
  return run_live(args, as_json, options);
}

const CommandRegistration registration{Command{
    "telemetry",
    "memory, load, clocks, power and temperatures (tegrastats, NVML, /proc)",
    "usage: logitscope-cli telemetry --tegrastats-log FILE [--json] [--extras] [--realtime [--interval-ms N]]\n"
    "       logitscope-cli telemetry [--source auto|tegrastats|nvml|proc] [--interval-ms N] [--count N] [--json]\n"
    "\n"
    "  --tegrastats-log FILE  parse a tegrastats log: one sample per tegrastats line (other lines skipped)\n"
    "  --realtime             replay the log at its own pace instead of as fast as possible\n"
    "  --source KIND          live source; auto = tegrastats if installed, else NVML, else /proc\n"
    "  --interval-ms N        sampling interval (default 1000)\n"
    "  --count N              stop after N samples (default: until Ctrl-C)\n"
    "  --json                 one JSON object per line (timestamp, ram, swap, cpu, gpu, temps_c,\n"
    "                         power_mw, ...; null where the source does not report a value)\n"
    "  --extras               add the tokens the parser did not recognise (\"extras\")\n",
    run}};

}  // namespace
}  // namespace logitscope::cli
