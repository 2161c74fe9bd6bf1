// SPDX-License-Identifier: GPL-3.0-or-later
// Traces: a chunked teacher-forced pass that keeps, per token, the predicted view (log-probability,
// rank, entropy, top-k) and the forward view (routing; internals on request), and the files a
// notebook reads (docs/traces.md).
#include "logitscope/trace.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "backend/backend.h"
#include "logitscope/errors.h"
#include "logitscope/tokenizer.h"
#include "session/distribution.h"
#include "session/npy_writer.h"

namespace logitscope {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// The predicted view of token `id` from one row of logits [vocab].
void predict(Trace& tr, std::size_t t, const float* row, std::int64_t V) {
  TokenScore s = score_token(row, V, std::int64_t(t), tr.ids[t], tr.top_k);
  tr.logprob[t] = s.logprob;
  tr.entropy[t] = s.entropy;
  tr.rank[t] = s.rank;
  tr.top[t] = std::move(s.top_k);
}

nlohmann::json finite_or_null(float x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

}  // namespace

Trace trace_tokens(const Model& model, std::span<const TokenId> ids, const TraceOptions& options, std::stop_token stop) {
  const ModelConfig& c = model.config();
  if (ids.empty()) throw Error("trace needs at least one token");
  if (std::int64_t(ids.size()) > model.max_context())
    throw Error("trace: the text is " + std::to_string(ids.size()) + " tokens, more than the context the model was loaded with (" +
                std::to_string(model.max_context()) + "; --max-context)");
  if (options.top_k < 1 || options.top_k > 50) throw Error("trace: top-k must be in 1..50");
  if (options.chunk < 1) throw Error("trace: the chunk must be at least one token");
  check_token_ids(ids, c.vocab_size);
  validate(options.interventions, c);

  const std::size_t T = ids.size();
  const std::int64_t V = c.vocab_size;
  Trace tr;
  tr.ids.assign(ids.begin(), ids.end());
  tr.top_k = options.top_k;
  tr.logprob.assign(T, kNaN);
  tr.entropy.assign(T, kNaN);
  tr.rank.assign(T, -1);
  tr.top.resize(T);
  tr.routing.resize(T);
  tr.model_name = model.info().snapshot_dir.filename().string();
  tr.weight_format = model.info().weight_format;
  tr.backend = model.info().device_name;
  tr.layer_pattern = c.pattern();
  tr.interventions = describe(options.interventions);
  tr.vocab_size = V;
  if (const Tokenizer* tok = model.tokenizer())
    for (TokenId id : ids) tr.texts.push_back(tok->decode(std::vector<TokenId>{id}, false));

  Backend& backend = model.backend();
  auto state = backend.create_state(model.max_context());
  // A backend that cannot capture internals says so before any forward runs.
  if (options.internals && !backend.captures_internals()) (void)backend.internals(*state);
  ForwardOptions forward;
  forward.all_logits = true;
  forward.capture_routing = true;
  forward.interventions = &options.interventions;
  // Row r of a chunk is the forward of ids[start + r]: its routing, and the prediction of the next id.
  for (std::size_t start = 0; start < T; start += std::size_t(options.chunk)) {
    const std::size_t n = std::min<std::size_t>(std::size_t(options.chunk), T - start);
    backend.forward(*state, ids.subspan(start, n), forward, stop);
    const std::vector<float> logits = backend.logits(*state);  // [n, vocab]
    std::vector<std::vector<RoutingSlice>> routing = backend.routing_all(*state);  // [n][MoE layers]
    for (std::size_t r = 0; r < n; ++r) {
      if (r < routing.size()) tr.routing[start + r] = std::move(routing[r]);
      if (start + r + 1 < T) predict(tr, start + r + 1, logits.data() + r * std::size_t(V), V);
    }
  }
  if (options.internals) {
    auto inner = backend.create_state(model.max_context());
    ForwardOptions capture;
    capture.capture_internals = true;
    capture.capture_routing = false;
    capture.interventions = &options.interventions;
    backend.forward(*inner, ids, capture, stop);
    tr.internals = backend.internals(*inner);
    tr.has_internals = true;
  }
  return tr;
}

void write_trace(const Trace& tr, const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create the trace folder " + dir.string() + ": " + ec.message());
  const std::int64_t T = std::int64_t(tr.ids.size());
  const std::int64_t K = tr.top_k;
  nlohmann::json arrays = nlohmann::json::object();
  auto note = [&](const std::string& name, const char* dtype, const std::vector<std::int64_t>& shape, const char* index) {
    arrays[name] = {{"file", name + ".npy"}, {"dtype", dtype}, {"shape", shape}, {"index", index}};
  };

  // trace.jsonl: one object per token.
  {
    std::ofstream out(dir / "trace.jsonl", std::ios::trunc);
    for (std::int64_t t = 0; t < T; ++t) {
      nlohmann::json top = nlohmann::json::array();
      for (const TopKEntry& e : tr.top[std::size_t(t)]) top.push_back({{"id", e.id}, {"prob", e.prob}, {"logprob", e.logprob}});
      nlohmann::json routing = nlohmann::json::array();
      for (const RoutingSlice& s : tr.routing[std::size_t(t)])
        routing.push_back({{"layer", s.layer}, {"experts", s.experts}, {"weights", s.weights}, {"margin", finite_or_null(s.margin)}});
      nlohmann::json line = {{"pos", t}, {"id", tr.ids[std::size_t(t)]}, {"logprob", finite_or_null(tr.logprob[std::size_t(t)])},
                             {"rank", tr.rank[std::size_t(t)]}, {"entropy", finite_or_null(tr.entropy[std::size_t(t)])},
                             {"top_k", top}, {"routing", routing}};
      if (!tr.texts.empty()) line["text"] = tr.texts[std::size_t(t)];
      out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    if (!out.flush()) throw Error("cannot write " + (dir / "trace.jsonl").string());
  }

  // Predicted view.
  std::vector<std::int32_t> ids(tr.ids.begin(), tr.ids.end()), rank(tr.rank.begin(), tr.rank.end());
  write_npy(dir / "ids.npy", ids, {T});
  note("ids", "int32", {T}, "[t]");
  write_npy(dir / "logprob.npy", tr.logprob, {T});
  note("logprob", "float32", {T}, "[t] log P(ids[t] | ids[<t]), NaN at t = 0");
  write_npy(dir / "entropy.npy", tr.entropy, {T});
  note("entropy", "float32", {T}, "[t] entropy (nats) of the distribution ids[t] was drawn from, NaN at t = 0");
  write_npy(dir / "rank.npy", rank, {T});
  note("rank", "int32", {T}, "[t] rank of ids[t] in that distribution (0 = best), -1 at t = 0");
  std::vector<std::int32_t> top_ids(std::size_t(T * K), -1);  // [T, K]
  std::vector<float> top_logprob(std::size_t(T * K), kNaN);   // [T, K]
  for (std::int64_t t = 0; t < T; ++t)
    for (std::size_t k = 0; k < tr.top[std::size_t(t)].size() && std::int64_t(k) < K; ++k) {
      top_ids[std::size_t(t * K) + k] = tr.top[std::size_t(t)][k].id;
      top_logprob[std::size_t(t * K) + k] = tr.top[std::size_t(t)][k].logprob;
    }
  write_npy(dir / "topk_ids.npy", top_ids, {T, K});
  note("topk_ids", "int32", {T, K}, "[t, k] the k-th best token of the distribution before ids[t], -1 at t = 0");
  write_npy(dir / "topk_logprob.npy", top_logprob, {T, K});
  note("topk_logprob", "float32", {T, K}, "[t, k] its log-probability, NaN at t = 0");

  // Forward view: routing, one column per MoE layer of the model (meta.moe_layers).
  std::vector<int> moe;
  for (std::size_t l = 0; l < tr.layer_pattern.size(); ++l)
    if (tr.layer_pattern[l] == 'E') moe.push_back(int(l));
  std::int64_t width = 0;  // the most experts any slice holds (a forced set may be wider than top-k)
  for (const auto& row : tr.routing)
    for (const RoutingSlice& s : row) width = std::max<std::int64_t>(width, std::int64_t(s.experts.size()));
  const std::int64_t M = std::int64_t(moe.size());
  std::vector<std::int32_t> experts(std::size_t(T * M * width), -1);  // [T, M, width]
  std::vector<float> weights(std::size_t(T * M * width), kNaN);       // [T, M, width]
  std::vector<float> margins(std::size_t(T * M), kNaN);               // [T, M]
  for (std::int64_t t = 0; t < T; ++t)
    for (const RoutingSlice& s : tr.routing[std::size_t(t)]) {
      const auto it = std::find(moe.begin(), moe.end(), s.layer);
      if (it == moe.end()) continue;
      const std::int64_t m = it - moe.begin();
      margins[std::size_t(t * M + m)] = s.margin;
      for (std::size_t i = 0; i < s.experts.size(); ++i) {
        experts[std::size_t((t * M + m) * width) + i] = s.experts[i];
        weights[std::size_t((t * M + m) * width) + i] = i < s.weights.size() ? s.weights[i] : kNaN;
      }
    }
  write_npy(dir / "routing_experts.npy", experts, {T, M, width});
  note("routing_experts", "int32", {T, M, width},
       "[t, m, i] the i-th expert MoE layer moe_layers[m] chose while reading ids[t]; -1 where it chose fewer or was skipped");
  write_npy(dir / "routing_weights.npy", weights, {T, M, width});
  note("routing_weights", "float32", {T, M, width}, "[t, m, i] its combine weight, NaN where no expert");
  write_npy(dir / "routing_margin.npy", margins, {T, M});
  note("routing_margin", "float32", {T, M}, "[t, m] selection-score gap between the last chosen and the first left out");

  nlohmann::json internal_layers = nlohmann::json::object();
  if (tr.has_internals) {
    const PromptInternals& in = tr.internals;
    auto stacked = [&](const std::string& name, const auto& entries, auto member, std::int64_t per_layer,
                       std::vector<std::int64_t> shape, const char* index) {
      std::vector<float> all;  // [layers, ...]
      std::vector<int> layers;
      for (const auto& e : entries) {
        const std::vector<float>& v = e.*member;
        if (std::int64_t(v.size()) != per_layer) continue;  // a layer skipped for some rows keeps none
        all.insert(all.end(), v.begin(), v.end());
        layers.push_back(e.layer);
      }
      shape.insert(shape.begin(), std::int64_t(layers.size()));
      write_npy(dir / (name + ".npy"), all, shape);
      note(name, "float32", shape, index);
      internal_layers[name] = layers;
    };
    const std::int64_t E = in.experts, Hm = in.mamba_heads, Ha = in.attention_heads;
    stacked("router_scores", in.routers, &RouterInternals::scores, T * E, {T, E},
            "[j, t, e] sigmoid router score of expert e in layer internal_layers.router_scores[j] for ids[t]");
    stacked("router_selection", in.routers, &RouterInternals::selection, T * E, {T, E},
            "[j, t, e] the selection score (score + correction bias) top-k ranks");
    stacked("mamba_dt", in.mambas, &MambaInternals::dt, T * Hm, {T, Hm},
            "[j, t, h] softplus(dt_raw + dt_bias) of head h in layer internal_layers.mamba_dt[j] at ids[t]");
    stacked("mamba_state_norm", in.mambas, &MambaInternals::state_norm, T * Hm, {T, Hm},
            "[j, t, h] L2 norm of head h's SSM state after reading ids[t]");
    stacked("attention", in.attentions, &AttentionInternals::weights, Ha * T * T, {Ha, T, T},
            "[j, h, q, k] attention weight of query position q on key position k (0 for k > q)");
  }

  const nlohmann::json meta = {{"format", "logitscope-trace"},
                               {"version", 1},
                               {"model", tr.model_name},
                               {"weight_format", tr.weight_format},
                               {"backend", tr.backend},
                               {"layers", tr.layer_pattern},
                               {"moe_layers", moe},
                               {"vocab_size", tr.vocab_size},
                               {"tokens", T},
                               {"top_k", K},
                               {"interventions", tr.interventions},
                               {"internals", tr.has_internals},
                               {"internal_layers", internal_layers},
                               {"arrays", arrays}};
  std::ofstream out(dir / "meta.json", std::ios::trunc);
  out << meta.dump(2) << "\n";
  if (!out.flush()) throw Error("cannot write " + (dir / "meta.json").string());
}

}  // namespace logitscope
