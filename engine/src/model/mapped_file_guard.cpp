// SPDX-License-Identifier: GPL-3.0-or-later
#include "model/mapped_file_guard.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "logitscope/errors.h"

namespace logitscope {

namespace {

// Slots are read by the signal handler, so they are fixed-size and lock-free: `begin` is published
// last (release) when registering and cleared first when unregistering.
struct Slot {
  std::atomic<std::uintptr_t> begin{0};
  std::atomic<std::uintptr_t> end{0};
  std::atomic<bool> faulted{false};
  char name[256] = {};
};

constexpr std::size_t kSlots = 4096;
Slot g_slots[kSlots];
std::mutex g_register_mutex;                 // registrations only; never taken in the handler
std::atomic<std::size_t> g_faults{0};        // absorbed faults, ever
std::atomic<std::size_t> g_faulted_live{0};  // registered slots whose `faulted` is set
struct sigaction g_previous {};
std::once_flag g_install_once;

void pass_on(int sig, siginfo_t* info, void* context) {
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) {
      g_previous.sa_sigaction(sig, info, context);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN && g_previous.sa_handler) {
    g_previous.sa_handler(sig);
    return;
  }
  // Default action: restore it and return; the faulting instruction runs again and the kernel
  // delivers SIGBUS with the default disposition (core dump), as if we had never been here.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGBUS, &dfl, nullptr);
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  const auto addr = reinterpret_cast<std::uintptr_t>(info ? info->si_addr : nullptr);
  for (Slot& slot : g_slots) {
    const std::uintptr_t begin = slot.begin.load(std::memory_order_acquire);
    if (begin == 0 || addr < begin) continue;
    const std::uintptr_t end = slot.end.load(std::memory_order_relaxed);
    if (addr >= end) continue;
    // Zero pages from the faulting page to the end of the mapping: the file ends before `addr`, so
    // every later page would fault as well.
    const std::uintptr_t page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    const std::uintptr_t from = addr & ~(page - 1);
    void* zero = mmap(reinterpret_cast<void*>(from), end - from, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (zero == MAP_FAILED) break;
    if (!slot.faulted.exchange(true)) g_faulted_live.fetch_add(1);
    g_faults.fetch_add(1);
    errno = saved_errno;
    return;
  }
  errno = saved_errno;
  pass_on(sig, info, context);
}

void install() {
  struct sigaction action {};
  action.sa_sigaction = on_sigbus;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  sigaction(SIGBUS, &action, &g_previous);
}

}  // namespace

void register_guarded_mapping(const void* base, std::size_t length, const std::string& file_name) {
  if (!base || length == 0) return;
  std::call_once(g_install_once, install);
  std::lock_guard lock(g_register_mutex);
  for (Slot& slot : g_slots) {
    if (slot.begin.load(std::memory_order_relaxed) != 0) continue;
    const std::size_t n = std::min(file_name.size(), sizeof(slot.name) - 1);
    std::memcpy(slot.name, file_name.data(), n);
    slot.name[n] = '\0';
    slot.faulted.store(false);
    slot.end.store(reinterpret_cast<std::uintptr_t>(base) + length, std::memory_order_relaxed);
    slot.begin.store(reinterpret_cast<std::uintptr_t>(base), std::memory_order_release);
    return;
  }
}

void unregister_guarded_mapping(const void* base) {
  if (!base) return;
  std::lock_guard lock(g_register_mutex);
  for (Slot& slot : g_slots) {
    if (slot.begin.load(std::memory_order_relaxed) != reinterpret_cast<std::uintptr_t>(base)) continue;
    slot.begin.store(0, std::memory_order_release);
    if (slot.faulted.exchange(false)) g_faulted_live.fetch_sub(1);
    return;
  }
}

void throw_if_mapping_faulted() {
  if (g_faulted_live.load(std::memory_order_acquire) == 0) return;
  std::string names;
  {
    std::lock_guard lock(g_register_mutex);
    for (const Slot& slot : g_slots) {
      if (slot.begin.load() == 0 || !slot.faulted.load()) continue;
      if (!names.empty()) names += ", ";
      names += slot.name;
    }
  }
  if (names.empty()) return;  // unregistered meanwhile
  throw Error("shard " + names +
              " was truncated or rewritten while in use (its memory mapping now reads past the end of the "
              "file); the loaded weights are no longer valid: reload the model once the download or copy has "
              "finished");
}

std::size_t guarded_mapping_fault_count() { return g_faults.load(); }

}  // namespace logitscope
