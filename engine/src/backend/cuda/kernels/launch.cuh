// SPDX-License-Identifier: GPL-3.0-or-later
// Kernel launches with programmatic dependent launch (PDL, compute capability 9.0 and later).
//
// Why: at batch 1 a decoded token is ~330 kernels in a row, most of them a few microseconds long.
// With PDL the next kernel's blocks are scheduled while the current one still runs and wait on the
// device (griddepcontrol.wait) instead of being launched after it, which hides most of each launch
// gap (H100, v3: 3.63 -> 3.51 ms per token at the 30B-A3B shape). Where PDL is not
// available (cards before 9.0, LOGITSCOPE_CUDA_PDL=0) the same launches are ordinary stream-ordered
// launches and the device-side calls below are no-ops.
//
// The contract every kernel launched through launch_kernel() keeps: pdl_wait() before it touches any
// memory (pdl_enter() as its first statement).
// Measured on an H100 (v3), not assumed: issuing the matrix-vector kernels' first weight
// loads before the wait (the weights are constant) gave wrong, run-to-run different decode logits
// (cause not isolated; suspected: the activations' read-only non-coherent loads of `const
// __restrict__` data are not ordered behind the wait), and saved nothing measurable (3.499 vs
// 3.513 ms). v5 (H200), with the activation pointer passed through an empty asm after the
// wait: correct (check PASS, bit-repeatable) but no faster (2.472 / 2.495 ms per token against
// 2.479 / 2.497 with the same binary loading after the wait); the kernel timeline showed the
// products faster and the small kernels before them slower (their loads queue behind the early
// weight traffic). Not kept.
// When the next kernel may start: no kernel triggers it early (griddepcontrol.launch_dependents);
// it is scheduled as this one's blocks exit, still before this one's completion is processed.
// Measured on an H200 (v5, one call, two rounds, against the same code triggering right after
// the wait as v3-v4 did): prefill 2048 tokens 22.9k -> 24.8k tokens/s, 128 tokens 7.17k -> 7.39k,
// time to first token 12.05-12.10 -> 11.89-12.01 ms; decode 2.166 / 2.169 -> 2.199 / 2.184 ms per
// token at 1k, 2.289 -> 2.296 at 32k. Early-triggered blocks of the next kernel sit on warp slots and
// shared memory while the current (multi-wave) kernel still needs them; decode's one-wave products
// lose the ~1% their early start was worth. Triggering early only from grids of <= 32 blocks
// measured the same as never (another call); from <= 160 blocks, prefill 23.1k.
// Checked by: tests/gpu (logitscope-cli check runs decode with graphs and PDL, plain launches, and
// compares them bit for bit).
#pragma once

#include <cuda_runtime.h>

#include <utility>

#include "backend/cuda/common.cuh"

namespace logitscope::cuda {

// Wait until the kernels this one depends on have completed and their writes are visible.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// Kernel timeline (builds configured with LOGITSCOPE_CUDA_TIMELINE=ON; bench --timeline): every
// kernel's first block stamps the device clock once it has passed pdl_wait(), i.e. when its
// predecessor has finished, so the gap from one stamp to the next is that kernel's share of a graph
// replay, boundary included. Stamps land in launch order (one stream). Ordinary builds compile none
// of this: the check would cost the one-block kernels a global load each.
// Host side (launch.cpp): the launches are counted so the backend can name each stamp.
using TimelineSinkSetter = void (*)(unsigned long long* stamps, unsigned* count, unsigned capacity);
int register_timeline_sink(TimelineSinkSetter setter);
// Points every translation unit's sink at `stamps` [capacity] and `count` (null: stamping off).
void set_timeline_sink(unsigned long long* stamps, unsigned* count, unsigned capacity);
// Kernel launches issued by this thread through launch_kernel (timeline builds; 0 otherwise).
unsigned long long launches_issued();
void note_launch();
bool timeline_built();

#if defined(LOGITSCOPE_CUDA_TIMELINE) && defined(__CUDACC__)
namespace {
// One copy per translation unit (the engine is built without relocatable device code), each
// registered with launch.cpp by a static initialiser so set_timeline_sink() reaches all of them.
struct TimelineSink {
  unsigned long long* stamps;  // [capacity] device clock (ns) of each kernel's start
  unsigned* count;             // stamps taken
  unsigned capacity;
};
__device__ TimelineSink g_timeline_sink;
void set_this_units_timeline_sink(unsigned long long* stamps, unsigned* count, unsigned capacity) {
  const TimelineSink s{stamps, count, capacity};
  check_cuda(cudaMemcpyToSymbol(g_timeline_sink, &s, sizeof s), "cudaMemcpyToSymbol (timeline)", __FILE__, __LINE__);
}
[[maybe_unused]] const int g_timeline_registered = register_timeline_sink(&set_this_units_timeline_sink);
}  // namespace

__device__ __forceinline__ void timeline_stamp() {
  if ((blockIdx.x | blockIdx.y | blockIdx.z | threadIdx.x | threadIdx.y | threadIdx.z) != 0) return;
  const TimelineSink s = g_timeline_sink;
  if (!s.count) return;
  unsigned long long now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  const unsigned i = atomicAdd(s.count, 1u);
  if (i < s.capacity) s.stamps[i] = now;
}
#else
__device__ __forceinline__ void timeline_stamp() {}
#endif

// The start of every kernel: wait for the kernels it depends on (and stamp the timeline).
__device__ __forceinline__ void pdl_enter() {
  pdl_wait();
  timeline_stamp();
}

// Whether launches carry the PDL attribute: the current device is 9.0+ and LOGITSCOPE_CUDA_PDL is
// not "0". Read once per device (launch.cpp).
bool pdl_enabled();

// Whether the current device runs the bf16 tensor-core (wmma) prompt kernels: compute capability 8.0+
// (experts_grouped.cu, attention_prompt.cu). Below that the prompt paths fall back to cuBLAS per
// expert and the CUDA-core attention kernel.
bool tensor_core_kernels_supported();

// Lets `kernel` use `bytes` of dynamic shared memory (past 48 KB a kernel must opt in, per device,
// before its first launch and outside graph capture: the backend's constructor calls configure_*()).
template <typename... Params>
void allow_shared_memory(void (*kernel)(Params...), int bytes) {
  check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes),
             "cudaFuncSetAttribute (dynamic shared memory)", __FILE__, __LINE__);
}

template <typename... Params, typename... Args>
void launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream,
                   Args&&... args) {
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  cudaLaunchAttribute attribute[1]{};
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = pdl_enabled() ? 1 : 0;
#ifdef LOGITSCOPE_CUDA_TIMELINE
  note_launch();
#endif
  check_cuda(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...), "kernel launch", __FILE__, __LINE__);
}

}  // namespace logitscope::cuda
