// SPDX-License-Identifier: GPL-3.0-or-later
// Where every weight lives in the device arena (see device_model.h). The same walk sizes the arena
// (base = null), then binds pointers and lists the upload jobs, so the two can never disagree.
#include <cmath>
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

class Builder {
 public:
  Builder(const ModelWeights* w, char* base, std::vector<UploadJob>& jobs) : w_(w), arena_(base), jobs_(jobs) {}

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

 private:
  const ModelWeights* w_;
  Arena arena_;
  std::vector<UploadJob>& jobs_;
};

DFfn ffn(Builder& b, const FeedForwardWeights* f, int width, int in, bool bias) {
  const ModelWeights* w = b.weights();
  DFfn out;
  out.up = {b.matrix(f ? &f->up : nullptr, width, in), nullptr, width, in};
  out.down = {b.matrix(f ? &f->down : nullptr, in, width), nullptr, in, width};
  if (w && bias) {
    out.up.b = b.opt_vec(&f->up_bias, width);
    out.down.b = b.opt_vec(&f->down_bias, in);
  }
  return out;
}

}  // namespace

std::uint64_t layout_model(const ModelConfig& cfg, const ModelWeights* w, char* base, DeviceModel& m,
                           std::vector<UploadJob>& jobs) {
  Builder b(w, base, jobs);
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
  m.lm_head = {tied ? m.embeddings : b.matrix(w ? &w->lm_head : nullptr, V, hid), nullptr, int(V), int(hid)};

  const int H = cfg.mamba_num_heads, K = cfg.conv_kernel;
  const std::int64_t d_inner = cfg.mamba_d_inner(), conv_dim = cfg.mamba_conv_dim(), in_dim = cfg.mamba_in_proj_dim();
  const int AH = cfg.num_attention_heads, KV = cfg.num_key_value_heads, hd = cfg.head_dim;
  const int E = cfg.n_routed_experts, width = cfg.moe_intermediate_size;
  const int latent = cfg.moe_latent_size;
  const int e_dim = latent > 0 ? latent : int(hid);
  int slots[4] = {0, 0, 0, 0};
  std::uint64_t decode = std::uint64_t(hid) * 2 + std::uint64_t(hid) * 4 + std::uint64_t(V) * hid * 2;

  m.layers.resize(cfg.layers.size());
  for (std::size_t l = 0; l < cfg.layers.size(); ++l) {
    DLayer& L = m.layers[l];
    const LayerWeights* lw = w ? &w->layers[l] : nullptr;
    L.kind = cfg.layers[l];
    L.slot = slots[int(L.kind)]++;
    const std::uint64_t before = b.size();
    L.norm = b.vec(lw ? &lw->norm : nullptr, hid, 0.1f, 1.0f);
    switch (L.kind) {
      case LayerKind::Mamba: {
        const MambaWeights* mw = lw ? &lw->mamba : nullptr;
        L.in_proj = {b.matrix(mw ? &mw->in_proj : nullptr, in_dim, hid), nullptr, int(in_dim), int(hid)};
        if (w && cfg.mamba_proj_bias) L.in_proj.b = b.opt_vec(&mw->in_proj_bias, in_dim);
        L.conv_w = b.vec(mw ? &mw->conv_weight : nullptr, conv_dim * K, 0.3f, 0.0f);
        L.conv_b = cfg.use_conv_bias ? (w ? b.opt_vec(&mw->conv_bias, conv_dim) : b.vec(nullptr, conv_dim, 0.1f, 0.0f))
                                     : nullptr;
        L.dt_bias = b.vec(mw ? &mw->dt_bias : nullptr, H, 1.0f, -3.0f);
        L.A_log = b.vec(mw ? &mw->A_log : nullptr, H, 1.0f, 1.4f);
        L.D = b.vec(mw ? &mw->D : nullptr, H, 0.5f, 1.0f);
        L.gated_norm = b.vec(mw ? &mw->gated_norm : nullptr, d_inner, 0.1f, 1.0f);
        L.out_proj = {b.matrix(mw ? &mw->out_proj : nullptr, hid, d_inner), nullptr, int(hid), int(d_inner)};
        if (w && cfg.mamba_proj_bias) L.out_proj.b = b.opt_vec(&mw->out_proj_bias, hid);
        decode += b.size() - before;
        break;
      }
      case LayerKind::Attention: {
        const AttentionWeights* aw = lw ? &lw->attention : nullptr;
        const std::int64_t q = std::int64_t(AH) * hd, kv = std::int64_t(KV) * hd;
        bf16* qkv = b.reserve<bf16>((q + 2 * kv) * hid);
        b.add(qkv, true, q * hid, aw ? &aw->q_proj : nullptr, float(1.0 / std::sqrt(double(hid))), 0);
        b.add(qkv + q * hid, true, kv * hid, aw ? &aw->k_proj : nullptr, float(1.0 / std::sqrt(double(hid))), 0);
        b.add(qkv + (q + kv) * hid, true, kv * hid, aw ? &aw->v_proj : nullptr, float(1.0 / std::sqrt(double(hid))), 0);
        L.qkv = {qkv, nullptr, int(q + 2 * kv), int(hid)};
        if (w && cfg.attention_bias && aw->q_bias.present()) {
          float* qb = b.reserve<float>(q + 2 * kv);
          b.add(qb, false, q, &aw->q_bias, 0, 0);
          b.add(qb + q, false, kv, &aw->k_bias, 0, 0);
          b.add(qb + q + kv, false, kv, &aw->v_bias, 0, 0);
          L.qkv.b = qb;
        }
        L.o = {b.matrix(aw ? &aw->o_proj : nullptr, hid, q), nullptr, int(hid), int(q)};
        if (w && cfg.attention_bias) L.o.b = b.opt_vec(&aw->o_bias, hid);
        decode += b.size() - before;
        break;
      }
      case LayerKind::Mlp: {
        L.mlp = ffn(b, lw ? &lw->mlp : nullptr, cfg.intermediate_size, int(hid), cfg.mlp_bias);
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
          L.latent_in = {b.matrix(mo ? &mo->latent_in : nullptr, latent, hid), nullptr, latent, int(hid)};
          L.latent_out = {b.matrix(mo ? &mo->latent_out : nullptr, hid, latent), nullptr, int(hid), latent};
          if (w && cfg.mlp_bias) {
            L.latent_in.b = b.opt_vec(&mo->latent_in_bias, latent);
            L.latent_out.b = b.opt_vec(&mo->latent_out_bias, hid);
          }
        }
        if (cfg.n_shared_experts > 0) {
          L.shared = ffn(b, mo ? &mo->shared : nullptr, cfg.moe_shared_expert_intermediate_size, int(hid), cfg.mlp_bias);
        }
        const std::uint64_t fixed = b.size() - before;
        ExpertsDecode& x = L.experts;
        x.width = width;
        x.in = x.out = e_dim;
        const std::int64_t per = std::int64_t(width) * e_dim;
        x.up = b.reserve<bf16>(per * E);
        x.down = b.reserve<bf16>(per * E);
        const bool has_bias = w && cfg.mlp_bias && mo->experts.size() == std::size_t(E) && mo->experts[0].up_bias.present();
        if (has_bias) {
          x.up_b = b.reserve<float>(std::int64_t(E) * width);
          x.down_b = b.reserve<float>(std::int64_t(E) * e_dim);
        }
        if (w && mo->experts.size() != std::size_t(E))
          throw Error("layer " + std::to_string(l) + " has " + std::to_string(mo->experts.size()) +
                      " experts, config.json n_routed_experts " + std::to_string(E));
        const float scale_up = float(1.0 / std::sqrt(double(e_dim))), scale_down = float(1.0 / std::sqrt(double(width)));
        if (!w) {
          b.add(const_cast<bf16*>(x.up), true, per * E, nullptr, scale_up, 0);
          b.add(const_cast<bf16*>(x.down), true, per * E, nullptr, scale_down, 0);
        } else {
          for (int e = 0; e < E; ++e) {
            b.add(const_cast<bf16*>(x.up) + per * e, true, per, &mo->experts[e].up, 0, 0);
            b.add(const_cast<bf16*>(x.down) + per * e, true, per, &mo->experts[e].down, 0, 0);
            if (has_bias) {
              b.add(const_cast<float*>(x.up_b) + std::int64_t(width) * e, false, width, &mo->experts[e].up_bias, 0, 0);
              b.add(const_cast<float*>(x.down_b) + std::int64_t(e_dim) * e, false, e_dim, &mo->experts[e].down_bias, 0, 0);
            }
          }
        }
        if (L.shared.up.w && latent == 0) {
          x.shared_up = L.shared.up.w;
          x.shared_up_b = L.shared.up.b;
          x.shared_down = L.shared.down.w;
          x.shared_down_b = L.shared.down.b;
          x.shared_width = L.shared.up.rows;
        }
        decode += fixed + std::uint64_t(cfg.num_experts_per_tok) * per * 2 * 2;
        break;
      }
    }
  }
  m.decode_weight_bytes = decode;
  m.arena_bytes = b.size();
  return b.size();
}

}  // namespace logitscope::cuda
