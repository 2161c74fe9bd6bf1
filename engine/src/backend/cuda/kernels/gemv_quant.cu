// SPDX-License-Identifier: GPL-3.0-or-later
// Quantized matrices (FP8, NVFP4; kernels.h QuantMatrix) at decode and for prompt chunks.
//
// gemv_quant: y[r] (+)= b[r] + factor_r * sum_i code(W[r, i]) * block_scale * x[i], batch 1, the weights
//   read as stored and dequantized in registers (quant_dot.cuh); factor_r = FP8 row scale * global.
//   Launch as gemv_bf16 (gemv.cu), 128 threads = 4 warps a block: rows >= 8192: each warp owns 2 whole
//   rows; fewer: a block owns 2 rows (1 under 512) and its 4 warps split the columns (split-K in the
//   block, fixed-order sum: deterministic). Rows whose length is not a multiple of the 16-byte chunk
//   (16 FP8 / 32 NVFP4 weights) take a scalar path. The decode in_proj's conv step runs in the
//   epilogue (conv_step.cuh), as for bf16.
//   Bytes: rows * cols (FP8) or rows * cols * 9/16 (NVFP4: codes + block scales) read once, + x, y.
// dequantize_bf16: one thread per 16-byte chunk of codes (8 weights a thread for other row lengths),
//   out = bf16(code * block_scale * row_scale);
//   prompt chunks multiply that tile by x on cuBLAS with alpha = the global scale. Bytes: the codes
//   read, rows * cols * 2 written (a scratch of one matrix: the largest quantized dense matrix).
// fill_random_codes: synthetic weights (bench at the real shape without a checkpoint).
// Checked by: tests/gpu (check: logits of the quantized fixtures vs the CPU reference, decode and
// prompt; the golden logits of transformers on the same checkpoints).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/conv_step.cuh"
#include "backend/cuda/kernels/dot.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"
#include "backend/cuda/kernels/quant_dot.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kWarps = 4;  // per block, every kernel here

template <WeightCode C, int R>
__global__ void __launch_bounds__(kWarps * 32)
gemv_quant_rows(QuantMatrix W, const float* __restrict__ bias, const bf16* __restrict__ x, float* __restrict__ y,
                int rows, int cols, bool accumulate, bool vec, ConvStep conv) {
  pdl_enter();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = (blockIdx.x * kWarps + warp) * R;
  if (row0 >= rows) return;
  const int valid = rows - row0 < R ? rows - row0 : R;
  const std::int64_t qs = C == WeightCode::Fp8 ? cols : cols / 2, ss = cols / 16;
  float acc[R];
#pragma unroll
  for (int r = 0; r < R; ++r) acc[r] = 0.0f;
  warp_dot_rows_quant<C, R>(W.q + row0 * qs, qs, W.block_scale + (C == WeightCode::Nvfp4 ? row0 * ss : 0), ss, valid,
                            x, cols, vec, lane, acc);
  float mine = 0.0f;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const float v = warp_sum(acc[r]);
    if (lane == r) mine = v;
  }
  if (lane < valid) {
    const int row = row0 + lane;
    store_product_row(y, bias, accumulate, conv, row, mine * quant_row_factor(W.row_scale, W.global_scale, row));
  }
}

template <WeightCode C, int R>
__global__ void __launch_bounds__(kWarps * 32)
gemv_quant_splitk(QuantMatrix W, const float* __restrict__ bias, const bf16* __restrict__ x, float* __restrict__ y,
                  int rows, int cols, bool accumulate, ConvStep conv) {
  pdl_enter();
  __shared__ float part[kWarps][R];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = blockIdx.x * R;
  const int valid = rows - row0 < R ? rows - row0 : R;
  constexpr int kChunk = quant_chunk_weights<C>();
  const int chunks = cols / kChunk;
  const int per = (chunks + kWarps - 1) / kWarps;
  const int c0 = warp * per < chunks ? warp * per : chunks;
  const int c1 = c0 + per < chunks ? c0 + per : chunks;
  const std::int64_t qs = C == WeightCode::Fp8 ? cols : cols / 2, ss = cols / 16;
  const int first = c0 * kChunk;  // first column of this warp's range
  float acc[R];
#pragma unroll
  for (int r = 0; r < R; ++r) acc[r] = 0.0f;
  warp_dot_rows_quant<C, R>(W.q + row0 * qs + (C == WeightCode::Fp8 ? first : first / 2), qs,
                            W.block_scale + (C == WeightCode::Nvfp4 ? row0 * ss + first / 16 : 0), ss, valid,
                            x + first, (c1 - c0) * kChunk, true, lane, acc);
  const float v = block_rows_sum<kWarps, R>(acc, part, warp, lane);
  if (threadIdx.x < valid) {
    const int row = row0 + threadIdx.x;
    store_product_row(y, bias, accumulate, conv, row, v * quant_row_factor(W.row_scale, W.global_scale, row));
  }
}

template <WeightCode C>
void launch_gemv_quant(const QuantMatrix& W, const float* bias, const bf16* x, float* y, int rows, int cols,
                       bool accumulate, cudaStream_t stream, const ConvStep& conv, bool vec) {
  if (vec && rows >= 8192) {
    launch_kernel(gemv_quant_rows<C, 2>, (rows + 2 * kWarps - 1) / (2 * kWarps), kWarps * 32, 0, stream, W, bias, x, y,
                  rows, cols, accumulate, true, conv);
  } else if (vec && rows >= 512) {
    launch_kernel(gemv_quant_splitk<C, 2>, (rows + 1) / 2, kWarps * 32, 0, stream, W, bias, x, y, rows, cols, accumulate,
                  conv);
  } else if (vec) {
    launch_kernel(gemv_quant_splitk<C, 1>, rows, kWarps * 32, 0, stream, W, bias, x, y, rows, cols, accumulate, conv);
  } else {
    launch_kernel(gemv_quant_rows<C, 1>, (rows + kWarps - 1) / kWarps, kWarps * 32, 0, stream, W, bias, x, y, rows, cols,
                  accumulate, false, conv);
  }
  LS_LAUNCH_CHECK();
}

// One thread per 16-byte chunk of codes (16 FP8 / 32 NVFP4 weights), two or four 16-byte stores;
// rows of other lengths take the scalar kernel below.
template <WeightCode C>
__global__ void dequantize_vec_kernel(QuantMatrix W, int rows, int cols, bf16* __restrict__ out) {
  pdl_enter();
  constexpr int kW = quant_chunk_weights<C>();
  const int per_row = cols / kW;
  const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= std::int64_t(rows) * per_row) return;
  const int r = int(idx / per_row), c = int(idx % per_row);
  const std::int64_t qs = C == WeightCode::Fp8 ? cols : cols / 2;
  const uint4 w = __ldg(reinterpret_cast<const uint4*>(W.q + r * qs) + c);
  uint4* dst = reinterpret_cast<uint4*>(out + std::int64_t(r) * cols + std::int64_t(c) * kW);
  if constexpr (C == WeightCode::Fp8) {
    uint4 v[2];
    e4m3x16_to_bf16(w, v, W.row_scale ? W.row_scale[r] : 1.0f);
    dst[0] = v[0];
    dst[1] = v[1];
  } else {
    uint4 v[4];
    const float2 sc = e4m3x2_to_float2(
        __ldg(reinterpret_cast<const unsigned short*>(W.block_scale + std::int64_t(r) * (cols / 16)) + c));
    e2m1x32_to_bf16(w, sc.x, sc.y, v);
#pragma unroll
    for (int i = 0; i < 4; ++i) dst[i] = v[i];
  }
}

// One thread per 8 consecutive weights of a row (any length; NVFP4 rows are multiples of 16).
template <WeightCode C>
__global__ void dequantize_kernel(QuantMatrix W, int rows, int cols, bf16* __restrict__ out) {
  pdl_enter();
  const int per_row = (cols + 7) / 8;
  const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= std::int64_t(rows) * per_row) return;
  const int r = int(idx / per_row), c0 = int(idx % per_row) * 8;
  const std::int64_t qs = C == WeightCode::Fp8 ? cols : cols / 2, ss = cols / 16;
  const std::uint8_t* q = W.q + r * qs;
  const std::uint8_t* bs = C == WeightCode::Nvfp4 ? W.block_scale + r * ss : nullptr;
  const float rs = W.row_scale ? W.row_scale[r] : 1.0f;
  for (int c = c0; c < c0 + 8 && c < cols; ++c)
    out[std::int64_t(r) * cols + c] = __float2bfloat16(quant_weight_at<C>(q, bs, c) * rs);
}

template <WeightCode C>
void launch_dequantize(const QuantMatrix& W, int rows, int cols, bf16* out, cudaStream_t stream) {
  constexpr int kW = quant_chunk_weights<C>();
  const bool vec = cols % kW == 0 && reinterpret_cast<std::uintptr_t>(W.q) % 16 == 0 &&
                   reinterpret_cast<std::uintptr_t>(out) % 16 == 0;
  const std::int64_t threads = std::int64_t(rows) * (vec ? cols / kW : (cols + 7) / 8);
  const int grid = int((threads + 255) / 256);
  if (vec) launch_kernel(dequantize_vec_kernel<C>, grid, 256, 0, stream, W, rows, cols, out);
  else launch_kernel(dequantize_kernel<C>, grid, 256, 0, stream, W, rows, cols, out);
  LS_LAUNCH_CHECK();
}

__device__ __forceinline__ std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

__global__ void fill_codes_kernel(std::uint8_t* __restrict__ dst, std::int64_t n, std::uint64_t seed, bool e4m3) {
  const std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const std::uint64_t r = mix64(seed ^ (std::uint64_t(i) * 0x9E3779B97F4A7C15ull));
  if (e4m3) {
    // sign | exponent 5..9 (2^-2..2^2) | any mantissa
    dst[i] = std::uint8_t((r & 0x80u) | ((5u + unsigned((r >> 8) % 5u)) << 3) | ((r >> 16) & 0x7u));
  } else {
    dst[i] = std::uint8_t(r);
  }
}

}  // namespace

bool gemv_quant_vectorised(const QuantMatrix& W, const bf16* x, int cols) {
  const int chunk = W.code == WeightCode::Fp8 ? 16 : 32;
  return cols % chunk == 0 && reinterpret_cast<std::uintptr_t>(W.q) % 16 == 0 &&
         reinterpret_cast<std::uintptr_t>(x) % 16 == 0 &&
         (W.code != WeightCode::Nvfp4 || reinterpret_cast<std::uintptr_t>(W.block_scale) % 2 == 0);
}

void gemv_quant(const QuantMatrix& W, const float* bias, const bf16* x, float* y, int rows, int cols, bool accumulate,
                cudaStream_t stream, const ConvStep& conv) {
  const bool vec = gemv_quant_vectorised(W, x, cols);
  if (conv.K > 0 && !vec) throw Error("gemv_quant: the fused conv step needs the vectorised kernels");
  if (W.code == WeightCode::Fp8) launch_gemv_quant<WeightCode::Fp8>(W, bias, x, y, rows, cols, accumulate, stream, conv, vec);
  else if (W.code == WeightCode::Nvfp4)
    launch_gemv_quant<WeightCode::Nvfp4>(W, bias, x, y, rows, cols, accumulate, stream, conv, vec);
  else throw Error("gemv_quant: the matrix is not quantized");
}

void dequantize_bf16(const QuantMatrix& W, int rows, int cols, bf16* out, cudaStream_t stream) {
  if (W.code == WeightCode::Fp8) launch_dequantize<WeightCode::Fp8>(W, rows, cols, out, stream);
  else if (W.code == WeightCode::Nvfp4) launch_dequantize<WeightCode::Nvfp4>(W, rows, cols, out, stream);
  else throw Error("dequantize_bf16: the matrix is not quantized");
}

void fill_random_codes(std::uint8_t* dst, std::int64_t n, std::uint64_t seed, bool e4m3, cudaStream_t stream) {
  if (n <= 0) return;
  fill_codes_kernel<<<unsigned((n + 255) / 256), 256, 0, stream>>>(dst, n, seed, e4m3);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
