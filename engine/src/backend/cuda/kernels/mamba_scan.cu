// SPDX-License-Identifier: GPL-3.0-or-later
// Mamba-2 SSM recurrence (spec 2.1 steps 3-5) over T tokens, fp32 state [H, P, N]:
//   dt = softplus(dt_raw + dt_bias) in fp32, clamped to (dt_min, dt_max); A = -exp(A_log);
//   S[p, n] = S[p, n] exp(dt A) + dt x[p] B[n];  y[p] = C . S[p, :] + D x[p]  (x post-conv, not dt-scaled).
// Both kernels below make the same state updates in the same order (bit-identical state); the
// C . S sums of y are added in a different order (a warp_sum per step vs transpose_reduce).
//
// Work split (both): grid = (H, ceil(P / 16)), block = 4 warps; a warp owns 4 rows p of one head,
// each lane owns N/32 state entries of each row (n = lane + 32 j), so C . S is a warp reduction and
// the state stays in registers for the whole chunk of tokens.
//
// mamba_scan_kernel (decode, T = 1): reads x, B, C and dt straight from global memory. Bytes: state
//   read + write (H P N 4 * 2) + the token's xBC row.
// mamba_scan_staged_kernel (prompts, T > 1): the tokens' inputs are staged through shared memory in
//   chunks of TC tokens (x for the block's 16 rows, the group's B and C rows, dt), double-buffered
//   with cp.async so that chunk c + 1 arrives while chunk c is scanned; dt and exp(dt A) are computed
//   once per token and block; the C . S reductions of 8 steps x 4 rows are done together (31
//   shuffles instead of 160); y goes through shared memory and leaves in rows of 16.
//   Why: the sequential kernel read those inputs from global memory on the critical path of every
//   step; at 2048 tokens that was ~1 us per step, 50 ms of a 168 ms prompt on the H100 (v3
//   profile). Bytes per prompt: T (2 G N + d_inner + H) 4 read (B/C rows once per (head, block)
//   from L2), T d_inner 4 written, the state once.
//   Shared memory: 2 buffers x TC x (2 N + 16 + 1) floats + TC x 18 floats, at most ~35 KB.
// A chunked SSD scan (matrix products within chunks on tensor cores) would parallelise over tokens
// too; this kernel keeps the token loop sequential.
// Checked by: tests/gpu (check: prefill all-logits and token-by-token decode vs the CPU reference;
// prompts longer than one chunk).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/async_copy.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kRowsPerWarp = 4;
constexpr int kScanWarps = 4;
constexpr int kBlockRows = kRowsPerWarp * kScanWarps;  // 16 rows p per block

__device__ __forceinline__ float scan_dt(float raw, float dt_bias, const ScanParams& p) {
  const float v = raw + dt_bias;
  const float dt = v > 20.0f ? v : log1pf(expf(v));
  return fminf(fmaxf(dt, p.dt_min), p.dt_max);
}

// A warp's share of the state [H, P, N]: rows p0 .. p0 + 3 of head h, entries n = lane + 32 j.
// store = false: S = state (0 past P, N); store = true: state = S.
template <int NPL>
__device__ __forceinline__ void state_rows(float* __restrict__ state, int h, int p0, int lane, const ScanParams& p,
                                           float (&S)[kRowsPerWarp][NPL], bool store) {
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int j = 0; j < NPL; ++j) {
      const int row = p0 + r, n = lane + 32 * j;
      const bool in = row < p.P && n < p.N;
      float& cell = state[(std::int64_t(h) * p.P + row) * p.N + n];
      if (store) {
        if (in) cell = S[r][j];
      } else {
        S[r][j] = in ? cell : 0.0f;
      }
    }
}

template <int NPL>  // state entries per lane: N <= 32 * NPL
__global__ void mamba_scan_kernel(const float* __restrict__ xbc, const float* __restrict__ zxbcdt, int stride,
                                  int dt_offset, const float* __restrict__ dt_bias,
                                  const float* __restrict__ A_log, const float* __restrict__ Dp,
                                  float* __restrict__ state, int T, ScanParams p, float* __restrict__ y) {
  pdl_enter();
  const int h = blockIdx.x;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int p0 = (blockIdx.y * kScanWarps + warp) * kRowsPerWarp;
  if (p0 >= p.P) return;
  const int g = h / (p.H / p.G);
  const float A = -expf(A_log[h]);
  const float Dh = Dp[h];
  const float dtb = dt_bias[h];
  const int conv_dim = p.d_inner + 2 * p.G * p.N;
  float S[kRowsPerWarp][NPL];  // rows p0.., entries n = lane + 32 j
  state_rows<NPL>(state, h, p0, lane, p, S, false);
  for (int t = 0; t < T; ++t) {
    const float* xr = xbc + std::int64_t(t) * conv_dim;
    const float dt = scan_dt(zxbcdt[std::int64_t(t) * stride + dt_offset + h], dtb, p);
    const float dA = expf(dt * A);
    float Bn[NPL], Cn[NPL];
#pragma unroll
    for (int j = 0; j < NPL; ++j) {
      const int n = lane + 32 * j;
      Bn[j] = n < p.N ? xr[p.d_inner + g * p.N + n] : 0.0f;
      Cn[j] = n < p.N ? xr[p.d_inner + p.G * p.N + g * p.N + n] : 0.0f;
    }
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int row = p0 + r;
      const float x = row < p.P ? xr[h * p.P + row] : 0.0f;
      const float dtx = dt * x;
      float acc = 0.0f;
#pragma unroll
      for (int j = 0; j < NPL; ++j) {
        S[r][j] = fmaf(S[r][j], dA, dtx * Bn[j]);
        acc = fmaf(S[r][j], Cn[j], acc);
      }
      acc = warp_sum(acc);
      if (lane == 0 && row < p.P) y[std::int64_t(t) * p.d_inner + h * p.P + row] = acc + Dh * x;
    }
  }
  state_rows<NPL>(state, h, p0, lane, p, S, true);
}

// Sum over the warp of 32 values per lane, v[q] for q = 0..31; lane q gets the sum of the v[q].
// Each round halves the values a lane holds: it keeps the half selected by its lane bit, adds the
// partner's copy of that half and sends the other half (16 + 8 + 4 + 2 + 1 = 31 shuffles).
template <int Half>
__device__ __forceinline__ void transpose_round(float (&v)[32], int lane) {
  const bool upper = lane & Half;
#pragma unroll
  for (int j = 0; j < Half; ++j) {
    const float send = upper ? v[j] : v[j + Half];
    const float keep = upper ? v[j + Half] : v[j];
    v[j] = keep + __shfl_xor_sync(0xffffffffu, send, Half);
  }
}
__device__ __forceinline__ float transpose_reduce(float (&v)[32], int lane) {
  transpose_round<16>(v, lane);
  transpose_round<8>(v, lane);
  transpose_round<4>(v, lane);
  transpose_round<2>(v, lane);
  transpose_round<1>(v, lane);
  return v[0];
}

constexpr int kGroupSteps = 32 / kRowsPerWarp;  // steps reduced together: 4 rows x 8 steps = 32 values

// Tokens per staged chunk: B and C buffers (2 x 2 x TC x 32 NPL floats) stay at 32 KB or less.
template <int NPL>
constexpr int kStagedChunkTokens = NPL <= 2 ? 32 : 64 / NPL;

template <int NPL>
__global__ void __launch_bounds__(32 * kScanWarps)
mamba_scan_staged_kernel(const float* __restrict__ xbc, const float* __restrict__ zxbcdt, int stride, int dt_offset,
                         const float* __restrict__ dt_bias, const float* __restrict__ A_log,
                         const float* __restrict__ Dp, float* __restrict__ state, int T, ScanParams p, bool vec,
                         float* __restrict__ y) {
  constexpr int TC = kStagedChunkTokens<NPL>;
  constexpr int NMAX = 32 * NPL;
  __shared__ __align__(16) float sB[2][TC][NMAX];        // the group's B rows of the chunk's tokens
  __shared__ __align__(16) float sC[2][TC][NMAX];        // C rows
  __shared__ __align__(16) float sX[2][TC][kBlockRows];  // x of the block's rows
  __shared__ float sDtRaw[2][TC];
  __shared__ float sDt[TC], sDA[TC];
  __shared__ float sY[TC][kBlockRows];
  pdl_enter();
  const int h = blockIdx.x;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int block_p0 = blockIdx.y * kBlockRows;
  const int block_rows = min(kBlockRows, p.P - block_p0);
  const int p0 = block_p0 + warp * kRowsPerWarp;
  const bool warp_active = p0 < p.P;
  const int g = h / (p.H / p.G);
  const float A = -expf(A_log[h]);
  const float Dh = Dp[h];
  const float dtb = dt_bias[h];
  const int conv_dim = p.d_inner + 2 * p.G * p.N;
  const int b_col = p.d_inner + g * p.N, c_col = p.d_inner + p.G * p.N + g * p.N, x_col = h * p.P + block_p0;

  // Issues the copies of chunk `c` into buffer `buf` (no wait).
  auto stage = [&](int c, int buf) {
    const int t0 = c * TC, tcv = min(TC, T - t0);
    if (vec) {  // N, P, d_inner multiples of 4 and xbc 16-byte aligned
      const int n4 = p.N / 4, x4 = block_rows / 4;
      for (int i = tid; i < tcv * n4; i += blockDim.x) {
        const int tt = i / n4, q = 4 * (i % n4);
        const float* row = xbc + std::int64_t(t0 + tt) * conv_dim;
        cp_async16(&sB[buf][tt][q], row + b_col + q, true);
        cp_async16(&sC[buf][tt][q], row + c_col + q, true);
      }
      for (int i = tid; i < tcv * x4; i += blockDim.x) {
        const int tt = i / x4, q = 4 * (i % x4);
        cp_async16(&sX[buf][tt][q], xbc + std::int64_t(t0 + tt) * conv_dim + x_col + q, true);
      }
    } else {
      for (int i = tid; i < tcv * p.N; i += blockDim.x) {
        const int tt = i / p.N, q = i % p.N;
        const float* row = xbc + std::int64_t(t0 + tt) * conv_dim;
        cp_async4(&sB[buf][tt][q], row + b_col + q, true);
        cp_async4(&sC[buf][tt][q], row + c_col + q, true);
      }
      for (int i = tid; i < tcv * block_rows; i += blockDim.x) {
        const int tt = i / block_rows, q = i % block_rows;
        cp_async4(&sX[buf][tt][q], xbc + std::int64_t(t0 + tt) * conv_dim + x_col + q, true);
      }
    }
    for (int i = tid; i < tcv; i += blockDim.x)
      cp_async4(&sDtRaw[buf][i], zxbcdt + std::int64_t(t0 + i) * stride + dt_offset + h, true);
  };

  float S[kRowsPerWarp][NPL];  // rows p0.., entries n = lane + 32 j
  state_rows<NPL>(state, h, p0, lane, p, S, false);
  const int chunks = (T + TC - 1) / TC;
  stage(0, 0);
  cp_async_commit();
  for (int c = 0; c < chunks; ++c) {
    const int buf = c & 1;
    if (c + 1 < chunks) stage(c + 1, buf ^ 1);  // buf ^ 1 was released by the last barrier of c - 1
    cp_async_commit();                          // (an empty group when nothing was staged)
    cp_async_wait<1>();                         // this thread's copies of chunk c have landed
    __syncthreads();                            // ... and everyone else's
    const int t0 = c * TC, tcv = min(TC, T - t0);
    if (tid < tcv) {
      const float dt = scan_dt(sDtRaw[buf][tid], dtb, p);
      sDt[tid] = dt;
      sDA[tid] = expf(dt * A);
    }
    __syncthreads();
    if (warp_active) {
      // Steps in groups of 8: the lane partials of C . S for 4 rows x 8 steps are reduced together at
      // the end of the group (transpose_reduce: 31 shuffles instead of 32 warp_sums of 5), so no
      // step waits for a reduction; the recurrence itself only waits for its FMAs.
      for (int i0 = 0; i0 < tcv; i0 += kGroupSteps) {
        float part[kRowsPerWarp * kGroupSteps];  // [row][step]
#pragma unroll
        for (int s = 0; s < kGroupSteps; ++s) {
          const int i = i0 + s;
#pragma unroll
          for (int r = 0; r < kRowsPerWarp; ++r) part[r * kGroupSteps + s] = 0.0f;
          if (i >= tcv) continue;
          const float dt = sDt[i], dA = sDA[i];
          float Bn[NPL], Cn[NPL];
#pragma unroll
          for (int j = 0; j < NPL; ++j) {
            const int n = lane + 32 * j;
            Bn[j] = n < p.N ? sB[buf][i][n] : 0.0f;
            Cn[j] = n < p.N ? sC[buf][i][n] : 0.0f;
          }
#pragma unroll
          for (int r = 0; r < kRowsPerWarp; ++r) {
            const float dtx = dt * sX[buf][i][warp * kRowsPerWarp + r];
            float acc = 0.0f;
#pragma unroll
            for (int j = 0; j < NPL; ++j) {
              S[r][j] = fmaf(S[r][j], dA, dtx * Bn[j]);
              acc = fmaf(S[r][j], Cn[j], acc);
            }
            part[r * kGroupSteps + s] = acc;
          }
        }
        // Lane l now holds the warp sum of value l: row l / 8, step l % 8.
        const float sum = transpose_reduce(part, lane);
        const int r = lane / kGroupSteps, i = i0 + lane % kGroupSteps;
        if (i < tcv && p0 + r < p.P) sY[i][warp * kRowsPerWarp + r] = sum + Dh * sX[buf][i][warp * kRowsPerWarp + r];
      }
    }
    __syncthreads();  // sY complete; buffer `buf` may be restaged from the next iteration on
    for (int i = tid; i < tcv * block_rows; i += blockDim.x) {
      const int tt = i / block_rows, r = i % block_rows;
      y[std::int64_t(t0 + tt) * p.d_inner + x_col + r] = sY[tt][r];
    }
  }
  state_rows<NPL>(state, h, p0, lane, p, S, true);
}

template <int NPL>
void launch_scan(const float* xbc, const float* zxbcdt, int stride, int dt_offset, const float* dt_bias,
                 const float* A_log, const float* D, float* state, int T, const ScanParams& p, float* y,
                 cudaStream_t stream) {
  dim3 grid(p.H, (p.P + kBlockRows - 1) / kBlockRows);
  dim3 block(32 * kScanWarps);
  if (T == 1) {
    launch_kernel(mamba_scan_kernel<NPL>, grid, block, 0, stream, xbc, zxbcdt, stride, dt_offset, dt_bias, A_log, D,
                  state, T, p, y);
  } else {
    const bool vec = p.N % 4 == 0 && p.P % 4 == 0 && p.d_inner % 4 == 0 &&
                     reinterpret_cast<std::uintptr_t>(xbc) % 16 == 0;
    launch_kernel(mamba_scan_staged_kernel<NPL>, grid, block, 0, stream, xbc, zxbcdt, stride, dt_offset, dt_bias,
                  A_log, D, state, T, p, vec, y);
  }
  LS_LAUNCH_CHECK();
}

}  // namespace

void mamba_scan(const float* xbc, const float* zxbcdt, int stride, int dt_offset, const float* dt_bias,
                const float* A_log, const float* D, float* state, int T, const ScanParams& p, float* y,
                cudaStream_t stream) {
  if (p.N <= 32) {
    launch_scan<1>(xbc, zxbcdt, stride, dt_offset, dt_bias, A_log, D, state, T, p, y, stream);
  } else if (p.N <= 64) {
    launch_scan<2>(xbc, zxbcdt, stride, dt_offset, dt_bias, A_log, D, state, T, p, y, stream);
  } else if (p.N <= 128) {
    launch_scan<4>(xbc, zxbcdt, stride, dt_offset, dt_bias, A_log, D, state, T, p, y, stream);
  } else if (p.N <= 256) {
    launch_scan<8>(xbc, zxbcdt, stride, dt_offset, dt_bias, A_log, D, state, T, p, y, stream);
  } else {
    throw Error("ssm_state_size " + std::to_string(p.N) + " is not supported (at most 256)");
  }
}

}  // namespace logitscope::cuda
