// SPDX-License-Identifier: GPL-3.0-or-later
// check: the CUDA backend against the fp32 CPU reference on the same tokens. bench: tokens/s and
// bandwidth of the CUDA backend, with the device's copy bandwidth measured in the same run.
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
#include "logitscope/model.h"
#include "logitscope/snapshot.h"

namespace logitscope::cuda_tools {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

CheckRow compare_row(std::int64_t pos, const float* cpu, const float* gpu, std::int64_t V) {
  CheckRow r;
  r.pos = pos;
  double num = 0.0, den = 0.0;
  std::int64_t a_cpu = 0, a_gpu = 0;
  for (std::int64_t i = 0; i < V; ++i) {
    const double d = double(gpu[i]) - cpu[i];
    r.max_abs = std::max(r.max_abs, std::abs(d));
    num += d * d;
    den += double(cpu[i]) * cpu[i];
    if (cpu[i] > cpu[a_cpu]) a_cpu = i;
    if (gpu[i] > gpu[a_gpu]) a_gpu = i;
  }
  r.rel = std::sqrt(num / std::max(den, 1e-30));
  r.top1 = a_cpu == a_gpu;
  double second = -INFINITY;
  for (std::int64_t i = 0; i < V; ++i)
    if (i != a_cpu) second = std::max(second, double(cpu[i]));
  r.cpu_margin = cpu[a_cpu] - second;
  if (!std::isfinite(r.rel)) r.rel = INFINITY;
  return r;
}

std::vector<std::int32_t> default_prompt(const std::string& model_dir, std::int64_t V) {
  std::ifstream f(std::filesystem::path(model_dir) / "golden.json");
  if (f) {
    try {
      auto j = nlohmann::json::parse(f);
      if (j.contains("prompt_ids")) return j["prompt_ids"].get<std::vector<std::int32_t>>();
    } catch (...) {
    }
  }
  std::vector<std::int32_t> p;
  for (int i = 0; i < 16; ++i) p.push_back(std::int32_t(3 + (std::int64_t(i) * 7919 + 13) % std::max<std::int64_t>(V - 3, 1)));
  return p;
}

void judge(const std::vector<CheckRow>& rows, const char* what, double tol, std::vector<std::string>& failures) {
  for (const auto& r : rows) {
    if (std::isnan(r.rel)) failures.push_back(std::string(what) + " position " + std::to_string(r.pos) + ": NaN logits");
    if (r.after_flip) continue;
    if (!(r.rel <= tol))
      failures.push_back(std::string(what) + " position " + std::to_string(r.pos) + ": relative error " +
                         std::to_string(r.rel) + " > tolerance " + std::to_string(tol));
    // A top-1 flip is acceptable only when the reference's top-2 margin is within the row's error.
    if (!r.top1 && r.cpu_margin > 2.0 * r.max_abs)
      failures.push_back(std::string(what) + " position " + std::to_string(r.pos) + ": top-1 differs with a margin of " +
                         std::to_string(r.cpu_margin));
  }
}

}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

bool timeline_available() { return cuda::cuda_timeline_available(); }

CheckReport run_check(const CheckOptions& o) {
  LoadOptions lo;
  lo.snapshot.model = o.model;
  lo.max_context = o.max_context;
  lo.load_tokenizer = false;
  lo.backend = BackendKind::Cpu;
  // One CPU thread: the reference's thread pool can hand a worker a stale chunk size between two
  // parallel_for calls (seen as run-to-run differences in session 2, see docs/cuda-notes.md); with
  // one thread parallel_for runs inline and the reference is exactly repeatable. Fixtures are tiny.
  lo.threads = o.cpu_threads;
  auto cpu_model = Model::load(lo);
  lo.threads = 0;
  lo.backend = BackendKind::Cuda;
  auto gpu_model = Model::load(lo);
  Backend& cpu = cpu_model->backend();
  Backend& gpu = gpu_model->backend();
  const std::int64_t V = cpu_model->config().vocab_size;
  CheckReport rep;
  rep.device = gpu.device_name();
  const auto prompt = o.prompt.empty() ? default_prompt(cpu_model->info().snapshot_dir.string(), V) : o.prompt;
  if (prompt.empty()) throw Error("check needs a non-empty prompt");

  // 1. One forward over the whole prompt (the cuBLAS / prompt path), every position's logits.
  {
    auto sc = cpu.create_state(o.max_context), sg = gpu.create_state(o.max_context);
    ForwardOptions fo;
    fo.all_logits = true;
    cpu.forward(*sc, prompt, fo);
    gpu.forward(*sg, prompt, fo);
    const auto lc = cpu.logits(*sc), lg = gpu.logits(*sg);
    if (lc.size() != lg.size() || lc.size() != prompt.size() * std::size_t(V))
      throw Error("all-logits sizes differ: cpu " + std::to_string(lc.size()) + ", cuda " + std::to_string(lg.size()));
    for (std::size_t t = 0; t < prompt.size(); ++t)
      rep.prefill.push_back(compare_row(std::int64_t(t), lc.data() + t * V, lg.data() + t * V, V));
  }
  // 2. Token by token (the decode path), logits and routing at every position; 3. then greedy.
  {
    auto sc = cpu.create_state(o.max_context), sg = gpu.create_state(o.max_context);
    ForwardOptions fo;
    std::int64_t first_flip = -1;
    auto step = [&](std::int32_t id, std::int64_t pos) {
      const std::int32_t one[1] = {id};
      cpu.forward(*sc, std::span<const std::int32_t>(one, 1), fo);
      gpu.forward(*sg, std::span<const std::int32_t>(one, 1), fo);
      const auto lc = cpu.logits(*sc), lg = gpu.logits(*sg);
      rep.decode.push_back(compare_row(pos, lc.data(), lg.data(), V));
      const auto rc = cpu.routing(*sc), rg = gpu.routing(*sg);
      for (std::size_t l = 0; l < std::min(rc.size(), rg.size()); ++l) {
        ++rep.routing_total;
        if (std::set<int>(rc[l].experts.begin(), rc[l].experts.end()) == std::set<int>(rg[l].experts.begin(), rg[l].experts.end()))
          ++rep.routing_agree;
        else
          ++rep.decode.back().routing_flips;
      }
      if (rep.decode.back().routing_flips > 0 && first_flip < 0) first_flip = pos;
      rep.decode.back().after_flip = first_flip >= 0;
    };
    std::int64_t pos = 0;
    for (auto id : prompt) step(id, pos++);
    ChoiceRequest cr;
    cr.sampling.greedy = true;
    cr.report_top_k = 20;
    for (int i = 0; i < o.greedy_tokens && pos < o.max_context; ++i) {
      const auto a = cpu.choose(*sc, cr), b = gpu.choose(*sg, cr);
      rep.greedy_cpu.push_back(a.id);
      rep.greedy_cuda.push_back(b.id);
      rep.max_entropy_diff = std::max(rep.max_entropy_diff, double(std::abs(a.entropy - b.entropy)));
      if (a.id == b.id) ++rep.greedy_agree;
      else if (a.top_k.size() > 1 && a.top_k[0].logit - a.top_k[1].logit > 2.0 * rep.decode.back().max_abs)
        rep.failures.push_back("greedy token " + std::to_string(i) + ": cpu " + std::to_string(a.id) + ", cuda " +
                               std::to_string(b.id) + " with a reference margin of " +
                               std::to_string(a.top_k[0].logit - a.top_k[1].logit));
      step(a.id, pos++);  // both continue with the reference's token, so later steps stay comparable
    }
  }
  // 4. Repeatability: token by token again, bit for bit (a moving result is a race).
  {
    struct Run {
      std::vector<float> logits;
      std::vector<int> experts;
    };
    auto feed = [&](Backend& be) {
      Run r;
      auto s = be.create_state(o.max_context);
      ForwardOptions fo;
      for (auto id : prompt) {
        const std::int32_t one[1] = {id};
        be.forward(*s, std::span<const std::int32_t>(one, 1), fo);
        const auto l = be.logits(*s);
        r.logits.insert(r.logits.end(), l.begin(), l.end());
        for (const auto& sl : be.routing(*s)) r.experts.insert(r.experts.end(), sl.experts.begin(), sl.experts.end());
      }
      return r;
    };
    auto diff = [](const Run& a, const Run& b, double& max_diff, int& routing_diffs) {
      max_diff = 0.0;
      routing_diffs = 0;
      for (std::size_t i = 0; i < std::min(a.logits.size(), b.logits.size()); ++i)
        max_diff = std::max(max_diff, double(std::abs(a.logits[i] - b.logits[i])));
      for (std::size_t i = 0; i < std::min(a.experts.size(), b.experts.size()); ++i) routing_diffs += a.experts[i] != b.experts[i];
      if (a.logits.size() != b.logits.size() || a.experts.size() != b.experts.size()) max_diff = INFINITY;
    };
    const Run g1 = feed(gpu), g2 = feed(gpu);
    // Plain launches, no programmatic dependent launch: the reference order of every kernel.
    cuda::cuda_backend_set_graphs(gpu, false);
    cuda::cuda_set_programmatic_launch(false);
    const Run g3 = feed(gpu);
    cuda::cuda_set_programmatic_launch(true);
    cuda::cuda_backend_set_graphs(gpu, true);
    const Run c1 = feed(cpu), c2 = feed(cpu);
    int unused = 0;
    diff(g1, g2, rep.gpu_repeat_max_diff, rep.gpu_repeat_routing_diffs);
    diff(g1, g3, rep.gpu_graph_vs_eager, unused);
    rep.gpu_repeat_routing_diffs += unused;
    diff(c1, c2, rep.cpu_repeat_max_diff, rep.cpu_repeat_routing_diffs);
    if (rep.gpu_repeat_max_diff != 0.0 || rep.gpu_graph_vs_eager != 0.0 || rep.gpu_repeat_routing_diffs != 0)
      rep.failures.push_back("CUDA decode is not repeatable: max |diff| " + std::to_string(rep.gpu_repeat_max_diff) +
                             " between runs, " + std::to_string(rep.gpu_graph_vs_eager) + " graph + PDL vs plain launches, " +
                             std::to_string(rep.gpu_repeat_routing_diffs) + " expert ids differ");
    if (rep.cpu_repeat_max_diff != 0.0 || rep.cpu_repeat_routing_diffs != 0)
      rep.failures.push_back("CPU reference is not repeatable: max |diff| " + std::to_string(rep.cpu_repeat_max_diff));
  }
  // A routing flip (near-tie experts ordered differently after bf16 rounding) changes that token's
  // output by design and, through the recurrent state and the KV cache, the rows after it: those
  // rows are reported, and judged by the routing criterion instead of the logit tolerance.
  std::int64_t first_flip = -1;
  for (const auto& r : rep.decode)
    if (r.routing_flips > 0) { first_flip = r.pos; break; }
  for (auto& r : rep.prefill) r.after_flip = first_flip >= 0 && r.pos >= first_flip;
  judge(rep.prefill, "prefill", o.tolerance, rep.failures);
  judge(rep.decode, "decode", o.tolerance, rep.failures);
  if (rep.routing_total > 0 && double(rep.routing_agree) < o.min_routing * rep.routing_total)
    rep.failures.push_back("routing: " + std::to_string(rep.routing_agree) + " of " + std::to_string(rep.routing_total) +
                           " expert sets agree, below " + std::to_string(o.min_routing));
  return rep;
}

namespace {

std::uint64_t used_device_bytes() {
  std::size_t f = 0, t = 0;
  if (cudaMemGetInfo(&f, &t) != cudaSuccess) return 0;
  return t - f;
}

double copy_bandwidth_gbps() {
  const std::size_t bytes = 1ull << 30;
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
    own = make_cuda_backend_synthetic(cfg, o.seed, max_context);
  } else {
    LoadOptions lo;
    lo.snapshot.model = o.model;
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
  ForwardOptions fo;
  fo.capture_routing = o.inspect;
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
    // Median of 5: one prompt of ~20 ms moved by +-40% between single measurements (H100, session 4).
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
