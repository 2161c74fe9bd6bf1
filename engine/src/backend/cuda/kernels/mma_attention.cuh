// SPDX-License-Identifier: GPL-3.0-or-later
// Pieces shared by the tensor-core attention kernels (attention_prompt.cu: 16 queries of one head
// per warp; attention_decode_mma.cu: the 16 query heads of one KV head per warp).
//   QSplit / load_q_split: 16 query rows as bf16 fragments q = hi + lo (16 significant bits), so
//     that Q K^T against the bf16 cache is as exact as fp32 q (one bf16 q failed check, see
//     attention_prompt.cu).
//   online_softmax_tile: one tile of the running max / sum of a row, p as bf16 hi + lo.
//   stage_kv_rows: K and V rows of one KV head into shared tiles (cp.async, zero past the last row
//     and past hd).
//   for_head_dim / for_each_head_dim: call f with the padded head dim (16, 32, 64 or 128) as a
//     compile-time constant.
#pragma once

#include <mma.h>

#include <cstdint>
#include <type_traits>

#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/async_copy.cuh"

namespace logitscope::cuda {

#ifdef __CUDACC__
template <int HDP>
struct QSplit {
  nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, __nv_bfloat16, nvcuda::wmma::row_major> f[2][HDP / 16];
};

// v = hi + lo in bf16.
__device__ __forceinline__ void split_bf16(float v, bf16& hi, bf16& lo) {
  hi = __float2bfloat16(v);
  lo = __float2bfloat16(v - __bfloat162float(hi));
}

// q_at(r, d): the scaled query value of row r < 16, column d < HDP (0 where there is none).
// `stage`: the warp's scratch, at least 16 x (HDP + 8) bf16. Warp-collective.
template <int HDP, typename QAt>
__device__ __forceinline__ void load_q_split(bf16* stage, QAt q_at, int lane, QSplit<HDP>& q) {
#pragma unroll
  for (int part = 0; part < 2; ++part) {
    for (int i = lane; i < 16 * HDP; i += 32) {
      bf16 hi, lo;
      split_bf16(q_at(i / HDP, i % HDP), hi, lo);
      stage[(i / HDP) * (HDP + 8) + i % HDP] = part == 0 ? hi : lo;
    }
    __syncwarp();
#pragma unroll
    for (int f = 0; f < HDP / 16; ++f) nvcuda::wmma::load_matrix_sync(q.f[part][f], stage + f * 16, HDP + 8);
    __syncwarp();
  }
}

// One tile of an online softmax over a row split between this lane and lane ^ 1: sv holds this
// lane's N scores (-INFINITY where masked). Writes p = exp(s - m_new) as bf16 hi + lo to p_hi[c],
// p_lo[c], updates the row's running max m and sum l, and returns the factor exp(m_old - m_new)
// that the row's output must be scaled by (1 while the row has seen no unmasked score).
template <int N>
__device__ __forceinline__ float online_softmax_tile(const float (&sv)[N], float& m, float& l, bf16* p_hi,
                                                     bf16* p_lo) {
  float tile_max = -INFINITY;
#pragma unroll
  for (int c = 0; c < N; ++c) tile_max = fmaxf(tile_max, sv[c]);
  tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
  const float m_new = fmaxf(m, tile_max);
  const float corr = m_new == -INFINITY ? 1.0f : __expf(m - m_new);  // exp(-inf) = 0 on the first tile
  float psum = 0.0f;
#pragma unroll
  for (int c = 0; c < N; ++c) {
    const float pv = sv[c] == -INFINITY ? 0.0f : __expf(sv[c] - m_new);
    psum += pv;
    split_bf16(pv, p_hi[c], p_lo[c]);
  }
  psum += __shfl_xor_sync(0xffffffffu, psum, 1);
  l = l * corr + psum;
  m = m_new;
  return corr;
}

// Rows row0 .. row0 + kTileRows - 1 of K and V ([rows, hd] from kb, vb) into sK, sV ([kTileRows][ld]);
// rows >= end and columns >= hd are zero. Block-collective; the caller synchronises afterwards.
// vec: hd % 8 == 0 and kb, vb 16-byte aligned.
template <int HDP, int kTileRows>
__device__ __forceinline__ void stage_kv_rows(bf16* sK, bf16* sV, int ld, const bf16* kb, const bf16* vb, int row0,
                                              int end, int hd, bool vec) {
  if (vec) {
    constexpr int kChunks = HDP / 8;
    for (int c = threadIdx.x; c < kTileRows * kChunks; c += blockDim.x) {
      const int row = c / kChunks, col = (c % kChunks) * 8;
      const bool ok = row0 + row < end && col < hd;
      const std::int64_t src = ok ? std::int64_t(row0 + row) * hd + col : 0;
      cp_async16(sK + row * ld + col, kb + src, ok);
      cp_async16(sV + row * ld + col, vb + src, ok);
    }
    cp_async_commit();
    cp_async_wait<0>();
  } else {
    for (int c = threadIdx.x; c < kTileRows * HDP; c += blockDim.x) {
      const int row = c / HDP, col = c % HDP;
      const bool ok = row0 + row < end && col < hd;
      const std::int64_t src = std::int64_t(row0 + row) * hd + col;
      sK[row * ld + col] = ok ? kb[src] : __float2bfloat16(0.0f);
      sV[row * ld + col] = ok ? vb[src] : __float2bfloat16(0.0f);
    }
  }
}
#endif

// Whether stage_kv_rows may copy 16-byte pieces: whole pieces per row and aligned caches.
inline bool kv_rows_vectorisable(int hd, const void* kcache, const void* vcache) {
  return hd % 8 == 0 && reinterpret_cast<std::uintptr_t>(kcache) % 16 == 0 &&
         reinterpret_cast<std::uintptr_t>(vcache) % 16 == 0;
}

// f(std::integral_constant<int, HDP>{}) for the smallest HDP in {16, 32, 64, 128} >= hd (hd <= 128).
template <typename F>
void for_head_dim(int hd, F&& f) {
  if (hd <= 16)
    f(std::integral_constant<int, 16>{});
  else if (hd <= 32)
    f(std::integral_constant<int, 32>{});
  else if (hd <= 64)
    f(std::integral_constant<int, 64>{});
  else
    f(std::integral_constant<int, 128>{});
}

// f for every padded head dim (to opt the kernels in to their shared memory once).
template <typename F>
void for_each_head_dim(F&& f) {
  f(std::integral_constant<int, 16>{});
  f(std::integral_constant<int, 32>{});
  f(std::integral_constant<int, 64>{});
  f(std::integral_constant<int, 128>{});
}

}  // namespace logitscope::cuda
