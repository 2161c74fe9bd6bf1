// SPDX-License-Identifier: GPL-3.0-or-later
// Every tensor of a NemotronH checkpoint, bound by name with the shape and dtype the config implies.
// Shapes are PyTorch's [out, in] for linears. Absent optional tensors (biases) have data == nullptr.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "logitscope/config.h"
#include "model/tensor.h"

namespace logitscope {

class SafetensorsSet;

struct MambaWeights {
  TensorView in_proj;      // [in_proj_dim = d_inner + conv_dim + heads, hidden]
  TensorView in_proj_bias; // [in_proj_dim], optional (mamba_proj_bias)
  TensorView conv_weight;  // [conv_dim, 1, conv_kernel]
  TensorView conv_bias;    // [conv_dim], optional (use_conv_bias)
  TensorView dt_bias;      // [heads]
  TensorView A_log;        // [heads]
  TensorView D;            // [heads]
  TensorView gated_norm;   // [d_inner], applied per group of d_inner / n_groups
  TensorView out_proj;     // [hidden, d_inner]
  TensorView out_proj_bias;// [hidden], optional
};

struct AttentionWeights {
  TensorView q_proj;       // [heads * head_dim, hidden]
  TensorView k_proj;       // [kv_heads * head_dim, hidden]
  TensorView v_proj;       // [kv_heads * head_dim, hidden]
  TensorView o_proj;       // [hidden, heads * head_dim]
  TensorView q_bias, k_bias, v_bias, o_bias;  // optional (attention_bias)
  TensorView k_scale, v_scale;  // FP8 KV cache: one F32 each (the cache holds k / k_scale), optional
};

struct FeedForwardWeights {  // relu^2 MLP: down(relu(up x)^2)
  TensorView up;           // [width, in]
  TensorView down;         // [in, width]
  TensorView up_bias;      // [width], optional (mlp_bias)
  TensorView down_bias;    // [in], optional
};

struct MoeWeights {
  TensorView router;             // [n_routed_experts, hidden]
  TensorView correction_bias;    // [n_routed_experts], fp32 by design
  std::vector<FeedForwardWeights> experts;  // [n_routed_experts]; views into fused 3-D tensors when fused
  FeedForwardWeights shared;     // width moe_shared_expert_intermediate_size (absent when n_shared_experts = 0)
  TensorView latent_in;          // [moe_latent_size, hidden], optional (moe_latent_size)
  TensorView latent_out;         // [hidden, moe_latent_size], optional
  TensorView latent_in_bias, latent_out_bias;  // optional (mlp_bias)
};

struct LayerWeights {
  LayerKind kind = LayerKind::Mamba;
  TensorView norm;               // [hidden]
  MambaWeights mamba;
  AttentionWeights attention;
  MoeWeights moe;
  FeedForwardWeights mlp;        // '-' layers, width intermediate_size
};

struct ModelWeights {
  TensorView embeddings;         // [vocab, hidden]
  TensorView norm_f;             // [hidden]
  TensorView lm_head;            // [vocab, hidden]; = embeddings when tied
  std::vector<LayerWeights> layers;
  std::shared_ptr<const SafetensorsSet> files;  // keeps the mappings alive
  std::vector<std::shared_ptr<const void>> owned;  // bytes made in memory (quantized on load) that views point into
  std::uint64_t total_bytes = 0;  // of the bound weights (after an on-load quantization: its bytes)
  std::uint64_t parameter_count = 0;
  std::string format;            // "NVFP4", "FP8" (quantized); else the dtype of most weight bytes ("BF16"),
                                 // "BF16 + F32" when another holds >= 10%
};

// Opens the snapshot's safetensors (single file or sharded index) and binds every tensor the config
// implies. Throws logitscope::Error naming missing, unexpected or mis-shaped tensors.
ModelWeights bind_model_weights(const ModelConfig& config, const std::filesystem::path& snapshot_dir);

// Bytes a decoded token reads: all non-expert weights, active experts only, lm_head in full.
std::uint64_t decode_bytes_per_token(const ModelConfig& config, const ModelWeights& weights);

}  // namespace logitscope
