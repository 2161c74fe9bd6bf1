// SPDX-License-Identifier: GPL-3.0-or-later
// The fp32 CPU reference backend: readable, threaded, and the yardstick the CUDA backend is
// checked against. Weights stay in the memory-mapped files; only small per-layer tensors are
// converted to float up front.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "backend/backend.h"
#include "backend/cpu/cpu_layers.h"
#include "backend/cpu/linear.h"
#include "backend/cpu/thread_pool.h"
#include "logitscope/errors.h"
#include "session/sampler.h"

namespace logitscope {

namespace cpu {

PreparedLayer prepare_layer(const ModelConfig& c, const LayerWeights& w) {
  PreparedLayer p;
  p.norm = w.norm.to_float();
  if (w.kind == LayerKind::Mamba) {
    p.conv_weight = w.mamba.conv_weight.to_float();  // [conv_dim, 1, K] == [conv_dim, K]
    p.conv_bias = w.mamba.conv_bias.present() ? w.mamba.conv_bias.to_float()
                                              : std::vector<float>(static_cast<std::size_t>(c.mamba_conv_dim()), 0.0f);
    p.dt_bias = w.mamba.dt_bias.to_float();
    p.A = w.mamba.A_log.to_float();
    for (float& a : p.A) a = -std::exp(a);
    p.D = w.mamba.D.to_float();
    p.gated_norm = w.mamba.gated_norm.to_float();
  } else if (w.kind == LayerKind::Moe) {
    p.correction_bias = w.moe.correction_bias.to_float();
  }
  return p;
}

}  // namespace cpu

namespace {

using cpu::KvCache;
using cpu::MambaState;

class CpuState : public BackendState {
 public:
  std::vector<MambaState> mamba;          // [layers], empty for non-Mamba layers
  std::vector<KvCache> kv;                // [layers], empty for non-attention layers
  std::vector<float> logits;              // [rows, vocab] of the last forward
  std::int64_t logit_rows = 0;
  std::vector<std::vector<RoutingSlice>> routing;  // [rows][moe layers] of the last forward
  std::vector<float> lens;                // [layers, vocab] logit lens of the last row (lens_last)
  PromptInternals internals;              // of the last forward (capture_internals)
};

class CpuCheckpoint : public RecurrentCheckpoint {
 public:
  std::vector<MambaState> mamba;
  std::uint64_t bytes() const override {
    std::uint64_t total = 0;
    for (const auto& m : mamba) total += (m.conv.size() + m.ssm.size()) * sizeof(float);
    return total;
  }
};

class CpuBackend : public Backend {
 public:
  CpuBackend(const ModelConfig& config, ModelWeights weights, int threads)
      : config_(config), weights_(std::move(weights)), pool_(threads) {
    for (const LayerWeights& layer : weights_.layers) prepared_.push_back(cpu::prepare_layer(config_, layer));
    norm_f_ = weights_.norm_f.to_float();
  }

  std::string device_name() const override {
    return "CPU (" + std::to_string(pool_.size()) + " thread" + (pool_.size() > 1 ? "s" : "") + ")";
  }
  std::uint64_t device_bytes() const override { return 0; }  // weights stay in the mapped files

  std::unique_ptr<BackendState> create_state(std::int64_t max_context) override {
    auto state = std::make_unique<CpuState>();
    state->max_context = max_context;
    const auto& c = config_;
    state->mamba.resize(c.layers.size());
    state->kv.resize(c.layers.size());
    for (std::size_t i = 0; i < c.layers.size(); ++i) {
      if (c.layers[i] == LayerKind::Mamba) {
        state->mamba[i].conv.assign(static_cast<std::size_t>(c.mamba_conv_dim() * (c.conv_kernel - 1)), 0.0f);
        state->mamba[i].ssm.assign(
            static_cast<std::size_t>(std::int64_t(c.mamba_num_heads) * c.mamba_head_dim * c.ssm_state_size), 0.0f);
      } else if (c.layers[i] == LayerKind::Attention) {
        const std::size_t n = static_cast<std::size_t>(std::int64_t(c.num_key_value_heads) * max_context * c.head_dim);
        try {
          state->kv[i].k.assign(n, 0.0f);
          state->kv[i].v.assign(n, 0.0f);
        } catch (const std::bad_alloc&) {
          throw Error("out of memory allocating the KV cache for " + std::to_string(max_context) +
                      " tokens; lower the context length");
        }
      }
    }
    return state;
  }

  void forward(BackendState& base, std::span<const TokenId> tokens, const ForwardOptions& options,
               std::stop_token stop) override {
    auto& state = static_cast<CpuState&>(base);
    const auto& c = config_;
    const std::int64_t T = static_cast<std::int64_t>(tokens.size()), H = c.hidden_size;
    if (T == 0) return;
    if (state.fed + T > state.max_context)
      throw Error("the sequence would reach " + std::to_string(state.fed + T) + " tokens, past the context of " +
                  std::to_string(state.max_context));
    check_token_ids(tokens, c.vocab_size);

    std::vector<float> h(static_cast<std::size_t>(T * H));  // [T, hidden] residual stream
    for (std::int64_t t = 0; t < T; ++t) weights_.embeddings.to_float(h.data() + t * H, std::int64_t(tokens[t]) * H, H);
    std::vector<float> normed(h.size()), mixed(h.size());  // [T, hidden]
    const bool keep_routing_rows = options.capture_routing;
    std::vector<std::vector<RoutingSlice>> routing(static_cast<std::size_t>(T));
    std::vector<RoutingSlice> layer_routing(static_cast<std::size_t>(T));
    std::vector<float> residuals;  // [layers, hidden]: the last row after every layer (lens_last)
    const bool capture = options.capture_internals;
    PromptInternals internals;
    if (capture) {
      internals.positions = T;
      internals.experts = c.n_routed_experts;
      internals.mamba_heads = c.mamba_num_heads;
      internals.attention_heads = c.num_attention_heads;
      internals.attention_kv_heads = c.num_key_value_heads;
    }

    // Rows >= first_intervened carry the interventions; a skipped layer runs its mixer on the rows
    // before them only (so its state and cache see just those) and passes the others through. A
    // layer skipped for some rows leaves no internals (they would not cover every row).
    const std::int64_t first_intervened = first_intervened_row(options.interventions, state.fed, T);
    const Interventions* intervened = first_intervened < T ? options.interventions : nullptr;
    for (std::size_t l = 0; l < c.layers.size(); ++l) {
      if (stop.stop_requested()) throw Cancelled("cancelled during the forward pass");
      const LayerWeights& w = weights_.layers[l];
      const cpu::PreparedLayer& p = prepared_[l];
      const std::int64_t rows = intervened && intervened->skips(int(l)) ? first_intervened : T;
      if (rows == 0) {
        if (options.lens_last) residuals.insert(residuals.end(), h.end() - H, h.end());
        continue;
      }
      std::fill(mixed.begin() + rows * H, mixed.end(), 0.0f);
      for (std::int64_t t = 0; t < rows; ++t)
        cpu::rms_norm(h.data() + t * H, p.norm.data(), H, c.layer_norm_epsilon, normed.data() + t * H);
      switch (w.kind) {
        case LayerKind::Mamba: {
          cpu::MambaCapture mc;
          cpu::mamba2_forward(pool_, c, w.mamba, p, state.mamba[l], normed.data(), rows, state.fed > 0 && rows == 1,
                              mixed.data(), capture ? &mc : nullptr);
          if (capture && rows == T) internals.mambas.push_back({int(l), std::move(mc.dt), std::move(mc.state_norm)});
          break;
        }
        case LayerKind::Attention: {
          cpu::AttentionCapture ac;
          ac.rows = options.attention_rows;
          const bool keep = capture && options.capture_attention && state.fed == 0;
          cpu::attention_forward(pool_, c, w.attention, state.kv[l], state.max_context, state.fed, normed.data(), rows,
                                 mixed.data(), keep ? &ac : nullptr);
          if (keep && rows == T)
            internals.attentions.push_back(
                {int(l), options.attention_rows ? *options.attention_rows : std::vector<std::int64_t>{}, std::move(ac.weights)});
          break;
        }
        case LayerKind::Moe: {
          cpu::RouterCapture rc;
          cpu::moe_forward(pool_, c, w.moe, p, static_cast<int>(l), normed.data(), rows, mixed.data(),
                           keep_routing_rows || capture ? layer_routing.data() : nullptr, capture ? &rc : nullptr,
                           intervened, first_intervened);
          if (capture && rows == T) internals.routers.push_back({int(l), std::move(rc.scores), std::move(rc.selection)});
          if (keep_routing_rows || capture)
            for (std::int64_t t = 0; t < rows; ++t) routing[t].push_back(std::move(layer_routing[t]));
          break;
        }
        case LayerKind::Mlp:
          cpu::feed_forward(pool_, w.mlp, H, normed.data(), rows, mixed.data());
          break;
      }
      for (std::size_t i = 0; i < h.size(); ++i) h[i] += mixed[i];
      if (options.lens_last) residuals.insert(residuals.end(), h.end() - H, h.end());
    }
    state.fed += T;
    if (capture) {
      internals.routing = routing;
      state.internals = std::move(internals);
    }
    state.lens.clear();
    if (options.lens_last) {
      const std::int64_t L = std::int64_t(c.layers.size());
      std::vector<float> normed_rows(residuals.size());  // [layers, hidden]
      for (std::int64_t l = 0; l < L; ++l)
        cpu::rms_norm(residuals.data() + l * H, norm_f_.data(), H, c.layer_norm_epsilon, normed_rows.data() + l * H);
      state.lens.assign(static_cast<std::size_t>(L * c.vocab_size), 0.0f);
      cpu::linear(pool_, weights_.lm_head, TensorView{}, normed_rows.data(), L, state.lens.data());
    }

    // Final norm and the vocabulary projection, for the rows asked for.
    const std::int64_t first_row = options.all_logits ? 0 : T - 1;
    const std::int64_t rows = T - first_row;
    std::vector<float> last(static_cast<std::size_t>(rows * H));
    for (std::int64_t r = 0; r < rows; ++r)
      cpu::rms_norm(h.data() + (first_row + r) * H, norm_f_.data(), H, c.layer_norm_epsilon, last.data() + r * H);
    state.logits.assign(static_cast<std::size_t>(rows * c.vocab_size), 0.0f);
    cpu::linear(pool_, weights_.lm_head, TensorView{}, last.data(), rows, state.logits.data());
    state.logit_rows = rows;
    state.routing.clear();
    if (keep_routing_rows)
      for (std::int64_t r = first_row; r < T; ++r) state.routing.push_back(std::move(routing[r]));
  }

  std::vector<float> logits(BackendState& base) override { return static_cast<CpuState&>(base).logits; }
  bool captures_internals() const override { return true; }
  PromptInternals internals(BackendState& base) override {
    auto& state = static_cast<CpuState&>(base);
    if (state.internals.positions == 0) throw Error("no internals: run a forward with capture_internals first");
    return state.internals;
  }
  std::vector<float> lens_logits(BackendState& base) override {
    auto& state = static_cast<CpuState&>(base);
    if (state.lens.empty()) throw Error("no logit lens: run a forward with lens_last first");
    return state.lens;
  }

  std::vector<RoutingSlice> routing(BackendState& base) override {
    auto& state = static_cast<CpuState&>(base);
    return state.routing.empty() ? std::vector<RoutingSlice>{} : state.routing.back();
  }
  std::vector<std::vector<RoutingSlice>> routing_all(BackendState& base) override {
    return static_cast<CpuState&>(base).routing;
  }

  ChoiceResult choose(BackendState& base, const ChoiceRequest& request) override {
    auto& state = static_cast<CpuState&>(base);
    if (state.logit_rows == 0) throw Error("no logits yet: run a forward pass first");
    const std::size_t V = static_cast<std::size_t>(config_.vocab_size);
    return choose_from_logits(std::span<const float>(state.logits).subspan(state.logits.size() - V, V), request);
  }

  std::unique_ptr<RecurrentCheckpoint> checkpoint(const BackendState& base) override {
    const auto& state = static_cast<const CpuState&>(base);
    auto cp = std::make_unique<CpuCheckpoint>();
    cp->fed = state.fed;
    cp->mamba = state.mamba;
    return cp;
  }

  void restore(BackendState& base, const RecurrentCheckpoint& checkpoint) override {
    auto& state = static_cast<CpuState&>(base);
    const auto& cp = static_cast<const CpuCheckpoint&>(checkpoint);
    state.mamba = cp.mamba;
    state.fed = cp.fed;  // attention caches: positions >= fed are simply overwritten later
    state.logits.clear();
    state.logit_rows = 0;
    state.routing.clear();
  }

  void reset(BackendState& base) override {
    auto& state = static_cast<CpuState&>(base);
    for (auto& m : state.mamba) {
      std::fill(m.conv.begin(), m.conv.end(), 0.0f);
      std::fill(m.ssm.begin(), m.ssm.end(), 0.0f);
    }
    state.fed = 0;
    state.logits.clear();
    state.logit_rows = 0;
    state.routing.clear();
  }

 private:
  ModelConfig config_;
  ModelWeights weights_;
  ThreadPool pool_;
  std::vector<cpu::PreparedLayer> prepared_;
  std::vector<float> norm_f_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const ModelConfig& config, ModelWeights weights, int threads) {
  return std::make_unique<CpuBackend>(config, std::move(weights), threads);
}

}  // namespace logitscope
