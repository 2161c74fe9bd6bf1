// SPDX-License-Identifier: GPL-3.0-or-later
// Routed experts of a prompt chunk as grouped matrix products on tensor cores, without the host.
//
// moe_group_kernel: one block of 1024 threads. counts[e] = assignments routed to e (shared-memory
//   atomics), offsets = exclusive prefix sum (warp scan), tiles[e] = first row tile of expert e
//   (tiles[E] = their total), then every assignment a = t k + j takes a grouped row:
//   perm[pos] = t, slot[a] = pos. The order of the rows within an expert depends on the atomics, the
//   results do not: every row of a product is computed on its own.
// experts_gemm_kernel<BM, BK, Stages, Up>: C[BM x 128 tile] = A[rows of one expert] W_e^T, bf16 in,
//   fp32 accumulate (wmma 16x16x16 fragments: mma.sync on 8.0+), K in steps of BK = 64 through a
//   3- or 4-stage cp.async pipeline (83-92 KB of dynamic shared memory). Block = 8 warps; grid = (ceil(N / 128), upper bound of the row tiles); a
//   block past the real tile count (tiles[E], known on the device only) returns at once, and a block
//   finds its expert by binary search in tiles. Consecutive blocks share one row tile of one
//   expert (x = the output column tile), so the tile's activations come from L2 after the first.
//   Up:   A row = x[perm[pos]] (the gather is fused), out h[pos, :] = bf16(relu(acc + b_e)^2).
//   Down: A row = h[pos], out[pos, :] = acc (fp32; moe_combine weighs, adds the bias, sums).
//   BM (16, 32 or 64 rows) follows the average rows per expert: tiles are padded to BM rows, so
//   short prompts use short tiles (their cost is the weights, read once per row tile).
// Bytes: each used expert's up and down matrices once per row tile (L2 serves the repeats of
// neighbouring tiles), the activations once per column tile from L2.
// Why: the v1-v3 prompt path copied the routing to the host after every MoE layer, waited, and made
// two cuBLAS calls per used expert, each too small to fill the card: 78 of 168 ms of a 2048-token
// prompt on the H100 (v3 profile), against 0.85 ms per layer to read the layer's experts.
// Measured (H100, v4): 2048-token prompt 56.5 ms for the 23 layers' experts (~100 TFLOPS;
// cublasGemmGroupedBatchedEx after a host grouping: 40.5 ms incl. the sync, bf16 outputs only).
// Quantized experts (FP8, NVFP4; e.up_q / e.down_q): the weight tile is read as stored, 16 or 32 codes
// a load, and written to shared memory as bf16 code * block scale (exact); the FP8 row scale and the
// expert's global scale multiply the accumulator in the epilogue. Those loads go to registers before a
// stage's products and into the tile after them (the activations' stay cp.async).
// Checked by: tests/gpu (check over 100-token prompts and, with LOGITSCOPE_PROMPT_EXPERTS=grouped,
// every fixture's golden prompt: prefill logits vs the CPU reference; fixtures with widths that
// are not multiples of 8 take the scalar load path).
#include <mma.h>

#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/async_copy.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"
#include "backend/cuda/kernels/quant_dot.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kMaxExperts = 512;
constexpr int kGroupThreads = 1024;
constexpr int kBN = 128;          // output columns per block
constexpr int kThreads = 256;

// Shared memory of one block: kStages x (BM + kBN) rows of BK (+ 8 padding: conflict-free fragment
// loads) bf16, reused for the BM x (kBN + 4) fp32 output tile.
template <int BM, int BK, int kStages>
constexpr int gemm_smem_bytes() {
  return kStages * (BM + kBN) * (BK + 8) * 2 > BM * (kBN + 4) * 4 ? kStages * (BM + kBN) * (BK + 8) * 2
                                                                  : BM * (kBN + 4) * 4;
}

__global__ void __launch_bounds__(kGroupThreads)
moe_group_kernel(const int* __restrict__ ids, int n, int k, int E, int bm, int* __restrict__ counts,
                 int* __restrict__ offsets, int* __restrict__ tiles, int* __restrict__ perm, int* __restrict__ slot) {
  pdl_enter();
  __shared__ int cnt[kMaxExperts];
  __shared__ int fill[kMaxExperts];
  for (int e = threadIdx.x; e < E; e += blockDim.x) cnt[e] = 0;
  __syncthreads();
  for (int a = threadIdx.x; a < n; a += blockDim.x) atomicAdd(&cnt[ids[a]], 1);
  __syncthreads();
  if (threadIdx.x < 32) {
    const int lane = threadIdx.x;
    int rows_before = 0, tiles_before = 0;
    for (int base = 0; base < E; base += 32) {
      const int e = base + lane;
      const int c = e < E ? cnt[e] : 0, t = (c + bm - 1) / bm;
      int c_incl = c, t_incl = t;  // inclusive prefix sums over the lanes
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const int cu = __shfl_up_sync(0xffffffffu, c_incl, o), tu = __shfl_up_sync(0xffffffffu, t_incl, o);
        if (lane >= o) { c_incl += cu; t_incl += tu; }
      }
      if (e < E) {
        counts[e] = c;
        offsets[e] = fill[e] = rows_before + c_incl - c;
        tiles[e] = tiles_before + t_incl - t;
      }
      rows_before += __shfl_sync(0xffffffffu, c_incl, 31);
      tiles_before += __shfl_sync(0xffffffffu, t_incl, 31);
    }
    if (lane == 0) tiles[E] = tiles_before;
  }
  __syncthreads();
  for (int a = threadIdx.x; a < n; a += blockDim.x) {
    const int pos = atomicAdd(&fill[ids[a]], 1);
    perm[pos] = a / k;
    slot[a] = pos;
  }
}

template <int BM, int BK, int kStages, bool Up, WeightCode C>
__global__ void __launch_bounds__(kThreads)
experts_gemm_kernel(const bf16* __restrict__ A, const int* __restrict__ perm, const bf16* __restrict__ W,
                    QuantMatrix Wq, const float* __restrict__ bias, const int* __restrict__ counts, const int* __restrict__ offsets,
                    const int* __restrict__ tiles, int E, int N, int K, bool vec, bf16* __restrict__ out_h,
                    float* __restrict__ out_f) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  namespace wmma = nvcuda::wmma;
  constexpr int WM = BM >= 32 ? BM / 32 : 1;  // warps along the rows
  constexpr int WN = 8 / WM;                   // warps along the columns
  constexpr int FM = BM / WM / 16;             // 16x16 fragments per warp, rows
  constexpr int FN = kBN / WN / 16;            // ... columns
  constexpr int kLd = BK + 8;
  constexpr int kStageA = BM * kLd, kStageB = kBN * kLd;  // bf16 elements per stage
  constexpr int kOutLd = kBN + 4;
  extern __shared__ __align__(128) unsigned char smem[];  // gemm_smem_bytes<BM, BK, kStages>()
  bf16* sA = reinterpret_cast<bf16*>(smem);    // [kStages][BM][kLd]
  bf16* sB = sA + kStages * kStageA;           // [kStages][kBN][kLd] rows of W_e (k contiguous)
  float* sOut = reinterpret_cast<float*>(smem);  // [BM][kOutLd], after the main loop

  pdl_enter();
  const int tile = blockIdx.y;
  if (tile >= tiles[E]) return;
  int lo = 0, hi = E - 1;  // the expert owning this tile: the last e with tiles[e] <= tile
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (tiles[mid] <= tile) lo = mid; else hi = mid - 1;
  }
  const int ex = lo;
  const int m0 = (tile - tiles[ex]) * BM;
  const int rows = min(BM, counts[ex] - m0);
  const int row_base = offsets[ex] + m0;  // grouped row of the tile's first row
  const int n0 = blockIdx.x * kBN;
  const bf16* We = C == WeightCode::Bf16 ? W + std::int64_t(ex) * N * K : nullptr;
  // Quantized experts: expert ex's codes [N, K] (E4M3, or E2M1 pairs) and NVFP4 block scales [N, K / 16].
  const std::int64_t qs = C == WeightCode::Fp8 ? K : K / 2, ss = K / 16;
  const std::uint8_t* Qe = C == WeightCode::Bf16 ? nullptr : Wq.q + std::int64_t(ex) * N * qs;
  const std::uint8_t* Se = C == WeightCode::Nvfp4 ? Wq.block_scale + std::int64_t(ex) * N * ss : nullptr;

  constexpr int kChunks = BK / 8;  // 16-byte pieces per row and stage
  // Activations: cp.async (vec) or plain loads ordered by the barrier that follows.
  auto load_a = [&](int kt, int s) {
    const int k0 = kt * BK;
    bf16* a = sA + s * kStageA;
    if (vec) {  // K % 8 == 0 and 16-byte aligned rows
#pragma unroll
      for (int c = threadIdx.x; c < BM * kChunks; c += kThreads) {
        const int r = c / kChunks, col = (c % kChunks) * 8;
        const bool ok = r < rows && k0 + col < K;
        const std::int64_t src = ok ? std::int64_t(Up ? perm[row_base + r] : row_base + r) * K + k0 + col : 0;
        cp_async16(a + r * kLd + col, A + src, ok);
      }
    } else {
      for (int c = threadIdx.x; c < BM * BK; c += kThreads) {
        const int r = c / BK, kk = k0 + c % BK;
        const bool ok = r < rows && kk < K;
        a[r * kLd + c % BK] =
            ok ? A[std::int64_t(Up ? perm[row_base + r] : row_base + r) * K + kk] : __float2bfloat16(0.0f);
      }
    }
  };
  // Quantized weights (vec): each thread's 16-byte chunks of codes (16 FP8 / 32 NVFP4 weights) and
  // NVFP4 scale pairs are fetched into registers before a stage's products and dequantized into
  // the bf16 tile after them (exact), so the loads overlap the tensor-core work.
  constexpr int kCw = quant_chunk_weights<C>();
  constexpr int kQChunks = BK / kCw;
  constexpr int kQPer = (kBN * kQChunks + kThreads - 1) / kThreads;
  uint4 qreg[kQPer];
  unsigned short sreg[kQPer];
  auto fetch_b = [&](int kt) {
    const int k0 = kt * BK;
#pragma unroll
    for (int i = 0; i < kQPer; ++i) {
      const int c = threadIdx.x + i * kThreads;
      const int r = c / kQChunks, col = (c % kQChunks) * kCw;
      const bool ok = c < kBN * kQChunks && n0 + r < N && k0 + col < K;
      const std::int64_t row = n0 + r;
      qreg[i] = ok ? __ldg(reinterpret_cast<const uint4*>(Qe + row * qs + (C == WeightCode::Fp8 ? k0 + col : (k0 + col) / 2)))
                   : make_uint4(0, 0, 0, 0);
      if constexpr (C == WeightCode::Nvfp4)
        sreg[i] = ok ? __ldg(reinterpret_cast<const unsigned short*>(Se + row * ss + (k0 + col) / 16)) : 0;
    }
  };
  auto store_b = [&](int s) {
    bf16* b = sB + s * kStageB;
#pragma unroll
    for (int i = 0; i < kQPer; ++i) {
      const int c = threadIdx.x + i * kThreads;
      if (c >= kBN * kQChunks) break;
      const int r = c / kQChunks, col = (c % kQChunks) * kCw;
      uint4* dst = reinterpret_cast<uint4*>(b + r * kLd + col);
      if constexpr (C == WeightCode::Fp8) {
        uint4 v[2];
        e4m3x16_to_bf16(qreg[i], v);  // zero codes of a tile edge stay zero
        dst[0] = v[0];
        dst[1] = v[1];
      } else {
        uint4 v[4];
        const float2 sc = e4m3x2_to_float2(sreg[i]);
        e2m1x32_to_bf16(qreg[i], sc.x, sc.y, v);
#pragma unroll
        for (int j = 0; j < 4; ++j) dst[j] = v[j];
      }
    }
  };
  auto load_b = [&](int kt, int s) {
    const int k0 = kt * BK;
    bf16* b = sB + s * kStageB;
    if constexpr (C == WeightCode::Bf16) {
      if (vec) {
#pragma unroll
        for (int c = threadIdx.x; c < kBN * kChunks; c += kThreads) {
          const int r = c / kChunks, col = (c % kChunks) * 8;
          const bool ok = n0 + r < N && k0 + col < K;
          cp_async16(b + r * kLd + col, We + (ok ? std::int64_t(n0 + r) * K + k0 + col : 0), ok);
        }
        return;
      }
    } else {
      if (vec) {
        fetch_b(kt);
        store_b(s);
        return;
      }
    }
    for (int c = threadIdx.x; c < kBN * BK; c += kThreads) {  // any K (small fixtures)
      const int r = c / BK, kk = k0 + c % BK;
      const bool ok = n0 + r < N && kk < K;
      if constexpr (C == WeightCode::Bf16) {
        b[r * kLd + c % BK] = ok ? We[std::int64_t(n0 + r) * K + kk] : __float2bfloat16(0.0f);
      } else {
        const std::int64_t row = n0 + r;
        b[r * kLd + c % BK] = ok ? __float2bfloat16(quant_weight_at<C>(Qe + row * qs, Se ? Se + row * ss : nullptr, kk))
                                 : __float2bfloat16(0.0f);
      }
    }
  };
  const bool deferred_b = C != WeightCode::Bf16 && vec;

  const int warp = threadIdx.x / 32, wm = warp / WN, wn = warp % WN;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[FM][FN];
#pragma unroll
  for (int i = 0; i < FM; ++i)
#pragma unroll
    for (int j = 0; j < FN; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

  const int ktiles = (K + BK - 1) / BK;
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < ktiles) {
      load_a(s, s);
      load_b(s, s);
    }
    cp_async_commit();
  }
  for (int kt = 0; kt < ktiles; ++kt) {
    cp_async_wait<kStages - 2>();  // stage kt has landed (this thread's copies)
    __syncthreads();               // everyone's; and stage kt - 1 is no longer read
    const int next = kt + kStages - 1;
    if (next < ktiles) {
      load_a(next, next % kStages);
      if (deferred_b) fetch_b(next);  // dequantized into the tile after this stage's products
      else load_b(next, next % kStages);
    }
    cp_async_commit();
    const bf16* a = sA + (kt % kStages) * kStageA + (wm * FM * 16) * kLd;
    const bf16* b = sB + (kt % kStages) * kStageB + (wn * FN * 16) * kLd;
#pragma unroll
    for (int kk = 0; kk < BK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa[FM];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb[FN];
#pragma unroll
      for (int i = 0; i < FM; ++i) wmma::load_matrix_sync(fa[i], a + i * 16 * kLd + kk, kLd);
#pragma unroll
      for (int j = 0; j < FN; ++j) wmma::load_matrix_sync(fb[j], b + j * 16 * kLd + kk, kLd);
#pragma unroll
      for (int i = 0; i < FM; ++i)
#pragma unroll
        for (int j = 0; j < FN; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
    // Stage `next` is read only after the barriers of the coming iterations.
    if (deferred_b && next < ktiles) store_b(next % kStages);
  }
  cp_async_wait<0>();
  __syncthreads();  // the pipeline buffers become the output tile
#pragma unroll
  for (int i = 0; i < FM; ++i)
#pragma unroll
    for (int j = 0; j < FN; ++j)
      wmma::store_matrix_sync(sOut + (wm * FM * 16 + i * 16) * kOutLd + wn * FN * 16 + j * 16, acc[i][j], kOutLd,
                              wmma::mem_row_major);
  __syncthreads();
  for (int idx = threadIdx.x; idx < BM * kBN; idx += kThreads) {
    const int r = idx / kBN, c = idx % kBN;
    if (r >= rows || n0 + c >= N) continue;
    float v = sOut[r * kOutLd + c];
    if constexpr (C != WeightCode::Bf16)  // the expert's FP8 row scale and global scale
      v *= quant_row_factor(Wq.row_scale ? Wq.row_scale + std::int64_t(ex) * N : nullptr, Wq.global_scale + ex, n0 + c);
    const std::int64_t o = std::int64_t(row_base + r) * N + n0 + c;
    if constexpr (Up) {
      if (bias) v += bias[std::int64_t(ex) * N + n0 + c];
      v = fmaxf(v, 0.0f);
      out_h[o] = __float2bfloat16(v * v);
    } else {
      out_f[o] = v;
    }
  }
#else
  __trap();  // the host never launches this below compute capability 8.0 (tensor_core_kernels_supported)
#endif
}

template <int BM, int BK, int kStages, bool Up>
void launch_gemm(const bf16* A, const int* perm, const bf16* W, const QuantMatrix& Wq, const float* bias,
                 const int* counts, const int* offsets, const int* tiles, int E, int N, int K, bool vec, bf16* out_h,
                 float* out_f, int max_tiles, cudaStream_t stream) {
  constexpr int smem = gemm_smem_bytes<BM, BK, kStages>();
  const dim3 grid((N + kBN - 1) / kBN, max_tiles);
  if (Wq.code == WeightCode::Fp8)
    launch_kernel(experts_gemm_kernel<BM, BK, kStages, Up, WeightCode::Fp8>, grid, kThreads, smem, stream, A, perm, W, Wq,
                  bias, counts, offsets, tiles, E, N, K, vec, out_h, out_f);
  else if (Wq.code == WeightCode::Nvfp4)
    launch_kernel(experts_gemm_kernel<BM, BK, kStages, Up, WeightCode::Nvfp4>, grid, kThreads, smem, stream, A, perm, W,
                  Wq, bias, counts, offsets, tiles, E, N, K, vec, out_h, out_f);
  else
    launch_kernel(experts_gemm_kernel<BM, BK, kStages, Up, WeightCode::Bf16>, grid, kThreads, smem, stream, A, perm, W,
                  Wq, bias, counts, offsets, tiles, E, N, K, vec, out_h, out_f);
  LS_LAUNCH_CHECK();
}

// Whether a stage's loads can be 16-byte chunks: K a multiple of the chunk (8 bf16 activations; 16 FP8
// or 32 NVFP4 codes) and every base 16-byte aligned.
bool tile_loads_vectorised(const bf16* A, const bf16* W, const QuantMatrix& Wq, int K) {
  const auto aligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; };
  if (K % 8 != 0 || !aligned(A)) return false;
  if (Wq.code == WeightCode::Fp8) return K % 16 == 0 && aligned(Wq.q);
  if (Wq.code == WeightCode::Nvfp4) return K % 32 == 0 && aligned(Wq.q);
  return aligned(W);
}

template <int BM, int BK, int kStages>
void launch_gemms(const ExpertsDecode& e, int E, int n, const bf16* x, const int* counts, const int* offsets,
                  const int* tiles, const int* perm, bf16* h, float* out, cudaStream_t stream) {
  const int max_tiles = (n + BM - 1) / BM + (n < E ? n : E);
  launch_gemm<BM, BK, kStages, true>(x, perm, e.up, e.up_q, e.up_b, counts, offsets, tiles, E, e.width, e.in,
                                     tile_loads_vectorised(x, e.up, e.up_q, e.in), h, nullptr, max_tiles, stream);
  launch_gemm<BM, BK, kStages, false>(h, nullptr, e.down, e.down_q, nullptr, counts, offsets, tiles, E, e.out, e.width,
                                      tile_loads_vectorised(h, e.down, e.down_q, e.width), nullptr, out, max_tiles,
                                      stream);
}

template <int BM, int BK, int Stages>
struct TileConfig {
  static constexpr int bm = BM, bk = BK, stages = Stages;
};

// The tile shapes in use, one per BM: K steps of 64 (measured against 32 on the H100: 128 / 512 /
// 2048-token prompts 5.5k / 14.2k / 22.6k tok/s vs 4.2k / 11.9k / 21.6k); 4 stages where they fit
// in 99 KB (sm_89, sm_120), else 3. f(TileConfig<...>{}) for the one of `bm`, or for each (bm = 0).
template <typename F>
void for_tile_config(int bm, F&& f) {
  if (bm == 0 || bm == 16) f(TileConfig<16, 64, 4>{});
  if (bm == 0 || bm == 32) f(TileConfig<32, 64, 4>{});
  if (bm == 0 || bm == 64) f(TileConfig<64, 64, 3>{});
}

}  // namespace

void configure_experts_grouped() {
  if (!tensor_core_kernels_supported()) return;
  for_tile_config(0, [](auto t) {
    using Tile = decltype(t);
    constexpr int smem = gemm_smem_bytes<Tile::bm, Tile::bk, Tile::stages>();
    allow_shared_memory(experts_gemm_kernel<Tile::bm, Tile::bk, Tile::stages, true, WeightCode::Bf16>, smem);
    allow_shared_memory(experts_gemm_kernel<Tile::bm, Tile::bk, Tile::stages, false, WeightCode::Bf16>, smem);
    allow_shared_memory(experts_gemm_kernel<Tile::bm, Tile::bk, Tile::stages, true, WeightCode::Fp8>, smem);
    allow_shared_memory(experts_gemm_kernel<Tile::bm, Tile::bk, Tile::stages, false, WeightCode::Fp8>, smem);
    allow_shared_memory(experts_gemm_kernel<Tile::bm, Tile::bk, Tile::stages, true, WeightCode::Nvfp4>, smem);
    allow_shared_memory(experts_gemm_kernel<Tile::bm, Tile::bk, Tile::stages, false, WeightCode::Nvfp4>, smem);
  });
}

void experts_grouped(const ExpertsDecode& e, int E, const int* ids, int T, int k, const bf16* x, int* counts,
                     int* offsets, int* tiles, int* perm, int* slot, bf16* h, float* out, cudaStream_t stream) {
  if (E > kMaxExperts) throw Error("n_routed_experts " + std::to_string(E) + " is not supported (at most 512)");
  const int n = T * k;
  // Rows per tile from the average rows per expert (a tile is padded to BM rows).
  const int bm = n < 12 * E ? 16 : n < 48 * E ? 32 : 64;
  launch_kernel(moe_group_kernel, 1, kGroupThreads, 0, stream, ids, n, k, E, bm, counts, offsets, tiles, perm, slot);
  LS_LAUNCH_CHECK();
  for_tile_config(bm, [&](auto t) {
    using Tile = decltype(t);
    launch_gemms<Tile::bm, Tile::bk, Tile::stages>(e, E, n, x, counts, offsets, tiles, perm, h, out, stream);
  });
}

}  // namespace logitscope::cuda
