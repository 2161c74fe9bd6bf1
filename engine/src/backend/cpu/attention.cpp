// SPDX-License-Identifier: GPL-3.0-or-later
// Causal grouped-query attention without positional encoding (NemotronH applies no RoPE):
//   q = q_proj u [heads, head_dim]; k, v = k_proj u, v_proj u [kv_heads, head_dim], appended to the cache
//   o_h = softmax(q_h K_{h / (heads/kv_heads)}^T / sqrt(head_dim)) V ;  out = o_proj concat(o_h)
// With an FP8 KV cache (kv_cache_quant_algo "FP8") the cache holds what FP8 storage gives back:
//   k = float(e4m3(k / k_scale)) * k_scale (round to nearest even, saturating), v likewise.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/cpu_layers.h"
#include "backend/cpu/linear.h"

namespace logitscope::cpu {

void attention_forward(ThreadPool& pool, const ModelConfig& c, const AttentionWeights& w, KvCache& cache,
                       std::int64_t max_context, std::int64_t pos0, const float* u, std::int64_t T, float* out,
                       AttentionCapture* capture) {
  const std::int64_t heads = c.num_attention_heads, kv_heads = c.num_key_value_heads, hd = c.head_dim;
  const std::int64_t q_dim = heads * hd, kv_dim = kv_heads * hd;
  std::vector<float> q(static_cast<std::size_t>(T * q_dim));   // [T, heads * head_dim]
  std::vector<float> k(static_cast<std::size_t>(T * kv_dim));  // [T, kv_heads * head_dim]
  std::vector<float> v(static_cast<std::size_t>(T * kv_dim));
  linear(pool, w.q_proj, w.q_bias, u, T, q.data());
  linear(pool, w.k_proj, w.k_bias, u, T, k.data());
  linear(pool, w.v_proj, w.v_bias, u, T, v.data());
  if (c.quantization.kv_cache_algo == "FP8") {
    const float k_scale = w.k_scale.present() ? w.k_scale.at(0) : 1.0f, v_scale = w.v_scale.present() ? w.v_scale.at(0) : 1.0f;
    for (float& x : k) x = e4m3_to_float(float_to_e4m3(x / k_scale)) * k_scale;
    for (float& x : v) x = e4m3_to_float(float_to_e4m3(x / v_scale)) * v_scale;
  }
  for (std::int64_t t = 0; t < T; ++t) {
    for (std::int64_t kh = 0; kh < kv_heads; ++kh) {
      const std::int64_t slot = (kh * max_context + pos0 + t) * hd;
      std::copy_n(k.data() + t * kv_dim + kh * hd, hd, cache.k.data() + slot);
      std::copy_n(v.data() + t * kv_dim + kh * hd, hd, cache.v.data() + slot);
    }
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const std::int64_t group = heads / kv_heads;
  std::vector<float> attn(static_cast<std::size_t>(T * q_dim));  // [T, heads * head_dim]
  const std::int64_t span = pos0 + T;
  // slot[t]: where row t goes in the capture (-1: not kept).
  std::vector<std::int64_t> slot(static_cast<std::size_t>(capture ? T : 0), -1);  // [T]
  std::int64_t kept = 0;
  if (capture) {
    for (std::int64_t t = 0; t < T; ++t)
      if (!capture->rows || std::binary_search(capture->rows->begin(), capture->rows->end(), pos0 + t)) slot[std::size_t(t)] = kept++;
    capture->weights.assign(static_cast<std::size_t>(heads * kept * span), 0.0f);
  }
  pool.parallel_for(heads * T, [&](std::int64_t i0, std::int64_t i1) {
    std::vector<float> scores(static_cast<std::size_t>(pos0 + T));
    for (std::int64_t i = i0; i < i1; ++i) {
      const std::int64_t h = i / T, t = i % T, kh = h / group;
      const std::int64_t visible = pos0 + t + 1;  // causal: positions [0, pos0 + t]
      const float* qh = q.data() + t * q_dim + h * hd;
      const float* K = cache.k.data() + kh * max_context * hd;
      const float* V = cache.v.data() + kh * max_context * hd;
      float max_score = -INFINITY;
      for (std::int64_t s = 0; s < visible; ++s) {
        float dot = 0.0f;
        for (std::int64_t d = 0; d < hd; ++d) dot += qh[d] * K[s * hd + d];
        scores[s] = dot * scale;
        max_score = std::max(max_score, scores[s]);
      }
      float total = 0.0f;
      for (std::int64_t s = 0; s < visible; ++s) total += (scores[s] = std::exp(scores[s] - max_score));
      float* o = attn.data() + t * q_dim + h * hd;
      std::fill_n(o, hd, 0.0f);
      for (std::int64_t s = 0; s < visible; ++s) {
        const float p = scores[s] / total;
        if (capture && slot[std::size_t(t)] >= 0) capture->weights[std::size_t((h * kept + slot[std::size_t(t)]) * span + s)] = p;
        for (std::int64_t d = 0; d < hd; ++d) o[d] += p * V[s * hd + d];
      }
    }
  });
  linear(pool, w.o_proj, w.o_bias, attn.data(), T, out);
}

}  // namespace logitscope::cpu
