// SPDX-License-Identifier: GPL-3.0-or-later
// The model as it lives on the GPU: one arena holding every weight, and typed pointers into it.
// Matrices are bf16 [out, in] (PyTorch layout); vectors (norms, biases, A_log, D, dt_bias, conv taps,
// router correction bias) are fp32 because they are tiny and the fp32 copy costs no bandwidth; the
// router matrix keeps the checkpoint's fp32 when the file has it (the routing decision is fragile).
// Quantized checkpoints (FP8, NVFP4) keep each quantized matrix as stored: codes and scales
// (kernels.h QuantMatrix), never a bf16 copy; a prompt chunk dequantizes one matrix at a time into
// the workspace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/cuda/kernels/kernels.h"
#include "logitscope/config.h"
#include "model/tensor.h"

namespace logitscope {
struct ModelWeights;
}

namespace logitscope::cuda {

struct DLinear {
  bf16* w = nullptr;      // [rows, cols] (null when quantized)
  float* b = nullptr;     // [rows] or null
  int rows = 0, cols = 0;
  QuantMatrix q;          // the quantized form (q.code != Bf16): codes and scales as stored
  bool quantized() const { return q.quantized(); }
  std::uint64_t weight_bytes() const { return std::uint64_t(rows) * quant_row_bytes(q.code, cols); }
};
// One token through a Linear (decode): the bf16 or the quantized kernels as the matrix is stored;
// conv.K > 0 runs the decode in_proj's conv step in the epilogue (needs gemv_linear_vectorised).
inline void gemv_linear(const DLinear& L, const bf16* x, float* y, bool accumulate, cudaStream_t stream,
                        const ConvStep& conv = ConvStep{}) {
  if (L.quantized()) gemv_quant(L.q, L.b, x, y, L.rows, L.cols, accumulate, stream, conv);
  else gemv_bf16(L.w, L.b, x, y, L.rows, L.cols, accumulate, stream, conv);
}
inline bool gemv_linear_vectorised(const DLinear& L, const bf16* x) {
  return L.quantized() ? gemv_quant_vectorised(L.q, x, L.cols) : gemv_vectorised(L.w, x, L.cols);
}

// A bf16 matrix [rows, cols] without bias.
inline DLinear bf16_linear(const bf16* w, int rows, int cols) {
  DLinear L;
  L.w = const_cast<bf16*>(w);
  L.rows = rows;
  L.cols = cols;
  return L;
}

struct DFfn {             // relu^2 MLP: down(relu(up x + b)^2) + b
  DLinear up, down;
};

struct DLayer {
  LayerKind kind = LayerKind::Mamba;
  int slot = 0;                     // index among the layers of its kind (state / routing slots)
  float* norm = nullptr;            // [hidden]
  // Mamba
  DLinear in_proj;                  // [d_inner + conv_dim + heads, hidden]
  DLinear out_proj;                 // [hidden, d_inner]
  float* conv_w = nullptr;          // [conv_dim, K]
  float* conv_b = nullptr;          // [conv_dim] or null
  float* dt_bias = nullptr;         // [heads]
  float* A_log = nullptr;           // [heads]
  float* D = nullptr;               // [heads]
  float* gated_norm = nullptr;      // [d_inner]
  // Attention
  DLinear qkv;                      // [(H + 2 KV) hd, hidden]: q, k, v rows concatenated
  DLinear o;                        // [hidden, H hd]
  float k_scale = 0.0f, v_scale = 0.0f;  // > 0: FP8 KV cache (the checkpoint's k_scale / v_scale)
  // MoE
  bf16* router_bf16 = nullptr;      // [E, hidden] (bf16 checkpoints)
  float* router_f32 = nullptr;      // [E, hidden] (fp32 checkpoints)
  float* correction_bias = nullptr; // [E] or null
  ExpertsDecode experts;            // up [E, width, in], down [E, out, width]; in = out = hidden or latent
  DFfn shared;                      // present when shared.up.rows > 0
  DLinear latent_in, latent_out;    // [latent, hidden], [hidden, latent], or null
  // Dense MLP ('-')
  DFfn mlp;
};

struct DeviceModel {
  ModelConfig cfg;
  bf16* embeddings = nullptr;       // [vocab, hidden]
  float* norm_f = nullptr;          // [hidden]
  DLinear lm_head;                  // [vocab, hidden] (may alias embeddings when tied)
  std::vector<DLayer> layers;
  void* arena = nullptr;
  std::uint64_t arena_bytes = 0;
  std::uint64_t decode_weight_bytes = 0;  // weights one decoded token reads (active experts only)
  std::int64_t max_dequant_elems = 0;     // the largest quantized dense matrix (prompt-chunk bf16 scratch)
  std::string format = "BF16";            // "BF16", "NVFP4", "FP8", "NVFP4 + BF16" ... (what the matrices are)
};

// One weight to put on the device: from a checkpoint view (converted to dst's dtype) or random.
struct UploadJob {
  enum class Kind { Convert, Bytes, Constant, Codes };
  void* dst = nullptr;
  bool dst_bf16 = true;
  std::int64_t count = 0;             // elements (Bytes, Codes: bytes)
  const TensorView* src = nullptr;    // null: synthetic
  float scale = 0.0f, offset = 0.0f;  // synthetic: offset +- [0.1, 1] * scale; Constant: offset
  // Convert: src converted to dst's dtype (bf16 / fp32), or random. Bytes: src's bytes as they are
  // (quantized codes, E4M3 block scales). Constant: `count` fp32 of `offset`. Codes: synthetic
  // quantized codes (e4m3: FP8 codes / E4M3 scales; else packed E2M1).
  Kind kind = Kind::Convert;
  bool e4m3 = false;
};

// Lays out every weight of `cfg` in an arena starting at `base` (null for a sizing pass), filling
// `model`'s pointers and the jobs that fill them. `weights` null = synthetic. Throws Error when a
// checkpoint tensor does not have the size the config implies.
std::uint64_t layout_model(const ModelConfig& cfg, const ModelWeights* weights, char* base, DeviceModel& model,
                           std::vector<UploadJob>& jobs);

}  // namespace logitscope::cuda
