// SPDX-License-Identifier: GPL-3.0-or-later
// Binds every tensor the config implies, by name, with its expected shape. Accepts the spellings
// transformers has used: "backbone." (checkpoints) or "model." (transformers 5 state dicts) prefixes,
// "embeddings" or the older "embedding", experts per expert (experts.K.up_proj.weight) or fused
// 3-D (experts.up_proj [E, I, H]). Every mismatch is collected and reported in one message.
#include "model/weights.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "logitscope/errors.h"
#include "model/safetensors.h"

namespace logitscope {

namespace {

using Shape = std::vector<std::int64_t>;

std::string shape_text(const Shape& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// By the name in the file: the enum of a dtype the engine cannot read is only a placeholder.
bool stored_quantized(const TensorView& t) {
  return t.dtype_name == "F8_E4M3" || t.dtype_name == "F8_E5M2" || t.dtype_name == "U8";
}

class Binder {
 public:
  Binder(const SafetensorsSet& files, std::string prefix, const QuantizationConfig& quant)
      : files_(files), prefix_(std::move(prefix)), quant_(quant) {}

  // Binds the Linear `module` (under the prefix unless `absolute`) as [out, in]: plain, or as the
  // quantization declaration says (FP8: F8_E4M3 [out, in] + weight_scale; NVFP4: U8 [out, in/2] +
  // F8_E4M3 weight_scale [out, in/16] + weight_scale_2), its scales attached to the view.
  TensorView take_linear(const std::string& module, std::int64_t out, std::int64_t in, bool required = true,
                         bool absolute = false) {
    const std::string full = absolute ? module : prefix_ + module;
    const WeightFormat format = quant_.format_of(full);
    const TensorView* weight = files_.find(full + ".weight");
    if (format == WeightFormat::Bf16 || !weight) {
      if (weight && stored_quantized(*weight)) {
        problems_.push_back("tensor " + full + ".weight in " + weight->file + " is stored quantized (" + weight->dtype_name +
                            ") but " + (quant_.quantized() ? quant_.source + " keeps module " + full + " unquantized"
                                                           : std::string("the snapshot declares no quantization (no "
                                                                         "quantization_config, no hf_quant_config.json)")));
        used_.insert(full + ".weight");
        return {};
      }
      return take(module + ".weight", {out, in}, required, absolute);
    }
    used_.insert(full + ".weight");
    auto scales = std::make_shared<QuantScales>();
    const std::string declared = " (" + std::string(to_string(format)) + " per " + quant_.source + ")";
    const bool nvfp4 = format == WeightFormat::Nvfp4;
    if (nvfp4 && in % 16 != 0) {
      problems_.push_back("module " + full + " has " + std::to_string(in) + " inputs, not a multiple of 16, so it cannot be NVFP4" + declared);
      return {};
    }
    const DType want = nvfp4 ? DType::U8 : DType::F8_E4M3;
    const Shape stored = nvfp4 ? Shape{out, in / 2} : Shape{out, in};
    if (weight->dtype_name != to_string(want) || weight->shape != stored) {
      problems_.push_back("tensor " + full + ".weight in " + weight->file + " is " + weight->dtype_name + " " +
                          weight->shape_string() + ", expected " + to_string(want) + " " + shape_text(stored) + declared);
      return {};
    }
    scales->format = nvfp4 ? QuantFormat::Nvfp4 : QuantFormat::Fp8;
    auto scale_tensor = [&](const std::string& suffix, DType dtype, const std::vector<Shape>& shapes, bool needed) {
      const std::string name = full + "." + suffix;
      const TensorView* t = files_.find(name);
      if (!t) {
        if (needed) problems_.push_back("missing tensor " + name + " (the " + suffix + " of a " + to_string(format) + " weight)");
        return TensorView{};
      }
      used_.insert(name);
      const bool shape_ok = std::any_of(shapes.begin(), shapes.end(), [&](const Shape& s) {
        return s.empty() ? t->numel() == 1 : t->shape == s;  // an empty shape: any one-element shape ([] or [1])
      });
      if (t->dtype_name != to_string(dtype) || !shape_ok) {
        std::string expected;
        for (const Shape& s : shapes) expected += (expected.empty() ? "" : " or ") + (s.empty() ? std::string("one element") : shape_text(s));
        problems_.push_back("tensor " + name + " in " + t->file + " is " + t->dtype_name + " " + t->shape_string() + ", expected " +
                            to_string(dtype) + " " + expected);
        return TensorView{};
      }
      return *t;
    };
    if (nvfp4) {
      scales->scale = scale_tensor("weight_scale", DType::F8_E4M3, {{out, in / 16}}, true);
      scales->global_scale = scale_tensor("weight_scale_2", DType::F32, {{}}, true);
    } else {
      // Per tensor, or per output channel ([out] or [out, 1]).
      scales->scale = scale_tensor("weight_scale", DType::F32, {{}, {out}, {out, 1}}, true);
    }
    scales->input_scale = scale_tensor("input_scale", DType::F32, {{}}, false);
    TensorView view = *weight;
    view.shape = {out, in};
    view.quant = std::move(scales);
    if (!view.quant->scale.present() || (nvfp4 && !view.quant->global_scale.present())) return {};
    return view;
  }

  // Binds `name` (under the prefix unless `absolute`) with `shape`. Records a problem if it is
  // missing (when required), mis-shaped or of a dtype we cannot compute with.
  TensorView take(const std::string& name, const Shape& shape, bool required = true, bool absolute = false) {
    const std::string full = absolute ? name : prefix_ + name;
    const TensorView* view = files_.find(full);
    if (!view) {
      if (required) problems_.push_back("missing tensor " + full + " (expected " + shape_text(shape) + ")");
      return {};
    }
    used_.insert(full);
    if (view->dtype_name != "F32" && view->dtype_name != "F16" && view->dtype_name != "BF16") {
      if (stored_quantized(*view) && !quant_.quantized()) {
        problems_.push_back("tensor " + full + " in " + view->file + " is " + view->dtype_name +
                            ": a quantized checkpoint needs its declaration (config.json quantization_config or "
                            "hf_quant_config.json), which this snapshot does not have");
        return {};
      }
      problems_.push_back("tensor " + full + " in " + view->file + " has dtype " + view->dtype_name +
                          " (expected BF16, F16 or F32)");
      return {};
    }
    if (view->shape != shape) {
      problems_.push_back("tensor " + full + " in " + view->file + " has shape " + view->shape_string() +
                          ", expected " + shape_text(shape));
      return {};
    }
    return *view;
  }

  // One F32 value of any one-element shape ([] or [1]), such as a KV-cache scale.
  TensorView take_scalar(const std::string& name) {
    const TensorView* t = files_.find(prefix_ + name);
    if (!t) return {};
    used_.insert(prefix_ + name);
    if (t->dtype_name != "F32" || t->numel() != 1) {
      problems_.push_back("tensor " + prefix_ + name + " in " + t->file + " is " + t->dtype_name + " " + t->shape_string() +
                          ", expected one F32 value");
      return {};
    }
    return *t;
  }

  bool exists(const std::string& name) const { return files_.find(prefix_ + name) != nullptr; }
  void mark_used(const std::string& full) { used_.insert(full); }
  void problem(std::string text) { problems_.push_back(std::move(text)); }
  bool quantized() const { return quant_.quantized(); }
  const std::string& prefix() const { return prefix_; }

  void finish() {
    std::vector<std::string> extra;
    for (const auto& [name, view] : files_.tensors()) {
      if (used_.count(name) || name.rfind("mtp.", 0) == 0 || name.find(".mtp.") != std::string::npos) continue;
      extra.push_back(name);
    }
    if (!extra.empty()) {
      std::string list;
      for (std::size_t i = 0; i < extra.size() && i < 5; ++i) list += (i ? ", " : "") + extra[i];
      if (extra.size() > 5) list += " and " + std::to_string(extra.size() - 5) + " more";
      problems_.push_back("unexpected tensor" + std::string(extra.size() > 1 ? "s " : " ") + list +
                          " (not used by the layers config.json describes)");
    }
    if (problems_.empty()) return;
    std::string message = "weights do not match config.json: ";
    for (std::size_t i = 0; i < problems_.size() && i < 8; ++i) message += (i ? "; " : "") + problems_[i];
    if (problems_.size() > 8) message += "; and " + std::to_string(problems_.size() - 8) + " more problems";
    throw Error(message);
  }

 private:
  const SafetensorsSet& files_;
  std::string prefix_;
  const QuantizationConfig& quant_;
  std::set<std::string> used_;
  std::vector<std::string> problems_;
};

FeedForwardWeights bind_feed_forward(Binder& b, const std::string& at, std::int64_t in, std::int64_t width, bool bias) {
  FeedForwardWeights ff;
  ff.up = b.take_linear(at + ".up_proj", width, in);
  ff.down = b.take_linear(at + ".down_proj", in, width);
  if (bias) {
    ff.up_bias = b.take(at + ".up_proj.bias", {width});
    ff.down_bias = b.take(at + ".down_proj.bias", {in});
  }
  return ff;
}

void bind_experts(Binder& b, const ModelConfig& c, const std::string& at, MoeWeights& moe) {
  const std::int64_t in = c.moe_latent_size > 0 ? c.moe_latent_size : c.hidden_size;
  const std::int64_t width = c.moe_intermediate_size;
  const std::int64_t n = c.n_routed_experts;
  // Fused 3-D tensors (transformers 5 in-memory layout), with or without a ".weight" suffix.
  for (const char* suffix : {"", ".weight"}) {
    const std::string up_name = at + ".experts.up_proj" + suffix;
    if (!b.exists(up_name)) continue;
    if (b.quantized()) {
      b.problem("fused 3-D expert tensors (" + b.prefix() + up_name + ") in a quantized checkpoint: ModelOpt checkpoints "
                "store experts one by one (experts.N.up_proj), which is what this engine reads");
      b.mark_used(b.prefix() + up_name);
      b.mark_used(b.prefix() + at + ".experts.down_proj" + suffix);
      return;
    }
    TensorView up = b.take(up_name, {n, width, in});
    TensorView down = b.take(at + ".experts.down_proj" + suffix, {n, in, width});
    if (!up.present() || !down.present()) return;
    for (std::int64_t e = 0; e < n; ++e) {
      FeedForwardWeights ff;
      ff.up = up.slice0(e);    // [width, in]
      ff.down = down.slice0(e);  // [in, width]
      moe.experts.push_back(ff);
    }
    return;
  }
  for (std::int64_t e = 0; e < n; ++e)
    moe.experts.push_back(bind_feed_forward(b, at + ".experts." + std::to_string(e), in, width, false));
}

}  // namespace

ModelWeights bind_model_weights(const ModelConfig& c, const std::filesystem::path& snapshot_dir) {
  ModelWeights w;
  w.files = SafetensorsSet::open(snapshot_dir);
  const SafetensorsSet& files = *w.files;

  std::string prefix = "backbone.";
  if (!files.find("backbone.norm_f.weight") && files.find("model.norm_f.weight")) prefix = "model.";
  Binder b(files, prefix, c.quantization);

  const std::int64_t H = c.hidden_size, V = c.vocab_size;
  const std::string embed_name = b.exists("embeddings.weight") || !b.exists("embedding.weight") ? "embeddings.weight" : "embedding.weight";
  w.embeddings = b.take(embed_name, {V, H});
  w.norm_f = b.take("norm_f.weight", {H});
  if (c.tie_word_embeddings && !files.find("lm_head.weight")) {
    w.lm_head = w.embeddings;
  } else {
    w.lm_head = b.take_linear("lm_head", V, H, true, /*absolute=*/true);
  }

  const std::int64_t d_inner = c.mamba_d_inner(), conv_dim = c.mamba_conv_dim();
  for (std::size_t i = 0; i < c.layers.size(); ++i) {
    const std::string at = "layers." + std::to_string(i);
    const std::string mx = at + ".mixer";
    LayerWeights layer;
    layer.kind = c.layers[i];
    layer.norm = b.take(at + ".norm.weight", {H});
    switch (layer.kind) {
      case LayerKind::Mamba: {
        MambaWeights& m = layer.mamba;
        const std::int64_t heads = c.mamba_num_heads;
        m.in_proj = b.take_linear(mx + ".in_proj", c.mamba_in_proj_dim(), H);
        if (c.mamba_proj_bias) m.in_proj_bias = b.take(mx + ".in_proj.bias", {c.mamba_in_proj_dim()});
        m.conv_weight = b.take(mx + ".conv1d.weight", {conv_dim, 1, c.conv_kernel});
        if (c.use_conv_bias) m.conv_bias = b.take(mx + ".conv1d.bias", {conv_dim});
        m.dt_bias = b.take(mx + ".dt_bias", {heads});
        m.A_log = b.take(mx + ".A_log", {heads});
        m.D = b.take(mx + ".D", {heads});
        m.gated_norm = b.take(mx + ".norm.weight", {d_inner});
        m.out_proj = b.take_linear(mx + ".out_proj", H, d_inner);
        if (c.mamba_proj_bias) m.out_proj_bias = b.take(mx + ".out_proj.bias", {H});
        break;
      }
      case LayerKind::Attention: {
        AttentionWeights& a = layer.attention;
        const std::int64_t q_dim = std::int64_t(c.num_attention_heads) * c.head_dim;
        const std::int64_t kv_dim = std::int64_t(c.num_key_value_heads) * c.head_dim;
        a.q_proj = b.take_linear(mx + ".q_proj", q_dim, H);
        a.k_proj = b.take_linear(mx + ".k_proj", kv_dim, H);
        a.v_proj = b.take_linear(mx + ".v_proj", kv_dim, H);
        a.o_proj = b.take_linear(mx + ".o_proj", H, q_dim);
        // FP8 KV cache scales (one each; ModelOpt's HF export names them after the projection,
        // its Megatron export after the mixer).
        for (const char* k_name : {".k_proj.k_scale", ".k_scale"})
          if (!a.k_scale.present() && b.exists(mx + k_name)) a.k_scale = b.take_scalar(mx + k_name);
        for (const char* v_name : {".v_proj.v_scale", ".v_scale"})
          if (!a.v_scale.present() && b.exists(mx + v_name)) a.v_scale = b.take_scalar(mx + v_name);
        // transformers 5.17 builds these projections without bias whatever attention_bias says, so
        // biases are used when the file has them and never required.
        a.q_bias = b.take(mx + ".q_proj.bias", {q_dim}, /*required=*/false);
        a.k_bias = b.take(mx + ".k_proj.bias", {kv_dim}, false);
        a.v_bias = b.take(mx + ".v_proj.bias", {kv_dim}, false);
        a.o_bias = b.take(mx + ".o_proj.bias", {H}, false);
        break;
      }
      case LayerKind::Moe: {
        MoeWeights& moe = layer.moe;
        moe.router = b.take(mx + ".gate.weight", {c.n_routed_experts, H});
        moe.correction_bias = b.take(mx + ".gate.e_score_correction_bias", {c.n_routed_experts});
        bind_experts(b, c, mx, moe);
        // transformers 5 builds the shared expert whatever n_shared_experts says, so a checkpoint
        // may carry it with n_shared_experts = 0: it is used whenever it is there.
        if (c.n_shared_experts > 0 || b.exists(mx + ".shared_experts.up_proj.weight"))
          moe.shared = bind_feed_forward(b, mx + ".shared_experts", H, c.moe_shared_expert_intermediate_size, c.mlp_bias);
        if (c.moe_latent_size > 0) {
          moe.latent_in = b.take_linear(mx + ".fc1_latent_proj", c.moe_latent_size, H);
          moe.latent_out = b.take_linear(mx + ".fc2_latent_proj", H, c.moe_latent_size);
          if (c.mlp_bias) {
            moe.latent_in_bias = b.take(mx + ".fc1_latent_proj.bias", {c.moe_latent_size});
            moe.latent_out_bias = b.take(mx + ".fc2_latent_proj.bias", {H});
          }
        }
        break;
      }
      case LayerKind::Mlp:
        layer.mlp = bind_feed_forward(b, mx, H, c.intermediate_size, c.mlp_bias);
        break;
    }
    w.layers.push_back(std::move(layer));
  }
  b.finish();
  std::map<std::string, std::uint64_t> bytes_by_dtype;
  auto ends_with = [](const std::string& s, std::string_view tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (const auto& [name, view] : files.tensors()) {
    w.total_bytes += view.nbytes;
    bytes_by_dtype[view.dtype_name] += view.nbytes;
    // Parameters are weights: scales are not, and a U8 byte of NVFP4 holds two.
    if (ends_with(name, "_scale") || ends_with(name, "_scale_2")) continue;
    std::int64_t n = 1;
    for (auto d : view.shape) n *= d;
    w.parameter_count += static_cast<std::uint64_t>(n) * (view.dtype == DType::U8 ? 2 : 1);
  }
  std::vector<std::pair<std::uint64_t, std::string>> shares;
  for (const auto& [dtype, bytes] : bytes_by_dtype) shares.emplace_back(bytes, dtype);
  std::sort(shares.rbegin(), shares.rend());
  for (const auto& [bytes, dtype] : shares)
    if (w.format.empty() || bytes * 10 >= w.total_bytes) w.format += (w.format.empty() ? "" : " + ") + dtype;
  if (c.quantization.quantized()) w.format = c.quantization.describe();
  return w;
}

std::uint64_t decode_bytes_per_token(const ModelConfig& c, const ModelWeights& w) {
  auto bytes = [](const TensorView& t) -> std::uint64_t {
    if (!t.present()) return 0;
    std::uint64_t n = t.nbytes;
    if (t.quant)  // the scales are read with the weight
      for (const TensorView* s : {&t.quant->scale, &t.quant->global_scale}) n += s->present() ? s->nbytes : 0;
    return n;
  };
  auto ff_bytes = [&](const FeedForwardWeights& f) { return bytes(f.up) + bytes(f.down) + bytes(f.up_bias) + bytes(f.down_bias); };
  std::uint64_t total = w.embeddings.nbytes / static_cast<std::uint64_t>(c.vocab_size);  // one row
  total += bytes(w.norm_f) + bytes(w.lm_head);
  for (const LayerWeights& l : w.layers) {
    total += bytes(l.norm);
    switch (l.kind) {
      case LayerKind::Mamba: {
        const MambaWeights& m = l.mamba;
        for (const TensorView* t : {&m.in_proj, &m.in_proj_bias, &m.conv_weight, &m.conv_bias, &m.dt_bias, &m.A_log,
                                    &m.D, &m.gated_norm, &m.out_proj, &m.out_proj_bias})
          total += bytes(*t);
        break;
      }
      case LayerKind::Attention: {
        const AttentionWeights& a = l.attention;
        for (const TensorView* t : {&a.q_proj, &a.k_proj, &a.v_proj, &a.o_proj, &a.q_bias, &a.k_bias, &a.v_bias, &a.o_bias})
          total += bytes(*t);
        break;
      }
      case LayerKind::Moe: {
        const MoeWeights& m = l.moe;
        total += bytes(m.router) + bytes(m.correction_bias) + ff_bytes(m.shared);
        total += bytes(m.latent_in) + bytes(m.latent_out) + bytes(m.latent_in_bias) + bytes(m.latent_out_bias);
        if (!m.experts.empty()) total += std::uint64_t(c.num_experts_per_tok) * ff_bytes(m.experts[0]);
        break;
      }
      case LayerKind::Mlp:
        total += ff_bytes(l.mlp);
        break;
    }
  }
  return total;
}

}  // namespace logitscope
