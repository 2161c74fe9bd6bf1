// SPDX-License-Identifier: GPL-3.0-or-later
// Where every weight lives in the device arena (see device_model.h). The same walk sizes the arena
// (base = null), then binds pointers and lists the upload jobs, so the two can never disagree.
#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "backend/cuda/device_model.h"
#include "logitscope/errors.h"
#include "model/weights.h"

namespace logitscope::cuda {
namespace {

class Arena {
 public:
  explicit Arena(char* base) : base_(base) {}
  template <typename T>
  T* take(std::int64_t count) {
    offset_ = (offset_ + 255) & ~std::uint64_t(255);  // 256-byte alignment: 16-byte loads, cuBLAS
    T* p = reinterpret_cast<T*>(reinterpret_cast<std::uintptr_t>(base_) + offset_);
    offset_ += std::uint64_t(count) * sizeof(T);
    return p;
  }
  std::uint64_t size() const { return offset_; }

 private:
  char* base_;
  std::uint64_t offset_ = 0;
};

WeightCode code_of(QuantFormat f) {
  return f == QuantFormat::Fp8 ? WeightCode::Fp8 : f == QuantFormat::Nvfp4 ? WeightCode::Nvfp4 : WeightCode::Bf16;
}
WeightCode code_of(WeightFormat f) {
  return f == WeightFormat::Fp8 ? WeightCode::Fp8 : f == WeightFormat::Nvfp4 ? WeightCode::Nvfp4 : WeightCode::Bf16;
}
const char* code_name(WeightCode c) { return c == WeightCode::Fp8 ? "FP8" : c == WeightCode::Nvfp4 ? "NVFP4" : "BF16"; }

class Builder {
 public:
  Builder(const ModelConfig& cfg, const ModelWeights* w, char* base, std::vector<UploadJob>& jobs)
      : cfg_(cfg), w_(w), arena_(base), jobs_(jobs) {}

  // How the Linear `module` is stored: the checkpoint's tensor says (its scales), synthetic weights
  // follow config.quantization.
  WeightCode code_of_linear(const TensorView* src, const std::string& module) const {
    if (w_) return src && src->quant ? code_of(src->quant->format) : WeightCode::Bf16;
    return cfg_.quantization.quantized() ? code_of(cfg_.quantization.format_of(module)) : WeightCode::Bf16;
  }

  // A Linear of one or more row blocks (q, k, v fused) from `parts` (sources and their rows; synthetic:
  // null sources), bf16 or quantized as its parts are stored (all parts alike).
  DLinear linear(const std::vector<std::pair<const TensorView*, std::int64_t>>& parts, std::int64_t cols,
                 const std::string& module) {
    DLinear L;
    std::int64_t rows = 0;
    for (const auto& p : parts) rows += p.second;
    L.rows = int(rows);
    L.cols = int(cols);
    const WeightCode code = code_of_linear(parts[0].first, module);
    for (const auto& p : parts)
      if (code_of_linear(p.first, module) != code)
        throw Error(module + ": the CUDA backend fuses " + std::to_string(parts.size()) +
                    " projections into one matrix and needs them in one format; they are stored as " +
                    code_name(code) + " and " + code_name(code_of_linear(p.first, module)));
    if (code == WeightCode::Bf16) {
      bf16* w = arena_.take<bf16>(rows * cols);
      std::int64_t at = 0;
      for (const auto& p : parts) {
        add(w + at * cols, true, p.second * cols, p.first, float(1.0 / std::sqrt(double(cols))), 0.0f);
        at += p.second;
      }
      L.w = w;
      return L;
    }
    formats_.insert(code_name(code));
    L.q = quant_rows(code, parts, rows, cols, module);
    max_dequant_ = std::max<std::int64_t>(max_dequant_, rows * cols);
    return L;
  }
  DLinear linear(const TensorView* src, std::int64_t rows, std::int64_t cols, const std::string& module) {
    return linear({{src, rows}}, cols, module);
  }

  // E expert matrices [rows, cols] back to back (experts[e]'s `pick` tensor), quantized: one global
  // scale per expert (FP8 per-tensor scale or NVFP4 weight_scale_2), block scales / row scales stacked.
  QuantMatrix quant_stack(WeightCode code, const std::vector<const TensorView*>& srcs, int E, std::int64_t rows,
                          std::int64_t cols, const std::string& module) {
    check_quant_shape(code, cols, module);
    QuantMatrix m;
    m.code = code;
    formats_.insert(code_name(code));
    const std::int64_t code_bytes = code == WeightCode::Fp8 ? rows * cols : rows * cols / 2;
    const std::int64_t scale_bytes = code == WeightCode::Nvfp4 ? rows * cols / 16 : 0;
    const bool per_channel = fp8_per_channel(code, w_ ? srcs[0] : nullptr, rows);
    auto* q = arena_.take<std::uint8_t>(code_bytes * E);
    auto* bs = code == WeightCode::Nvfp4 ? arena_.take<std::uint8_t>(scale_bytes * E) : nullptr;
    float* rs = per_channel ? arena_.take<float>(rows * E) : nullptr;
    float* g = arena_.take<float>(E);
    m.q = q;
    m.block_scale = bs;
    m.row_scale = rs;
    m.global_scale = g;
    for (int e = 0; e < E; ++e) {
      const TensorView* t = w_ ? srcs[std::size_t(e)] : nullptr;
      if (t) check_quant_source(code, per_channel, *t, rows, cols, module);
      codes(q + code_bytes * e, code_bytes, t, code == WeightCode::Fp8);
      if (bs) codes(bs + scale_bytes * e, scale_bytes, t ? &t->quant->scale : nullptr, true);
      if (rs) fp32(rs + rows * e, rows, t ? &t->quant->scale : nullptr, 1.0f);
      const float gv = global_value(code, per_channel, t, cols);
      if (per_channel) constant(g + e, 1, 1.0f);
      else if (t) fp32(g + e, 1, code == WeightCode::Fp8 ? &t->quant->scale : &t->quant->global_scale, gv);
      else constant(g + e, 1, gv);
      if (e == 0) m.global_host = per_channel ? 1.0f : gv;
    }
    return m;
  }

  // A bf16 matrix [rows, cols] from `src` (or random, scale 1/sqrt(cols)).
  bf16* matrix(const TensorView* src, std::int64_t rows, std::int64_t cols) {
    bf16* p = arena_.take<bf16>(rows * cols);
    add(p, true, rows * cols, src, float(1.0 / std::sqrt(double(cols))), 0.0f);
    return p;
  }
  // An fp32 vector of `n` entries; synthetic values offset +- [0.1, 1] scale.
  float* vec(const TensorView* src, std::int64_t n, float scale, float offset) {
    float* p = arena_.take<float>(n);
    add(p, false, n, src, scale, offset);
    return p;
  }
  // Optional tensors: absent in the checkpoint (or synthetic) -> null.
  float* opt_vec(const TensorView* src, std::int64_t n) {
    if (!w_ || !src || !src->present()) return nullptr;
    return vec(src, n, 0.0f, 0.0f);
  }
  // Reserves a block without a job (experts are filled one slice at a time).
  template <typename T>
  T* reserve(std::int64_t n) { return arena_.take<T>(n); }
  void add(void* dst, bool bf, std::int64_t n, const TensorView* src, float scale, float offset) {
    if (w_) {
      if (!src || !src->present())
        throw Error("checkpoint tensor missing for the CUDA upload" + std::string(src ? ": " + src->name : ""));
      if (src->numel() != n)
        throw Error("tensor " + src->name + " in " + src->file + " has " + std::to_string(src->numel()) +
                    " elements " + src->shape_string() + ", the config implies " + std::to_string(n));
      jobs_.push_back({dst, bf, n, src, 0.0f, 0.0f});
    } else {
      jobs_.push_back({dst, bf, n, nullptr, scale, offset});
    }
  }
  const ModelWeights* weights() const { return w_; }
  std::uint64_t size() const { return arena_.size(); }
  std::int64_t max_dequant_elems() const { return max_dequant_; }
  // "BF16", "NVFP4 + BF16", "FP8 + NVFP4 + BF16": the formats of the matrices (BF16 for the rest).
  std::string format() const {
    std::string f;
    for (const auto& n : formats_) f += (f.empty() ? "" : " + ") + n;
    return f.empty() ? "BF16" : f + " + BF16";
  }

 private:
  void check_quant_shape(WeightCode code, std::int64_t cols, const std::string& module) const {
    if (code == WeightCode::Nvfp4 && cols % 16 != 0)
      throw Error(module + ": NVFP4 needs a multiple of 16 input columns, the config implies " + std::to_string(cols));
  }
  bool fp8_per_channel(WeightCode code, const TensorView* t, std::int64_t rows) const {
    if (code != WeightCode::Fp8) return false;
    if (t) return t->quant->scale.numel() == rows && rows > 1;
    return cfg_.quantization.algo == "FP8_PER_CHANNEL_PER_TOKEN";
  }
  void check_quant_source(WeightCode code, bool per_channel, const TensorView& t, std::int64_t rows, std::int64_t cols,
                          const std::string& module) const {
    const std::string at = "tensor " + t.name + " in " + t.file;
    if (!t.quant || code_of(t.quant->format) != code)
      throw Error(at + ": the CUDA backend needs every matrix of " + module + " in one format (" + code_name(code) +
                  "), this one is " + (t.quant ? code_name(code_of(t.quant->format)) : "BF16"));
    const std::int64_t code_bytes = code == WeightCode::Fp8 ? rows * cols : rows * cols / 2;
    if (std::int64_t(t.nbytes) != code_bytes)
      throw Error(at + " holds " + std::to_string(t.nbytes) + " bytes, " + std::to_string(code_bytes) +
                  " expected for " + code_name(code) + " [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
    if (code == WeightCode::Nvfp4 && std::int64_t(t.quant->scale.nbytes) != rows * cols / 16)
      throw Error(at + ": weight_scale holds " + std::to_string(t.quant->scale.nbytes) + " bytes, " +
                  std::to_string(rows * cols / 16) + " expected (one E4M3 per 16 inputs of a row)");
    if (code == WeightCode::Fp8 && fp8_per_channel(code, &t, rows) != per_channel)
      throw Error(at + ": mixes per-tensor and per-channel FP8 scales with the other experts of " + module);
  }
  // The matrix-wide scale: FP8 per tensor: weight_scale; NVFP4: weight_scale_2; synthetic: a value
  // that gives the random codes the spread of a 1/sqrt(cols) initialisation.
  float global_value(WeightCode code, bool per_channel, const TensorView* t, std::int64_t cols) const {
    if (!t) return float(1.0 / std::sqrt(double(cols))) / (code == WeightCode::Fp8 ? 1.5f : 3.0f);
    if (per_channel) return 1.0f;
    return code == WeightCode::Fp8 ? t->quant->scale.at(0) : t->quant->global_scale.at(0);
  }
  // One matrix of row blocks: a single block keeps its global scale; several (q, k, v) carry each
  // block's scale per row (global 1).
  QuantMatrix quant_rows(WeightCode code, const std::vector<std::pair<const TensorView*, std::int64_t>>& parts,
                         std::int64_t rows, std::int64_t cols, const std::string& module) {
    check_quant_shape(code, cols, module);
    if (parts.size() == 1) {
      std::vector<const TensorView*> one{parts[0].first};
      return quant_stack(code, one, 1, rows, cols, module);
    }
    QuantMatrix m;
    m.code = code;
    const std::int64_t code_bytes = code == WeightCode::Fp8 ? rows * cols : rows * cols / 2;
    auto* q = arena_.take<std::uint8_t>(code_bytes);
    auto* bs = code == WeightCode::Nvfp4 ? arena_.take<std::uint8_t>(rows * cols / 16) : nullptr;
    float* rs = arena_.take<float>(rows);
    float* g = arena_.take<float>(1);
    m.q = q;
    m.block_scale = bs;
    m.row_scale = rs;
    m.global_scale = g;
    m.global_host = 1.0f;
    constant(g, 1, 1.0f);
    std::int64_t at = 0;
    for (const auto& [src, n] : parts) {
      const TensorView* t = w_ ? src : nullptr;
      const bool per_channel = fp8_per_channel(code, t, n);
      if (t) check_quant_source(code, per_channel, *t, n, cols, module);
      const std::int64_t cb = code == WeightCode::Fp8 ? n * cols : n * cols / 2;
      codes(q + (code == WeightCode::Fp8 ? at * cols : at * cols / 2), cb, t, code == WeightCode::Fp8);
      if (bs) codes(bs + at * cols / 16, n * cols / 16, t ? &t->quant->scale : nullptr, true);
      if (per_channel) fp32(rs + at, n, &t->quant->scale, 1.0f);
      else constant(rs + at, n, global_value(code, false, t, cols));
      at += n;
    }
    return m;
  }
  // Jobs: stored bytes (or synthetic codes), fp32 scales (or a synthetic value), constants.
  void codes(std::uint8_t* dst, std::int64_t bytes, const TensorView* src, bool e4m3) {
    UploadJob j{dst, false, bytes, w_ ? src : nullptr, 0.0f, 0.0f};
    j.kind = w_ ? UploadJob::Kind::Bytes : UploadJob::Kind::Codes;
    j.e4m3 = e4m3;
    jobs_.push_back(j);
  }
  void fp32(float* dst, std::int64_t n, const TensorView* src, float synthetic) {
    if (!w_) return constant(dst, n, synthetic);
    add(dst, false, n, src, 0.0f, 0.0f);
  }
  void constant(float* dst, std::int64_t n, float value) {
    UploadJob j{dst, false, n, nullptr, 0.0f, value};
    j.kind = UploadJob::Kind::Constant;
    jobs_.push_back(j);
  }

  const ModelConfig& cfg_;
  std::set<std::string> formats_;
  std::int64_t max_dequant_ = 0;
  const ModelWeights* w_;
  Arena arena_;
  std::vector<UploadJob>& jobs_;
};

DFfn ffn(Builder& b, const FeedForwardWeights* f, int width, int in, bool bias, const std::string& module) {
  const ModelWeights* w = b.weights();
  DFfn out;
  out.up = b.linear(f ? &f->up : nullptr, width, in, module + ".up_proj");
  out.down = b.linear(f ? &f->down : nullptr, in, width, module + ".down_proj");
  if (w && bias) {
    out.up.b = b.opt_vec(&f->up_bias, width);
    out.down.b = b.opt_vec(&f->down_bias, in);
  }
  return out;
}

}  // namespace

std::uint64_t layout_model(const ModelConfig& cfg, const ModelWeights* w, char* base, DeviceModel& m,
                           std::vector<UploadJob>& jobs) {
  Builder b(cfg, w, base, jobs);
  m.cfg = cfg;
  const std::int64_t V = cfg.vocab_size, hid = cfg.hidden_size;
  if (w && w->layers.size() != cfg.layers.size())
    throw Error("checkpoint has " + std::to_string(w->layers.size()) + " layers, config.json " +
                std::to_string(cfg.layers.size()));
  m.embeddings = b.matrix(w ? &w->embeddings : nullptr, V, hid);
  for (auto& job : jobs)  // embeddings are looked up, not multiplied: unit scale
    if (job.dst == m.embeddings) job.scale = 1.0f;
  m.norm_f = b.vec(w ? &w->norm_f : nullptr, hid, 0.1f, 1.0f);
  const bool tied = cfg.tie_word_embeddings || (w && w->lm_head.data == w->embeddings.data);
  if (tied) m.lm_head = bf16_linear(m.embeddings, int(V), int(hid));
  else m.lm_head = b.linear(w ? &w->lm_head : nullptr, V, hid, "lm_head");

  const int H = cfg.mamba_num_heads, K = cfg.conv_kernel;
  const std::int64_t d_inner = cfg.mamba_d_inner(), conv_dim = cfg.mamba_conv_dim(), in_dim = cfg.mamba_in_proj_dim();
  const int AH = cfg.num_attention_heads, KV = cfg.num_key_value_heads, hd = cfg.head_dim;
  const int E = cfg.n_routed_experts, width = cfg.moe_intermediate_size;
  const int latent = cfg.moe_latent_size;
  const int e_dim = latent > 0 ? latent : int(hid);
  int slots[4] = {0, 0, 0, 0};
  std::uint64_t decode = std::uint64_t(hid) * 2 + std::uint64_t(hid) * 4 + m.lm_head.weight_bytes();

  m.layers.resize(cfg.layers.size());
  for (std::size_t l = 0; l < cfg.layers.size(); ++l) {
    DLayer& L = m.layers[l];
    const LayerWeights* lw = w ? &w->layers[l] : nullptr;
    const std::string mixer = "backbone.layers." + std::to_string(l) + ".mixer";
    L.kind = cfg.layers[l];
    L.slot = slots[int(L.kind)]++;
    const std::uint64_t before = b.size();
    L.norm = b.vec(lw ? &lw->norm : nullptr, hid, 0.1f, 1.0f);
    switch (L.kind) {
      case LayerKind::Mamba: {
        const MambaWeights* mw = lw ? &lw->mamba : nullptr;
        L.in_proj = b.linear(mw ? &mw->in_proj : nullptr, in_dim, hid, mixer + ".in_proj");
        if (w && cfg.mamba_proj_bias) L.in_proj.b = b.opt_vec(&mw->in_proj_bias, in_dim);
        L.conv_w = b.vec(mw ? &mw->conv_weight : nullptr, conv_dim * K, 0.3f, 0.0f);
        L.conv_b = cfg.use_conv_bias ? (w ? b.opt_vec(&mw->conv_bias, conv_dim) : b.vec(nullptr, conv_dim, 0.1f, 0.0f))
                                     : nullptr;
        L.dt_bias = b.vec(mw ? &mw->dt_bias : nullptr, H, 1.0f, -3.0f);
        L.A_log = b.vec(mw ? &mw->A_log : nullptr, H, 1.0f, 1.4f);
        L.D = b.vec(mw ? &mw->D : nullptr, H, 0.5f, 1.0f);
        L.gated_norm = b.vec(mw ? &mw->gated_norm : nullptr, d_inner, 0.1f, 1.0f);
        L.out_proj = b.linear(mw ? &mw->out_proj : nullptr, hid, d_inner, mixer + ".out_proj");
        if (w && cfg.mamba_proj_bias) L.out_proj.b = b.opt_vec(&mw->out_proj_bias, hid);
        decode += b.size() - before;
        break;
      }
      case LayerKind::Attention: {
        const AttentionWeights* aw = lw ? &lw->attention : nullptr;
        const std::int64_t q = std::int64_t(AH) * hd, kv = std::int64_t(KV) * hd;
        L.qkv = b.linear({{aw ? &aw->q_proj : nullptr, q}, {aw ? &aw->k_proj : nullptr, kv}, {aw ? &aw->v_proj : nullptr, kv}},
                         hid, mixer + ".q_proj");
        if (w && cfg.quantization.kv_cache_algo == "FP8") {
          L.k_scale = aw->k_scale.present() ? aw->k_scale.at(0) : 1.0f;
          L.v_scale = aw->v_scale.present() ? aw->v_scale.at(0) : 1.0f;
        }
        if (w && cfg.attention_bias && aw->q_bias.present()) {
          float* qb = b.reserve<float>(q + 2 * kv);
          b.add(qb, false, q, &aw->q_bias, 0, 0);
          b.add(qb + q, false, kv, &aw->k_bias, 0, 0);
          b.add(qb + q + kv, false, kv, &aw->v_bias, 0, 0);
          L.qkv.b = qb;
        }
        L.o = b.linear(aw ? &aw->o_proj : nullptr, hid, q, mixer + ".o_proj");
        if (w && cfg.attention_bias) L.o.b = b.opt_vec(&aw->o_bias, hid);
        decode += b.size() - before;
        break;
      }
      case LayerKind::Mlp: {
        L.mlp = ffn(b, lw ? &lw->mlp : nullptr, cfg.intermediate_size, int(hid), cfg.mlp_bias, mixer);
        decode += b.size() - before;
        break;
      }
      case LayerKind::Moe: {
        const MoeWeights* mo = lw ? &lw->moe : nullptr;
        if (mo && mo->router.dtype == DType::F32) {
          L.router_f32 = b.vec(&mo->router, std::int64_t(E) * hid, 0, 0);
        } else {
          L.router_bf16 = b.matrix(mo ? &mo->router : nullptr, E, hid);
        }
        L.correction_bias = w ? b.opt_vec(&mo->correction_bias, E) : b.vec(nullptr, E, 0.1f, 0.0f);
        if (latent > 0) {
          L.latent_in = b.linear(mo ? &mo->latent_in : nullptr, latent, hid, mixer + ".fc1_latent_proj");
          L.latent_out = b.linear(mo ? &mo->latent_out : nullptr, hid, latent, mixer + ".fc2_latent_proj");
          if (w && cfg.mlp_bias) {
            L.latent_in.b = b.opt_vec(&mo->latent_in_bias, latent);
            L.latent_out.b = b.opt_vec(&mo->latent_out_bias, hid);
          }
        }
        if (cfg.n_shared_experts > 0) {
          L.shared = ffn(b, mo ? &mo->shared : nullptr, cfg.moe_shared_expert_intermediate_size, int(hid), cfg.mlp_bias,
                         mixer + ".shared_experts");
        }
        const std::uint64_t fixed = b.size() - before;
        ExpertsDecode& x = L.experts;
        x.width = width;
        x.in = x.out = e_dim;
        const std::int64_t per = std::int64_t(width) * e_dim;
        if (w && mo->experts.size() != std::size_t(E))
          throw Error("layer " + std::to_string(l) + " has " + std::to_string(mo->experts.size()) +
                      " experts, config.json n_routed_experts " + std::to_string(E));
        const std::string ex0 = mixer + ".experts.0";
        const WeightCode up_code = b.code_of_linear(w ? &mo->experts[0].up : nullptr, ex0 + ".up_proj");
        const WeightCode down_code = b.code_of_linear(w ? &mo->experts[0].down : nullptr, ex0 + ".down_proj");
        std::vector<const TensorView*> ups, downs;
        if (w)
          for (int e = 0; e < E; ++e) {
            ups.push_back(&mo->experts[std::size_t(e)].up);
            downs.push_back(&mo->experts[std::size_t(e)].down);
          }
        const float scale_up = float(1.0 / std::sqrt(double(e_dim))), scale_down = float(1.0 / std::sqrt(double(width)));
        if (up_code != WeightCode::Bf16) {
          x.up_q = b.quant_stack(up_code, ups, E, width, e_dim, mixer + ".experts.*.up_proj");
        } else {
          x.up = b.reserve<bf16>(per * E);
          if (!w) b.add(const_cast<bf16*>(x.up), true, per * E, nullptr, scale_up, 0);
          else
            for (int e = 0; e < E; ++e) b.add(const_cast<bf16*>(x.up) + per * e, true, per, ups[std::size_t(e)], 0, 0);
        }
        if (down_code != WeightCode::Bf16) {
          x.down_q = b.quant_stack(down_code, downs, E, e_dim, width, mixer + ".experts.*.down_proj");
        } else {
          x.down = b.reserve<bf16>(per * E);
          if (!w) b.add(const_cast<bf16*>(x.down), true, per * E, nullptr, scale_down, 0);
          else
            for (int e = 0; e < E; ++e) b.add(const_cast<bf16*>(x.down) + per * e, true, per, downs[std::size_t(e)], 0, 0);
        }
        const bool has_bias = w && cfg.mlp_bias && mo->experts.size() == std::size_t(E) && mo->experts[0].up_bias.present();
        if (has_bias) {
          x.up_b = b.reserve<float>(std::int64_t(E) * width);
          x.down_b = b.reserve<float>(std::int64_t(E) * e_dim);
          for (int e = 0; e < E; ++e) {
            b.add(const_cast<float*>(x.up_b) + std::int64_t(width) * e, false, width, &mo->experts[e].up_bias, 0, 0);
            b.add(const_cast<float*>(x.down_b) + std::int64_t(e_dim) * e, false, e_dim, &mo->experts[e].down_bias, 0, 0);
          }
        }
        // The shared expert rides in the bf16 decode expert kernels; with quantized experts or a
        // quantized shared expert it runs apart (cuda_moe.cpp).
        if (L.shared.up.w && L.shared.down.w && latent == 0 && !x.up_q.quantized() && !x.down_q.quantized()) {
          x.shared_up = L.shared.up.w;
          x.shared_up_b = L.shared.up.b;
          x.shared_down = L.shared.down.w;
          x.shared_down_b = L.shared.down.b;
          x.shared_width = L.shared.up.rows;
        }
        decode += fixed + std::uint64_t(cfg.num_experts_per_tok) *
                              (std::uint64_t(width) * quant_row_bytes(up_code, e_dim) +
                               std::uint64_t(e_dim) * quant_row_bytes(down_code, width));
        break;
      }
    }
  }
  m.decode_weight_bytes = decode;
  m.max_dequant_elems = b.max_dequant_elems();
  m.format = b.format();
  m.arena_bytes = b.size();
  return b.size();
}

}  // namespace logitscope::cuda
