// SPDX-License-Identifier: GPL-3.0-or-later
// Decode attention splits on tensor cores: the G query heads of one KV head (G <= 16; 16 at the
// 30B-A3B shape) are the 16 rows of one wmma tile, so Q K^T and P V over a run of keys are tile
// products instead of one warp reduction per (key, head).
//
// attention_decode_split_mma<HDP>: grid (KV, splits), block = 4 warps, the same splits and the same
//   partial format as attention_decode_split (attention_decode.cu, whose combine kernel finishes);
//   ~256 keys per split at long contexts (splits_for_tensor_cores), Q staged once per block.
//   The block's keys pass through shared memory 64 at a time (cp.async, zero past the run); warp w
//   takes keys 16w .. 16w + 15 of each tile: S = Q K^T (16 heads x 16 keys; q = hi + lo in bf16),
//   an online softmax per head in fp32, P V with p = hi + lo, folded into its rows of O (a lane
//   owns half of one head's row). At the end the 4 warps' (m, l, O) are merged in shared memory
//   and the block writes (m, l, O[hd]) per head, unnormalised, like the CUDA-core kernel.
// Why: at 32k context the CUDA-core split kernel spent 142 us per layer (H100, v3) on
//   16 warp reductions per key and warp, for 34 MB of K and V (11 us at the copy rate).
// Shared memory: K and V tiles 2 x 64 x (HDP + 8) bf16 + per warp 16 x (HDP + 4) fp32 and
//   2 x 16 x 24 bf16 (76 KB at HDP = 128, dynamic). Bytes: K and V of the context once.
// Checked by: tests/gpu (check: token-by-token decode logits vs the CPU reference, every fixture;
// decode at 32k context in bench).
#include <mma.h>

#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"
#include "backend/cuda/kernels/mma_attention.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kRows = 16;                  // query heads of a KV head, padded to one tile
constexpr int kWarpKeys = 16;              // keys per warp and tile
constexpr int kKeys = kWarps * kWarpKeys;  // keys per shared-memory tile

constexpr int round128(int bytes) { return (bytes + 127) / 128 * 128; }

template <int HDP>
struct DecodeLayout {
  static constexpr int kvLd = HDP + 8;       // bf16
  static constexpr int wLd = HDP + 4;        // fp32: S (16 columns used) and P V (HDP columns)
  static constexpr int pLd = kWarpKeys + 8;  // bf16
  static constexpr int kvBytes = round128(kKeys * kvLd * 2);
  static constexpr int wBytes = round128(kRows * wLd * 4);
  static constexpr int pBytes = round128(2 * kRows * pLd * 2);
  static constexpr int mergeBytes = kWarps * kRows * (HDP + 2) * 4;  // reuses the K, V tiles
  static_assert(mergeBytes <= 2 * kvBytes, "the merge buffer must fit in the K and V tiles");
  static_assert(2 * kRows * kvLd * 2 <= kvBytes, "Q (hi and lo) is staged in the K tile");
  static constexpr int total = 2 * kvBytes + kWarps * (wBytes + pBytes);
};

template <int HDP>
__global__ void __launch_bounds__(32 * kWarps)
attention_decode_split_mma(const float* __restrict__ qkv, AttnParams p, const bf16* __restrict__ kc,
                           const bf16* __restrict__ vc, float* __restrict__ part, int splits, bool vec) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  namespace wmma = nvcuda::wmma;
  using L = DecodeLayout<HDP>;
  constexpr int kHalf = HDP / 2;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* sK = reinterpret_cast<bf16*>(smem);               // [kKeys][kvLd]
  bf16* sV = reinterpret_cast<bf16*>(smem + L::kvBytes);  // [kKeys][kvLd]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* sW = reinterpret_cast<float*>(smem + 2 * L::kvBytes + warp * (L::wBytes + L::pBytes));  // [16][wLd]
  bf16* sP = reinterpret_cast<bf16*>(reinterpret_cast<unsigned char*>(sW) + L::wBytes);          // [2][16][pLd]
  pdl_enter();
  const int kvh = blockIdx.x, split = blockIdx.y;
  const int G = p.H / p.KV;
  const int n = (p.pos_dev ? *p.pos_dev : p.pos0) + 1;
  const int chunk = (n + splits - 1) / splits;
  const int j0 = min(n, split * chunk), j1 = min(n, j0 + chunk);
  const float scale = rsqrtf(float(p.hd));

  // Q: row r = head kvh G + r (zero past G), scaled, as hi + lo bf16 fragments (staged through sW).
  // Staged once per block in the K tile (before the first K rows arrive), then every warp takes
  // its fragments.
  QSplit<HDP> q;
  {
    constexpr int ld = HDP + 8;
    bf16* stage = sK;  // [2][16][ld]: hi rows, then lo rows
    // A fixed trip count, unrolled: all of a thread's Q loads are issued before the first is used
    // (a strided loop of dependent iterations cost one L2 round trip per element of the thread).
    constexpr int kPerThread = kRows * HDP / (32 * kWarps);
    static_assert(kRows * HDP % (32 * kWarps) == 0, "Q tile divides over the block");
    float qv[kPerThread];
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      const int i = threadIdx.x + k * 32 * kWarps;
      const int r = i / HDP, d = i % HDP;
      qv[k] = (r < G && d < p.hd) ? qkv[(kvh * G + r) * p.hd + d] * scale : 0.0f;
    }
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      const int i = threadIdx.x + k * 32 * kWarps;
      const int r = i / HDP, d = i % HDP;
      split_bf16(qv[k], stage[r * ld + d], stage[(kRows + r) * ld + d]);
    }
    __syncthreads();
#pragma unroll
    for (int f = 0; f < HDP / 16; ++f) {
      wmma::load_matrix_sync(q.f[0][f], stage + f * 16, ld);
      wmma::load_matrix_sync(q.f[1][f], stage + kRows * ld + f * 16, ld);
    }
    __syncthreads();  // the K tile is staged next
  }

  const int r = lane / 2, half = lane % 2;  // this lane's head row and half of it
  const bf16* kb = kc + std::int64_t(kvh) * p.max_ctx * p.hd;
  const bf16* vb = vc + std::int64_t(kvh) * p.max_ctx * p.hd;
  float o[kHalf];
#pragma unroll
  for (int i = 0; i < kHalf; ++i) o[i] = 0.0f;
  float m = -INFINITY, l = 0.0f;

  for (int t0 = j0; t0 < j1; t0 += kKeys) {
    stage_kv_rows<HDP, kKeys>(sK, sV, L::kvLd, kb, vb, t0, j1, p.hd, vec);
    __syncthreads();
    const int wk0 = t0 + warp * kWarpKeys;  // first key of this warp's slice
    if (wk0 < j1) {
      {  // S = Q K^T: 16 heads x 16 keys -> sW
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> s;
        wmma::fill_fragment(s, 0.0f);
#pragma unroll
        for (int f = 0; f < HDP / 16; ++f) {
          wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> kf;
          wmma::load_matrix_sync(kf, sK + warp * kWarpKeys * L::kvLd + f * 16, L::kvLd);
          wmma::mma_sync(s, q.f[0][f], kf, s);
          wmma::mma_sync(s, q.f[1][f], kf, s);
        }
        wmma::store_matrix_sync(sW, s, L::wLd, wmma::mem_row_major);
      }
      __syncwarp();
      float sv[kWarpKeys / 2];
#pragma unroll
      for (int c = 0; c < kWarpKeys / 2; ++c) {
        const int key = wk0 + half * (kWarpKeys / 2) + c;
        sv[c] = key < j1 ? sW[r * L::wLd + half * (kWarpKeys / 2) + c] : -INFINITY;
      }
      const float corr = online_softmax_tile(sv, m, l, sP + r * L::pLd + half * (kWarpKeys / 2),
                                             sP + (kRows + r) * L::pLd + half * (kWarpKeys / 2));
      __syncwarp();
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> pf_hi, pf_lo;
      wmma::load_matrix_sync(pf_hi, sP, L::pLd);
      wmma::load_matrix_sync(pf_lo, sP + kRows * L::pLd, L::pLd);
#pragma unroll
      for (int nn = 0; nn < HDP / 16; ++nn) {  // P V: 16 heads x HDP -> sW
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
        wmma::fill_fragment(acc, 0.0f);
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> vf;
        wmma::load_matrix_sync(vf, sV + warp * kWarpKeys * L::kvLd + nn * 16, L::kvLd);
        wmma::mma_sync(acc, pf_hi, vf, acc);
        wmma::mma_sync(acc, pf_lo, vf, acc);
        wmma::store_matrix_sync(sW + nn * 16, acc, L::wLd, wmma::mem_row_major);
      }
      __syncwarp();
#pragma unroll
      for (int i = 0; i < kHalf; ++i) o[i] = o[i] * corr + sW[r * L::wLd + half * kHalf + i];
      __syncwarp();
    }
    __syncthreads();  // sK, sV are restaged
  }

  // Merge the 4 warps (fixed order): buffer [warp][row][m, l, O[HDP]] in the K, V tiles.
  float* mb = reinterpret_cast<float*>(smem);
  float* mine = mb + (warp * kRows + r) * (HDP + 2);
  if (half == 0) {
    mine[0] = m;
    mine[1] = l;
  }
#pragma unroll
  for (int i = 0; i < kHalf; ++i) mine[2 + half * kHalf + i] = o[i];
  __syncthreads();
  for (int i = threadIdx.x; i < G * (p.hd + 2); i += blockDim.x) {
    const int row = i / (p.hd + 2), col = i % (p.hd + 2);
    float M = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) M = fmaxf(M, mb[(w * kRows + row) * (HDP + 2)]);
    float v = col == 0 ? M : 0.0f;
    if (col > 0) {
#pragma unroll
      for (int w = 0; w < kWarps; ++w) {
        const float* src = mb + (w * kRows + row) * (HDP + 2);
        const float f = src[0] == -INFINITY ? 0.0f : __expf(src[0] - M);
        v += f * src[col];  // col 1: l, col >= 2: O[col - 2]
      }
    }
    part[(std::int64_t(kvh * G + row) * kAttnMaxSplits + split) * (p.hd + 2) + col] = v;
  }
#else
  __trap();  // the host never launches this below compute capability 8.0
#endif
}

template <int HDP>
void launch_split(const float* qkv, const AttnParams& p, const bf16* kc, const bf16* vc, float* part, int splits,
                  cudaStream_t stream) {
  constexpr int bytes = DecodeLayout<HDP>::total;
  const bool vec = kv_rows_vectorisable(p.hd, kc, vc);
  launch_kernel(attention_decode_split_mma<HDP>, dim3(p.KV, splits), 32 * kWarps, bytes, stream, qkv, p, kc, vc, part,
                splits, vec);
  LS_LAUNCH_CHECK();
}

}  // namespace

void configure_attention_decode_mma() {
  if (!tensor_core_kernels_supported()) return;
  for_each_head_dim([](auto hdp) {
    allow_shared_memory(attention_decode_split_mma<hdp.value>, DecodeLayout<hdp.value>::total);
  });
}

bool attention_decode_split_tensor_cores(const float* qkv, const AttnParams& p, const bf16* kcache,
                                         const bf16* vcache, float* part, int splits, cudaStream_t stream) {
  if (p.H / p.KV > kRows || p.hd > 128 || !tensor_core_kernels_supported()) return false;
  for_head_dim(p.hd, [&](auto hdp) { launch_split<decltype(hdp)::value>(qkv, p, kcache, vcache, part, splits, stream); });
  return true;
}

}  // namespace logitscope::cuda
