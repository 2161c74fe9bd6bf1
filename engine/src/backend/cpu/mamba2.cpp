// SPDX-License-Identifier: GPL-3.0-or-later
// Mamba-2 mixer, fp32, as the sequential recurrence (which the chunked scan of HF/vLLM equals):
//   zxbcdt = in_proj u            split z [d_inner] | xBC [conv_dim] | dt [heads]
//   xBC'   = silu(causal depthwise conv(xBC) + bias)   (conv state keeps the last K-1 raw rows)
//   x | B | C = xBC'              x [heads, head_dim], B, C [n_groups, d_state]
//   dt     = clamp(softplus(dt + dt_bias), time_step_limit);  A = -exp(A_log)
//            (over a prompt, transformers 5.17 also floors dt at time_step_min; a cached single-token
//            step does not. We do the same so prompt logits and greedy tokens match it.)
//   S      = S * exp(dt A) + dt * B (x) x ;  y = S C + D x        (per head; head h uses group h / (heads/groups))
//   out    = out_proj( gated_norm( y * silu(z) ) )                 (RMSNorm per group of d_inner / n_groups)
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/cpu_layers.h"
#include "backend/cpu/linear.h"

namespace logitscope::cpu {

void mamba2_forward(ThreadPool& pool, const ModelConfig& c, const MambaWeights& w, const PreparedLayer& p,
                    MambaState& state, const float* u, std::int64_t T, bool single_step, float* out,
                    MambaCapture* capture) {
  const std::int64_t H = c.hidden_size, d_inner = c.mamba_d_inner(), conv_dim = c.mamba_conv_dim();
  const std::int64_t proj = c.mamba_in_proj_dim(), heads = c.mamba_num_heads, head_dim = c.mamba_head_dim;
  const std::int64_t groups = c.n_groups, d_state = c.ssm_state_size, K = c.conv_kernel;
  const std::int64_t heads_per_group = heads / groups;

  std::vector<float> zxbcdt(static_cast<std::size_t>(T * proj));  // [T, proj]
  linear(pool, w.in_proj, w.in_proj_bias, u, T, zxbcdt.data());

  // Causal depthwise conv + SiLU, channel-parallel; each channel walks its T tokens in order.
  std::vector<float> xbc(static_cast<std::size_t>(T * conv_dim));  // [T, conv_dim], post-conv
  pool.parallel_for(conv_dim, [&](std::int64_t c0, std::int64_t c1) {
    std::vector<float> window(static_cast<std::size_t>(K));
    for (std::int64_t ch = c0; ch < c1; ++ch) {
      float* history = state.conv.data() + ch * (K - 1);  // [K-1], oldest first
      const float* wk = p.conv_weight.data() + ch * K;
      for (std::int64_t t = 0; t < T; ++t) {
        const float raw = zxbcdt[t * proj + d_inner + ch];
        float acc = p.conv_bias[ch];
        for (std::int64_t k = 0; k < K - 1; ++k) acc += wk[k] * history[k];
        acc += wk[K - 1] * raw;  // W[..., K-1] multiplies the newest token
        for (std::int64_t k = 0; k + 1 < K - 1; ++k) history[k] = history[k + 1];
        if (K > 1) history[K - 2] = raw;
        xbc[t * conv_dim + ch] = silu(acc);
      }
    }
  }, 16);

  // Selective state update, head-parallel over the whole sequence.
  std::vector<float> y(static_cast<std::size_t>(T * d_inner));  // [T, d_inner]
  const float dt_min = static_cast<float>(single_step ? c.time_step_limit_min
                                                     : std::max(c.time_step_limit_min, c.time_step_min));
  const float dt_max = static_cast<float>(c.time_step_limit_max);
  if (capture) {
    capture->dt.assign(static_cast<std::size_t>(T * heads), 0.0f);
    capture->state_norm.assign(static_cast<std::size_t>(T * heads), 0.0f);
  }
  pool.parallel_for(heads, [&](std::int64_t h0, std::int64_t h1) {
    for (std::int64_t h = h0; h < h1; ++h) {
      const std::int64_t g = h / heads_per_group;
      float* S = state.ssm.data() + h * head_dim * d_state;  // [head_dim, d_state]
      for (std::int64_t t = 0; t < T; ++t) {
        const float* row = xbc.data() + t * conv_dim;
        const float* x = row + h * head_dim;
        const float* B = row + d_inner + g * d_state;
        const float* C = row + d_inner + groups * d_state + g * d_state;
        float dt = softplus(zxbcdt[t * proj + d_inner + conv_dim + h] + p.dt_bias[h]);
        if (capture) capture->dt[std::size_t(t * heads + h)] = dt;
        dt = std::min(std::max(dt, dt_min), dt_max);
        const float decay = std::exp(dt * p.A[h]);
        float* yt = y.data() + t * d_inner + h * head_dim;
        for (std::int64_t i = 0; i < head_dim; ++i) {
          float* s = S + i * d_state;
          const float dx = dt * x[i];
          float acc = 0.0f;
          for (std::int64_t n = 0; n < d_state; ++n) {
            s[n] = s[n] * decay + dx * B[n];
            acc += s[n] * C[n];
          }
          yt[i] = acc + p.D[h] * x[i];
        }
        if (capture) {
          double norm = 0.0;
          for (std::int64_t k = 0; k < head_dim * d_state; ++k) norm += double(S[k]) * S[k];
          capture->state_norm[std::size_t(t * heads + h)] = float(std::sqrt(norm));
        }
      }
    }
  });

  // Gate, then RMSNorm per group (norm_before_gate = False), then the weight.
  const std::int64_t group_size = d_inner / groups;
  for (std::int64_t t = 0; t < T; ++t) {
    float* yt = y.data() + t * d_inner;
    const float* z = zxbcdt.data() + t * proj;
    for (std::int64_t i = 0; i < d_inner; ++i) yt[i] *= silu(z[i]);
    for (std::int64_t gi = 0; gi < groups; ++gi) {
      float* seg = yt + gi * group_size;
      rms_norm(seg, p.gated_norm.data() + gi * group_size, group_size, c.layer_norm_epsilon, seg);
    }
  }
  linear(pool, w.out_proj, w.out_proj_bias, y.data(), T, out);
  (void)H;
}

}  // namespace logitscope::cpu
