// SPDX-License-Identifier: GPL-3.0-or-later
// Dequantizing FP8 (E4M3) and NVFP4 (E2M1 codes + E4M3 block scales) weights in registers, and the
// warp-level dot products of quantized rows with a bf16 vector: the inner loop of the quantized decode
// kernels (gemv_quant.cu, experts_decode_quant.cu), the counterpart of dot.cuh.
//
// Codes become fp16 by moving their bits, not by a table: an E2M1 code s|e1 e0|m placed as fp16 bits
// s at 15, e1 e0 m at 11..9 is the code's value times 2^-14 (exponent bias 15 instead of 1; the one
// subnormal code, 0.5, lands on an fp16 subnormal of the same ratio), so each 32-bit word of 8 codes
// gives 4 half2 with two shifts and two masks apiece, exactly. The 2^14 goes into the block scale.
// E4M3 pairs use cuda_fp8.h's conversion (one instruction on sm_89+).
//
// A vectorised lane step reads 16 bytes of a row: 16 FP8 weights, or 32 NVFP4 weights (two blocks)
// plus their two scale bytes; U steps of R rows are issued before the first use (as dot.cuh), so
// R * U 16-byte loads per lane are in flight. Results are lane partials of sum(code * block_scale * x):
// the row's FP8 scale or the NVFP4 global scale is the caller's (one multiply per row).
// Checked by: tests/gpu (check: decode logits vs the CPU reference on the quantized fixtures).
#pragma once

#include <cuda_fp16.h>
#include <cuda_fp4.h>
#include <cuda_fp8.h>

#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"

namespace logitscope::cuda {

// Two E4M3 bytes (low byte first) as two floats.
__device__ __forceinline__ float2 e4m3x2_to_float2(unsigned short two) {
  const __half2 h(__nv_cvt_fp8x2_to_halfraw2(two, __NV_E4M3));
  return __half22float2(h);
}
__device__ __forceinline__ float e4m3_to_float_dev(unsigned char b) {
  return __half2float(__half(__nv_cvt_fp8_to_halfraw(b, __NV_E4M3)));
}

// Codes i and i + 4 of an 8-code word (code j in bits 4j..4j+3) as floats times 2^-14.
__device__ __forceinline__ float2 e2m1_pair_scaled(std::uint32_t word, int i) {
  const std::uint32_t v = word >> (4 * i);
  const std::uint32_t bits = ((v << 9) & 0x0E000E00u) | ((v << 12) & 0x80008000u);
  __half2 h;
  *reinterpret_cast<std::uint32_t*>(&h) = bits;
  return __half22float2(h);
}
constexpr float kE2m1Unscale = 16384.0f;  // 2^14: what e2m1_pair_scaled leaves out

// One E2M1 code (low nibble of `code`) as a float.
__device__ __forceinline__ float e2m1_to_float_dev(unsigned code) {
  return e2m1_pair_scaled(code & 0xFu, 0).x * kE2m1Unscale;
}

// n bf16 activations (n / 8 uint4) as floats.
template <int N>
__device__ __forceinline__ void bf16_chunk_to_float(const uint4* x, float (&xf)[N]) {
#pragma unroll
  for (int q = 0; q < N / 8; ++q) {
    const __nv_bfloat162* x2 = reinterpret_cast<const __nv_bfloat162*>(&x[q]);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 f = __bfloat1622float2(x2[i]);
      xf[8 * q + 2 * i] = f.x;
      xf[8 * q + 2 * i + 1] = f.y;
    }
  }
}

// sum of the 8 codes of `word` times x[0..7] (times 2^-14 on the bit-moving path; one uint4 of
// bf16 activations, converted here: for NVFP4 this
// measured faster than converting a chunk's 32 activations once for all rows, which holds 32 more
// registers per lane; H100, 2.05 vs 2.66 ms per token at the 30B-A3B shape). Cards with an E2M1
// conversion instruction (family-specific sm_100f / sm_110f / sm_120f builds: cvt.rn.f16x2.e2m1x2
// through cuda_fp4.h) convert a byte (two codes) at a time; others move bits.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 1000 && defined(__CUDA_FP8_INTERNAL_CAN_RELY_ON_PTX_FOR_SHORTTYPESCVT__)
#if __CUDA_FP8_INTERNAL_CAN_RELY_ON_PTX_FOR_SHORTTYPESCVT__
#define LOGITSCOPE_E2M1_CVT 1
#endif
#endif
__device__ __forceinline__ float dot8_e2m1(std::uint32_t word, const uint4& x) {
  float acc = 0.0f;
#ifdef LOGITSCOPE_E2M1_CVT
  const __nv_bfloat162* x2 = reinterpret_cast<const __nv_bfloat162*>(&x);
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const __half2 h(__nv_cvt_fp4x2_to_halfraw2(static_cast<__nv_fp4x2_storage_t>((word >> (8 * j)) & 0xFFu), __NV_E2M1));
    const float2 w = __half22float2(h);  // codes 2j (low nibble) and 2j + 1
    const float2 xf = __bfloat1622float2(x2[j]);
    acc = fmaf(w.x, xf.x, acc);
    acc = fmaf(w.y, xf.y, acc);
  }
  return acc;
#else
  float xf[8];
  bf16_chunk_to_float<8>(&x, xf);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 w = e2m1_pair_scaled(word, i);
    acc = fmaf(w.x, xf[i], acc);
    acc = fmaf(w.y, xf[i + 4], acc);
  }
  return acc;  // times 2^-14: the caller multiplies by kE2m1DotUnscale once per chunk
#endif
}
// What multiplies a chunk's dot8_e2m1 sums (the bit-moving path leaves 2^-14 out).
#ifdef LOGITSCOPE_E2M1_CVT
constexpr float kE2m1DotUnscale = 1.0f;
#else
constexpr float kE2m1DotUnscale = kE2m1Unscale;
#endif

// sum of 16 E4M3 weights (one uint4) times xf[0..15].
__device__ __forceinline__ float dot16_e4m3(const uint4& w, const float (&xf)[16]) {
  const std::uint32_t words[4] = {w.x, w.y, w.z, w.w};
  float acc = 0.0f;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const float2 w01 = e4m3x2_to_float2(static_cast<unsigned short>(words[j] & 0xFFFFu));
    const float2 w23 = e4m3x2_to_float2(static_cast<unsigned short>(words[j] >> 16));
    acc = fmaf(w01.x, xf[4 * j], acc);
    acc = fmaf(w01.y, xf[4 * j + 1], acc);
    acc = fmaf(w23.x, xf[4 * j + 2], acc);
    acc = fmaf(w23.y, xf[4 * j + 3], acc);
  }
  return acc;
}

// Weight i of a quantized row without its row / global scale (any i; the scalar path).
template <WeightCode C>
__device__ __forceinline__ float quant_weight_at(const std::uint8_t* __restrict__ q, const std::uint8_t* __restrict__ bs,
                                                 int i) {
  if constexpr (C == WeightCode::Fp8) {
    return e4m3_to_float_dev(q[i]);
  } else {
    const unsigned byte = q[i / 2];
    return e2m1_to_float_dev((i & 1) ? byte >> 4 : byte) * e4m3_to_float_dev(bs[i / 16]);
  }
}

// Weights per 16-byte chunk of a row.
template <WeightCode C>
__host__ __device__ constexpr int quant_chunk_weights() { return C == WeightCode::Fp8 ? 16 : 32; }

// acc[r] += lane partial of sum_i code(W[r, i]) * block_scale * x[i] for i < n, r < valid (rows past
// `valid` re-read row 0 so the loads stay unconditional). q / bs point at row 0's first column of
// this range (q_stride / bs_stride bytes per row); `vec`: n a multiple of the chunk (16 / 32 weights)
// and q, q_stride, x 16-byte aligned; otherwise the scalar path.
template <WeightCode C, int R, int U = 2>
__device__ __forceinline__ void warp_dot_rows_quant(const std::uint8_t* __restrict__ q, std::int64_t q_stride,
                                                    const std::uint8_t* __restrict__ bs, std::int64_t bs_stride,
                                                    int valid, const bf16* __restrict__ x, int n, bool vec, int lane,
                                                    float (&acc)[R]) {
  if (vec) {
    const uint4* w4[R];
    const unsigned short* s2[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int rr = r < valid ? r : 0;
      w4[r] = reinterpret_cast<const uint4*>(q + rr * q_stride);
      s2[r] = reinterpret_cast<const unsigned short*>(bs + (C == WeightCode::Nvfp4 ? rr * bs_stride : 0));
    }
    const uint4* x4 = reinterpret_cast<const uint4*>(x);
    const int chunks = n / quant_chunk_weights<C>();
    for (int i = lane; i < chunks; i += 32 * U) {
      uint4 w[U][R];
      unsigned short sc[U][R];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int c = i + 32 * u;
#pragma unroll
        for (int r = 0; r < R; ++r) {
          w[u][r] = c < chunks ? __ldg(w4[r] + c) : make_uint4(0, 0, 0, 0);
          if constexpr (C == WeightCode::Nvfp4) sc[u][r] = c < chunks ? __ldg(s2[r] + c) : 0;
        }
      }
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int c = i + 32 * u;
        if (c >= chunks) break;
        if constexpr (C == WeightCode::Fp8) {
          // The chunk's 16 activations as floats once, for all R rows.
          float xf[16];
          bf16_chunk_to_float<16>(x4 + 2 * c, xf);
#pragma unroll
          for (int r = 0; r < R; ++r) acc[r] += dot16_e4m3(w[u][r], xf);
        } else {
          const uint4 x0 = x4[4 * c], x1 = x4[4 * c + 1], x2 = x4[4 * c + 2], x3 = x4[4 * c + 3];
#pragma unroll
          for (int r = 0; r < R; ++r) {
            const float2 s = e4m3x2_to_float2(sc[u][r]);
            const float b0 = dot8_e2m1(w[u][r].x, x0) + dot8_e2m1(w[u][r].y, x1);
            const float b1 = dot8_e2m1(w[u][r].z, x2) + dot8_e2m1(w[u][r].w, x3);
            acc[r] += (b0 * s.x + b1 * s.y) * kE2m1DotUnscale;
          }
        }
      }
    }
  } else {
    for (int i = lane; i < n; i += 32) {
      const float xv = __bfloat162float(x[i]);
#pragma unroll
      for (int r = 0; r < R; ++r)
        if (r < valid) acc[r] = fmaf(quant_weight_at<C>(q + r * q_stride, bs + r * bs_stride, i), xv, acc[r]);
    }
  }
}

// Tiles for the tensor cores (experts_grouped.cu): codes times block scale as bf16, exactly (at most 6
// significant bits). 16 E4M3 codes -> out[0..1] (8 bf16 each).
// `scale` multiplies every weight first (1: exact; an FP8 row scale: rounded to bf16).
__device__ __forceinline__ void e4m3x16_to_bf16(const uint4& w, uint4 (&out)[2], float scale = 1.0f) {
  const std::uint32_t words[4] = {w.x, w.y, w.z, w.w};
  std::uint32_t packed[8];
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const float2 a = e4m3x2_to_float2(static_cast<unsigned short>(words[j] & 0xFFFFu));
    const float2 b = e4m3x2_to_float2(static_cast<unsigned short>(words[j] >> 16));
    const __nv_bfloat162 pa = __floats2bfloat162_rn(a.x * scale, a.y * scale),
                         pb = __floats2bfloat162_rn(b.x * scale, b.y * scale);
    packed[2 * j] = *reinterpret_cast<const std::uint32_t*>(&pa);
    packed[2 * j + 1] = *reinterpret_cast<const std::uint32_t*>(&pb);
  }
  out[0] = make_uint4(packed[0], packed[1], packed[2], packed[3]);
  out[1] = make_uint4(packed[4], packed[5], packed[6], packed[7]);
}
// 32 E2M1 codes (two blocks of 16, scales s0, s1 as floats) -> out[0..3] (8 bf16 each).
__device__ __forceinline__ void e2m1x32_to_bf16(const uint4& w, float s0, float s1, uint4 (&out)[4]) {
  const std::uint32_t words[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const float s = (j < 2 ? s0 : s1) * kE2m1Unscale;
    float f[8];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 p = e2m1_pair_scaled(words[j], i);
      f[i] = p.x * s;
      f[i + 4] = p.y * s;
    }
    std::uint32_t packed[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const __nv_bfloat162 b = __floats2bfloat162_rn(f[2 * i], f[2 * i + 1]);
      packed[i] = *reinterpret_cast<const std::uint32_t*>(&b);
    }
    out[j] = make_uint4(packed[0], packed[1], packed[2], packed[3]);
  }
}

// The per-row factor after the dot: FP8 row scale (per channel) times the matrix's global scale.
__device__ __forceinline__ float quant_row_factor(const float* __restrict__ row_scale, const float* __restrict__ global,
                                                  int row) {
  return (row_scale ? row_scale[row] : 1.0f) * (global ? *global : 1.0f);
}

}  // namespace logitscope::cuda
