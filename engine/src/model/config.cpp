// SPDX-License-Identifier: GPL-3.0-or-later
// config.json -> ModelConfig. Accepts both spellings of the layer stack (the real checkpoints'
// `hybrid_override_pattern` string and transformers 5's `layers_block_type` list), JSON numbers
// written by transformers as {"__float__": "Infinity"}, and rejects impossible geometry naming the field.
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "logitscope/config.h"
#include "logitscope/errors.h"

namespace logitscope {

using nlohmann::json;

const char* to_string(LayerKind kind) {
  switch (kind) {
    case LayerKind::Mamba: return "mamba";
    case LayerKind::Attention: return "attention";
    case LayerKind::Moe: return "moe";
    case LayerKind::Mlp: return "mlp";
  }
  return "?";
}

char pattern_char(LayerKind kind) {
  switch (kind) {
    case LayerKind::Mamba: return 'M';
    case LayerKind::Attention: return '*';
    case LayerKind::Moe: return 'E';
    case LayerKind::Mlp: return '-';
  }
  return '?';
}

int ModelConfig::count(LayerKind kind) const {
  int n = 0;
  for (LayerKind k : layers) n += (k == kind);
  return n;
}

std::string ModelConfig::pattern() const {
  std::string out;
  for (LayerKind k : layers) out.push_back(pattern_char(k));
  return out;
}

namespace {

// Reads fields of one JSON object, naming the file and the field in every error.
class FieldReader {
 public:
  FieldReader(const json& root, const std::string& source) : root_(root), source_(source) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(source_ + ": field '" + field + "' " + what);
  }

  bool has(const char* field) const { return root_.contains(field) && !root_.at(field).is_null(); }

  double number(const char* field, std::optional<double> fallback) const {
    if (!has(field)) {
      if (fallback) return *fallback;
      fail(field, "is missing (expected a number)");
    }
    return to_number(root_.at(field), field);
  }

  std::int64_t integer(const char* field, std::optional<std::int64_t> fallback) const {
    if (!has(field)) {
      if (fallback) return *fallback;
      fail(field, "is missing (expected an integer)");
    }
    const json& v = root_.at(field);
    if (v.is_number_integer()) return v.get<std::int64_t>();
    if (v.is_number_float()) {
      double d = v.get<double>();
      if (std::floor(d) == d && std::fabs(d) < 9e15) return static_cast<std::int64_t>(d);
    }
    fail(field, "must be an integer, got " + v.dump());
  }

  bool boolean(const char* field, bool fallback) const {
    if (!has(field)) return fallback;
    const json& v = root_.at(field);
    if (!v.is_boolean()) fail(field, "must be true or false, got " + v.dump());
    return v.get<bool>();
  }

  std::string text(const char* field, const std::string& fallback) const {
    if (!has(field)) return fallback;
    const json& v = root_.at(field);
    if (!v.is_string()) fail(field, "must be a string, got " + v.dump());
    return v.get<std::string>();
  }

  // A number, or transformers' {"__float__": "Infinity"} encoding of non-finite floats.
  double to_number(const json& v, const std::string& field) const {
    if (v.is_number()) return v.get<double>();
    if (v.is_object() && v.contains("__float__") && v.at("__float__").is_string()) {
      const std::string s = v.at("__float__").get<std::string>();
      if (s == "Infinity" || s == "inf") return std::numeric_limits<double>::infinity();
      if (s == "-Infinity" || s == "-inf") return -std::numeric_limits<double>::infinity();
      if (s == "NaN" || s == "nan") return std::numeric_limits<double>::quiet_NaN();
    }
    fail(field, "must be a number, got " + v.dump());
  }

  const json& root() const { return root_; }

 private:
  const json& root_;
  const std::string& source_;
};

LayerKind kind_from_pattern_char(char c, const FieldReader& r, std::size_t index) {
  switch (c) {
    case 'M': return LayerKind::Mamba;
    case '*': return LayerKind::Attention;
    case 'E': return LayerKind::Moe;
    case '-': return LayerKind::Mlp;
    default:
      r.fail("hybrid_override_pattern", "has '" + std::string(1, c) + "' at position " +
                                            std::to_string(index) + " (expected M, *, E or -)");
  }
}

LayerKind kind_from_block_type(const json& v, const FieldReader& r, std::size_t index) {
  if (!v.is_string()) r.fail("layers_block_type", "entry " + std::to_string(index) + " is not a string");
  const std::string s = v.get<std::string>();
  if (s == "mamba" || s == "linear_attention" || s == "M") return LayerKind::Mamba;
  if (s == "attention" || s == "full_attention" || s == "*") return LayerKind::Attention;
  if (s == "moe" || s == "E") return LayerKind::Moe;
  if (s == "mlp" || s == "-") return LayerKind::Mlp;
  r.fail("layers_block_type", "entry " + std::to_string(index) + " is '" + s +
                                  "' (expected mamba/linear_attention, attention/full_attention, moe or mlp)");
}

std::vector<LayerKind> read_layers(const FieldReader& r) {
  std::vector<LayerKind> from_pattern, from_list;
  if (r.has("hybrid_override_pattern")) {
    const json& v = r.root().at("hybrid_override_pattern");
    if (!v.is_string()) r.fail("hybrid_override_pattern", "must be a string such as \"MEM*E\"");
    const std::string pattern = v.get<std::string>();
    for (std::size_t i = 0; i < pattern.size(); ++i) from_pattern.push_back(kind_from_pattern_char(pattern[i], r, i));
  }
  if (r.has("layers_block_type")) {
    const json& v = r.root().at("layers_block_type");
    if (!v.is_array()) r.fail("layers_block_type", "must be a list of layer kinds");
    for (std::size_t i = 0; i < v.size(); ++i) from_list.push_back(kind_from_block_type(v[i], r, i));
  }
  if (from_pattern.empty() && from_list.empty())
    r.fail("hybrid_override_pattern", "is missing (neither it nor layers_block_type gives the layer kinds)");
  if (!from_pattern.empty() && !from_list.empty() && from_pattern != from_list)
    r.fail("layers_block_type", "disagrees with hybrid_override_pattern");
  std::vector<LayerKind> layers = from_pattern.empty() ? from_list : from_pattern;
  if (r.has("num_hidden_layers")) {
    std::int64_t n = r.integer("num_hidden_layers", std::nullopt);
    if (n != std::int64_t(layers.size()))
      r.fail("num_hidden_layers", "is " + std::to_string(n) + " but the layer pattern has " +
                                      std::to_string(layers.size()) + " layers");
  }
  return layers;
}

void require(bool ok, const FieldReader& r, const char* field, const std::string& what) {
  if (!ok) r.fail(field, what);
}

int positive_int(const FieldReader& r, const char* field, std::optional<std::int64_t> fallback = std::nullopt) {
  std::int64_t v = r.integer(field, fallback);
  if (v <= 0 || v > (std::int64_t(1) << 30)) r.fail(field, "must be a positive integer, got " + std::to_string(v));
  return static_cast<int>(v);
}

}  // namespace

ModelConfig parse_model_config(std::string_view json_text, const std::string& source) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for numbers like 1e400
    throw Error(source + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!root.is_object()) throw Error(source + ": expected a JSON object at the top level");
  FieldReader r(root, source);
  ModelConfig c;
  c.model_type = r.text("model_type", "nemotron_h");
  if (c.model_type != "nemotron_h")
    r.fail("model_type", "is '" + c.model_type + "' (this engine runs nemotron_h models)");
  c.vocab_size = positive_int(r, "vocab_size");
  c.hidden_size = positive_int(r, "hidden_size");
  c.layers = read_layers(r);
  c.layer_norm_epsilon = r.number("layer_norm_epsilon", r.has("rms_norm_eps") ? r.number("rms_norm_eps", 1e-5) : 1e-5);
  require(c.layer_norm_epsilon > 0 && c.layer_norm_epsilon < 1, r, "layer_norm_epsilon", "must be in (0, 1)");
  c.residual_in_fp32 = r.boolean("residual_in_fp32", false);
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
  c.max_position_embeddings = r.integer("max_position_embeddings", 4096);

  const bool has_mamba = c.count(LayerKind::Mamba) > 0;
  const bool has_attention = c.count(LayerKind::Attention) > 0;
  const bool has_moe = c.count(LayerKind::Moe) > 0;
  const bool has_mlp = c.count(LayerKind::Mlp) > 0;

  if (has_attention) {
    c.num_attention_heads = positive_int(r, "num_attention_heads");
    c.num_key_value_heads = positive_int(r, "num_key_value_heads", c.num_attention_heads);
    c.head_dim = r.has("head_dim") ? positive_int(r, "head_dim")
                                   : static_cast<int>(c.hidden_size / c.num_attention_heads);
    require(c.head_dim > 0, r, "head_dim", "must be positive");
    require(c.num_attention_heads % c.num_key_value_heads == 0, r, "num_key_value_heads",
            "(" + std::to_string(c.num_key_value_heads) + ") must divide num_attention_heads (" +
                std::to_string(c.num_attention_heads) + ")");
    c.attention_bias = r.boolean("attention_bias", false);
  }
  if (has_mamba) {
    c.mamba_num_heads = positive_int(r, "mamba_num_heads");
    c.mamba_head_dim = positive_int(r, "mamba_head_dim");
    c.ssm_state_size = positive_int(r, "ssm_state_size");
    c.n_groups = positive_int(r, "n_groups", 1);
    c.conv_kernel = positive_int(r, "conv_kernel", 4);
    c.chunk_size = positive_int(r, "chunk_size", 256);
    require(c.mamba_num_heads % c.n_groups == 0, r, "n_groups",
            "(" + std::to_string(c.n_groups) + ") must divide mamba_num_heads (" +
                std::to_string(c.mamba_num_heads) + ")");
    c.use_conv_bias = r.boolean("use_conv_bias", true);
    c.mamba_proj_bias = r.boolean("use_bias", r.boolean("mamba_proj_bias", false));
    c.mamba_hidden_act = r.text("mamba_hidden_act", "silu");
    require(c.mamba_hidden_act == "silu" || c.mamba_hidden_act == "swish", r, "mamba_hidden_act",
            "is '" + c.mamba_hidden_act + "' (only silu is supported)");
  }
  c.time_step_min = r.number("time_step_min", 0.001);
  c.time_step_max = r.number("time_step_max", 0.1);
  c.time_step_floor = r.number("time_step_floor", 1e-4);
  c.time_step_limit_min = 0.0;
  c.time_step_limit_max = std::numeric_limits<double>::infinity();
  if (r.has("time_step_limit")) {
    const json& v = root.at("time_step_limit");
    if (!v.is_array() || v.size() != 2) r.fail("time_step_limit", "must be a list of two numbers [min, max]");
    c.time_step_limit_min = r.to_number(v[0], "time_step_limit");
    c.time_step_limit_max = r.to_number(v[1], "time_step_limit");
    require(!(c.time_step_limit_min > c.time_step_limit_max), r, "time_step_limit", "has min > max");
  }
  if (has_moe) {
    c.n_routed_experts = positive_int(r, "n_routed_experts");
    c.num_experts_per_tok = positive_int(r, "num_experts_per_tok");
    c.moe_intermediate_size = positive_int(r, "moe_intermediate_size");
    c.n_shared_experts = static_cast<int>(r.integer("n_shared_experts", 1));
    require(c.n_shared_experts >= 0 && c.n_shared_experts <= 1, r, "n_shared_experts",
            "must be 0 or 1 (the shared expert's width is moe_shared_expert_intermediate_size)");
    if (c.n_shared_experts > 0 || r.has("moe_shared_expert_intermediate_size"))
      c.moe_shared_expert_intermediate_size = positive_int(r, "moe_shared_expert_intermediate_size");
    c.n_group = positive_int(r, "n_group", 1);
    c.topk_group = positive_int(r, "topk_group", 1);
    c.norm_topk_prob = r.boolean("norm_topk_prob", true);
    c.routed_scaling_factor = r.number("routed_scaling_factor", 1.0);
    c.moe_latent_size = r.has("moe_latent_size") ? positive_int(r, "moe_latent_size") : 0;
    require(c.num_experts_per_tok <= c.n_routed_experts, r, "num_experts_per_tok",
            "(" + std::to_string(c.num_experts_per_tok) + ") exceeds n_routed_experts (" +
                std::to_string(c.n_routed_experts) + ")");
    require(c.n_routed_experts % c.n_group == 0, r, "n_group",
            "(" + std::to_string(c.n_group) + ") must divide n_routed_experts (" + std::to_string(c.n_routed_experts) + ")");
    require(c.topk_group <= c.n_group, r, "topk_group", "exceeds n_group");
    const int per_group = c.n_routed_experts / c.n_group;
    require(c.n_group == 1 || per_group >= 2, r, "n_group",
            "leaves fewer than 2 experts per group (group scores are the sum of the top 2)");
    require(std::int64_t(c.topk_group) * per_group >= c.num_experts_per_tok, r, "topk_group",
            "keeps fewer experts than num_experts_per_tok");
  }
  if (has_mlp) {
    c.intermediate_size = positive_int(r, "intermediate_size");
  }
  if (has_moe || has_mlp) {
    c.mlp_bias = r.boolean("mlp_bias", false);
    c.mlp_hidden_act = r.text("mlp_hidden_act", "relu2");
    require(c.mlp_hidden_act == "relu2", r, "mlp_hidden_act", "is '" + c.mlp_hidden_act + "' (only relu2 is supported)");
  }
  c.bos_token_id = static_cast<int>(r.integer("bos_token_id", -1));
  c.pad_token_id = static_cast<int>(r.integer("pad_token_id", -1));
  if (r.has("eos_token_id")) {
    const json& v = root.at("eos_token_id");
    if (v.is_number_integer()) {
      c.eos_token_ids.push_back(v.get<int>());
    } else if (v.is_array()) {
      for (const json& e : v) {
        if (!e.is_number_integer()) r.fail("eos_token_id", "must be an integer or a list of integers");
        c.eos_token_ids.push_back(e.get<int>());
      }
    } else {
      r.fail("eos_token_id", "must be an integer or a list of integers");
    }
  }
  c.torch_dtype = r.text("torch_dtype", r.text("dtype", ""));
  return c;
}

static std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot be read");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

ModelConfig load_model_config(const std::filesystem::path& config_json) {
  if (!std::filesystem::exists(config_json)) throw Error(config_json.string() + ": file not found");
  return parse_model_config(read_text_file(config_json), config_json.string());
}

void merge_generation_config(ModelConfig& config, const std::filesystem::path& generation_config_json) {
  if (!std::filesystem::exists(generation_config_json)) return;
  json root;
  try {
    root = json::parse(read_text_file(generation_config_json));
  } catch (const json::exception& e) {  // parse_error, or out_of_range for numbers like 1e400
    throw Error(generation_config_json.string() + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!root.is_object() || !root.contains("eos_token_id")) return;
  auto add = [&](const json& v) {
    if (!v.is_number_integer())
      throw Error(generation_config_json.string() + ": field 'eos_token_id' must be an integer or a list of integers");
    int id = v.get<int>();
    for (int existing : config.eos_token_ids)
      if (existing == id) return;
    config.eos_token_ids.push_back(id);
  };
  const json& v = root.at("eos_token_id");
  if (v.is_array()) {
    for (const json& e : v) add(e);
  } else if (!v.is_null()) {
    add(v);
  }
}

}  // namespace logitscope
