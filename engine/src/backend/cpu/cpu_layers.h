// SPDX-License-Identifier: GPL-3.0-or-later
// The blocks of the fp32 CPU reference. Each runs T tokens at once (T = 1 when decoding) and reads
// its weights through TensorView, converting small per-layer tensors to float once (PreparedLayer).
#pragma once

#include <cstdint>
#include <vector>

#include "backend/cpu/thread_pool.h"
#include "logitscope/config.h"
#include "logitscope/events.h"
#include "logitscope/interventions.h"
#include "model/weights.h"

namespace logitscope::cpu {

// Small tensors of one layer, as float.
struct PreparedLayer {
  std::vector<float> norm;            // [hidden]
  // Mamba
  std::vector<float> conv_weight;     // [conv_dim, conv_kernel]
  std::vector<float> conv_bias;       // [conv_dim] (zeros when the model has none)
  std::vector<float> dt_bias;         // [heads]
  std::vector<float> A;               // [heads], -exp(A_log)
  std::vector<float> D;               // [heads]
  std::vector<float> gated_norm;      // [d_inner]
  // MoE
  std::vector<float> correction_bias; // [n_routed_experts]
};

PreparedLayer prepare_layer(const ModelConfig& config, const LayerWeights& weights);

struct MambaState {
  std::vector<float> conv;  // [conv_dim, conv_kernel - 1] raw (pre-conv) xBC of the last tokens, oldest first
  std::vector<float> ssm;   // [heads, head_dim, d_state], fp32
};

struct KvCache {
  std::vector<float> k;     // [kv_heads, max_context, head_dim]
  std::vector<float> v;     // [kv_heads, max_context, head_dim]
};

// u: [T, hidden] normed input; out: [T, hidden] mixer output (the residual add is the caller's).
// `single_step`: one token continuing a cached state (the recurrent path); otherwise the chunked
// path, where transformers 5.17 floors dt at time_step_min (its decode path does not).
// What a forward can keep of a layer's inside, for the inspection views (null: nothing).
struct MambaCapture {
  std::vector<float> dt;          // [T, heads] softplus(dt_raw + dt_bias), before any clamp
  std::vector<float> state_norm;  // [T, heads] L2 norm of the head's SSM state after each token
};
struct AttentionCapture {
  const std::vector<std::int64_t>* rows = nullptr;  // in: the query positions to keep, ascending (null: every row)
  std::vector<float> weights;     // out: [heads, kept rows, pos0 + T] softmax over the visible positions (0 beyond)
};
struct RouterCapture {
  std::vector<float> scores;      // [T, experts] sigmoid(router logits)
  std::vector<float> selection;   // [T, experts] scores + correction bias (before group limiting)
};

void mamba2_forward(ThreadPool& pool, const ModelConfig& c, const MambaWeights& w, const PreparedLayer& p,
                    MambaState& state, const float* u, std::int64_t T, bool single_step, float* out,
                    MambaCapture* capture = nullptr);

// pos0: position of the first of the T tokens; the cache holds positions [0, pos0).
void attention_forward(ThreadPool& pool, const ModelConfig& c, const AttentionWeights& w, KvCache& cache,
                       std::int64_t max_context, std::int64_t pos0, const float* u, std::int64_t T, float* out,
                       AttentionCapture* capture = nullptr);

// routing: [T] slices to fill (or null). `interventions` (or null) apply to rows >= first_intervened.
void moe_forward(ThreadPool& pool, const ModelConfig& c, const MoeWeights& w, const PreparedLayer& p, int layer_index,
                 const float* u, std::int64_t T, float* out, RoutingSlice* routing, RouterCapture* capture = nullptr,
                 const Interventions* interventions = nullptr, std::int64_t first_intervened = 0);

// down(relu(up x)^2), x: [T, in], out: [T, in].
void feed_forward(ThreadPool& pool, const FeedForwardWeights& w, std::int64_t in, const float* x, std::int64_t T,
                  float* out);

}  // namespace logitscope::cpu
