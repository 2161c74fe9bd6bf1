// SPDX-License-Identifier: GPL-3.0-or-later
// Matrix-vector products for decode (batch 1): y[r] (+)= b[r] + W[r,:] . x.
// Launch: 256 threads = 8 warps per block, one warp per output row, grid = ceil(rows / 8).
// Each lane reads 16 bytes (8 bf16) of the row per step, 4 steps unrolled so that several loads are
// in flight; x is re-read from L1/L2 (it is tiny). Bytes: rows * cols * 2 of weights (read once),
// + cols * 2 per row from cache. Rows whose length is not a multiple of 8 take a scalar path.
// Checked by: tests/gpu (logitscope-cli check: decode logits vs the CPU reference, every fixture).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"

namespace logitscope::cuda {
namespace {

constexpr int kWarps = 8;

__global__ void gemv_bf16_vec(const bf16* __restrict__ W, const float* __restrict__ bias,
                              const bf16* __restrict__ x, float* __restrict__ y, int rows, int cols,
                              bool accumulate) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row = blockIdx.x * kWarps + warp;
  if (row >= rows) return;
  const uint4* w4 = reinterpret_cast<const uint4*>(W + std::int64_t(row) * cols);  // [cols / 8]
  const uint4* x4 = reinterpret_cast<const uint4*>(x);
  const int chunks = cols / 8;
  float acc = 0.0f;
  int i = lane;
  // Four independent 16-byte loads per lane before the first use.
  for (; i + 96 < chunks; i += 128) {
    uint4 a = __ldg(w4 + i), b = __ldg(w4 + i + 32), c = __ldg(w4 + i + 64), d = __ldg(w4 + i + 96);
    acc += dot8(a, x4[i]) + dot8(b, x4[i + 32]) + dot8(c, x4[i + 64]) + dot8(d, x4[i + 96]);
  }
  for (; i < chunks; i += 32) acc += dot8(__ldg(w4 + i), x4[i]);
  acc = warp_sum(acc);
  if (lane == 0) {
    if (bias) acc += bias[row];
    y[row] = accumulate ? y[row] + acc : acc;
  }
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
               bool accumulate, cudaStream_t stream) {
  dim3 grid((rows + kWarps - 1) / kWarps);
  const bool aligned = cols % 8 == 0 && (reinterpret_cast<std::uintptr_t>(W) % 16) == 0 &&
                       (reinterpret_cast<std::uintptr_t>(x) % 16) == 0;
  if (aligned) {
    gemv_bf16_vec<<<grid, kWarps * 32, 0, stream>>>(W, bias, x, y, rows, cols, accumulate);
  } else {
    gemv_rows_scalar<bf16><<<grid, kWarps * 32, 0, stream>>>(W, bias, x, y, rows, cols, 1, accumulate);
  }
  LS_LAUNCH_CHECK();
}

void gemv_f32w(const float* W, const bf16* x, float* y, int rows, int cols, int T, cudaStream_t stream) {
  dim3 grid((rows + kWarps - 1) / kWarps, T);
  gemv_rows_scalar<float><<<grid, kWarps * 32, 0, stream>>>(W, nullptr, x, y, rows, cols, T, false);
  LS_LAUNCH_CHECK();
}

void gemv_bf16_rows(const bf16* W, const bf16* x, float* y, int rows, int cols, int T, cudaStream_t stream) {
  dim3 grid((rows + kWarps - 1) / kWarps, T);
  gemv_rows_scalar<bf16><<<grid, kWarps * 32, 0, stream>>>(W, nullptr, x, y, rows, cols, T, false);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
