// SPDX-License-Identifier: GPL-3.0-or-later
// Whether kernel launches use programmatic dependent launch (kernels/launch.cuh says why and how),
// whether the tensor-core prompt kernels can run on the current device, and the kernel timeline's
// host side (which translation units can stamp, and how many launches this thread has issued).
#include <cuda_runtime.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {
namespace {
std::atomic<bool> g_allowed{true};
}  // namespace

void cuda_set_programmatic_launch(bool on) { g_allowed.store(on, std::memory_order_relaxed); }

bool pdl_enabled() {
  if (!g_allowed.load(std::memory_order_relaxed)) return false;
  // Per device: 0 = not yet asked, 1 = off, 2 = on.
  static std::array<std::atomic<int>, 64> known{};
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= int(known.size())) return false;
  int v = known[device].load(std::memory_order_relaxed);
  if (v == 0) {
    const char* env = std::getenv("LOGITSCOPE_CUDA_PDL");
    int major = 0;
    const bool capable = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
                         major >= 9;
    v = capable && !(env && std::strcmp(env, "0") == 0) ? 2 : 1;
    known[device].store(v, std::memory_order_relaxed);
  }
  return v == 2;
}

namespace {
std::mutex& sink_mutex() {
  static std::mutex m;
  return m;
}
std::vector<TimelineSinkSetter>& sink_setters() {
  static std::vector<TimelineSinkSetter> setters;
  return setters;
}
thread_local unsigned long long t_launches = 0;
}  // namespace

int register_timeline_sink(TimelineSinkSetter setter) {
  std::lock_guard lock(sink_mutex());
  sink_setters().push_back(setter);
  return int(sink_setters().size());
}

void set_timeline_sink(unsigned long long* stamps, unsigned* count, unsigned capacity) {
  std::lock_guard lock(sink_mutex());
  for (TimelineSinkSetter set : sink_setters()) set(stamps, count, capacity);
}

unsigned long long launches_issued() { return t_launches; }
void note_launch() { ++t_launches; }

bool timeline_built() {
#ifdef LOGITSCOPE_CUDA_TIMELINE
  return true;
#else
  return false;
#endif
}

bool tensor_core_kernels_supported() {
  int dev = 0, major = 0;
  if (cudaGetDevice(&dev) != cudaSuccess) return false;
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) return false;
  return major >= 8;
}

}  // namespace logitscope::cuda
