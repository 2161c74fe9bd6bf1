// SPDX-License-Identifier: GPL-3.0-or-later
// bench: tokens/s and bandwidth of the CUDA backend, with the device's copy bandwidth measured in
// the same run. (check: check_tool.cpp.)
#include "logitscope/cuda_tools.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <set>

#include "backend/backend.h"
#include "backend/cuda/common.cuh"
#include "backend/cuda/cuda_backend.h"
#include "model/quantize.h"
#include "logitscope/model.h"
#include "logitscope/snapshot.h"

namespace logitscope::cuda_tools {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

bool timeline_available() { return cuda::cuda_timeline_available(); }

bool preview_enabled() { return cuda::cuda_preview_enabled(); }

namespace {

std::uint64_t used_device_bytes() {
  std::size_t f = 0, t = 0;
  if (cudaMemGetInfo(&f, &t) != cudaSuccess) return 0;
  return t - f;
}

double copy_bandwidth_gbps(std::size_t bytes = 1ull << 30) {
  void *a = nullptr, *b = nullptr;
  LS_CUDA(cudaMalloc(&a, bytes));
  LS_CUDA(cudaMalloc(&b, bytes));
  LS_CUDA(cudaMemset(a, 1, bytes));
  cudaEvent_t e0, e1;
  LS_CUDA(cudaEventCreate(&e0));
  LS_CUDA(cudaEventCreate(&e1));
  LS_CUDA(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));
  const int reps = 10;
  LS_CUDA(cudaEventRecord(e0));
  for (int i = 0; i < reps; ++i) LS_CUDA(cudaMemcpyAsync(i % 2 ? a : b, i % 2 ? b : a, bytes, cudaMemcpyDeviceToDevice));
  LS_CUDA(cudaEventRecord(e1));
  LS_CUDA(cudaEventSynchronize(e1));
  float ms = 0;
  LS_CUDA(cudaEventElapsedTime(&ms, e0, e1));
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaFree(a);
  cudaFree(b);
  return 2.0 * double(bytes) * reps / (ms * 1e-3) / 1e9;  // read + write
}

}  // namespace

double measure_copy_bandwidth_gbps() {
  try {
    return copy_bandwidth_gbps(256ull << 20);
  } catch (const Error&) {  // too little memory left for the two buffers: not measured
    cudaGetLastError();
    return 0.0;
  }
}

BenchReport run_bench(const BenchOptions& o) {
  BenchReport rep;
  rep.copy_gbps = copy_bandwidth_gbps();
  const int max_prefill = o.prefill_lengths.empty() ? 0 : *std::max_element(o.prefill_lengths.begin(), o.prefill_lengths.end());
  // The history, the warm-up steps (4), the timed, profiled and timeline tokens, and a margin (which
  // also covers the timeline's warm-up replays).
  const std::int64_t max_context =
      std::max<std::int64_t>(o.context + 4 + o.decode_tokens + std::max(0, o.profile_tokens) +
                                 std::max(0, o.timeline_tokens) + 8, max_prefill);
  std::unique_ptr<Model> model;
  std::unique_ptr<Backend> own;
  ModelConfig cfg;
  const auto t_load = Clock::now();
  if (!o.synthetic_config.empty()) {
    cfg = load_model_config(o.synthetic_config);
    if (o.format != WeightFormat::Bf16) cfg.quantization = quantization_on_load(cfg, o.format);
    own = make_cuda_backend_synthetic(cfg, o.seed, max_context);
  } else {
    LoadOptions lo;
    lo.snapshot.model = o.model;
    lo.quantize = o.format;
    lo.backend = BackendKind::Cuda;
    lo.max_context = max_context;
    lo.load_tokenizer = false;
    model = Model::load(lo);
    cfg = model->config();
  }
  rep.load_s = ms_since(t_load) / 1e3;
  Backend& be = own ? *own : model->backend();
  cuda::cuda_backend_set_graphs(be, o.graphs);
  const auto stats = cuda::cuda_backend_stats(be);
  rep.device = stats.device_name;
  rep.weight_format = stats.weight_format;
  rep.weight_bytes = stats.weight_bytes;
  rep.workspace_bytes = stats.workspace_bytes;
  auto state = be.create_state(max_context);
  rep.peak_device_bytes = used_device_bytes();
  const std::int64_t V = cfg.vocab_size;
  auto tokens = [&](std::int64_t n, std::uint64_t salt) {
    std::vector<std::int32_t> v(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) v[std::size_t(i)] = std::int32_t(3 + (std::uint64_t(i) * 2654435761u + salt * 97) % std::uint64_t(V - 3));
    return v;
  };
  validate(o.interventions, cfg);
  ForwardOptions fo;
  fo.capture_routing = o.inspect;
  fo.interventions = o.interventions.empty() ? nullptr : &o.interventions;
  ChoiceRequest cr;
  cr.sampling.greedy = true;
  cr.report_top_k = o.inspect ? 20 : 0;

  // Prefill: a warm-up run first (cuBLAS picks its kernels), then the timed one.
  for (int L : o.prefill_lengths) {
    const auto p = tokens(L, 7);
    be.reset(*state);
    be.forward(*state, p, fo);
    be.reset(*state);
    const auto t0 = Clock::now();
    be.forward(*state, p, fo);
    rep.prefill_tok_s.push_back({L, L / (ms_since(t0) / 1e3)});
    rep.peak_device_bytes = std::max(rep.peak_device_bytes, used_device_bytes());
  }
  if (o.profile_tokens > 0 && max_prefill > 0) {
    // Per-stage prompt times: events around every launch of one prompt (a warm run came before).
    const auto p = tokens(max_prefill, 7);
    be.reset(*state);
    cuda::cuda_backend_set_profile(be, true);
    be.forward(*state, p, fo);
    const auto rows = cuda::cuda_backend_profile(be);
    cuda::cuda_backend_set_profile(be, false);
    rep.prefill_profiled_tokens = max_prefill;
    for (const auto& r : rows) {
      rep.prefill_kernels.push_back({r.name, r.calls, r.ms * 1e3, r.bytes});
      rep.prefill_profiled_ms += r.ms;
    }
  }
  {
    // Median of 5: one prompt of ~20 ms moved by +-40% between single measurements (H100, v4).
    const auto p = tokens(o.ttft_prompt, 3);
    std::vector<double> ttft;
    for (int i = 0; i < 5; ++i) {
      be.reset(*state);
      const auto t0 = Clock::now();
      be.forward(*state, p, fo);
      be.choose(*state, cr);
      if (o.inspect) be.routing(*state);
      ttft.push_back(ms_since(t0));
    }
    std::sort(ttft.begin(), ttft.end());
    rep.ttft_ms = ttft[ttft.size() / 2];
  }
  // Decode at `context` tokens of history.
  be.reset(*state);
  be.forward(*state, tokens(o.context, 11), fo);
  std::vector<double> times;
  std::int32_t next = be.choose(*state, cr).id;
  for (int i = 0; i < o.decode_tokens + 4; ++i) {
    const auto t0 = Clock::now();
    const std::int32_t one[1] = {next};
    be.forward(*state, std::span<const std::int32_t>(one, 1), fo);
    next = be.choose(*state, cr).id;
    if (o.inspect) be.routing(*state);
    if (i >= 4) times.push_back(ms_since(t0));  // the first steps warm caches and clocks
  }
  std::sort(times.begin(), times.end());
  rep.decode_ms = times[times.size() / 2];
  rep.decode_tok_s = 1e3 / rep.decode_ms;
  rep.bytes_per_token = stats.decode_weight_bytes + stats.state_rw_bytes + stats.kv_bytes_per_position * std::uint64_t(o.context);
  rep.achieved_gbps = double(rep.bytes_per_token) / (rep.decode_ms * 1e-3) / 1e9;
  rep.floor_ms = double(rep.bytes_per_token) / (rep.copy_gbps * 1e9) * 1e3;
  rep.floor_fraction = rep.floor_ms / rep.decode_ms;
  rep.peak_device_bytes = std::max(rep.peak_device_bytes, used_device_bytes());
  // n more decode steps (forward + greedy choose), for the per-stage tables below.
  auto decode_more = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const std::int32_t one[1] = {next};
      be.forward(*state, std::span<const std::int32_t>(one, 1), fo);
      next = be.choose(*state, cr).id;
    }
  };
  // Rows summed over the timed tokens -> per token; returns their sum in ms.
  auto per_token = [](const std::vector<cuda::KernelProfileRow>& rows, std::vector<KernelRow>& out) {
    double total_ms = 0.0;
    for (const auto& r : rows) {
      const double n = double(std::max(1, r.tokens));
      out.push_back({r.name, int(r.calls / n), r.ms * 1e3 / n, std::uint64_t(double(r.bytes) / n)});
      total_ms += r.ms / n;
    }
    return total_ms;
  };
  if (o.profile_tokens > 0) {
    // Per-stage times: events around every launch, no graph (so each row includes its launch gap).
    cuda::cuda_backend_set_profile(be, true);
    decode_more(o.profile_tokens);
    const auto rows = cuda::cuda_backend_profile(be);
    cuda::cuda_backend_set_profile(be, false);
    rep.profiled_ms = per_token(rows, rep.kernels);
  }
  if (o.timeline_tokens > 0) {
    // Per-stage times inside the graph: the kernels stamp their start (a timeline build); the
    // first replay after the capture warms up and is not counted.
    cuda::cuda_backend_set_timeline(be, true);
    decode_more(o.timeline_tokens + 1);
    const auto rows = cuda::cuda_backend_timeline(be);
    cuda::cuda_backend_set_timeline(be, false);
    rep.timeline_ms = per_token(rows, rep.timeline);
  }
  return rep;
}

}  // namespace logitscope::cuda_tools
