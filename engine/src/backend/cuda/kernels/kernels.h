// SPDX-License-Identifier: GPL-3.0-or-later
// Launchers of every CUDA kernel of the backend. Host code (cuda_backend.cpp) includes only this;
// each kernel family lives in its own .cu file with a header comment (what, launch shape, bytes,
// which test checks it). Conventions: activations that feed a matrix product are bf16, products and
// the residual stream are fp32, recurrent (SSM) state is fp32, conv state and KV cache are bf16.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace logitscope::cuda {

using bf16 = __nv_bfloat16;

// Kernels with more than 48 KB of dynamic shared memory must opt in, per device and before any
// launch (not inside a CUDA graph capture): the backend calls these once on its device.
void configure_experts_grouped();
void configure_attention_prompt();
void configure_attention_decode_mma();

// What the decode in_proj needs to run the Mamba conv of the xBC channels it produces (conv_step.cuh):
// channel c of xBC is in_proj row offset + c. K = 0: no conv.
constexpr int kMaxConvTaps = 8;  // conv kernels up to 8 taps (Nemotron uses 4)
struct ConvStep {
  int K = 0;
  int offset = 0, conv_dim = 0;
  const float* w = nullptr;   // [conv_dim, K]
  const float* b = nullptr;   // [conv_dim] or null
  bf16* state = nullptr;      // [conv_dim, K - 1] bf16: the last K - 1 raw inputs, oldest first (updated)
  float* out = nullptr;       // [conv_dim] fp32: silu(conv)
};

// ---- quantized weights: how an FP8 or NVFP4 matrix lives on the device --------------------------
// NVIDIA ModelOpt's layouts as stored (docs/modelopt-layout.md), read as they are and dequantized in
// registers (decode) or into bf16 shared-memory tiles (prompt chunks):
//   Fp8:   q [rows, cols] E4M3; weight = q * row_scale[r] * global (per-tensor checkpoints: global = the
//          scale, row_scale null; per-channel: row_scale = the scales, global 1).
//   Nvfp4: q [rows, cols / 2] two E2M1 codes a byte (even column in the low nibble), block_scale
//          [rows, cols / 16] E4M3; weight = e2m1 * block_scale * global (weight_scale_2).
// A stack of E experts keeps E such matrices back to back; global then has E entries.
enum class WeightCode : int { Bf16 = 0, Fp8 = 1, Nvfp4 = 2 };
struct QuantMatrix {
  WeightCode code = WeightCode::Bf16;
  const std::uint8_t* q = nullptr;            // codes, as above
  const std::uint8_t* block_scale = nullptr;  // Nvfp4: E4M3 [rows, cols / 16]
  const float* row_scale = nullptr;           // Fp8 per channel: [rows]; null: 1
  const float* global_scale = nullptr;        // [1] (a stack of experts: [E])
  float global_host = 1.0f;                   // global_scale[0] on the host (single matrices: the cuBLAS alpha)
  bool quantized() const { return code != WeightCode::Bf16; }
};
// Bytes of one quantized row of `cols` weights (codes; Nvfp4 also its block scales).
inline std::int64_t quant_row_bytes(WeightCode code, std::int64_t cols) {
  return code == WeightCode::Fp8 ? cols : code == WeightCode::Nvfp4 ? cols / 2 + cols / 16 : cols * 2;
}

// ---- gemv_quant.cu: the decode product and the prompt-chunk dequantization of quantized matrices ----
// y[r] (+)= b[r] + W[r,:] . x with W quantized (as gemv_bf16, conv step included).
void gemv_quant(const QuantMatrix& W, const float* bias, const bf16* x, float* y, int rows, int cols, bool accumulate,
                cudaStream_t stream, const ConvStep& conv = ConvStep{});
// Whether gemv_quant takes its vectorised kernels (Fp8: cols % 16 == 0; Nvfp4: cols % 32 == 0; x 16-byte aligned).
bool gemv_quant_vectorised(const QuantMatrix& W, const bf16* x, int cols);
// out [rows, cols] bf16 = code * block_scale * row_scale, the global scale left out (the caller's
// cuBLAS alpha): exact for Nvfp4 and per-tensor Fp8 (at most 6 significant bits fit bf16's 8).
void dequantize_bf16(const QuantMatrix& W, int rows, int cols, bf16* out, cudaStream_t stream);
// Synthetic codes: Fp8 / E4M3 scales: finite values of magnitude 2^-2..2^2 with random signs;
// Nvfp4 codes: any of the 16.
void fill_random_codes(std::uint8_t* dst, std::int64_t n, std::uint64_t seed, bool e4m3, cudaStream_t stream);

// ---- gemv.cu: y[r] (+)= b[r] + W[r,:] . x, batch 1 -------------------------------------------
// W [rows, cols] bf16, x [cols] bf16, y [rows] fp32, b [rows] fp32 or null. conv.K > 0 (decode
// in_proj): rows conv.offset .. + conv_dim also run their conv step (conv_step.cuh) into conv.out;
// needs the vectorised kernels (gemv_vectorised).
void gemv_bf16(const bf16* W, const float* bias, const bf16* x, float* y, int rows, int cols,
               bool accumulate, cudaStream_t stream, const ConvStep& conv = ConvStep{});
// Whether gemv_bf16 takes its vectorised kernels: cols % 8 == 0, W and x 16-byte aligned.
bool gemv_vectorised(const bf16* W, const bf16* x, int cols);
// W [rows, cols] fp32 (the router when the checkpoint stores it in fp32), x [T, cols] bf16.
void gemv_f32w(const float* W, const bf16* x, float* y, int rows, int cols, int T, cudaStream_t stream);
// Same with bf16 weights over T tokens (router of a bf16 checkpoint; any small T).
void gemv_bf16_rows(const bf16* W, const bf16* x, float* y, int rows, int cols, int T, cudaStream_t stream);

// ---- norm.cu ----------------------------------------------------------------------------------
// out[t,:] = bf16(w * x[t,:] * rsqrt(mean(x[t,:]^2) + eps)); x [T, n] fp32, w [n] fp32.
void rmsnorm(const float* x, const float* w, float eps, int T, int n, bf16* out, cudaStream_t stream);
// Mamba gated norm: g = y * silu(z), normalised per group of `group` channels, times w.
// y [T, d] fp32, z = zxbcdt[t, 0:d] (row stride zstride), w [d], out [T, d] bf16.
void gated_rmsnorm(const float* y, const float* zxbcdt, int zstride, const float* w, int T, int d,
                   int group, float eps, bf16* out, cudaStream_t stream);

// ---- mamba.cu (conv) and mamba_scan.cu (scan) ---------------------------------------------------
// Causal depthwise conv + SiLU over T tokens continuing from conv_state (the last K-1 raw rows).
// zxbcdt [T, stride] fp32 (xBC at column `offset`), conv_w [conv_dim, K], conv_b [conv_dim] or null,
// conv_state [conv_dim, K-1] bf16 (updated), xbc [T, conv_dim] fp32 out.
void mamba_conv(const float* zxbcdt, int stride, int offset, int conv_dim, int K, const float* conv_w,
                const float* conv_b, bf16* conv_state, int T, float* xbc, cudaStream_t stream);
struct ScanParams {
  int H, P, N, G;          // heads, head dim, state size, B/C groups
  int d_inner;             // H * P
  float dt_min, dt_max;    // clamp of dt after softplus (0, inf = none)
};
// SSM recurrence over T tokens (sequential in t, parallel over heads x head-dim rows).
// xbc [T, conv_dim] fp32 (x | B | C), dt_raw = zxbcdt[t, dt_offset + h], state [H, P, N] fp32
// (updated), y [T, H*P] fp32 = C.S + D*x.
void mamba_scan(const float* xbc, const float* zxbcdt, int stride, int dt_offset, const float* dt_bias,
                const float* A_log, const float* D, float* state, int T, const ScanParams& p, float* y,
                cudaStream_t stream);

// ---- attention.cu -----------------------------------------------------------------------------
struct AttnParams {
  int H, KV, hd;           // query heads, kv heads, head dim
  int max_ctx;             // rows of each cache
  int pos0;                // position of the first of the T tokens
  const int* pos_dev = nullptr;  // when set, pos0 is read from device memory (one CUDA graph serves
                                 // every decode step)
  float k_scale = 0.0f, v_scale = 0.0f;  // > 0: an FP8 KV cache (kv_append keeps what E4M3 storage gives back)
};
// Appends k, v of T tokens: qkv [T, (H + 2 KV) hd] fp32 -> caches [KV, max_ctx, hd] bf16. With an
// FP8 KV cache (p.k_scale > 0) each value is e4m3(k / k_scale) * k_scale first (round to nearest
// even, saturating), as the CPU reference; the cache stays bf16.
void kv_append(const float* qkv, int T, const AttnParams& p, bf16* kcache, bf16* vcache, cudaStream_t stream);
// Causal GQA attention without RoPE: out [T, H hd] bf16. Prompt chunks take attention_prompt when it
// can run them, else a CUDA-core kernel (attention.cu).
void attention(const float* qkv, int T, const AttnParams& p, const bf16* kcache, const bf16* vcache,
               bf16* out, cudaStream_t stream);

// ---- attention_prompt.cu: the same on tensor cores (flash-attention style); false when it cannot
// run here (head_dim > 128 or compute capability < 8.0) and nothing was launched.
bool attention_prompt(const float* qkv, int T, const AttnParams& p, const bf16* kcache, const bf16* vcache,
                      bf16* out, cudaStream_t stream);

// ---- attention_decode.cu: one query token, the context split over up to kAttnMaxSplits blocks per KV head ----
constexpr int kAttnMaxSplits = 512;
// qkv [(H + 2 KV) hd] fp32 (the token's row), part [H, kAttnMaxSplits, hd + 2] fp32 scratch, out [H hd].
void attention_decode(const float* qkv, const AttnParams& p, const bf16* kcache, const bf16* vcache, float* part,
                      bf16* out, cudaStream_t stream);
// The split step of attention_decode on tensor cores (attention_decode_mma.cu): part as above for
// `splits` splits; false when it cannot run here (G > 16, hd > 128, compute capability < 8.0).
bool attention_decode_split_tensor_cores(const float* qkv, const AttnParams& p, const bf16* kcache,
                                         const bf16* vcache, float* part, int splits, cudaStream_t stream);

// ---- moe.cu (router, prompt path) and experts_decode.cu (decode expert products) -----------------------------------------------------------------------------------
struct RouterParams {
  int E, k, n_group, topk_group;
  bool norm_topk_prob;
  float scale;             // routed_scaling_factor
};
// Interventions on one layer's router (logitscope/interventions.h), passed by value so that a
// captured decode graph carries them. Default: none.
constexpr int kRouterEditMaxExperts = 512;   // masked bits
constexpr int kRouterEditMaxForced = 32;     // forced ids (at most k are taken: see n_forced)
struct RouterEdit {
  unsigned masked[kRouterEditMaxExperts / 32] = {};  // bit e set: expert e may not be chosen
  int n_forced = 0;                    // > 0: exactly forced[0..n_forced) (n_forced <= k); slots
                                       // n_forced..k-1 repeat the first choice with weight 0
  int forced[kRouterEditMaxForced] = {};
  float routed_scale = 1.0f;           // multiplies every combine weight
};
// logits [T, E] fp32 -> ids [T, k], weights [T, k] (descending selection score).
void router_topk(const float* logits, const float* correction_bias, int T, const RouterParams& p,
                 int* ids, float* weights, cudaStream_t stream, const RouterEdit& edit = {});
// Decode: h[s, :width_s] = bf16(relu(up_s . x + b)^2) for the k routed slots (+ the shared expert
// as slot k when shared_up != null). up [E, width, in], up_b [E, width] or null.
struct ExpertsDecode {
  const bf16* up = nullptr; const float* up_b = nullptr;       // [E, width, in], [E, width]
  const bf16* down = nullptr; const float* down_b = nullptr;   // [E, out, width], [E, out]
  QuantMatrix up_q, down_q;  // quantized stacks (up / down null then; experts_decode_quant.cu)
  int width = 0, in = 0, out = 0;
  const bf16* shared_up = nullptr; const float* shared_up_b = nullptr;     // [sw, in]
  const bf16* shared_down = nullptr; const float* shared_down_b = nullptr; // [out, sw]
  int shared_width = 0;
};
void experts_up_decode(const ExpertsDecode& e, const int* ids, int k, const bf16* x, bf16* h,
                       int hstride, cudaStream_t stream);
// y[r] += sum_s w_s * (down_s[r] . h_s + b) (+ the shared expert, weight 1) + extra[r] (extra
// [out] fp32 or null: the shared expert's output when it ran on its own).
void experts_down_decode(const ExpertsDecode& e, const int* ids, const float* weights, int k,
                         const bf16* h, int hstride, const float* extra, float* y, cudaStream_t stream);
// The same two steps for quantized stacks (experts_decode_quant.cu; e.up_q / e.down_q, either format;
// the shared expert runs apart, its output as `extra`).
void experts_up_decode_quant(const ExpertsDecode& e, const int* ids, int k, const bf16* x, bf16* h, int hstride,
                             cudaStream_t stream);
void experts_down_decode_quant(const ExpertsDecode& e, const int* ids, const float* weights, int k, const bf16* h,
                               int hstride, const float* extra, float* y, cudaStream_t stream);
// Prompt chunks of 2+ tokens, all on the device (experts_grouped.cu): groups the T k assignments
// ids [T, k] by expert (counts [E], offsets [E] first grouped row, tiles [E + 1] first row tile of
// each expert and their total, perm [T k] token per grouped row, slot [T k] grouped row per
// assignment), then h [T k, width] = bf16(relu(up x + b)^2) and out [T k, e.out] = down h per
// grouped row (unweighted; moe_combine weighs and adds the biases), on tensor cores. x [T, e.in]
// bf16. Shared experts are not included. Needs compute capability 8.0
// (tensor_core_kernels_supported(), launch.cuh).
void experts_grouped(const ExpertsDecode& e, int E, const int* ids, int T, int k, const bf16* x, int* counts,
                     int* offsets, int* tiles, int* perm, int* slot, bf16* h, float* out, cudaStream_t stream);
// Prompt fallback (cards before 8.0): out[i, :] = x[rows[i], :]; x [T, cols], out [n, cols].
void gather_rows(const bf16* x, const int* rows, int n, int cols, bf16* out, cudaStream_t stream);
// y[t, c] += sum_j w[t, j] * (down_out[slot[t k + j], c] + down_b[ids[t, j], c]).
void moe_combine(const float* down_out, const int* slot, const int* ids, const float* weights,
                 const float* down_b, int T, int k, int cols, float* y, cudaStream_t stream);

// ---- elementwise.cu ---------------------------------------------------------------------------
// One empty kernel: the kernel timeline's stamp after the last stage of a graph (launch.cuh).
void timeline_end(cudaStream_t stream);
// out [T, n] fp32 = table[ids[t], :] (bf16 table [V, n]).
void embed(const bf16* table, const int* ids, int T, int n, float* out, cudaStream_t stream);
// out [rows, width] bf16 = relu(in + bias)^2; bias row = row_expert ? bias[row_expert[r]] : bias.
void relu2_rows(const float* in, const float* bias, const int* row_expert, int rows, int width,
                bf16* out, cudaStream_t stream);
// y [rows, n] += b [n]
void add_bias_rows(float* y, const float* b, int rows, int n, cudaStream_t stream);
// y[i] += a x[i] for i < n (an intervention's scaled part: the shared expert times a factor).
void add_scaled(float* y, const float* x, float a, std::int64_t n, cudaStream_t stream);
void f32_to_bf16(const float* in, bf16* out, std::int64_t n, cudaStream_t stream);
// Checkpoint dtype codes: 0 = F32, 1 = F16, 2 = BF16.
void convert_to_bf16(const void* src, int src_dtype, bf16* dst, std::int64_t n, cudaStream_t stream);
void convert_to_f32(const void* src, int src_dtype, float* dst, std::int64_t n, cudaStream_t stream);
// Deterministic, never-zero random values: |v| in [0.1 scale, scale] with random sign, + offset.
void fill_random_bf16(bf16* dst, std::int64_t n, std::uint64_t seed, float scale, cudaStream_t stream);
void fill_random_f32(float* dst, std::int64_t n, std::uint64_t seed, float scale, float offset, cudaStream_t stream);

// ---- sampling.cu ------------------------------------------------------------------------------
constexpr int kCandidates = 64;  // top candidates kept on the device for choose()
// Top kCandidates logits, best first: ids [64], vals [64]; stats [4] = {max, sum exp(l - max),
// sum exp(l - max) (l - max), 0}. Scratch: summary_scratch_entries(V) ids and as many floats.
int summary_scratch_entries(int V);
void logits_summary(const float* logits, int V, int* scratch_ids, float* scratch_vals, int* ids, float* vals,
                    float* stats, cudaStream_t stream);

}  // namespace logitscope::cuda
