// SPDX-License-Identifier: GPL-3.0-or-later
// The CUDA backend's mixture-of-experts layer (spec 2.3): router and top-k on the device, then the
// expert products by chunk size: decode (experts_decode.cu, the shared expert on the side stream),
// prompt chunks (experts_grouped.cu, grouped on the device), or the host-grouped cuBLAS fallback for
// cards before 8.0 (and the LOGITSCOPE_PROMPT_EXPERTS comparison modes).
// Interventions on the chunk's rows (active_iv_): masked / forced experts and the routed scale go to
// the router kernel by value (RouterEdit, so a decode graph carries them); a scaled shared expert
// runs apart (into ws_.part) and is added times its factor.
#include <vector>

#include "backend/cuda/common.cuh"
#include "backend/cuda/cuda_backend_impl.h"
#include "backend/cuda/kernels/kernels.h"

namespace logitscope::cuda {

void CudaBackend::moe(const DLayer& L, CudaState& st, int T, bool capture_routing) {
  const ModelConfig& c = model_.cfg;
  const int E = c.n_routed_experts, k = c.num_experts_per_tok, hid = int(c.hidden_size);
  const int latent = c.moe_latent_size;
  const int li = layer_index(L);
  const double shared_scale = active_iv_ ? active_iv_->scale(li, MoePart::Shared) : 1.0;
  const bool shared_apart = L.shared.up.rows > 0 && shared_scale != 1.0;
  // Decode: the shared expert does not depend on the routing; it runs on the side stream while the
  // router, top-k and the routed up products run here, and experts_down adds its output.
  // With quantized experts (or a quantized shared expert) the shared expert never rides in the routed
  // launches: it runs on the side stream, or after them (LOGITSCOPE_SHARED_STREAM=0, timeline graphs).
  const bool has_shared = L.shared.up.rows > 0 && latent == 0 && !shared_apart;
  const bool shared_rides = L.experts.shared_up != nullptr && !shared_apart;
  const bool shared_side = T == 1 && has_shared && shared_side_;
  const bool shared_after = T == 1 && has_shared && !shared_side_ && !shared_rides;
  const bool quant_experts = L.experts.up_q.quantized() || L.experts.down_q.quantized();
  if (shared_side) {
    const DFfn& f = L.shared;
    LS_CUDA(cudaEventRecord(ev_fork_, stream_));
    LS_CUDA(cudaStreamWaitEvent(side_stream_, ev_fork_, 0));
    gemv_linear(f.up, ws_.normed, ws_.shared_h, false, side_stream_);
    relu2_rows(ws_.shared_h, nullptr, nullptr, 1, f.up.rows, ws_.shared_act, side_stream_);
    gemv_linear(f.down, ws_.shared_act, ws_.shared_out, false, side_stream_);
    LS_CUDA(cudaEventRecord(ev_join_, side_stream_));
  }
  // Router: fp32 accumulate over bf16 activations, fp32 logits [T, E].
  mark("moe.router", std::uint64_t(E) * hid * (L.router_f32 ? 4 : 2));
  if (L.router_f32) {
    gemv_f32w(L.router_f32, ws_.normed, ws_.router, E, hid, T, stream_);
  } else {
    linear(bf16_linear(L.router_bf16, E, hid), ws_.normed, T, ws_.router, false);
  }
  RouterParams rp{E, k, c.n_group, c.topk_group, c.norm_topk_prob, float(c.routed_scaling_factor)};
  int* ids = T == 1 ? st.routing_ids + L.slot * k : ws_.topk_ids;
  float* wts = T == 1 ? st.routing_w + L.slot * k : ws_.topk_w;
  mark("moe.router_topk", std::uint64_t(E) * 8);
  router_topk(ws_.router, L.correction_bias, T, rp, ids, wts, stream_, router_edit(li));
  if (T > 1 && capture_routing) {
    LS_CUDA(cudaMemcpyAsync(st.routing_ids + L.slot * k, ids + std::int64_t(T - 1) * k, k * 4, cudaMemcpyDeviceToDevice, stream_));
    LS_CUDA(cudaMemcpyAsync(st.routing_w + L.slot * k, wts + std::int64_t(T - 1) * k, k * 4, cudaMemcpyDeviceToDevice, stream_));
  }
  if (T > 1 && all_routing_state_ == &st) {
    // Every row of this chunk into the host copy [rows, n_moe, k] (rows of this layer's slot).
    const std::size_t row_pitch = std::size_t(c.count(LayerKind::Moe)) * k;
    const std::size_t at = (std::size_t(all_routing_row0_) * row_pitch + std::size_t(L.slot) * k);
    LS_CUDA(cudaMemcpy2DAsync(st.all_routing_ids.data() + at, row_pitch * 4, ids, std::size_t(k) * 4, std::size_t(k) * 4, T,
                              cudaMemcpyDeviceToHost, stream_));
    LS_CUDA(cudaMemcpy2DAsync(st.all_routing_w.data() + at, row_pitch * 4, wts, std::size_t(k) * 4, std::size_t(k) * 4, T,
                              cudaMemcpyDeviceToHost, stream_));
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
    // The shared expert rides in the routed launches when it does not run on the side stream
    // (LOGITSCOPE_SHARED_STREAM=0) and does not live in a different space (latent).
    ExpertsDecode x = L.experts;
    if (shared_side || shared_apart) {
      x.shared_up = x.shared_down = nullptr;
      x.shared_up_b = x.shared_down_b = nullptr;
      x.shared_width = 0;
    }
    const std::uint64_t up_bytes = std::uint64_t(k) * x.width * quant_row_bytes(x.up_q.code, x.in) +
                                   std::uint64_t(x.shared_width) * x.in * 2;
    const std::uint64_t down_bytes = std::uint64_t(k) * x.out * quant_row_bytes(x.down_q.code, x.width) +
                                     std::uint64_t(x.shared_width) * x.out * 2;
    mark("moe.experts_up", up_bytes + std::uint64_t(x.in) * 2);
    if (x.up_q.quantized()) experts_up_decode_quant(x, ids, k, xe, ws_.h_dec, ws_.hstride, stream_);
    else experts_up_decode(x, ids, k, xe, ws_.h_dec, ws_.hstride, stream_);
    if (shared_side) LS_CUDA(cudaStreamWaitEvent(stream_, ev_join_, 0));
    mark("moe.experts_down", down_bytes + std::uint64_t(x.out) * 8);
    const float* extra = shared_side ? ws_.shared_out : nullptr;
    if (x.down_q.quantized()) experts_down_decode_quant(x, ids, wts, k, ws_.h_dec, ws_.hstride, extra, routed_out, stream_);
    else experts_down_decode(x, ids, wts, k, ws_.h_dec, ws_.hstride, extra, routed_out, stream_);
    if (shared_after) {
      mark("moe.shared", 0);
      ffn(L.shared, ws_.normed, 1, ws_.resid);
    }
  } else if (prompt_experts_ == PromptExperts::Auto || quant_experts) {
    // A prompt chunk: grouped on the device, two tensor-core grouped products (experts_grouped.cu).
    // From 2 tokens on: at 28 tokens they stream the ~3/4 of the experts a prompt uses faster than
    // the grouped matrix-vector kernel of v3.1 did (12.7 vs 20.0 ms, H100).
    const ExpertsDecode& x = L.experts;
    mark("moe.experts_grouped", 0);
    experts_grouped(x, E, ids, T, k, xe, ws_.e_counts, ws_.e_offsets, ws_.e_tiles, ws_.perm, ws_.slot, ws_.e_act,
                    ws_.e_down, stream_);
    moe_combine(ws_.e_down, ws_.slot, ids, wts, x.down_b, T, k, e_dim, routed_out, stream_);
    if (!shared_apart) {
      mark("moe.shared", 0);
      shared_expert(L, T, 1.0);
    }
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
        const DLinear up = bf16_linear(x.up + per * e, x.width, e_dim);
        linear(up, ws_.gathered + std::int64_t(start[e]) * e_dim, count[e], ws_.e_up + std::int64_t(start[e]) * x.width, false);
      }
      relu2_rows(ws_.e_up, x.up_b, ws_.row_expert, n, x.width, ws_.e_act, stream_);
      for (int e = 0; e < E; ++e) {
        if (count[e] == 0) continue;
        const DLinear down = bf16_linear(x.down + per * e, e_dim, x.width);
        linear(down, ws_.e_act + std::int64_t(start[e]) * x.width, count[e], ws_.e_down + std::int64_t(start[e]) * e_dim, false);
      }
    }
    moe_combine(ws_.e_down, ws_.slot, ids, wts, x.down_b, T, k, e_dim, routed_out, stream_);
    if (!shared_apart) {
      mark("moe.shared", 0);
      shared_expert(L, T, 1.0);
    }
  }
  if (latent > 0) {
    f32_to_bf16(ws_.routed, ws_.lat, std::int64_t(T) * latent, stream_);
    linear(L.latent_out, ws_.lat, T, ws_.resid, true);
    if (T == 1 && !shared_apart) shared_expert(L, T, 1.0);
  }
  if (shared_apart) {
    mark("moe.shared_scaled", 0);
    shared_expert(L, T, shared_scale);
  }
}

void CudaBackend::shared_expert(const DLayer& L, int T, double scale) {
  if (L.shared.up.rows == 0) return;
  if (scale == 1.0) {
    ffn(L.shared, ws_.normed, T, ws_.resid);
    return;
  }
  // ffn accumulates into its output: part starts at zero. (part may be e_down: free by now.)
  const std::int64_t n = std::int64_t(T) * model_.cfg.hidden_size;
  LS_CUDA(cudaMemsetAsync(ws_.part, 0, std::size_t(n) * 4, stream_));
  ffn(L.shared, ws_.normed, T, ws_.part);
  add_scaled(ws_.resid, ws_.part, float(scale), n, stream_);
}

RouterEdit CudaBackend::router_edit(int layer) const {
  RouterEdit edit;
  if (!active_iv_) return edit;
  const int E = model_.cfg.n_routed_experts;
  if (const ForcedExperts* forced = active_iv_->forced_in(layer)) {  // size <= k: checked by forward()
    edit.n_forced = int(forced->experts.size());
    for (int i = 0; i < edit.n_forced; ++i) edit.forced[i] = forced->experts[std::size_t(i)];
  }
  for (int e = 0; e < E && e < kRouterEditMaxExperts; ++e)
    if (active_iv_->masks(layer, e)) edit.masked[e >> 5] |= 1u << (e & 31);
  edit.routed_scale = float(active_iv_->scale(layer, MoePart::Routed));
  return edit;
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

}  // namespace logitscope::cuda
