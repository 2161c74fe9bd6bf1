// SPDX-License-Identifier: GPL-3.0-or-later
// The tegrastats child process. posix_spawn rather than fork: the GUI process has many threads and
// fork+exec from one of them is only safe with async-signal-safe code in between.
#include "logitscope/telemetry/tegrastats_source.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "logitscope/telemetry/nvml_source.h"
#include "logitscope/telemetry/proc_source.h"
#include "logitscope/telemetry/tegrastats_parser.h"

extern char** environ;

namespace logitscope::telemetry {

namespace {

bool is_executable(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + std::to_string(WTERMSIG(status));
  return "stopped";
}

}  // namespace

std::optional<std::filesystem::path> find_tegrastats() {
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest(path);
    while (true) {
      auto colon = rest.find(':');
      std::string_view dir = rest.substr(0, colon);
      if (!dir.empty()) {
        std::filesystem::path candidate = std::filesystem::path(std::string(dir)) / "tegrastats";
        if (is_executable(candidate)) return candidate;
      }
      if (colon == std::string_view::npos) break;
      rest = rest.substr(colon + 1);
    }
  }
  if (is_executable("/usr/bin/tegrastats")) return std::filesystem::path("/usr/bin/tegrastats");
  return std::nullopt;
}

// Fills what tegrastats leaves out: the page cache (the figure behind "memory stays held after
// unloading") and, on Thor, the GPU load that only NVML knows.
struct TegrastatsSource::Enricher {
  bool page_cache = false;
  std::unique_ptr<NvmlLibrary> nvml;
  void apply(Sample& s) const {
    if (page_cache && s.ram) {
      if (auto info = read_meminfo("/proc/meminfo")) s.ram->cached_mb = info->cached_mb;
    }
    if (nvml && (!s.gpu || !s.gpu->load_pct)) {
      if (auto r = nvml->read(0)) {
        if (!s.gpu) s.gpu = GpuInfo{};
        s.gpu->load_pct = r->gpu_util_pct;
        s.device = GpuDeviceInfo{r->index, r->name, r->mem_used_mb, r->mem_total_mb};
      }
    }
  }
};

TegrastatsSource::TegrastatsSource(TegrastatsOptions options) : options_(std::move(options)) {
  if (options_.program.empty()) {
    auto found = find_tegrastats();
    if (!found) throw TelemetryError("tegrastats was not found on PATH or in /usr/bin (it ships with Jetson Linux)");
    options_.program = *found;
  } else if (!is_executable(options_.program)) {
    throw TelemetryError("tegrastats program " + options_.program.string() + " is not an executable file");
  }
  enricher_ = std::make_unique<Enricher>();
  enricher_->page_cache = options_.add_page_cache;
  if (options_.add_nvml_gpu_load) {
    enricher_->nvml = NvmlLibrary::load();
    if (enricher_->nvml && enricher_->nvml->device_count() == 0) enricher_->nvml.reset();
  }
}

TegrastatsSource::~TegrastatsSource() { stop(); }

void TegrastatsSource::start(SourceCallbacks callbacks) {
  stop();
  callbacks_ = std::move(callbacks);
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0)
    throw TelemetryError(std::string("cannot create a pipe: ") + std::strerror(errno));
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = false;
  }
  t0_ = std::chrono::steady_clock::now();
  running_ = true;
  thread_ = std::thread([this] { loop(); });
}

void TegrastatsSource::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  wake_.notify_all();
  if (wake_pipe_[1] >= 0) {
    char byte = 1;
    [[maybe_unused]] auto n = ::write(wake_pipe_[1], &byte, 1);
  }
  if (thread_.joinable()) thread_.join();
  for (int& fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  running_ = false;
}

bool TegrastatsSource::wait_for_stop(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return wake_.wait_for(lock, delay, [this] { return stop_requested_; });
}

int TegrastatsSource::spawn(int& read_fd) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return -1;

  std::vector<std::string> args;
  if (options_.use_sudo) args = {"sudo", "-n"};
  args.push_back(options_.program.string());
  args.push_back("--interval");
  args.push_back(std::to_string(options_.interval.count()));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // tegrastats has never been seen localised, but C numbers cost nothing to ask for.
  std::vector<std::string> env_storage;
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "LC_ALL=", 7) != 0) env_storage.emplace_back(*e);
  env_storage.emplace_back("LC_ALL=C");
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  // The child gets default signal handling even if the application ignores SIGTERM/SIGPIPE.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  pid_t pid = 0;
  int rc = options_.use_sudo ? posix_spawnp(&pid, "sudo", &actions, &attr, argv.data(), envp.data())
                             : posix_spawn(&pid, options_.program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    errno = rc;
    return -1;
  }
  read_fd = out[0];
  return pid;
}

void TegrastatsSource::terminate_child(int pid) {
  // SIGTERM to our own child only; `tegrastats --stop` would stop every instance on the system.
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {  // up to 1 s
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return;
    ::usleep(10000);
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

void TegrastatsSource::deliver(std::string_view line) {
  auto sample = parse_tegrastats_line(line);
  if (!sample) return;
  sample->time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  if (enricher_) enricher_->apply(*sample);
  if (callbacks_.on_sample) callbacks_.on_sample(std::move(*sample));
}

void TegrastatsSource::loop() {
  auto delay = options_.restart_delay;
  bool first = true;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stop_requested_) break;
    }
    if (!first) {
      if (callbacks_.on_status)
        callbacks_.on_status("restarting tegrastats in " + std::to_string(delay.count()) + " ms");
      if (wait_for_stop(delay)) break;
      delay = std::min(delay * 2, options_.max_restart_delay);
      ++restarts_;
    }
    first = false;

    int fd = -1;
    int pid = spawn(fd);
    if (pid <= 0) {
      if (callbacks_.on_status)
        callbacks_.on_status("cannot start " + options_.program.string() + ": " + std::strerror(errno));
      continue;
    }
    child_pid_ = pid;
    auto started = std::chrono::steady_clock::now();
    std::string buffer;
    bool stopping = false;
    char chunk[4096];
    while (true) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
      int n = ::poll(fds, 2, 1000);
      if (n < 0 && errno != EINTR) break;
      if (fds[1].revents) {
        stopping = true;
        break;
      }
      {
        std::lock_guard lock(mutex_);
        if (stop_requested_) {
          stopping = true;
          break;
        }
      }
      if (n <= 0 || !(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = ::read(fd, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;  // EOF: the child closed stdout (it died or exited)
      buffer.append(chunk, static_cast<std::size_t>(got));
      std::size_t start = 0;
      for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1)
        deliver(std::string_view(buffer).substr(start, nl - start));
      buffer.erase(0, start);
      if (buffer.size() > (1u << 20)) buffer.clear();  // no newline in 1 MiB: not tegrastats
    }
    ::close(fd);
    if (stopping) {
      terminate_child(pid);
      child_pid_ = 0;
      break;
    }
    // The child went away on its own: collect it and report why.
    int status = 0;
    std::string why = "stopped";
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        why = describe_status(status);
        break;
      }
      ::usleep(10000);
      if (i == 99) {
        terminate_child(pid);
        why = "closed its output";
      }
    }
    child_pid_ = 0;
    if (!buffer.empty()) deliver(buffer);  // a last line without its newline
    if (callbacks_.on_status) callbacks_.on_status("tegrastats " + why);
    // A child that ran for a while was healthy: start the back-off from the beginning again.
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(30)) delay = options_.restart_delay;
  }
  running_ = false;
}

}  // namespace logitscope::telemetry
