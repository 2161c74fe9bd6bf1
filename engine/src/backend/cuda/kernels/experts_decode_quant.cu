// SPDX-License-Identifier: GPL-3.0-or-later
// Decode (batch 1) routed-expert products of one MoE layer whose experts are stored quantized (FP8 or
// NVFP4, kernels.h QuantMatrix stacks), dequantized in registers (quant_dot.cuh); the counterpart of
// experts_decode.cu. The shared expert runs apart (on the side stream) and comes in as `extra`.
//
// experts_up_quant: h[s, :width] = bf16(relu(factor * up_s . x + b)^2) for the k routed slots.
//   Launch: the rows of the k slots flattened into one grid; 4 warps a block, each warp 2 consecutive
//   rows of one slot (2 x 2 16-byte loads in flight per lane). At the 30B-A3B shape: 6 x 1856 rows.
// experts_down_quant: y[r] += sum_s w_s (factor * down_s[r] . h_s + b_s) + extra[r]. Launch: one
//   block per 8 output rows, one warp per routed slot; the warps' sums meet in shared memory and one
//   thread adds them in a fixed order (deterministic).
// factor = the expert's FP8 row scale (per channel) times its global scale (FP8 per tensor / NVFP4
// weight_scale_2). Bytes: the k experts' codes (+ NVFP4 block scales) once, + x, h.
// Checked by: tests/gpu (check: decode logits and routing vs the CPU reference on the quantized fixtures).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"
#include "backend/cuda/kernels/quant_dot.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kUpWarps = 4;
constexpr int kUpRows = 2;    // rows per warp
constexpr int kDownRows = 8;  // output rows per block (4 rows a warp up / a block down measured slower, H100)

// Row `row` of expert `id`'s matrix in a stack of [rows, cols] matrices.
template <WeightCode C>
struct StackRows {
  const std::uint8_t* q;
  const std::uint8_t* bs;
  std::int64_t qs, ss;
  __device__ StackRows(const QuantMatrix& m, int id, int rows, int cols, int row) {
    qs = C == WeightCode::Fp8 ? cols : cols / 2;
    ss = cols / 16;
    q = m.q + (std::int64_t(id) * rows + row) * qs;
    bs = C == WeightCode::Nvfp4 ? m.block_scale + (std::int64_t(id) * rows + row) * ss : nullptr;
  }
};

// Expert `id`'s row factor (quant_dot.cuh): its FP8 row scale and its own global scale.
__device__ __forceinline__ float stack_factor(const QuantMatrix& m, int id, int rows, int row) {
  return quant_row_factor(m.row_scale ? m.row_scale + std::int64_t(id) * rows : nullptr, m.global_scale + id, row);
}

template <WeightCode C>
__global__ void __launch_bounds__(kUpWarps * 32)
experts_up_quant_kernel(ExpertsDecode e, const int* __restrict__ ids, int blocks_per_slot, const bf16* __restrict__ x,
                        bf16* __restrict__ h, int hstride, bool vec) {
  pdl_enter();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int s = blockIdx.x / blocks_per_slot, blk = blockIdx.x % blocks_per_slot;
  const int id = ids[s];
  const int row0 = (blk * kUpWarps + warp) * kUpRows;
  if (row0 >= e.width) return;
  const int valid = e.width - row0 < kUpRows ? e.width - row0 : kUpRows;
  const StackRows<C> w(e.up_q, id, e.width, e.in, row0);
  float acc[kUpRows];
#pragma unroll
  for (int r = 0; r < kUpRows; ++r) acc[r] = 0.0f;
  warp_dot_rows_quant<C, kUpRows>(w.q, w.qs, w.bs, w.ss, valid, x, e.in, vec, lane, acc);
#pragma unroll
  for (int r = 0; r < kUpRows; ++r) acc[r] = warp_sum(acc[r]);
  if (lane < valid) {
    float v = 0.0f;
#pragma unroll
    for (int r = 0; r < kUpRows; ++r)
      if (r == lane) v = acc[r];
    const int row = row0 + lane;
    v *= stack_factor(e.up_q, id, e.width, row);
    if (e.up_b) v += e.up_b[std::int64_t(id) * e.width + row];
    v = fmaxf(v, 0.0f);
    h[std::int64_t(s) * hstride + row] = __float2bfloat16(v * v);
  }
}

template <WeightCode C>
__global__ void experts_down_quant_kernel(ExpertsDecode e, const int* __restrict__ ids, const float* __restrict__ wts,
                                          int k, const bf16* __restrict__ h, int hstride,
                                          const float* __restrict__ extra, float* __restrict__ y, bool vec) {
  pdl_enter();
  __shared__ float part[32][kDownRows];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = blockIdx.x * kDownRows;
  const int valid = e.out - row0 < kDownRows ? e.out - row0 : kDownRows;
  const int id = ids[warp];
  const StackRows<C> w(e.down_q, id, e.out, e.width, row0);
  float acc[kDownRows];
#pragma unroll
  for (int r = 0; r < kDownRows; ++r) acc[r] = 0.0f;
  warp_dot_rows_quant<C, kDownRows>(w.q, w.qs, w.bs, w.ss, valid, h + std::int64_t(warp) * hstride, e.width, vec, lane,
                                    acc);
  const float wt = wts[warp];
#pragma unroll
  for (int r = 0; r < kDownRows; ++r) {
    const float v = warp_sum(acc[r]);
    if (lane == 0) part[warp][r] = r < valid ? wt * v * stack_factor(e.down_q, id, e.out, row0 + r) : 0.0f;
  }
  __syncthreads();
  if (threadIdx.x < valid) {
    const int r = threadIdx.x, row = row0 + r;
    float sum = 0.0f, bias = 0.0f;
    for (int s = 0; s < k; ++s) sum += part[s][r];
    if (e.down_b)
      for (int s = 0; s < k; ++s) bias += wts[s] * e.down_b[std::int64_t(ids[s]) * e.out + row];
    y[row] += sum + bias + (extra ? extra[row] : 0.0f);
  }
}

// The dense products' test (gemv_quant.cu) for a stack whose activation rows are xstride apart.
bool stack_vectorised(const QuantMatrix& m, int cols, const bf16* x, int xstride) {
  return gemv_quant_vectorised(m, x, cols) && xstride % 8 == 0;
}

}  // namespace

void experts_up_decode_quant(const ExpertsDecode& e, const int* ids, int k, const bf16* x, bf16* h, int hstride,
                             cudaStream_t stream) {
  const bool vec = stack_vectorised(e.up_q, e.in, x, 8);
  const int blocks = (e.width + kUpWarps * kUpRows - 1) / (kUpWarps * kUpRows);
  const auto kernel = e.up_q.code == WeightCode::Fp8 ? experts_up_quant_kernel<WeightCode::Fp8>
                                                     : experts_up_quant_kernel<WeightCode::Nvfp4>;
  launch_kernel(kernel, k * blocks, kUpWarps * 32, 0, stream, e, ids, blocks, x, h, hstride, vec);
  LS_LAUNCH_CHECK();
}

void experts_down_decode_quant(const ExpertsDecode& e, const int* ids, const float* weights, int k, const bf16* h,
                               int hstride, const float* extra, float* y, cudaStream_t stream) {
  if (k > 32) throw Error("num_experts_per_tok " + std::to_string(k) + " is too large for the decode experts (32 max)");
  const bool vec = stack_vectorised(e.down_q, e.width, h, hstride);
  const auto kernel = e.down_q.code == WeightCode::Fp8 ? experts_down_quant_kernel<WeightCode::Fp8>
                                                       : experts_down_quant_kernel<WeightCode::Nvfp4>;
  launch_kernel(kernel, (e.out + kDownRows - 1) / kDownRows, 32 * k, 0, stream, e, ids, weights, k, h, hstride, extra, y,
                vec);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
