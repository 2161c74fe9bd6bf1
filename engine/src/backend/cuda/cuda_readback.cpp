// SPDX-License-Identifier: GPL-3.0-or-later
// What the host reads back from the CUDA backend after a forward: the routing of the last token
// and of every prompt row (as RoutingSlices, minus what interventions made meaningless: a skipped
// layer's slots, a forced set's padding) and the logit lens (each layer's residual through the
// final norm and lm_head).
#include <algorithm>

#include "backend/cuda/common.cuh"
#include "backend/cuda/cuda_backend_impl.h"
#include "backend/cuda/kernels/kernels.h"

namespace logitscope::cuda {

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
    if (routing_slice(st, int(l), st.fed - 1, ids.data() + L.slot * k, w.data() + L.slot * k, s)) out.push_back(std::move(s));
  }
  return out;
}

bool CudaBackend::routing_slice(const CudaState& st, int layer, std::int64_t pos, const int* ids, const float* w,
                                RoutingSlice& out) const {
  int k = model_.cfg.num_experts_per_tok;
  const bool intervened = !st.applied.empty() && pos >= st.applied.from_position;
  if (intervened) {
    if (st.applied.skips(layer)) return false;  // as the CPU backend: no experts ran
    if (const ForcedExperts* forced = st.applied.forced_in(layer)) k = std::min(k, int(forced->experts.size()));
  }
  out.layer = layer;
  out.experts.assign(ids, ids + k);
  out.weights.assign(w, w + k);
  return true;
}

std::vector<std::vector<RoutingSlice>> CudaBackend::routing_all(BackendState& state_base) {
  auto& st = dynamic_cast<CudaState&>(state_base);
  const int k = model_.cfg.num_experts_per_tok, ne = model_.cfg.count(LayerKind::Moe);
  if (st.all_routing_ids.empty() || ne == 0) return {routing(state_base)};
  std::lock_guard lock(mutex_);
  LS_CUDA(cudaStreamSynchronize(stream_));  // the last chunk's copies
  const std::size_t rows = st.all_routing_ids.size() / (std::size_t(ne) * k);
  std::vector<std::vector<RoutingSlice>> out(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t l = 0; l < model_.layers.size(); ++l) {
      const DLayer& L = model_.layers[l];
      if (L.kind != LayerKind::Moe) continue;
      const std::size_t at = (r * ne + L.slot) * k;
      RoutingSlice s;
      if (routing_slice(st, int(l), st.all_routing_pos0 + std::int64_t(r), st.all_routing_ids.data() + at,
                        st.all_routing_w.data() + at, s))
        out[r].push_back(std::move(s));
    }
  }
  return out;
}

void CudaBackend::lens_logits_from_rows(CudaState& st) {
  const ModelConfig& c = model_.cfg;
  const int hid = int(c.hidden_size), V = int(c.vocab_size), layers = int(model_.layers.size());
  st.lens.assign(std::size_t(layers) * V, 0.0f);
  for (int r0 = 0; r0 < layers; r0 += ws_.logit_rows) {
    const int rows = std::min(ws_.logit_rows, layers - r0);
    rmsnorm(lens_rows_ + std::int64_t(r0) * hid, model_.norm_f, float(c.layer_norm_epsilon), rows, hid, ws_.normed,
            stream_);
    linear(model_.lm_head, ws_.normed, rows, ws_.logits, false);
    LS_CUDA(cudaMemcpyAsync(st.lens.data() + std::size_t(r0) * V, ws_.logits, std::size_t(rows) * V * 4,
                            cudaMemcpyDeviceToHost, stream_));
    LS_CUDA(cudaStreamSynchronize(stream_));  // ws_.logits is reused by the next rows
  }
}

std::vector<float> CudaBackend::lens_logits(BackendState& state_base) {
  std::lock_guard lock(mutex_);
  auto& st = dynamic_cast<CudaState&>(state_base);
  if (st.lens.empty()) throw Error("no logit lens: the last forward did not ask for one (lens_last)");
  return st.lens;
}

}  // namespace logitscope::cuda
