// SPDX-License-Identifier: GPL-3.0-or-later
// choose(): the distribution after the last token, summarised on the GPU. Only the 64 best
// candidates (id, logit), {max, sum exp, sum exp * (l - max)} and, when forced, one logit cross to
// the host. Greedy, forced and top-k (<= 64) sampling finish on those; other sampling settings need
// the whole distribution and copy the logits (512 KiB at the real vocabulary).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "backend/cuda/common.cuh"
#include "backend/cuda/cuda_backend_impl.h"

namespace logitscope::cuda {
namespace {

struct Cand {
  int id;
  float logit;
};

// Samples from `c` (sorted by logit, best first) with HF's order: temperature, top-k, top-p, min-p.
int sample_sorted(const std::vector<Cand>& c, const SamplingParams& s, double uniform) {
  const double T = s.temperature;
  std::size_t keep = c.size();
  if (s.top_k > 0) keep = std::min<std::size_t>(keep, std::size_t(s.top_k));
  std::vector<double> p(keep);
  const double m = c[0].logit / T;
  double sum = 0.0;
  for (std::size_t i = 0; i < keep; ++i) sum += (p[i] = std::exp(c[i].logit / T - m));
  for (auto& v : p) v /= sum;
  if (s.top_p < 1.0f) {
    double cum = 0.0;
    std::size_t n = 0;
    while (n < keep) {
      cum += p[n++];
      if (cum >= s.top_p) break;
    }
    keep = std::max<std::size_t>(n, 1);
  }
  if (s.min_p > 0.0f) {
    double total = 0.0;
    for (std::size_t i = 0; i < keep; ++i) total += p[i];
    const double thresh = s.min_p * (p[0] / total);
    std::size_t n = 1;
    while (n < keep && p[n] / total >= thresh) ++n;
    keep = n;
  }
  double total = 0.0;
  for (std::size_t i = 0; i < keep; ++i) total += p[i];
  double target = uniform * total, acc = 0.0;
  for (std::size_t i = 0; i < keep; ++i) {
    acc += p[i];
    if (target < acc) return c[i].id;
  }
  return c[keep - 1].id;
}

}  // namespace

ChoiceResult CudaBackend::choose(BackendState& state_base, const ChoiceRequest& req) {
  std::lock_guard lock(mutex_);
  auto& st = dynamic_cast<CudaState&>(state_base);
  if (st.fed == 0) throw Error("choose() needs at least one fed token");
  const int V = int(model_.cfg.vocab_size);
  // A decode step already summarised its logits (inside its CUDA graph); a prompt forward did not.
  if (cand_uid_ != st.uid) {
    choose_kernels(st);
    cand_uid_ = st.uid;
  }
  // Pinned mirror: [64 ids][64 vals][4 stats][1 forced logit].
  int* h_ids = static_cast<int*>(ws_.h_small);
  float* h_vals = reinterpret_cast<float*>(h_ids + kCandidates);
  float* h_stats = h_vals + kCandidates;
  float* h_forced = h_stats + 4;
  LS_CUDA(cudaMemcpyAsync(h_ids, ws_.cand_ids, kCandidates * 4, cudaMemcpyDeviceToHost, stream_));
  LS_CUDA(cudaMemcpyAsync(h_vals, ws_.cand_vals, kCandidates * 4, cudaMemcpyDeviceToHost, stream_));
  LS_CUDA(cudaMemcpyAsync(h_stats, ws_.stats, 16, cudaMemcpyDeviceToHost, stream_));
  if (req.forced) {
    if (*req.forced < 0 || *req.forced >= V) throw Error("forced token id " + std::to_string(*req.forced) + " is outside the vocabulary");
    LS_CUDA(cudaMemcpyAsync(h_forced, st.last_logits + *req.forced, 4, cudaMemcpyDeviceToHost, stream_));
  }
  LS_CUDA(cudaStreamSynchronize(stream_));

  const double m = h_stats[0], S = h_stats[1], W = h_stats[2];
  const double logZ = m + std::log(S);
  std::vector<Cand> cand;
  for (int i = 0; i < kCandidates; ++i)
    if (h_ids[i] >= 0 && h_ids[i] < V) cand.push_back({h_ids[i], h_vals[i]});
  if (cand.empty() || !std::isfinite(S) || !(S > 0.0))
    throw Error("the logits after position " + std::to_string(st.fed - 1) + " are not finite (NaN or all -inf)");
  ChoiceResult r;
  r.entropy = float(std::log(S) - W / S);
  const int report = std::clamp(req.report_top_k, 0, int(cand.size()));
  for (int i = 0; i < report; ++i) {
    const double lp = cand[i].logit - logZ;
    r.top_k.push_back({cand[i].id, float(std::exp(lp)), float(lp), cand[i].logit});
  }
  float chosen_logit = cand[0].logit;
  const SamplingParams& s = req.sampling;
  if (req.forced) {
    r.id = *req.forced;
    chosen_logit = *h_forced;
  } else if (s.greedy || s.temperature <= 0.0f) {
    r.id = cand[0].id;
  } else if (s.top_k > 0 && s.top_k <= int(cand.size())) {
    r.id = sample_sorted(cand, s, req.uniform);
  } else {
    // The nucleus may reach past the candidates: take the whole distribution.
    std::vector<float> all(static_cast<std::size_t>(V));
    LS_CUDA(cudaMemcpyAsync(all.data(), st.last_logits, all.size() * 4, cudaMemcpyDeviceToHost, stream_));
    LS_CUDA(cudaStreamSynchronize(stream_));
    std::vector<Cand> full(all.size());
    for (int i = 0; i < V; ++i) full[i] = {i, all[i]};
    std::stable_sort(full.begin(), full.end(), [](const Cand& a, const Cand& b) { return a.logit > b.logit; });
    r.id = sample_sorted(full, s, req.uniform);
    chosen_logit = all[r.id];
  }
  if (!req.forced) {
    for (const auto& c : cand)
      if (c.id == r.id) chosen_logit = c.logit;
  }
  r.logprob = float(chosen_logit - logZ);
  r.prob = float(std::exp(double(chosen_logit) - logZ));
  return r;
}

}  // namespace logitscope::cuda
