// SPDX-License-Identifier: GPL-3.0-or-later
// The NemotronH geometry read from a snapshot's config.json (see docs/model-notes.md for the math).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "logitscope/quantization.h"

namespace logitscope {

// One block of the layer stack. The pattern characters of `hybrid_override_pattern` are
// M = Mamba, * = Attention, E = Moe, - = Mlp.
enum class LayerKind { Mamba, Attention, Moe, Mlp };

const char* to_string(LayerKind kind);
char pattern_char(LayerKind kind);

struct ModelConfig {
  std::string model_type;            // "nemotron_h"
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::vector<LayerKind> layers;     // [num_hidden_layers]
  double layer_norm_epsilon = 1e-5;  // every RMSNorm in the model
  bool residual_in_fp32 = false;
  bool tie_word_embeddings = false;
  std::int64_t max_position_embeddings = 0;

  // Attention ('*').
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int head_dim = 0;
  bool attention_bias = false;

  // Mamba-2 ('M'). d_inner = mamba_num_heads * mamba_head_dim (not expand * hidden).
  int mamba_num_heads = 0;
  int mamba_head_dim = 0;
  int ssm_state_size = 0;
  int n_groups = 0;                  // B/C groups, and groups of the gated RMSNorm
  int conv_kernel = 0;
  int chunk_size = 0;
  bool use_conv_bias = true;
  bool mamba_proj_bias = false;      // in_proj/out_proj bias (`use_bias` in older configs)
  std::string mamba_hidden_act = "silu";
  double time_step_min = 0.001;
  double time_step_max = 0.1;
  double time_step_floor = 1e-4;
  double time_step_limit_min = 0.0;  // dt clamp, (0, inf) = none
  double time_step_limit_max = 0.0;  // +inf when absent

  // Mixture of experts ('E').
  int n_routed_experts = 0;
  int num_experts_per_tok = 0;
  int moe_intermediate_size = 0;
  int moe_shared_expert_intermediate_size = 0;
  int n_shared_experts = 0;
  int n_group = 1;                   // expert groups for group-limited routing
  int topk_group = 1;
  bool norm_topk_prob = true;
  double routed_scaling_factor = 1.0;
  int moe_latent_size = 0;           // 0 = none; else experts run in a latent space (fc1/fc2_latent_proj)

  // Dense MLP ('-').
  int intermediate_size = 0;
  bool mlp_bias = false;
  std::string mlp_hidden_act = "relu2";

  // Tokens.
  int bos_token_id = -1;
  int pad_token_id = -1;
  std::vector<int> eos_token_ids;    // config.json's eos, extended by generation_config.json
  std::string torch_dtype;           // informational

  // How the checkpoint's Linear weights are stored (FP8, NVFP4; empty: as their dtype says). Read
  // from the snapshot folder by load_quantization_config, not by parse_model_config.
  QuantizationConfig quantization;

  std::int64_t mamba_d_inner() const { return std::int64_t(mamba_num_heads) * mamba_head_dim; }
  std::int64_t mamba_conv_dim() const { return mamba_d_inner() + 2 * std::int64_t(n_groups) * ssm_state_size; }
  std::int64_t mamba_in_proj_dim() const { return mamba_d_inner() + mamba_conv_dim() + mamba_num_heads; }
  int count(LayerKind kind) const;
  std::string pattern() const;       // e.g. "MEMEM*E..."
};

// Parses config.json text. `source` names the file in error messages. Throws logitscope::Error
// naming the field on a missing/ill-typed field or impossible geometry.
ModelConfig parse_model_config(std::string_view json_text, const std::string& source);
ModelConfig load_model_config(const std::filesystem::path& config_json);
// Adds the eos ids of generation_config.json (if the file exists) to config.eos_token_ids.
void merge_generation_config(ModelConfig& config, const std::filesystem::path& generation_config_json);

}  // namespace logitscope
