// SPDX-License-Identifier: GPL-3.0-or-later
// Putting a model on the GPU: the memory check (before anything is allocated), the upload of the
// memory-mapped checkpoint through two pinned staging buffers (disk read of one chunk overlaps the
// copy and conversion of the other; no full host copy), synthetic weights, and the workspace.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "backend/cuda/common.cuh"
#include "backend/cuda/cuda_backend_impl.h"
#include "backend/cuda/kernels/launch.cuh"
#include "model/weights.h"

namespace logitscope::cuda {
namespace {

std::string gib(std::uint64_t bytes) {
  std::ostringstream s;
  s.precision(2);
  s << std::fixed << double(bytes) / double(1ull << 30) << " GiB";
  return s.str();
}

class WsArena {
 public:
  explicit WsArena(char* base) : base_(base) {}
  template <typename T>
  T* take(std::int64_t n) {
    off_ = (off_ + 255) & ~std::uint64_t(255);
    T* p = reinterpret_cast<T*>(reinterpret_cast<std::uintptr_t>(base_) + off_);
    off_ += std::uint64_t(std::max<std::int64_t>(n, 1)) * sizeof(T);
    return p;
  }
  std::uint64_t size() const { return off_; }

 private:
  char* base_;
  std::uint64_t off_ = 0;
};

void layout_workspace(const ModelConfig& c, std::int64_t max_context, std::int64_t dequant_elems, char* base,
                      Workspace& w) {
  WsArena a(base);
  const std::int64_t R = std::max<std::int64_t>(1, std::min<std::int64_t>(2048, max_context));
  const std::int64_t hid = c.hidden_size, V = c.vocab_size, k = std::max(1, c.num_experts_per_tok);
  const std::int64_t e_dim = c.moe_latent_size > 0 ? c.moe_latent_size : hid;
  const std::int64_t qkv = std::int64_t(c.num_attention_heads + 2 * c.num_key_value_heads) * c.head_dim;
  const std::int64_t max_proj = std::max({c.mamba_in_proj_dim(), qkv, std::int64_t(c.intermediate_size),
                                          std::int64_t(c.moe_shared_expert_intermediate_size),
                                          std::int64_t(c.moe_latent_size), std::int64_t(1)});
  const std::int64_t max_act = std::max({c.mamba_d_inner(), std::int64_t(c.num_attention_heads) * c.head_dim,
                                         std::int64_t(c.intermediate_size),
                                         std::int64_t(c.moe_shared_expert_intermediate_size), std::int64_t(1)});
  w.rows = int(R);
  w.logit_rows = int(std::min<std::int64_t>(R, 64));
  w.ids = a.take<int>(R);
  w.step = a.take<int>(2);
  w.resid = a.take<float>(R * hid);
  w.normed = a.take<bf16>(R * hid);
  w.proj = a.take<float>(R * max_proj);
  w.xbc = a.take<float>(R * c.mamba_conv_dim());
  w.y = a.take<float>(R * c.mamba_d_inner());
  w.act = a.take<bf16>(R * max_act);
  w.lat = a.take<bf16>(R * std::max(1, c.moe_latent_size));
  w.routed = a.take<float>(R * std::max(1, c.moe_latent_size));
  w.router = a.take<float>(R * std::max(1, c.n_routed_experts));
  w.topk_ids = a.take<int>(R * k);
  w.topk_w = a.take<float>(R * k);
  const bool moe = c.count(LayerKind::Moe) > 0;
  const std::int64_t n = moe ? R * k : 1;
  w.gathered = a.take<bf16>(n * e_dim);
  w.e_up = a.take<float>(n * std::max(1, c.moe_intermediate_size));
  w.e_act = a.take<bf16>(n * std::max(1, c.moe_intermediate_size));
  w.e_down = a.take<float>(n * e_dim);
  w.perm = a.take<int>(n);
  w.slot = a.take<int>(n);
  w.row_expert = a.take<int>(n);
  w.e_counts = a.take<int>(std::max(1, c.n_routed_experts));
  w.e_offsets = a.take<int>(std::max(1, c.n_routed_experts));
  w.e_tiles = a.take<int>(std::max(1, c.n_routed_experts) + 1);
  w.gptrs = a.take<void*>(6 * std::int64_t(std::max(1, c.n_routed_experts)));
  w.hstride = int((std::max(c.moe_intermediate_size, c.moe_shared_expert_intermediate_size) + 7) / 8 * 8);
  w.h_dec = a.take<bf16>((k + 1) * std::int64_t(std::max(w.hstride, 8)));
  w.shared_h = a.take<float>(std::max(1, c.moe_shared_expert_intermediate_size));
  w.shared_act = a.take<bf16>(std::max(1, c.moe_shared_expert_intermediate_size));
  w.shared_out = a.take<float>(hid);
  // An intervention's scaled shared expert [R, hidden]: e_down is free once the routed part is
  // combined; models whose e_down is smaller (a narrow latent) get a buffer of their own.
  w.part = !moe ? nullptr : n * e_dim >= R * hid ? w.e_down : a.take<float>(R * hid);
  w.cublas_ws = a.take<char>(std::int64_t(kCublasWorkspaceBytes));
  w.attn_part = a.take<float>(std::int64_t(std::max(1, c.num_attention_heads)) * kAttnMaxSplits * (c.head_dim + 2));
  w.logits = a.take<float>(std::int64_t(w.logit_rows) * V);
  w.cand_scratch_ids = a.take<int>(summary_scratch_entries(int(V)));
  w.cand_scratch_vals = a.take<float>(summary_scratch_entries(int(V)));
  w.cand_ids = a.take<int>(kCandidates);
  w.cand_vals = a.take<float>(kCandidates);
  w.stats = a.take<float>(4);
  w.dequant = a.take<bf16>(dequant_elems);
  w.bytes = a.size();
}

}  // namespace

Workspace allocate_workspace(const ModelConfig& cfg, std::int64_t max_context, std::int64_t dequant_elems,
                             bool sizing_only) {
  Workspace w;
  layout_workspace(cfg, max_context, dequant_elems, nullptr, w);
  if (sizing_only) return w;
  LS_CUDA(cudaMalloc(&w.base, w.bytes));
  layout_workspace(cfg, max_context, dequant_elems, static_cast<char*>(w.base), w);
  const std::size_t n = std::size_t(w.rows) * std::max(1, cfg.num_experts_per_tok);
  LS_CUDA(cudaMallocHost(reinterpret_cast<void**>(&w.h_ids), std::size_t(w.rows) * 4));
  LS_CUDA(cudaMallocHost(reinterpret_cast<void**>(&w.h_topk), n * 4));
  LS_CUDA(cudaMallocHost(reinterpret_cast<void**>(&w.h_group), 3 * n * 4));
  LS_CUDA(cudaMallocHost(&w.h_small, 4096));
  LS_CUDA(cudaMallocHost(reinterpret_cast<void**>(&w.h_gptrs), 6 * std::size_t(std::max(1, cfg.n_routed_experts)) * sizeof(void*)));
  w.h_step = reinterpret_cast<int*>(static_cast<char*>(w.h_small) + 2048);  // past choose()'s 532 bytes
  return w;
}

void free_workspace(Workspace& w) {
  if (w.base) cudaFree(w.base);
  if (w.h_ids) cudaFreeHost(w.h_ids);
  if (w.h_topk) cudaFreeHost(w.h_topk);
  if (w.h_group) cudaFreeHost(w.h_group);
  if (w.h_small) cudaFreeHost(w.h_small);
  if (w.h_gptrs) cudaFreeHost(const_cast<void**>(w.h_gptrs));
  w = Workspace{};
}

std::uint64_t CudaBackend::workspace_bytes(const ModelConfig& cfg, std::int64_t max_context, std::int64_t dequant_elems) {
  return allocate_workspace(cfg, max_context, dequant_elems, true).bytes;
}

namespace {

constexpr std::uint64_t kStagingBytes = 64ull << 20;   // per staging buffer (two)
constexpr std::uint64_t kMarginBytes = 768ull << 20;   // CUDA context, cuBLAS workspace, fragmentation

// Refuses (before allocating anything) a model that will not fit, saying what it needs; otherwise
// returns what it needs against what is free ("needs 19.28 GiB of 78.61 GiB free on NVIDIA H100 ...").
std::string check_fits(const ModelConfig& cfg, std::uint64_t arena, std::int64_t dequant_elems, std::int64_t max_context,
                       bool staging) {
  int dev = 0;
  LS_CUDA(cudaGetDevice(&dev));
  cudaDeviceProp prop{};
  LS_CUDA(cudaGetDeviceProperties(&prop, dev));
  std::size_t free_b = 0, total_b = 0;
  LS_CUDA(cudaMemGetInfo(&free_b, &total_b));
  const std::uint64_t ws = CudaBackend::workspace_bytes(cfg, max_context, dequant_elems);
  const std::uint64_t state = CudaBackend::state_bytes(cfg, max_context);
  const std::uint64_t need = arena + ws + state + (staging ? 2 * kStagingBytes : 0) + kMarginBytes;
  if (need > free_b) {
    throw Error("the model does not fit on " + std::string(prop.name) + ": it needs " + gib(need) + " (weights " +
                gib(arena) + ", caches for " + std::to_string(max_context) + " tokens " + gib(state) +
                ", workspace " + gib(ws) + ", reserve " + gib(kMarginBytes) + ") but only " + gib(free_b) + " of " +
                gib(total_b) + " are free. Use a smaller max context or a GPU with more memory.");
  }
  return "needs " + gib(need) + " (weights " + gib(arena) + ") of " + gib(free_b) + " free on " + prop.name;
}

int dtype_code(DType d) { return d == DType::F32 ? 0 : d == DType::F16 ? 1 : 2; }

// Synthetic fills and constants: made on the device, nothing read from a file.
void fill_on_device(const UploadJob& j, std::uint64_t seed, cudaStream_t stream) {
  switch (j.kind) {
    case UploadJob::Kind::Constant:
      fill_random_f32(static_cast<float*>(j.dst), j.count, seed, 0.0f, j.offset, stream);
      break;
    case UploadJob::Kind::Codes:
      fill_random_codes(static_cast<std::uint8_t*>(j.dst), j.count, seed, j.e4m3, stream);
      break;
    default:
      if (j.dst_bf16) fill_random_bf16(static_cast<bf16*>(j.dst), j.count, seed, j.scale, stream);
      else fill_random_f32(static_cast<float*>(j.dst), j.count, seed, j.scale, j.offset, stream);
  }
}

void upload(const std::vector<UploadJob>& jobs, cudaStream_t stream, const ProgressFn& progress) {
  std::uint64_t total = 0, done = 0;
  for (const auto& j : jobs)
    if (j.src) total += j.src->nbytes;
  void* pinned[2] = {nullptr, nullptr};
  void* scratch[2] = {nullptr, nullptr};
  cudaEvent_t ev[2] = {nullptr, nullptr};
  auto cleanup = [&] {
    cudaStreamSynchronize(stream);
    for (int i = 0; i < 2; ++i) {
      if (pinned[i]) cudaFreeHost(pinned[i]);
      if (scratch[i]) cudaFree(scratch[i]);
      if (ev[i]) cudaEventDestroy(ev[i]);
    }
  };
  try {
    for (int i = 0; i < 2; ++i) {
      LS_CUDA(cudaMallocHost(&pinned[i], kStagingBytes));
      LS_CUDA(cudaMalloc(&scratch[i], kStagingBytes));
      LS_CUDA(cudaEventCreateWithFlags(&ev[i], cudaEventDisableTiming));
      LS_CUDA(cudaEventRecord(ev[i], stream));
    }
    int buf = 0;
    if (progress && !progress({"weights", 0, total})) throw Cancelled("load cancelled");
    for (const auto& j : jobs) {
      if (!j.src) {  // constants (a per-channel checkpoint's unit global scale)
        fill_on_device(j, 0, stream);
        continue;
      }
      const TensorView& t = *j.src;
      const bool bytes_as_stored = j.kind == UploadJob::Kind::Bytes;
      const std::size_t es = bytes_as_stored ? 1 : dtype_size(t.dtype);
      const bool same = bytes_as_stored || (j.dst_bf16 && t.dtype == DType::BF16) || (!j.dst_bf16 && t.dtype == DType::F32);
      const std::size_t ds = bytes_as_stored ? 1 : j.dst_bf16 ? 2 : 4;
      if (bytes_as_stored && std::int64_t(t.nbytes) != j.count)
        throw Error("tensor " + t.name + " in " + t.file + " holds " + std::to_string(t.nbytes) + " bytes, " +
                    std::to_string(j.count) + " expected");
      if (!same && t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
        throw Error("tensor " + t.name + " in " + t.file + " is " + t.dtype_name +
                    ": the CUDA backend reads it as F32, F16 or BF16 here");
      const std::int64_t per_chunk = std::int64_t(kStagingBytes / es);
      for (std::int64_t e0 = 0; e0 < j.count; e0 += per_chunk) {
        const std::int64_t n = std::min(per_chunk, j.count - e0);
        const std::size_t bytes = std::size_t(n) * es;
        LS_CUDA(cudaEventSynchronize(ev[buf]));  // this staging buffer's last copy has finished
        std::memcpy(pinned[buf], t.data + std::size_t(e0) * es, bytes);  // reads the mapped file
        char* dst = static_cast<char*>(j.dst) + std::size_t(e0) * ds;
        if (same) {
          LS_CUDA(cudaMemcpyAsync(dst, pinned[buf], bytes, cudaMemcpyHostToDevice, stream));
        } else {
          LS_CUDA(cudaMemcpyAsync(scratch[buf], pinned[buf], bytes, cudaMemcpyHostToDevice, stream));
          if (j.dst_bf16) convert_to_bf16(scratch[buf], dtype_code(t.dtype), reinterpret_cast<bf16*>(dst), n, stream);
          else convert_to_f32(scratch[buf], dtype_code(t.dtype), reinterpret_cast<float*>(dst), n, stream);
        }
        LS_CUDA(cudaEventRecord(ev[buf], stream));
        buf ^= 1;
        done += bytes;
        if (progress && !progress({"weights", done, total})) throw Cancelled("load cancelled");
      }
    }
    LS_CUDA(cudaStreamSynchronize(stream));
  } catch (...) {
    cleanup();
    throw;
  }
  cleanup();
}

// Refused before anything is allocated: a shape a kernel cannot take must never reach a launch.
void ensure_supported_shape(const ModelConfig& c) {
  const std::string problem = cuda_shape_problem(c);
  if (!problem.empty()) throw Error("the CUDA backend cannot run this model: " + problem + " (the CPU backend can)");
}

void ensure_device() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0)
    throw Error(std::string("no CUDA device is available (") + (e != cudaSuccess ? cudaGetErrorString(e) : "0 devices") +
                "); use the CPU backend");
}

}  // namespace

std::string cuda_shape_problem(const ModelConfig& c) {
  std::vector<std::string> problems;
  if (c.count(LayerKind::Attention) > 0) {
    if (c.head_dim > 256) problems.push_back("head_dim " + std::to_string(c.head_dim) + " (at most 256)");
    if (c.num_key_value_heads <= 0 || c.num_attention_heads % c.num_key_value_heads != 0 ||
        c.num_attention_heads / c.num_key_value_heads > 128)
      problems.push_back("num_attention_heads " + std::to_string(c.num_attention_heads) + " / num_key_value_heads " +
                         std::to_string(c.num_key_value_heads) + " (a multiple, at most 128 query heads per kv head)");
  }
  if (c.count(LayerKind::Mamba) > 0) {
    if (c.conv_kernel < 2 || c.conv_kernel > kMaxConvTaps)
      problems.push_back("conv_kernel " + std::to_string(c.conv_kernel) + " (2.." + std::to_string(kMaxConvTaps) + ")");
    if (c.ssm_state_size > 256) problems.push_back("ssm_state_size " + std::to_string(c.ssm_state_size) + " (at most 256)");
  }
  if (c.count(LayerKind::Moe) > 0) {
    if (c.n_routed_experts > 512) problems.push_back("n_routed_experts " + std::to_string(c.n_routed_experts) + " (at most 512)");
    if (c.num_experts_per_tok > 30)
      problems.push_back("num_experts_per_tok " + std::to_string(c.num_experts_per_tok) + " (at most 30)");
  }
  std::string out;
  for (const auto& p : problems) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace logitscope::cuda

namespace logitscope {

std::unique_ptr<Backend> make_cuda_backend(const ModelConfig& config, const ModelWeights& weights,
                                           std::int64_t max_context, const ProgressFn& progress) {
  using namespace cuda;
  ensure_supported_shape(config);
  ensure_device();
  if (config.quantization.quantized() && !tensor_core_kernels_supported())
    throw Error("quantized checkpoints (" + config.quantization.describe() +
                ") need compute capability 8.0 or newer on the CUDA backend; use --backend cpu");
  DeviceModel model;
  std::vector<UploadJob> jobs;
  const std::uint64_t arena = layout_model(config, &weights, nullptr, model, jobs);
  const std::string plan = check_fits(config, arena, model.max_dequant_elems, max_context, true);
  if (progress && !progress({"GPU memory: " + plan, 0, 0})) throw Cancelled("load cancelled");
  void* base = nullptr;
  LS_CUDA(cudaMalloc(&base, arena));
  jobs.clear();
  DeviceModel bound;
  try {
    layout_model(config, &weights, static_cast<char*>(base), bound, jobs);
    bound.arena = base;
    auto backend = std::make_unique<CudaBackend>(std::move(bound), max_context);
    backend->set_memory_plan(plan);
    base = nullptr;  // owned by the backend now
    upload(jobs, backend->stream(), progress);
    return backend;
  } catch (...) {
    if (base) cudaFree(base);
    throw;
  }
}

std::unique_ptr<Backend> make_cuda_backend_synthetic(const ModelConfig& config, std::uint64_t seed,
                                                     std::int64_t max_context) {
  using namespace cuda;
  ensure_supported_shape(config);
  ensure_device();
  DeviceModel model;
  std::vector<UploadJob> jobs;
  const std::uint64_t arena = layout_model(config, nullptr, nullptr, model, jobs);
  const std::string plan = check_fits(config, arena, model.max_dequant_elems, max_context, false);
  void* base = nullptr;
  LS_CUDA(cudaMalloc(&base, arena));
  jobs.clear();
  DeviceModel bound;
  layout_model(config, nullptr, static_cast<char*>(base), bound, jobs);
  bound.arena = base;
  auto backend = std::make_unique<CudaBackend>(std::move(bound), max_context);
  backend->set_memory_plan(plan);
  std::uint64_t i = 0;
  for (const auto& j : jobs) {
    const std::uint64_t s = seed * 0x100000001B3ull + (++i) * 0x9E3779B97F4A7C15ull;
    fill_on_device(j, s, backend->stream());
  }
  LS_CUDA(cudaStreamSynchronize(backend->stream()));
  return backend;
}

}  // namespace logitscope
