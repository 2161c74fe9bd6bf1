// SPDX-License-Identifier: GPL-3.0-or-later
// The CUDA backend's own entry points beside backend.h's make_cuda_backend: a synthetic model (random
// bf16 weights generated on the GPU from a config, for benchmarks without a download) and the
// numbers `bench` reports.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace logitscope::cuda {

struct CudaBackendStats {
  std::uint64_t weight_bytes = 0;           // device arena of weights
  std::uint64_t workspace_bytes = 0;        // activations of one prompt chunk
  std::uint64_t decode_weight_bytes = 0;    // weights one decoded token reads (active experts only)
  std::uint64_t state_rw_bytes = 0;         // Mamba conv + SSM state read + written per token
  std::uint64_t kv_bytes_per_position = 0;  // K + V of all attention layers for one position
  std::string device_name;
  std::string weight_format;                // "BF16", "NVFP4 + BF16", ... (how the matrices are stored)
  std::string memory_plan;                  // "needs 19.28 GiB (weights 18.00 GiB) of 78.61 GiB free on ..."
};

// One decode stage in profile mode: events around each launch, summed over the profiled tokens.
struct KernelProfileRow {
  std::string name;
  int calls = 0;              // launches over the profiled tokens
  double ms = 0.0;            // summed event time (kernel + the gap before the next event)
  std::uint64_t bytes = 0;    // summed byte count (weights, state, activations read + written)
  int tokens = 0;             // tokens profiled
};

// Statistics of a backend made by make_cuda_backend / make_cuda_backend_synthetic (throws otherwise).
CudaBackendStats cuda_backend_stats(const Backend& backend);
// Captures the decode step (one token, routing into the state) as a CUDA graph when `on`.
void cuda_backend_set_graphs(Backend& backend, bool on);
// Profile mode: decode steps run without a graph, each stage between two events. Turning it on
// clears the rows; cuda_backend_profile returns them (sorted by time, largest first).
void cuda_backend_set_profile(Backend& backend, bool on);
std::vector<KernelProfileRow> cuda_backend_profile(Backend& backend);
// Timeline mode, in builds configured with LOGITSCOPE_CUDA_TIMELINE=ON (cuda_timeline_available()):
// decode steps replay a CUDA graph whose kernels stamp the device clock as they start; each row's
// ms is that stage's share of the replays (its first kernel's start to the next stage's), summed
// over the timed tokens (the first replay after a capture is not counted). The shared expert runs
// on the main stream in this graph. set_timeline(on) throws in other builds; turning it on clears
// the rows.
bool cuda_timeline_available();
// LOGITSCOPE_CUDA_PREVIEW=1: interventions and the logit lens, not yet checked on a GPU (cuda_tools.h).
bool cuda_preview_enabled();
void cuda_backend_set_timeline(Backend& backend, bool on);
std::vector<KernelProfileRow> cuda_backend_timeline(Backend& backend);
// Programmatic dependent launch (kernels/launch.cuh) for every later launch in this process; on by
// default on compute capability 9.0+ unless LOGITSCOPE_CUDA_PDL=0. A graph captured before keeps
// the launches it was captured with.
void cuda_set_programmatic_launch(bool on);

}  // namespace logitscope::cuda

namespace logitscope {
// Random (never zero) bf16 weights generated on the GPU from `config`; same layout and kernels as a
// loaded checkpoint. Deterministic for a seed.
namespace cuda {
// What in `config` a CUDA kernel cannot take ("head_dim 320 (at most 256); ..."), or "". The backend
// refuses such a model at creation, before it allocates anything.
std::string cuda_shape_problem(const ModelConfig& config);
}  // namespace cuda

std::unique_ptr<Backend> make_cuda_backend_synthetic(const ModelConfig& config, std::uint64_t seed,
                                                     std::int64_t max_context);
}  // namespace logitscope
