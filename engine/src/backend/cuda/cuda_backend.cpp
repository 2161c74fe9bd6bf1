// SPDX-License-Identifier: GPL-3.0-or-later
// The CUDA backend's forward pass: one code path for prompts and decode. Matrix products go through
// the decode GEMV kernels for one token and cuBLAS (bf16 in, fp32 accumulate and out) for more; the
// Mamba conv/scan, attention and routing kernels take any number of tokens. Decode never waits for
// the host: routing ids stay on the device and the expert kernels read them there.
#include "backend/cuda/cuda_backend_impl.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {

#define LS_CUBLAS(call)                                                                           \
  do {                                                                                            \
    cublasStatus_t s_ = (call);                                                                   \
    if (s_ != CUBLAS_STATUS_SUCCESS) throw_cublas_error(s_, #call);                              \
  } while (0)

namespace {
std::atomic<std::uint64_t> g_state_uid{0};

// A cuBLAS failure as an engine error. On a card with almost no memory left, cuBLAS reports a kernel
// that could not get its local memory as an execution failure: that is out of memory too.
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call) {
  std::size_t free_b = 0, total_b = 0;
  const bool known = cudaMemGetInfo(&free_b, &total_b) == cudaSuccess;
  cudaGetLastError();
  if (status == CUBLAS_STATUS_ALLOC_FAILED ||
      (status == CUBLAS_STATUS_EXECUTION_FAILED && known && free_b < (std::size_t(64) << 20)))
    throw_out_of_memory("cuBLAS (" + std::string(call) + ")", free_b, total_b);
  throw Error("cuBLAS error " + std::to_string(int(status)) + " in " + call);
}
// Byte count of a decode matrix-vector product: weights once, x, y written (and read when accumulating).
std::uint64_t gemv_bytes(std::int64_t rows, std::int64_t cols, bool acc) {
  return std::uint64_t(rows) * cols * 2 + std::uint64_t(cols) * 2 + std::uint64_t(rows) * 4 * (acc ? 2 : 1);
}
}  // namespace

CudaState::CudaState() : uid(++g_state_uid) {}

CudaState::~CudaState() {
  if (block) cudaFree(block);
}
CudaCheckpoint::~CudaCheckpoint() {
  if (data) cudaFree(data);
}

CudaBackend::CudaBackend(DeviceModel model, std::int64_t max_context)
    : model_(std::move(model)), max_context_(max_context) {
  LS_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  LS_CUDA(cudaStreamCreateWithFlags(&side_stream_, cudaStreamNonBlocking));
  LS_CUDA(cudaEventCreateWithFlags(&ev_fork_, cudaEventDisableTiming));
  LS_CUDA(cudaEventCreateWithFlags(&ev_join_, cudaEventDisableTiming));
  if (cublasCreate(&cublas_) != CUBLAS_STATUS_SUCCESS) throw Error("cuBLAS could not be initialised");
  LS_CUBLAS(cublasSetStream(cublas_, stream_));
  int dev = 0;
  LS_CUDA(cudaGetDevice(&dev));
  cudaDeviceProp prop{};
  LS_CUDA(cudaGetDeviceProperties(&prop, dev));
  device_name_ = prop.name;
  configure_experts_grouped();
  configure_attention_prompt();
  configure_attention_decode_mma();
  ws_ = allocate_workspace(model_.cfg, max_context, false);
  LS_CUBLAS(cublasSetWorkspace(cublas_, ws_.cublas_ws, kCublasWorkspaceBytes));
  LS_CUDA(cudaEventCreateWithFlags(&step_copied_, cudaEventDisableTiming));
  LS_CUDA(cudaEventRecord(step_copied_, stream_));
  if (const char* g = std::getenv("LOGITSCOPE_CUDA_GRAPHS"); g && std::string(g) == "0") use_graphs_ = false;
  if (const char* g = std::getenv("LOGITSCOPE_SHARED_STREAM"); g && std::string(g) == "0") shared_side_ = false;
  const char* pe = std::getenv("LOGITSCOPE_PROMPT_EXPERTS");
  const std::string pe_mode = pe ? pe : "";
  if (pe_mode == "cublas_grouped") prompt_experts_ = PromptExperts::CublasGrouped;
  if (pe_mode == "cublas" || !tensor_core_kernels_supported()) prompt_experts_ = PromptExperts::Cublas;
}

CudaBackend::~CudaBackend() {
  if (stream_) cudaStreamSynchronize(stream_);
  if (graph_exec_) cudaGraphExecDestroy(graph_exec_);
  if (step_copied_) cudaEventDestroy(step_copied_);
  for (auto e : prof_events_) cudaEventDestroy(e);
  if (side_stream_) cudaStreamSynchronize(side_stream_);
  if (ev_fork_) cudaEventDestroy(ev_fork_);
  if (ev_join_) cudaEventDestroy(ev_join_);
  if (cublas_) cublasDestroy(cublas_);  // before its workspace goes
  free_workspace(ws_);
  if (model_.arena) cudaFree(model_.arena);
  if (side_stream_) cudaStreamDestroy(side_stream_);
  if (stream_) cudaStreamDestroy(stream_);
}

std::uint64_t CudaBackend::state_bytes(const ModelConfig& c, std::int64_t max_context) {
  const std::uint64_t nm = c.count(LayerKind::Mamba), na = c.count(LayerKind::Attention), ne = c.count(LayerKind::Moe);
  std::uint64_t b = 0;
  auto add = [&](std::uint64_t n) { b += (n + 255) & ~std::uint64_t(255); };
  for (std::uint64_t i = 0; i < nm; ++i) add(std::uint64_t(c.mamba_conv_dim()) * (c.conv_kernel - 1) * 2);
  for (std::uint64_t i = 0; i < nm; ++i) add(std::uint64_t(c.mamba_num_heads) * c.mamba_head_dim * c.ssm_state_size * 4);
  for (std::uint64_t i = 0; i < 2 * na; ++i) add(std::uint64_t(c.num_key_value_heads) * max_context * c.head_dim * 2);
  add(std::uint64_t(c.vocab_size) * 4);
  add(std::uint64_t(std::max<std::uint64_t>(ne, 1)) * c.num_experts_per_tok * 4);
  add(std::uint64_t(std::max<std::uint64_t>(ne, 1)) * c.num_experts_per_tok * 4);
  return b;
}

std::unique_ptr<BackendState> CudaBackend::create_state(std::int64_t max_context) {
  std::lock_guard lock(mutex_);
  const ModelConfig& c = model_.cfg;
  if (max_context <= 0) max_context = max_context_;
  auto st = std::make_unique<CudaState>();
  st->max_context = max_context;
  const std::uint64_t bytes = state_bytes(c, max_context);
  LS_CUDA(cudaMalloc(&st->block, bytes));
  LS_CUDA(cudaMemsetAsync(st->block, 0, bytes, stream_));
  char* p = static_cast<char*>(st->block);
  auto take = [&](std::uint64_t n) {
    char* r = p;
    p += (n + 255) & ~std::uint64_t(255);
    return r;
  };
  const int nm = c.count(LayerKind::Mamba), na = c.count(LayerKind::Attention), ne = c.count(LayerKind::Moe);
  for (int i = 0; i < nm; ++i) st->conv.push_back(reinterpret_cast<bf16*>(take(std::uint64_t(c.mamba_conv_dim()) * (c.conv_kernel - 1) * 2)));
  for (int i = 0; i < nm; ++i)
    st->ssm.push_back(reinterpret_cast<float*>(take(std::uint64_t(c.mamba_num_heads) * c.mamba_head_dim * c.ssm_state_size * 4)));
  st->recurrent_bytes = std::uint64_t(p - static_cast<char*>(st->block));
  for (int i = 0; i < na; ++i) {
    st->kcache.push_back(reinterpret_cast<bf16*>(take(std::uint64_t(c.num_key_value_heads) * max_context * c.head_dim * 2)));
    st->vcache.push_back(reinterpret_cast<bf16*>(take(std::uint64_t(c.num_key_value_heads) * max_context * c.head_dim * 2)));
  }
  st->last_logits = reinterpret_cast<float*>(take(std::uint64_t(c.vocab_size) * 4));
  st->routing_ids = reinterpret_cast<int*>(take(std::uint64_t(std::max(ne, 1)) * c.num_experts_per_tok * 4));
  st->routing_w = reinterpret_cast<float*>(take(std::uint64_t(std::max(ne, 1)) * c.num_experts_per_tok * 4));
  LS_CUDA(cudaStreamSynchronize(stream_));
  return st;
}

void CudaBackend::linear(const DLinear& L, const bf16* x, int T, float* y, bool accumulate) {
  if (T == 1) {
    gemv_bf16(L.w, L.b, x, y, L.rows, L.cols, accumulate, stream_);
    return;
  }
  // Row-major y[T, rows] = x[T, cols] W[rows, cols]^T, i.e. column-major y^T = W^T(op T) x^T.
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  LS_CUBLAS(cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, L.rows, T, L.cols, &alpha, L.w, CUDA_R_16BF, L.cols, x,
                         CUDA_R_16BF, L.cols, &beta, y, CUDA_R_32F, L.rows, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  if (L.b) add_bias_rows(y, L.b, T, L.rows, stream_);
}

void CudaBackend::ffn(const DFfn& f, const bf16* x, int T, float* out) {
  linear(f.up, x, T, ws_.proj, false);
  relu2_rows(ws_.proj, nullptr, nullptr, T, f.up.rows, ws_.act, stream_);
  linear(f.down, ws_.act, T, out, true);
}

void CudaBackend::mamba(const DLayer& L, CudaState& st, int T) {
  const ModelConfig& c = model_.cfg;
  const int d_inner = int(c.mamba_d_inner()), conv_dim = int(c.mamba_conv_dim()), in_dim = int(c.mamba_in_proj_dim());
  const std::uint64_t state = std::uint64_t(c.mamba_num_heads) * c.mamba_head_dim * c.ssm_state_size * 4;
  mark("mamba.in_proj", gemv_bytes(in_dim, L.in_proj.cols, false));
  linear(L.in_proj, ws_.normed, T, ws_.proj, false);  // zxbcdt [T, in_dim]
  mark("mamba.conv", std::uint64_t(conv_dim) * (8 + 4 * c.conv_kernel + 4 * (c.conv_kernel - 1)));
  mamba_conv(ws_.proj, in_dim, d_inner, conv_dim, c.conv_kernel, L.conv_w, L.conv_b, st.conv[L.slot], T, ws_.xbc,
             stream_);
  // As the CPU reference (and transformers 5.17): over a prompt dt is floored at time_step_min, a
  // cached single-token step only clamps to time_step_limit.
  const bool single_step = st.fed > 0 && T == 1;
  const double dt_floor = single_step ? c.time_step_limit_min : std::max(c.time_step_limit_min, c.time_step_min);
  ScanParams p{c.mamba_num_heads, c.mamba_head_dim, c.ssm_state_size, c.n_groups, d_inner,
               float(dt_floor), c.time_step_limit_max > 0 ? float(c.time_step_limit_max) : INFINITY};
  mark("mamba.scan", 2 * state + std::uint64_t(conv_dim) * 4 + std::uint64_t(d_inner) * 4);
  mamba_scan(ws_.xbc, ws_.proj, in_dim, d_inner + conv_dim, L.dt_bias, L.A_log, L.D, st.ssm[L.slot], T, p, ws_.y,
             stream_);
  mark("mamba.gated_norm", std::uint64_t(d_inner) * 14);
  gated_rmsnorm(ws_.y, ws_.proj, in_dim, L.gated_norm, T, d_inner, d_inner / c.n_groups, float(c.layer_norm_epsilon),
                ws_.act, stream_);
  mark("mamba.out_proj", gemv_bytes(L.out_proj.rows, L.out_proj.cols, true));
  linear(L.out_proj, ws_.act, T, ws_.resid, true);
}

void CudaBackend::attention_layer(const DLayer& L, CudaState& st, int T, const int* pos_dev) {
  const ModelConfig& c = model_.cfg;
  const std::uint64_t kv_row = std::uint64_t(c.num_key_value_heads) * c.head_dim;
  mark("attn.qkv", gemv_bytes(L.qkv.rows, L.qkv.cols, false));
  linear(L.qkv, ws_.normed, T, ws_.proj, false);  // [T, (H + 2 KV) hd]
  AttnParams p{c.num_attention_heads, c.num_key_value_heads, c.head_dim, int(st.max_context), int(st.fed), pos_dev};
  mark("attn.kv_append", kv_row * 2 * 6);
  kv_append(ws_.proj, T, p, st.kcache[L.slot], st.vcache[L.slot], stream_);
  mark("attn.attention", kv_row * 2 * 2 * std::uint64_t(st.fed + 1) + std::uint64_t(c.num_attention_heads) * c.head_dim * 6);
  if (T == 1)
    attention_decode(ws_.proj, p, st.kcache[L.slot], st.vcache[L.slot], ws_.attn_part, ws_.act, stream_);
  else
    attention(ws_.proj, T, p, st.kcache[L.slot], st.vcache[L.slot], ws_.act, stream_);
  mark("attn.o_proj", gemv_bytes(L.o.rows, L.o.cols, true));
  linear(L.o, ws_.act, T, ws_.resid, true);
}

void CudaBackend::moe(const DLayer& L, CudaState& st, int T, bool capture_routing) {
  const ModelConfig& c = model_.cfg;
  const int E = c.n_routed_experts, k = c.num_experts_per_tok, hid = int(c.hidden_size);
  const int latent = c.moe_latent_size;
  // Decode: the shared expert does not depend on the routing; it runs on the side stream while the
  // router, top-k and the routed up products run here, and experts_down adds its output.
  const bool shared_side = T == 1 && shared_side_ && L.experts.shared_up != nullptr;
  if (shared_side) {
    const DFfn& f = L.shared;
    LS_CUDA(cudaEventRecord(ev_fork_, stream_));
    LS_CUDA(cudaStreamWaitEvent(side_stream_, ev_fork_, 0));
    gemv_bf16(f.up.w, f.up.b, ws_.normed, ws_.shared_h, f.up.rows, f.up.cols, false, side_stream_);
    relu2_rows(ws_.shared_h, nullptr, nullptr, 1, f.up.rows, ws_.shared_act, side_stream_);
    gemv_bf16(f.down.w, f.down.b, ws_.shared_act, ws_.shared_out, f.down.rows, f.down.cols, false, side_stream_);
    LS_CUDA(cudaEventRecord(ev_join_, side_stream_));
  }
  // Router: fp32 accumulate over bf16 activations, fp32 logits [T, E].
  mark("moe.router", std::uint64_t(E) * hid * (L.router_f32 ? 4 : 2));
  if (L.router_f32) {
    gemv_f32w(L.router_f32, ws_.normed, ws_.router, E, hid, T, stream_);
  } else {
    linear(DLinear{L.router_bf16, nullptr, E, hid}, ws_.normed, T, ws_.router, false);
  }
  RouterParams rp{E, k, c.n_group, c.topk_group, c.norm_topk_prob, float(c.routed_scaling_factor)};
  int* ids = T == 1 ? st.routing_ids + L.slot * k : ws_.topk_ids;
  float* wts = T == 1 ? st.routing_w + L.slot * k : ws_.topk_w;
  mark("moe.router_topk", std::uint64_t(E) * 8);
  router_topk(ws_.router, L.correction_bias, T, rp, ids, wts, stream_);
  if (T > 1 && capture_routing) {
    LS_CUDA(cudaMemcpyAsync(st.routing_ids + L.slot * k, ids + std::int64_t(T - 1) * k, k * 4, cudaMemcpyDeviceToDevice, stream_));
    LS_CUDA(cudaMemcpyAsync(st.routing_w + L.slot * k, wts + std::int64_t(T - 1) * k, k * 4, cudaMemcpyDeviceToDevice, stream_));
  }
  const bf16* xe = ws_.normed;  // expert input [T, e_dim]
  const int e_dim = L.experts.in;
  if (latent > 0) {
    linear(L.latent_in, ws_.normed, T, ws_.proj, false);
    f32_to_bf16(ws_.proj, ws_.lat, std::int64_t(T) * latent, stream_);
    xe = ws_.lat;
    LS_CUDA(cudaMemsetAsync(ws_.routed, 0, std::size_t(T) * latent * 4, stream_));
  }
  float* routed_out = latent > 0 ? ws_.routed : ws_.resid;
  if (T == 1) {
    // Shared expert rides in the same launches unless it lives in a different space (latent).
    ExpertsDecode x = L.experts;
    if (shared_side) {
      x.shared_up = x.shared_down = nullptr;
      x.shared_up_b = x.shared_down_b = nullptr;
      x.shared_width = 0;
    }
    const std::uint64_t mats = std::uint64_t(k) * x.width * x.in * 2 + std::uint64_t(x.shared_width) * x.in * 2;
    mark("moe.experts_up", mats + std::uint64_t(x.in) * 2);
    experts_up_decode(x, ids, k, xe, ws_.h_dec, ws_.hstride, stream_);
    if (shared_side) LS_CUDA(cudaStreamWaitEvent(stream_, ev_join_, 0));
    mark("moe.experts_down", mats + std::uint64_t(x.out) * 8);
    experts_down_decode(x, ids, wts, k, ws_.h_dec, ws_.hstride, shared_side ? ws_.shared_out : nullptr, routed_out,
                        stream_);
  } else if (prompt_experts_ == PromptExperts::Auto) {
    // A prompt chunk: grouped on the device, two tensor-core grouped products (experts_grouped.cu).
    // From 2 tokens on: at 28 tokens they stream the ~3/4 of the experts a prompt uses faster than
    // the grouped matrix-vector kernel of v3.1 did (12.7 vs 20.0 ms, H100).
    const ExpertsDecode& x = L.experts;
    mark("moe.experts_grouped", 0);
    experts_grouped(x, E, ids, T, k, xe, ws_.e_counts, ws_.e_offsets, ws_.e_tiles, ws_.perm, ws_.slot, ws_.e_act,
                    ws_.e_down, stream_);
    moe_combine(ws_.e_down, ws_.slot, ids, wts, x.down_b, T, k, e_dim, routed_out, stream_);
    mark("moe.shared", 0);
    if (L.shared.up.w) ffn(L.shared, ws_.normed, T, ws_.resid);
  } else {
    // Cards before 8.0 (or LOGITSCOPE_PROMPT_EXPERTS=cublas): group the T*k assignments by expert on
    // the host (one small copy), then one cuBLAS product per used expert.
    mark("moe.experts_prompt", 0);  // host sync + grouping + cuBLAS per used expert
    const int n = T * k;
    LS_CUDA(cudaMemcpyAsync(ws_.h_topk, ids, std::size_t(n) * 4, cudaMemcpyDeviceToHost, stream_));
    LS_CUDA(cudaStreamSynchronize(stream_));
    std::vector<int> count(E + 1, 0), start(E + 1, 0);
    for (int a = 0; a < n; ++a) ++count[ws_.h_topk[a]];
    for (int e = 0; e < E; ++e) start[e + 1] = start[e] + count[e];
    std::vector<int> fill(start.begin(), start.end() - 1);
    int* perm = ws_.h_group;
    int* slot = ws_.h_group + n;
    int* rexp = ws_.h_group + 2 * n;
    for (int a = 0; a < n; ++a) {
      const int e = ws_.h_topk[a];
      const int pos = fill[e]++;
      perm[pos] = a / k;
      slot[a] = pos;
      rexp[pos] = e;
    }
    LS_CUDA(cudaMemcpyAsync(ws_.perm, perm, std::size_t(n) * 4, cudaMemcpyHostToDevice, stream_));
    LS_CUDA(cudaMemcpyAsync(ws_.slot, slot, std::size_t(n) * 4, cudaMemcpyHostToDevice, stream_));
    LS_CUDA(cudaMemcpyAsync(ws_.row_expert, rexp, std::size_t(n) * 4, cudaMemcpyHostToDevice, stream_));
    gather_rows(xe, ws_.perm, n, e_dim, ws_.gathered, stream_);
    const ExpertsDecode& x = L.experts;
    const std::int64_t per = std::int64_t(x.width) * e_dim;
    if (prompt_experts_ == PromptExperts::CublasGrouped) {
      cublas_grouped_experts(x, count, start, e_dim);
    } else {
      for (int e = 0; e < E; ++e) {
        if (count[e] == 0) continue;
        DLinear up{const_cast<bf16*>(x.up) + per * e, nullptr, x.width, e_dim};
        linear(up, ws_.gathered + std::int64_t(start[e]) * e_dim, count[e], ws_.e_up + std::int64_t(start[e]) * x.width, false);
      }
      relu2_rows(ws_.e_up, x.up_b, ws_.row_expert, n, x.width, ws_.e_act, stream_);
      for (int e = 0; e < E; ++e) {
        if (count[e] == 0) continue;
        DLinear down{const_cast<bf16*>(x.down) + per * e, nullptr, e_dim, x.width};
        linear(down, ws_.e_act + std::int64_t(start[e]) * x.width, count[e], ws_.e_down + std::int64_t(start[e]) * e_dim, false);
      }
    }
    moe_combine(ws_.e_down, ws_.slot, ids, wts, x.down_b, T, k, e_dim, routed_out, stream_);
    mark("moe.shared", 0);
    if (L.shared.up.w) ffn(L.shared, ws_.normed, T, ws_.resid);
  }
  if (latent > 0) {
    f32_to_bf16(ws_.routed, ws_.lat, std::int64_t(T) * latent, stream_);
    linear(L.latent_out, ws_.lat, T, ws_.resid, true);
    if (T == 1 && L.shared.up.w) ffn(L.shared, ws_.normed, T, ws_.resid);
  }
}

void CudaBackend::cublas_grouped_experts(const ExpertsDecode& x, const std::vector<int>& count,
                                         const std::vector<int>& start, int e_dim) {
  // One cublasGemmGroupedBatchedEx per matrix, a group per used expert (sizes from the host grouping).
  std::vector<int> used;
  for (std::size_t e = 0; e + 1 < count.size(); ++e)
    if (count[e] > 0) used.push_back(int(e));
  const int G = int(used.size());
  const std::int64_t per = std::int64_t(x.width) * e_dim;
  std::vector<cublasOperation_t> ta(G, CUBLAS_OP_T), tb(G, CUBLAS_OP_N);
  std::vector<int> m_up(G, x.width), m_down(G, e_dim), n(G), k_up(G, e_dim), k_down(G, x.width), ones(G, 1);
  std::vector<float> alpha(G, 1.0f), beta(G, 0.0f);
  const void** hp = ws_.h_gptrs;  // [6 E]: up A | up B | up C | down A | down B | down C
  for (int g = 0; g < G; ++g) {
    const int e = used[g];
    n[g] = count[e];
    hp[g] = x.up + per * e;
    hp[G + g] = ws_.gathered + std::int64_t(start[e]) * e_dim;
    hp[2 * G + g] = ws_.e_act + std::int64_t(start[e]) * x.width;
    hp[3 * G + g] = x.down + per * e;
    hp[4 * G + g] = ws_.e_act + std::int64_t(start[e]) * x.width;
    hp[5 * G + g] = ws_.gathered + std::int64_t(start[e]) * e_dim;
  }
  LS_CUDA(cudaMemcpyAsync(ws_.gptrs, hp, std::size_t(6 * G) * sizeof(void*), cudaMemcpyHostToDevice, stream_));
  const void* const* d = ws_.gptrs;
  // cuBLAS 13.0 rejects fp32 outputs of bf16 grouped products (NOT_SUPPORTED, H100): the products
  // write bf16 (up into e_act, down into gathered, free by then) and are widened afterwards.
  const std::int64_t rows = start.back();
  LS_CUBLAS(cublasGemmGroupedBatchedEx(cublas_, ta.data(), tb.data(), m_up.data(), n.data(), k_up.data(), alpha.data(),
                                       d, CUDA_R_16BF, k_up.data(), d + G, CUDA_R_16BF, k_up.data(), beta.data(),
                                       const_cast<void* const*>(d + 2 * G), CUDA_R_16BF, m_up.data(), G, ones.data(),
                                       CUBLAS_COMPUTE_32F));
  convert_to_f32(ws_.e_act, 2, ws_.e_up, rows * x.width, stream_);
  relu2_rows(ws_.e_up, x.up_b, ws_.row_expert, int(rows), x.width, ws_.e_act, stream_);
  LS_CUBLAS(cublasGemmGroupedBatchedEx(cublas_, ta.data(), tb.data(), m_down.data(), n.data(), k_down.data(),
                                       alpha.data(), d + 3 * G, CUDA_R_16BF, k_down.data(), d + 4 * G, CUDA_R_16BF,
                                       k_down.data(), beta.data(), const_cast<void* const*>(d + 5 * G), CUDA_R_16BF,
                                       m_down.data(), G, ones.data(), CUBLAS_COMPUTE_32F));
  convert_to_f32(ws_.gathered, 2, ws_.e_down, rows * e_dim, stream_);
}

void CudaBackend::final_logits(CudaState& st, int T, bool all_logits) {
  const ModelConfig& c = model_.cfg;
  const int hid = int(c.hidden_size), V = int(c.vocab_size);
  const float eps = float(c.layer_norm_epsilon);
  if (!all_logits) {
    mark("final.norm", std::uint64_t(hid) * 10);
    rmsnorm(ws_.resid + std::int64_t(T - 1) * hid, model_.norm_f, eps, 1, hid, ws_.normed, stream_);
    mark("lm_head", gemv_bytes(V, hid, false));
    gemv_bf16(model_.lm_head.w, nullptr, ws_.normed, st.last_logits, V, hid, false, stream_);
    return;
  }
  rmsnorm(ws_.resid, model_.norm_f, eps, T, hid, ws_.normed, stream_);
  for (int r0 = 0; r0 < T; r0 += ws_.logit_rows) {
    const int rows = std::min(ws_.logit_rows, T - r0);
    linear(model_.lm_head, ws_.normed + std::int64_t(r0) * hid, rows, ws_.logits, false);
    const std::size_t at = st.all_logits.size();
    st.all_logits.resize(at + std::size_t(rows) * V);
    LS_CUDA(cudaMemcpyAsync(st.all_logits.data() + at, ws_.logits, std::size_t(rows) * V * 4, cudaMemcpyDeviceToHost,
                            stream_));
    if (r0 + rows == T)
      LS_CUDA(cudaMemcpyAsync(st.last_logits, ws_.logits + std::int64_t(rows - 1) * V, std::size_t(V) * 4,
                              cudaMemcpyDeviceToDevice, stream_));
    LS_CUDA(cudaStreamSynchronize(stream_));  // the host vector may move on the next resize
  }
}

void CudaBackend::run_chunk(CudaState& st, int T, bool capture_routing, const int* ids_dev, const int* pos_dev) {
  const ModelConfig& c = model_.cfg;
  const int hid = int(c.hidden_size);
  mark("embed", std::uint64_t(hid) * 6);
  embed(model_.embeddings, ids_dev, T, hid, ws_.resid, stream_);
  for (const DLayer& L : model_.layers) {
    mark("rmsnorm", std::uint64_t(hid) * 10);
    rmsnorm(ws_.resid, L.norm, float(c.layer_norm_epsilon), T, hid, ws_.normed, stream_);
    switch (L.kind) {
      case LayerKind::Mamba: mamba(L, st, T); break;
      case LayerKind::Attention: attention_layer(L, st, T, pos_dev); break;
      case LayerKind::Moe: moe(L, st, T, capture_routing); break;
      case LayerKind::Mlp:
        mark("mlp", gemv_bytes(L.mlp.up.rows, L.mlp.up.cols, false) + gemv_bytes(L.mlp.down.rows, L.mlp.down.cols, true));
        ffn(L.mlp, ws_.normed, T, ws_.resid);
        break;
    }
  }
}

void CudaBackend::choose_kernels(CudaState& st) {
  const int V = int(model_.cfg.vocab_size);
  mark("choose.summary", std::uint64_t(V) * 4);
  logits_summary(st.last_logits, V, ws_.cand_scratch_ids, ws_.cand_scratch_vals, ws_.cand_ids, ws_.cand_vals, ws_.stats,
                 stream_);
}

void CudaBackend::decode_body(CudaState& st) {
  run_chunk(st, 1, true, ws_.step, ws_.step + 1);
  final_logits(st, 1, false);
  choose_kernels(st);
}

void CudaBackend::capture_decode_graph(CudaState& st) {
  if (graph_exec_) {
    LS_CUDA(cudaGraphExecDestroy(graph_exec_));
    graph_exec_ = nullptr;
    graph_uid_ = 0;
  }
  cudaGraph_t g = nullptr;
  LS_CUDA(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  try {
    decode_body(st);
  } catch (...) {
    cudaStreamEndCapture(stream_, &g);
    if (g) cudaGraphDestroy(g);
    throw;
  }
  LS_CUDA(cudaStreamEndCapture(stream_, &g));
  const cudaError_t e = cudaGraphInstantiate(&graph_exec_, g, 0);
  cudaGraphDestroy(g);
  LS_CUDA(e);
  graph_uid_ = st.uid;
}

void CudaBackend::decode_step(CudaState& st, TokenId id) {
  // The previous step's copy must have read h_step before it is rewritten.
  LS_CUDA(cudaEventSynchronize(step_copied_));
  ws_.h_step[0] = id;
  ws_.h_step[1] = int(st.fed);
  LS_CUDA(cudaMemcpyAsync(ws_.step, ws_.h_step, 8, cudaMemcpyHostToDevice, stream_));
  LS_CUDA(cudaEventRecord(step_copied_, stream_));
  if (profile_) {
    prof_marks_.clear();
    prof_active_ = true;
    try {
      decode_body(st);
    } catch (...) {
      prof_active_ = false;
      throw;
    }
    prof_active_ = false;
    profile_collect();
  } else if (use_graphs_ && st.fed > 0) {
    // The graph bakes in the single-step dt clamp; the very first token of a sequence takes the
    // prompt path's dt floor instead (see mamba()), so it runs eagerly.
    if (!graph_exec_ || graph_uid_ != st.uid) capture_decode_graph(st);
    LS_CUDA(cudaGraphLaunch(graph_exec_, stream_));
  } else {
    decode_body(st);
  }
  cand_uid_ = st.uid;
}

void CudaBackend::mark_impl(const char* name, std::uint64_t bytes) {
  const std::size_t i = prof_marks_.size();
  while (prof_events_.size() < i + 2) {
    cudaEvent_t e = nullptr;
    LS_CUDA(cudaEventCreate(&e));
    prof_events_.push_back(e);
  }
  LS_CUDA(cudaEventRecord(prof_events_[i], stream_));
  prof_marks_.push_back({name, bytes});
}

void CudaBackend::profile_collect() {
  const std::size_t n = prof_marks_.size();
  if (n == 0) return;
  LS_CUDA(cudaEventRecord(prof_events_[n], stream_));
  LS_CUDA(cudaEventSynchronize(prof_events_[n]));
  std::map<std::string, std::size_t> at;
  for (std::size_t i = 0; i < prof_rows_.size(); ++i) at[prof_rows_[i].name] = i;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < n; ++i) {
    float ms = 0.0f;
    LS_CUDA(cudaEventElapsedTime(&ms, prof_events_[i], prof_events_[i + 1]));
    const std::string name = prof_marks_[i].first;
    auto it = at.find(name);
    if (it == at.end()) {
      it = at.emplace(name, prof_rows_.size()).first;
      prof_rows_.push_back(KernelProfileRow{name});
    }
    KernelProfileRow& r = prof_rows_[it->second];
    ++r.calls;
    r.ms += ms;
    r.bytes += prof_marks_[i].second;
    if (seen.insert(name).second) ++r.tokens;
  }
}

void CudaBackend::set_profile(bool on) {
  std::lock_guard lock(mutex_);
  profile_ = on;
  if (on) prof_rows_.clear();
}

std::vector<KernelProfileRow> CudaBackend::profile_rows() {
  std::lock_guard lock(mutex_);
  auto rows = prof_rows_;
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.ms > b.ms; });
  return rows;
}

void CudaBackend::forward(BackendState& state_base, std::span<const TokenId> tokens, const ForwardOptions& options,
                          std::stop_token stop) {
  std::lock_guard lock(mutex_);
  auto& st = dynamic_cast<CudaState&>(state_base);
  if (tokens.empty()) return;
  if (st.fed + std::int64_t(tokens.size()) > st.max_context)
    throw Error("context full: " + std::to_string(st.fed) + " + " + std::to_string(tokens.size()) +
                " tokens exceed the state's " + std::to_string(st.max_context));
  const int V = int(model_.cfg.vocab_size);
  for (TokenId id : tokens)
    if (id < 0 || id >= V) throw Error("token id " + std::to_string(id) + " is outside the vocabulary (0.." + std::to_string(V - 1) + ")");
  st.all_logits.clear();
  st.has_routing = false;
  cand_uid_ = 0;
  if (tokens.size() == 1 && !options.all_logits) {
    // Decode: one token, routing into the state; a CUDA graph replay unless profiling or disabled.
    if (stop.stop_requested()) throw Cancelled("forward cancelled");
    decode_step(st, tokens[0]);
    st.fed += 1;
    st.has_routing = options.capture_routing;
    return;
  }
  std::size_t done = 0;
  while (done < tokens.size()) {
    if (stop.stop_requested()) throw Cancelled("forward cancelled");
    const int T = int(std::min<std::size_t>(ws_.rows, tokens.size() - done));
    std::memcpy(ws_.h_ids, tokens.data() + done, std::size_t(T) * 4);
    LS_CUDA(cudaMemcpyAsync(ws_.ids, ws_.h_ids, std::size_t(T) * 4, cudaMemcpyHostToDevice, stream_));
    const bool last_chunk = done + T == tokens.size();
    if (profile_) {  // profile mode: the prompt's stages are timed too (bench --profile)
      prof_marks_.clear();
      prof_active_ = true;
    }
    try {
      run_chunk(st, T, options.capture_routing && last_chunk, ws_.ids, nullptr);
      if (options.all_logits || last_chunk) final_logits(st, T, options.all_logits);
    } catch (...) {
      prof_active_ = false;
      throw;
    }
    if (prof_active_) {
      prof_active_ = false;
      profile_collect();
    }
    st.fed += T;
    done += T;
    // h_ids is reused by the next chunk: the copy must have been consumed.
    LS_CUDA(cudaStreamSynchronize(stream_));
  }
  st.has_routing = options.capture_routing;
}

std::vector<float> CudaBackend::logits(BackendState& state_base) {
  std::lock_guard lock(mutex_);
  auto& st = dynamic_cast<CudaState&>(state_base);
  if (!st.all_logits.empty()) return st.all_logits;
  std::vector<float> out(std::size_t(model_.cfg.vocab_size));
  LS_CUDA(cudaMemcpyAsync(out.data(), st.last_logits, out.size() * 4, cudaMemcpyDeviceToHost, stream_));
  LS_CUDA(cudaStreamSynchronize(stream_));
  return out;
}

std::vector<RoutingSlice> CudaBackend::routing(BackendState& state_base) {
  std::lock_guard lock(mutex_);
  auto& st = dynamic_cast<CudaState&>(state_base);
  std::vector<RoutingSlice> out;
  const int k = model_.cfg.num_experts_per_tok, ne = model_.cfg.count(LayerKind::Moe);
  if (!st.has_routing || ne == 0) return out;
  std::vector<int> ids(std::size_t(ne) * k);
  std::vector<float> w(std::size_t(ne) * k);
  LS_CUDA(cudaMemcpyAsync(ids.data(), st.routing_ids, ids.size() * 4, cudaMemcpyDeviceToHost, stream_));
  LS_CUDA(cudaMemcpyAsync(w.data(), st.routing_w, w.size() * 4, cudaMemcpyDeviceToHost, stream_));
  LS_CUDA(cudaStreamSynchronize(stream_));
  for (std::size_t l = 0; l < model_.layers.size(); ++l) {
    const DLayer& L = model_.layers[l];
    if (L.kind != LayerKind::Moe) continue;
    RoutingSlice s;
    s.layer = int(l);
    s.experts.assign(ids.begin() + L.slot * k, ids.begin() + (L.slot + 1) * k);
    s.weights.assign(w.begin() + L.slot * k, w.begin() + (L.slot + 1) * k);
    out.push_back(std::move(s));
  }
  return out;
}

std::unique_ptr<RecurrentCheckpoint> CudaBackend::checkpoint(const BackendState& state_base) {
  std::lock_guard lock(mutex_);
  const auto& st = dynamic_cast<const CudaState&>(state_base);
  auto cp = std::make_unique<CudaCheckpoint>();
  cp->fed = st.fed;
  cp->size = st.recurrent_bytes;
  if (cp->size) {
    LS_CUDA(cudaMalloc(&cp->data, cp->size));
    LS_CUDA(cudaMemcpyAsync(cp->data, st.block, cp->size, cudaMemcpyDeviceToDevice, stream_));
    LS_CUDA(cudaStreamSynchronize(stream_));
  }
  return cp;
}

void CudaBackend::restore(BackendState& state_base, const RecurrentCheckpoint& checkpoint_base) {
  std::lock_guard lock(mutex_);
  auto& st = dynamic_cast<CudaState&>(state_base);
  const auto& cp = dynamic_cast<const CudaCheckpoint&>(checkpoint_base);
  if (cp.size != st.recurrent_bytes) throw Error("checkpoint does not belong to this model's state");
  if (cp.size) LS_CUDA(cudaMemcpyAsync(st.block, cp.data, cp.size, cudaMemcpyDeviceToDevice, stream_));
  LS_CUDA(cudaStreamSynchronize(stream_));
  st.fed = cp.fed;  // attention caches past `fed` are simply overwritten later
  st.all_logits.clear();
  st.has_routing = false;
}

void CudaBackend::reset(BackendState& state_base) {
  std::lock_guard lock(mutex_);
  auto& st = dynamic_cast<CudaState&>(state_base);
  if (st.recurrent_bytes) LS_CUDA(cudaMemsetAsync(st.block, 0, st.recurrent_bytes, stream_));
  LS_CUDA(cudaStreamSynchronize(stream_));
  st.fed = 0;
  st.all_logits.clear();
  st.has_routing = false;
}

CudaBackendStats CudaBackend::stats() const {
  const ModelConfig& c = model_.cfg;
  CudaBackendStats s;
  s.weight_bytes = model_.arena_bytes;
  s.workspace_bytes = ws_.bytes;
  s.decode_weight_bytes = model_.decode_weight_bytes;
  s.state_rw_bytes = 2ull * c.count(LayerKind::Mamba) *
                     (std::uint64_t(c.mamba_conv_dim()) * (c.conv_kernel - 1) * 2 +
                      std::uint64_t(c.mamba_num_heads) * c.mamba_head_dim * c.ssm_state_size * 4);
  s.kv_bytes_per_position = 2ull * c.count(LayerKind::Attention) * c.num_key_value_heads * c.head_dim * 2;
  s.device_name = device_name_;
  return s;
}

CudaBackendStats cuda_backend_stats(const Backend& backend) {
  auto* b = dynamic_cast<const CudaBackend*>(&backend);
  if (!b) throw Error("not a CUDA backend");
  return b->stats();
}

void cuda_backend_set_graphs(Backend& backend, bool on) {
  auto* b = dynamic_cast<CudaBackend*>(&backend);
  if (!b) throw Error("not a CUDA backend");
  b->set_graphs(on);
}

void cuda_backend_set_profile(Backend& backend, bool on) {
  auto* b = dynamic_cast<CudaBackend*>(&backend);
  if (!b) throw Error("not a CUDA backend");
  b->set_profile(on);
}

std::vector<KernelProfileRow> cuda_backend_profile(Backend& backend) {
  auto* b = dynamic_cast<CudaBackend*>(&backend);
  if (!b) throw Error("not a CUDA backend");
  return b->profile_rows();
}

}  // namespace logitscope::cuda
