// SPDX-License-Identifier: GPL-3.0-or-later
// The CUDA backend's forward pass: one code path for prompts and decode. Matrix products go through
// the decode GEMV kernels for one token and cuBLAS (bf16 in, fp32 accumulate and out) for more; the
// Mamba conv/scan, attention and routing kernels take any number of tokens. Decode never waits for
// the host: routing ids stay on the device and the expert kernels read them there. The MoE layer is
// in cuda_moe.cpp.
#include "backend/cuda/cuda_backend_impl.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {

namespace {
std::atomic<std::uint64_t> g_state_uid{0};

// Byte count of a decode matrix-vector product: weights once (as stored), x, y written (and read
// when accumulating).
std::uint64_t gemv_bytes(const DLinear& L, bool acc) {
  return L.weight_bytes() + std::uint64_t(L.cols) * 2 + std::uint64_t(L.rows) * 4 * (acc ? 2 : 1);
}
}  // namespace

// A cuBLAS failure as an engine error. On a card with almost no memory left, cuBLAS reports a kernel
// that could not get its local memory as an execution failure: that is out of memory too.
void throw_cublas_error(cublasStatus_t status, const char* call) {
  std::size_t free_b = 0, total_b = 0;
  const bool known = cudaMemGetInfo(&free_b, &total_b) == cudaSuccess;
  cudaGetLastError();
  if (status == CUBLAS_STATUS_ALLOC_FAILED ||
      (status == CUBLAS_STATUS_EXECUTION_FAILED && known && free_b < (std::size_t(64) << 20)))
    throw_out_of_memory("cuBLAS (" + std::string(call) + ")", free_b, total_b);
  throw Error("cuBLAS error " + std::to_string(int(status)) + " in " + call);
}

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
  ws_ = allocate_workspace(model_.cfg, max_context, model_.max_dequant_elems, false);
  LS_CUBLAS(cublasSetWorkspace(cublas_, ws_.cublas_ws, kCublasWorkspaceBytes));
  LS_CUDA(cudaEventCreateWithFlags(&step_copied_, cudaEventDisableTiming));
  LS_CUDA(cudaEventRecord(step_copied_, stream_));
  if (const char* g = std::getenv("LOGITSCOPE_CUDA_GRAPHS"); g && std::string(g) == "0") use_graphs_ = false;
  if (const char* g = std::getenv("LOGITSCOPE_SHARED_STREAM"); g && std::string(g) == "0") shared_side_ = false;
  preview_ = cuda_preview_enabled();
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
  if (timeline_) set_timeline_sink(nullptr, nullptr, 0);
  if (tl_stamps_) cudaFree(tl_stamps_);
  if (tl_count_) cudaFree(tl_count_);
  if (lens_rows_) cudaFree(lens_rows_);
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
    gemv_linear(L, x, y, accumulate, stream_);
    return;
  }
  // A quantized matrix is dequantized (exactly, its global scale left for alpha) into the workspace
  // tile, one matrix at a time, for the tensor-core product.
  const bf16* W = L.w;
  if (L.quantized()) {
    dequantize_bf16(L.q, L.rows, L.cols, ws_.dequant, stream_);
    W = ws_.dequant;
  }
  // Row-major y[T, rows] = x[T, cols] W[rows, cols]^T, i.e. column-major y^T = W^T(op T) x^T.
  const float alpha = L.quantized() ? L.q.global_host : 1.0f, beta = accumulate ? 1.0f : 0.0f;
  LS_CUBLAS(cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, L.rows, T, L.cols, &alpha, W, CUDA_R_16BF, L.cols, x,
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
  const std::uint64_t conv_bytes = std::uint64_t(conv_dim) * (8 + 4 * c.conv_kernel + 4 * (c.conv_kernel - 1));
  if (T == 1 && c.conv_kernel >= 2 && c.conv_kernel <= kMaxConvTaps && gemv_linear_vectorised(L.in_proj, ws_.normed)) {
    // Decode: the in_proj rows that are xBC channels run their conv step in the product's epilogue.
    mark("mamba.in_proj+conv", gemv_bytes(L.in_proj, false) + conv_bytes);
    const ConvStep step{c.conv_kernel, d_inner, conv_dim, L.conv_w, L.conv_b, st.conv[L.slot], ws_.xbc};
    gemv_linear(L.in_proj, ws_.normed, ws_.proj, false, stream_, step);
  } else {
    mark("mamba.in_proj", gemv_bytes(L.in_proj, false));
    linear(L.in_proj, ws_.normed, T, ws_.proj, false);  // zxbcdt [T, in_dim]
    mark("mamba.conv", conv_bytes);
    mamba_conv(ws_.proj, in_dim, d_inner, conv_dim, c.conv_kernel, L.conv_w, L.conv_b, st.conv[L.slot], T, ws_.xbc,
               stream_);
  }
  // As the CPU reference (and transformers 5.17): over a prompt dt is floored at time_step_min, a
  // cached single-token step only clamps to time_step_limit.
  const bool single_step = single_step_;
  const double dt_floor = single_step ? c.time_step_limit_min : std::max(c.time_step_limit_min, c.time_step_min);
  ScanParams p{c.mamba_num_heads, c.mamba_head_dim, c.ssm_state_size, c.n_groups, d_inner,
               float(dt_floor), c.time_step_limit_max > 0 ? float(c.time_step_limit_max) : INFINITY};
  mark("mamba.scan", 2 * state + std::uint64_t(conv_dim) * 4 + std::uint64_t(d_inner) * 4);
  mamba_scan(ws_.xbc, ws_.proj, in_dim, d_inner + conv_dim, L.dt_bias, L.A_log, L.D, st.ssm[L.slot], T, p, ws_.y,
             stream_);
  mark("mamba.gated_norm", std::uint64_t(d_inner) * 14);
  gated_rmsnorm(ws_.y, ws_.proj, in_dim, L.gated_norm, T, d_inner, d_inner / c.n_groups, float(c.layer_norm_epsilon),
                ws_.act, stream_);
  mark("mamba.out_proj", gemv_bytes(L.out_proj, true));
  linear(L.out_proj, ws_.act, T, ws_.resid, true);
}

void CudaBackend::attention_layer(const DLayer& L, CudaState& st, int T, const int* pos_dev) {
  const ModelConfig& c = model_.cfg;
  const std::uint64_t kv_row = std::uint64_t(c.num_key_value_heads) * c.head_dim;
  mark("attn.qkv", gemv_bytes(L.qkv, false));
  linear(L.qkv, ws_.normed, T, ws_.proj, false);  // [T, (H + 2 KV) hd]
  AttnParams p{c.num_attention_heads, c.num_key_value_heads, c.head_dim, int(st.max_context), int(st.fed), pos_dev,
               L.k_scale, L.v_scale};
  mark("attn.kv_append", kv_row * 2 * 6);
  kv_append(ws_.proj, T, p, st.kcache[L.slot], st.vcache[L.slot], stream_);
  mark("attn.attention", kv_row * 2 * 2 * std::uint64_t(st.fed + 1) + std::uint64_t(c.num_attention_heads) * c.head_dim * 6);
  if (T == 1)
    attention_decode(ws_.proj, p, st.kcache[L.slot], st.vcache[L.slot], ws_.attn_part, ws_.act, stream_);
  else
    attention(ws_.proj, T, p, st.kcache[L.slot], st.vcache[L.slot], ws_.act, stream_);
  mark("attn.o_proj", gemv_bytes(L.o, true));
  linear(L.o, ws_.act, T, ws_.resid, true);
}

void CudaBackend::final_logits(CudaState& st, int T, bool all_logits) {
  const ModelConfig& c = model_.cfg;
  const int hid = int(c.hidden_size), V = int(c.vocab_size);
  const float eps = float(c.layer_norm_epsilon);
  if (!all_logits) {
    mark("final.norm", std::uint64_t(hid) * 10);
    rmsnorm(ws_.resid + std::int64_t(T - 1) * hid, model_.norm_f, eps, 1, hid, ws_.normed, stream_);
    mark("lm_head", gemv_bytes(model_.lm_head, false));
    linear(model_.lm_head, ws_.normed, 1, st.last_logits, false);
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
    // A skipped layer (intervention): its mixer does not run, the residual passes through.
    if (!active_iv_ || !active_iv_->skips(layer_index(L))) {
      mark("rmsnorm", std::uint64_t(hid) * 10);
      rmsnorm(ws_.resid, L.norm, float(c.layer_norm_epsilon), T, hid, ws_.normed, stream_);
      switch (L.kind) {
        case LayerKind::Mamba: mamba(L, st, T); break;
        case LayerKind::Attention: attention_layer(L, st, T, pos_dev); break;
        case LayerKind::Moe: moe(L, st, T, capture_routing); break;
        case LayerKind::Mlp:
          mark("mlp", gemv_bytes(L.mlp.up, false) + gemv_bytes(L.mlp.down, true));
          ffn(L.mlp, ws_.normed, T, ws_.resid);
          break;
      }
    }
    if (lens_active_)  // the last row after this layer (logit lens)
      LS_CUDA(cudaMemcpyAsync(lens_rows_ + std::int64_t(layer_index(L)) * hid, ws_.resid + std::int64_t(T - 1) * hid,
                              std::size_t(hid) * 4, cudaMemcpyDeviceToDevice, stream_));
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
  // Timeline graph: one stream (stamps of two would interleave), each stage's first launch noted.
  const bool side = shared_side_;
  if (timeline_) {
    shared_side_ = false;
    tl_capturing_ = true;
    tl_base_ = launches_issued();
    tl_marks_.assign(1, TimelineMark{"graph.start", 0, 0});
  }
  auto end_timeline_capture = [&] {
    shared_side_ = side;
    tl_capturing_ = false;
  };
  try {
    decode_body(st);
    if (timeline_) timeline_end(stream_);
  } catch (...) {
    end_timeline_capture();
    cudaStreamEndCapture(stream_, &g);
    if (g) cudaGraphDestroy(g);
    throw;
  }
  end_timeline_capture();
  tl_launches_ = unsigned(launches_issued() - tl_base_);
  graph_is_timeline_ = timeline_;
  LS_CUDA(cudaStreamEndCapture(stream_, &g));
  const cudaError_t e = cudaGraphInstantiate(&graph_exec_, g, 0);
  cudaGraphDestroy(g);
  LS_CUDA(e);
  graph_uid_ = st.uid;
  graph_iv_ = active_iv_ ? *active_iv_ : Interventions{};
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
  } else if ((use_graphs_ || timeline_) && st.fed > 0) {
    // The graph bakes in the single-step dt clamp; the very first token of a sequence takes the
    // prompt path's dt floor instead (see mamba()), so it runs eagerly. Timeline mode replays its
    // own graph (kernels stamped, the shared expert on the main stream).
    const Interventions none;
    const Interventions& baked = active_iv_ ? *active_iv_ : none;
    if (!graph_exec_ || graph_uid_ != st.uid || graph_is_timeline_ != timeline_ || graph_iv_ != baked) {
      capture_decode_graph(st);
      tl_warm_ = false;
    }
    if (timeline_) {
      timeline_replay();
    } else {
      LS_CUDA(cudaGraphLaunch(graph_exec_, stream_));
    }
  } else {
    decode_body(st);
  }
  cand_uid_ = st.uid;
}

void CudaBackend::forward(BackendState& state_base, std::span<const TokenId> tokens, const ForwardOptions& options,
                          std::stop_token stop) {
  std::lock_guard lock(mutex_);
  auto& st = dynamic_cast<CudaState&>(state_base);
  if (tokens.empty()) return;
  if (st.fed + std::int64_t(tokens.size()) > st.max_context)
    throw Error("context full: " + std::to_string(st.fed) + " + " + std::to_string(tokens.size()) +
                " tokens exceed the state's " + std::to_string(st.max_context));
  check_token_ids(tokens, model_.cfg.vocab_size);
  // Rows [0, first_iv) run plain, rows [first_iv, n) under the interventions: as separate chunks.
  const std::int64_t n_rows = std::int64_t(tokens.size());
  const std::int64_t first_iv = first_intervened_row(options.interventions, st.fed, n_rows);
  const Interventions* iv = first_iv < n_rows ? options.interventions : nullptr;
  // Written, not yet checked on a GPU: refused unless LOGITSCOPE_CUDA_PREVIEW=1 (see cuda_tools.h).
  if (iv && !preview_)
    throw Error("interventions (masked, forced or scaled experts, skipped layers) run on the CPU backend only in this "
                "version; load the model with --backend cpu to apply them");
  // Refused before anything runs, so a refusal leaves the state as it was.
  if (iv)
    for (const ForcedExperts& forced : iv->forced)
      if (int(forced.experts.size()) > model_.cfg.num_experts_per_tok)
        throw Error("--force-experts " + to_text(forced) + ": the CUDA backend forces at most num_experts_per_tok = " +
                    std::to_string(model_.cfg.num_experts_per_tok) + " experts in a layer (the CPU backend takes more)");
  if (options.lens_last && !preview_)
    throw Error("the logit lens is not available on the CUDA backend in this version; load the model with --backend cpu");
  struct ForgetActive {  // these must not outlive this forward (exceptions too)
    const Interventions*& target;
    bool& lens;
    ~ForgetActive() {
      target = nullptr;
      lens = false;
    }
  } forget_active{active_iv_, lens_active_};
  st.applied = iv ? *iv : Interventions{};
  single_step_ = n_rows == 1 && st.fed > 0;
  st.all_logits.clear();
  st.all_routing_ids.clear();
  st.all_routing_w.clear();
  st.has_routing = false;
  st.lens.clear();
  cand_uid_ = 0;
  if (options.lens_last && !lens_rows_)
    LS_CUDA(cudaMalloc(&lens_rows_, model_.layers.size() * std::size_t(model_.cfg.hidden_size) * 4));
  if (tokens.size() == 1 && !options.all_logits && !options.lens_last) {
    // Decode: one token, routing into the state; a CUDA graph replay unless profiling or disabled.
    if (stop.stop_requested()) throw Cancelled("forward cancelled");
    active_iv_ = iv;
    decode_step(st, tokens[0]);
    st.fed += 1;
    st.has_routing = options.capture_routing;
    return;
  }
  const int ne = model_.cfg.count(LayerKind::Moe), k = model_.cfg.num_experts_per_tok;
  const bool every_row_routing = options.all_logits && options.capture_routing && ne > 0;
  if (every_row_routing) {
    st.all_routing_pos0 = st.fed;
    st.all_routing_ids.assign(tokens.size() * std::size_t(ne) * k, -1);
    st.all_routing_w.assign(tokens.size() * std::size_t(ne) * k, 0.0f);
  }
  struct ForgetRoutingState {  // the member pointer must not outlive this forward (exceptions too)
    CudaState*& target;
    ~ForgetRoutingState() { target = nullptr; }
  } forget{all_routing_state_};
  std::size_t done = 0;
  while (done < tokens.size()) {
    if (stop.stop_requested()) throw Cancelled("forward cancelled");
    std::int64_t rows = std::min<std::int64_t>(ws_.rows, n_rows - std::int64_t(done));
    if (std::int64_t(done) < first_iv) rows = std::min(rows, first_iv - std::int64_t(done));
    const int T = int(rows);
    active_iv_ = std::int64_t(done) >= first_iv ? iv : nullptr;
    // A one-token chunk takes the decode path's routing slot (moe() copies chunks of 2+ rows).
    all_routing_state_ = every_row_routing && T > 1 ? &st : nullptr;
    all_routing_row0_ = std::int64_t(done);
    std::memcpy(ws_.h_ids, tokens.data() + done, std::size_t(T) * 4);
    LS_CUDA(cudaMemcpyAsync(ws_.ids, ws_.h_ids, std::size_t(T) * 4, cudaMemcpyHostToDevice, stream_));
    const bool last_chunk = done + T == tokens.size();
    if (profile_) {  // profile mode: the prompt's stages are timed too (bench --profile)
      prof_marks_.clear();
      prof_active_ = true;
    }
    lens_active_ = options.lens_last && last_chunk;
    try {
      run_chunk(st, T, options.capture_routing && last_chunk, ws_.ids, nullptr);
      if (every_row_routing && T == 1) {  // one row: moe() wrote the state's routing slots
        LS_CUDA(cudaMemcpyAsync(st.all_routing_ids.data() + done * ne * k, st.routing_ids, std::size_t(ne) * k * 4,
                                cudaMemcpyDeviceToHost, stream_));
        LS_CUDA(cudaMemcpyAsync(st.all_routing_w.data() + done * ne * k, st.routing_w, std::size_t(ne) * k * 4,
                                cudaMemcpyDeviceToHost, stream_));
      }
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
  if (options.lens_last) lens_logits_from_rows(st);
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
  st.all_routing_ids.clear();
  st.all_routing_w.clear();
  st.has_routing = false;
}

void CudaBackend::reset(BackendState& state_base) {
  std::lock_guard lock(mutex_);
  auto& st = dynamic_cast<CudaState&>(state_base);
  if (st.recurrent_bytes) LS_CUDA(cudaMemsetAsync(st.block, 0, st.recurrent_bytes, stream_));
  LS_CUDA(cudaStreamSynchronize(stream_));
  st.fed = 0;
  st.all_logits.clear();
  st.all_routing_ids.clear();
  st.all_routing_w.clear();
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
  s.weight_format = model_.format;
  s.memory_plan = memory_plan_;
  return s;
}

bool cuda_preview_enabled() {
  const char* v = std::getenv("LOGITSCOPE_CUDA_PREVIEW");
  return v && std::string(v) == "1";
}

CudaBackend& as_cuda(Backend& backend) {
  auto* b = dynamic_cast<CudaBackend*>(&backend);
  if (!b) throw Error("not a CUDA backend");
  return *b;
}

const CudaBackend& as_cuda(const Backend& backend) { return as_cuda(const_cast<Backend&>(backend)); }

CudaBackendStats cuda_backend_stats(const Backend& backend) { return as_cuda(backend).stats(); }
void cuda_backend_set_graphs(Backend& backend, bool on) { as_cuda(backend).set_graphs(on); }

}  // namespace logitscope::cuda
