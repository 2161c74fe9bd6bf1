// SPDX-License-Identifier: GPL-3.0-or-later
#include "model/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "logitscope/errors.h"

namespace logitscope {

namespace {

constexpr float kFp8Max = 448.0f;
constexpr int kGroup = 16;

std::vector<std::byte> f32_bytes(const std::vector<float>& values) {
  std::vector<std::byte> out(values.size() * 4);
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

float max_abs(const float* w, std::int64_t n) {
  float m = 0.0f;
  for (std::int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(w[i]));
  return m;
}

}  // namespace

std::string checkpoint_prefix(const ModelWeights& w) {
  return w.embeddings.name.rfind("model.", 0) == 0 ? "model." : "backbone.";
}

QuantizedLinear quantize_fp8(const float* w, std::int64_t out, std::int64_t in, bool per_channel) {
  QuantizedLinear q;
  q.format = QuantFormat::Fp8;
  q.weight_shape = {out, in};
  q.weight.resize(std::size_t(out * in));
  std::vector<float> scales(per_channel ? std::size_t(out) : 1);
  for (std::size_t s = 0; s < scales.size(); ++s) {
    const float amax = per_channel ? max_abs(w + std::int64_t(s) * in, in) : max_abs(w, out * in);
    scales[s] = amax > 0.0f ? amax / kFp8Max : 1.0f;  // an all-zero weight: codes 0 whatever the scale
  }
  for (std::int64_t r = 0; r < out; ++r) {
    const float s = scales[per_channel ? std::size_t(r) : 0];
    for (std::int64_t c = 0; c < in; ++c) q.weight[std::size_t(r * in + c)] = std::byte(float_to_e4m3(w[r * in + c] / s));
  }
  if (per_channel) q.scale_shape = {out};
  q.scale = f32_bytes(scales);
  q.input_scale = f32_bytes({1.0f});
  return q;
}

QuantizedLinear quantize_nvfp4(const float* w, std::int64_t out, std::int64_t in) {
  if (in % kGroup != 0)
    throw Error("NVFP4 needs an input width that is a multiple of 16, this Linear has " + std::to_string(in));
  QuantizedLinear q;
  q.format = QuantFormat::Nvfp4;
  q.weight_shape = {out, in / 2};
  q.scale_shape = {out, in / kGroup};
  q.weight.resize(std::size_t(out * in / 2));
  q.scale.resize(std::size_t(out * in / kGroup));
  const float amax = max_abs(w, out * in);
  const float g = amax > 0.0f ? amax / (6.0f * kFp8Max) : 1.0f / (6.0f * kFp8Max);
  const float six_g = 6.0f * g;  // rounded to fp32 before the division, as the reference does
  for (std::int64_t r = 0; r < out; ++r) {
    for (std::int64_t b = 0; b < in / kGroup; ++b) {
      const float* block = w + r * in + b * kGroup;
      float s_b = max_abs(block, kGroup) / six_g;
      if (s_b == 0.0f) s_b = 1.0f;
      s_b = std::min(s_b, kFp8Max);
      if (e4m3_to_float(float_to_e4m3(s_b)) == 0.0f) s_b = std::ldexp(1.0f, -9);  // would underflow to 0
      const std::uint8_t scale = float_to_e4m3(s_b);
      q.scale[std::size_t(r * (in / kGroup) + b)] = std::byte(scale);
      const float divisor = e4m3_to_float(scale) * g;
      for (int i = 0; i < kGroup; i += 2) {
        const std::uint8_t lo = float_to_e2m1(block[i] / divisor), hi = float_to_e2m1(block[i + 1] / divisor);
        q.weight[std::size_t((r * in + b * kGroup + i) / 2)] = std::byte(std::uint8_t(lo | (hi << 4)));
      }
    }
  }
  q.global_scale = f32_bytes({g});
  q.input_scale = f32_bytes({1.0f});
  return q;
}

std::vector<std::string> default_quantization_exclusions(const ModelConfig& c, WeightFormat format,
                                                          const std::string& prefix) {
  std::vector<std::string> out = {"lm_head"};
  const int n = int(c.layers.size());
  for (int i = 0; i < n; ++i) {
    const std::string mx = prefix + "layers." + std::to_string(i) + ".mixer.";
    switch (c.layers[i]) {
      case LayerKind::Attention:
        for (const char* p : {"q_proj", "k_proj", "v_proj", "o_proj"}) out.push_back(mx + p);
        break;
      case LayerKind::Mamba:
        if (i + 1 < n && c.layers[i + 1] == LayerKind::Attention) {
          out.push_back(mx + "in_proj");
          out.push_back(mx + "out_proj");
        }
        out.push_back(mx + "conv1d");
        break;
      default:
        break;
    }
  }
  if (format == WeightFormat::Nvfp4) {
    // Linears whose input width is not a multiple of 16 stay in BF16 (NVFP4 blocks are 16 wide).
    const std::int64_t H = c.hidden_size;
    auto add_if_ragged = [&](const std::string& module, std::int64_t in) {
      if (in % kGroup != 0 && std::find(out.begin(), out.end(), module) == out.end()) out.push_back(module);
    };
    for (int i = 0; i < n; ++i) {
      const std::string mx = prefix + "layers." + std::to_string(i) + ".mixer.";
      switch (c.layers[i]) {
        case LayerKind::Mamba:
          add_if_ragged(mx + "in_proj", H);
          add_if_ragged(mx + "out_proj", c.mamba_d_inner());
          break;
        case LayerKind::Attention:
          break;  // excluded above
        case LayerKind::Moe: {
          const std::int64_t expert_in = c.moe_latent_size > 0 ? c.moe_latent_size : H;
          for (int e = 0; e < c.n_routed_experts; ++e) {
            add_if_ragged(mx + "experts." + std::to_string(e) + ".up_proj", expert_in);
            add_if_ragged(mx + "experts." + std::to_string(e) + ".down_proj", c.moe_intermediate_size);
          }
          add_if_ragged(mx + "shared_experts.up_proj", H);
          add_if_ragged(mx + "shared_experts.down_proj", c.moe_shared_expert_intermediate_size);
          if (c.moe_latent_size > 0) {
            add_if_ragged(mx + "fc1_latent_proj", H);
            add_if_ragged(mx + "fc2_latent_proj", c.moe_latent_size);
          }
          break;
        }
        case LayerKind::Mlp:
          add_if_ragged(mx + "up_proj", H);
          add_if_ragged(mx + "down_proj", c.intermediate_size);
          break;
      }
    }
  }
  return out;
}

std::vector<LinearRef> model_linears(const ModelConfig& c, ModelWeights& w) {
  std::vector<LinearRef> out;
  // The checkpoint's own name where the view has one ("model." or "backbone." prefix); a slice of a
  // fused expert tensor has none, and gets the per-expert name.
  auto add = [&](const std::string& module, TensorView& t) {
    if (!t.present()) return;
    const std::string suffix = ".weight";
    const bool own = t.name.size() > suffix.size() && t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0;
    out.push_back({own ? t.name.substr(0, t.name.size() - suffix.size()) : module, &t});
  };
  auto ffn = [&](const std::string& at, FeedForwardWeights& f) {
    add(at + ".up_proj", f.up);
    add(at + ".down_proj", f.down);
  };
  for (std::size_t i = 0; i < w.layers.size(); ++i) {
    LayerWeights& L = w.layers[i];
    const std::string mx = "backbone.layers." + std::to_string(i) + ".mixer";
    switch (L.kind) {
      case LayerKind::Mamba:
        add(mx + ".in_proj", L.mamba.in_proj);
        add(mx + ".out_proj", L.mamba.out_proj);
        break;
      case LayerKind::Attention:
        add(mx + ".q_proj", L.attention.q_proj);
        add(mx + ".k_proj", L.attention.k_proj);
        add(mx + ".v_proj", L.attention.v_proj);
        add(mx + ".o_proj", L.attention.o_proj);
        break;
      case LayerKind::Moe:
        for (std::size_t e = 0; e < L.moe.experts.size(); ++e) ffn(mx + ".experts." + std::to_string(e), L.moe.experts[e]);
        ffn(mx + ".shared_experts", L.moe.shared);
        add(mx + ".fc1_latent_proj", L.moe.latent_in);
        add(mx + ".fc2_latent_proj", L.moe.latent_out);
        break;
      case LayerKind::Mlp:
        ffn(mx, L.mlp);
        break;
    }
  }
  (void)c;
  if (w.lm_head.data != w.embeddings.data) add("lm_head", w.lm_head);  // a tied head is the embedding table
  return out;
}

QuantizationConfig quantization_on_load(const ModelConfig& c, WeightFormat format, const std::string& prefix) {
  QuantizationConfig q;
  q.algo = format == WeightFormat::Nvfp4 ? "NVFP4" : "FP8";
  q.exclude = default_quantization_exclusions(c, format, prefix);
  q.source = "quantized on load";
  q.producer = "logitscope";
  return q;
}

void quantize_weights_on_load(ModelConfig& c, ModelWeights& w, WeightFormat format) {
  if (format == WeightFormat::Bf16) return;
  if (c.quantization.quantized())
    throw Error("this checkpoint is already " + c.quantization.describe() + " (" + c.quantization.source +
                "): --quantize is for BF16/F32 snapshots");
  QuantizationConfig q = quantization_on_load(c, format, checkpoint_prefix(w));
  std::vector<float> row_major;
  for (const LinearRef& linear : model_linears(c, w)) {
    if (q.excluded(linear.module)) continue;
    TensorView& t = *linear.weight;
    const std::int64_t out = t.shape[0], in = t.shape[1];
    row_major.resize(std::size_t(out * in));
    t.to_float(row_major.data());
    auto quantized = std::make_shared<QuantizedLinear>(format == WeightFormat::Nvfp4 ? quantize_nvfp4(row_major.data(), out, in)
                                                                                     : quantize_fp8(row_major.data(), out, in, false));
    auto view_of = [&](const std::vector<std::byte>& bytes, DType dtype, std::vector<std::int64_t> shape, const std::string& name) {
      TensorView v;
      v.name = name;
      v.file = "(quantized on load)";
      v.dtype = dtype;
      v.dtype_name = to_string(dtype);
      v.shape = std::move(shape);
      v.data = bytes.data();
      v.nbytes = bytes.size();
      return v;
    };
    auto scales = std::make_shared<QuantScales>();
    scales->format = quantized->format;
    scales->scale = view_of(quantized->scale, format == WeightFormat::Nvfp4 ? DType::F8_E4M3 : DType::F32, quantized->scale_shape,
                            linear.module + ".weight_scale");
    if (!quantized->global_scale.empty())
      scales->global_scale = view_of(quantized->global_scale, DType::F32, {}, linear.module + ".weight_scale_2");
    scales->input_scale = view_of(quantized->input_scale, DType::F32, {}, linear.module + ".input_scale");
    TensorView view = view_of(quantized->weight, format == WeightFormat::Nvfp4 ? DType::U8 : DType::F8_E4M3, {out, in},
                              linear.module + ".weight");
    view.quant = std::move(scales);
    w.total_bytes += quantized->weight.size() + quantized->scale.size() + quantized->global_scale.size() +
                     quantized->input_scale.size();
    w.total_bytes -= std::min<std::uint64_t>(w.total_bytes, t.nbytes);
    t = std::move(view);
    w.owned.push_back(std::move(quantized));
  }
  c.quantization = std::move(q);
  w.format = c.quantization.describe() + ", quantized on load";
}

}  // namespace logitscope
