// SPDX-License-Identifier: GPL-3.0-or-later
// Matrix-vector products for decode (batch 1): y[r] (+)= b[r] + W[r,:] . x.
// Launch (v2), 128 threads = 4 warps per block, R x U (dot.cuh) independent 16-byte loads per lane in flight
// before their first use (dot.cuh):
//   rows >= 8192 (in_proj, lm_head): each warp owns R = 2 whole rows; the in_proj (10304 rows) fits
//     one wave of the H100 instead of v1's 1.2.
//   fewer rows (out_proj, o_proj, qkv, router: 128..4608 rows): a block owns R = 2 rows (1 under 512
//     rows) and its 4 warps split the columns (split-K inside the block); the 4 partial sums meet in
//     shared memory and one thread adds them in a fixed order. 4x the warps of a row-per-warp layout,
//     so a 2688-row matrix keeps ~40 warps per SM busy instead of 10.
// Decode in_proj: the rows that are xBC channels also run their causal conv step (conv_step.cuh) in
// the epilogue, one lane or thread per row, instead of a conv kernel after the product.
// x is re-read from L1/L2 (it is tiny). Bytes: rows * cols * 2 of weights (read once), + rows * 4
// written (+ rows * 4 read when accumulating). Rows whose length is not a multiple of 8 take a scalar path.
// Checked by: tests/gpu (logitscope-cli check: decode logits vs the CPU reference, every fixture).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/conv_step.cuh"
#include "backend/cuda/kernels/dot.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kWarps = 8;

constexpr int kVecWarps = 4;
#ifndef LOGITSCOPE_GEMV_ROWS
#define LOGITSCOPE_GEMV_ROWS 2
#endif
constexpr int kVecRows = LOGITSCOPE_GEMV_ROWS;  // rows per warp of the large-matrix kernel

template <int R>
__global__ void __launch_bounds__(kVecWarps * 32) gemv_bf16_vec(const bf16* __restrict__ W, const float* __restrict__ bias,
                              const bf16* __restrict__ x, float* __restrict__ y, int rows, int cols,
                              bool accumulate, ConvStep conv) {
  pdl_enter();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = (blockIdx.x * kVecWarps + warp) * R;
  if (row0 >= rows) return;
  const int valid = rows - row0 < R ? rows - row0 : R;
  float acc[R];
#pragma unroll
  for (int r = 0; r < R; ++r) acc[r] = 0.0f;
  warp_dot_rows<R>(W + std::int64_t(row0) * cols, cols, valid, x, cols, true, lane, acc);
  // Lane r stores row r (its conv step, if any, runs beside the other rows').
  float mine = 0.0f;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const float v = warp_sum(acc[r]);
    if (lane == r) mine = v;
  }
  if (lane < valid) store_product_row(y, bias, accumulate, conv, row0 + lane, mine);
}

template <int R>
__global__ void __launch_bounds__(kVecWarps * 32) gemv_bf16_splitk(const bf16* __restrict__ W, const float* __restrict__ bias,
                                 const bf16* __restrict__ x, float* __restrict__ y, int rows, int cols,
                                 bool accumulate, ConvStep conv) {
  pdl_enter();
  __shared__ float part[kVecWarps][R];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = blockIdx.x * R;
  const int valid = rows - row0 < R ? rows - row0 : R;
  const int chunks = cols / 8;
  const int per = (chunks + kVecWarps - 1) / kVecWarps;
  const int c0 = warp * per < chunks ? warp * per : chunks;
  const int c1 = c0 + per < chunks ? c0 + per : chunks;
  float acc[R];
#pragma unroll
  for (int r = 0; r < R; ++r) acc[r] = 0.0f;
  warp_dot_rows<R>(W + std::int64_t(row0) * cols + c0 * 8, cols, valid, x + c0 * 8, (c1 - c0) * 8, true, lane, acc);
  const float v = block_rows_sum<kVecWarps, R>(acc, part, warp, lane);
  if (threadIdx.x < valid) store_product_row(y, bias, accumulate, conv, row0 + threadIdx.x, v);
}

// Scalar fallback (cols not a multiple of 8, or any weight type): still coalesced across the warp.
template <typename WT>
__global__ void gemv_rows_scalar(const WT* __restrict__ W, const float* __restrict__ bias,
                                 const bf16* __restrict__ x, float* __restrict__ y, int rows, int cols,
                                 int T, bool accumulate) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row = blockIdx.x * kWarps + warp;
  const int t = blockIdx.y;
  if (row >= rows || t >= T) return;
  pdl_enter();
  const WT* w = W + std::int64_t(row) * cols;
  const bf16* xt = x + std::int64_t(t) * cols;
  float acc = 0.0f;
  for (int i = lane; i < cols; i += 32) acc = fmaf(float(w[i]), __bfloat162float(xt[i]), acc);
  acc = warp_sum(acc);
  if (lane == 0) {
    if (bias) acc += bias[row];
    float* out = y + std::int64_t(t) * rows + row;
    *out = accumulate ? *out + acc : acc;
  }
}

}  // namespace

void gemv_bf16(const bf16* W, const float* bias, const bf16* x, float* y, int rows, int cols,
               bool accumulate, cudaStream_t stream, const ConvStep& conv) {
  dim3 grid((rows + kWarps - 1) / kWarps);
  const bool aligned = gemv_vectorised(W, x, cols);
  if (aligned && rows >= 8192) {
    const int per_block = kVecWarps * kVecRows;
    launch_kernel(gemv_bf16_vec<kVecRows>, (rows + per_block - 1) / per_block, kVecWarps * 32, 0, stream, W, bias, x, y, rows,
                  cols, accumulate, conv);
  } else if (aligned && rows >= 512) {
    launch_kernel(gemv_bf16_splitk<2>, (rows + 1) / 2, kVecWarps * 32, 0, stream, W, bias, x, y, rows, cols, accumulate,
                  conv);
  } else if (aligned) {
    launch_kernel(gemv_bf16_splitk<1>, rows, kVecWarps * 32, 0, stream, W, bias, x, y, rows, cols, accumulate, conv);
  } else {
    if (conv.K > 0) throw Error("gemv_bf16: the fused conv step needs the vectorised kernels (cols % 8 == 0, aligned)");
    launch_kernel(gemv_rows_scalar<bf16>, grid, kWarps * 32, 0, stream, W, bias, x, y, rows, cols, 1, accumulate);
  }
  LS_LAUNCH_CHECK();
}

bool gemv_vectorised(const bf16* W, const bf16* x, int cols) {
  return cols % 8 == 0 && (reinterpret_cast<std::uintptr_t>(W) % 16) == 0 && (reinterpret_cast<std::uintptr_t>(x) % 16) == 0;
}

void gemv_f32w(const float* W, const bf16* x, float* y, int rows, int cols, int T, cudaStream_t stream) {
  dim3 grid((rows + kWarps - 1) / kWarps, T);
  launch_kernel(gemv_rows_scalar<float>, grid, kWarps * 32, 0, stream, W, nullptr, x, y, rows, cols, T, false);
  LS_LAUNCH_CHECK();
}

void gemv_bf16_rows(const bf16* W, const bf16* x, float* y, int rows, int cols, int T, cudaStream_t stream) {
  dim3 grid((rows + kWarps - 1) / kWarps, T);
  launch_kernel(gemv_rows_scalar<bf16>, grid, kWarps * 32, 0, stream, W, nullptr, x, y, rows, cols, T, false);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
