// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope-cli inspect: inside every layer at one position of a prompt: each router's scores for
// all experts with the selection scores, the choice, its margin and entropy; each Mamba layer's time
// steps and state norms over all positions; each attention layer's weights of that position over
// the earlier ones (per head, per KV group, averaged).
#include <iostream>

#include "args.h"
#include "command.h"
#include "json_output.h"
#include "logitscope/errors.h"
#include "logitscope/inspect.h"
#include "model_options.h"

namespace logitscope::cli {
namespace {

std::vector<float> row(const std::vector<float>& data, std::int64_t index, std::int64_t width) {
  return std::vector<float>(data.begin() + index * width, data.begin() + (index + 1) * width);
}

int run_inspect(const std::vector<std::string>& words) {
  const Args args(words, merge({kModelOptions, {"ids", "pos"}}), {});
  const std::vector<TokenId> ids = parse_id_list(args.require("ids"), "--ids");
  if (ids.empty()) throw Error("--ids is empty (expected ids such as 5,17,42)");
  const std::int64_t pos = args.get_int("pos", std::int64_t(ids.size()) - 1);
  if (pos < 0 || pos >= std::int64_t(ids.size())) throw Error("option --pos must be a position of the ids (0.." + std::to_string(ids.size() - 1) + ")");
  LoadOptions options = load_options_from(args);
  options.load_tokenizer = false;
  options.max_context = std::max<std::int64_t>(options.max_context, std::int64_t(ids.size()));
  auto model = Model::load(options);
  InspectOptions inspect;
  inspect.attention_rows = {pos};  // only the row printed: a long prompt's full maps would not fit
  const PromptInternals in = inspect_prompt(*model, ids, inspect);
  const std::int64_t T = in.positions;

  nlohmann::json routers = nlohmann::json::array();
  for (std::size_t r = 0; r < in.routers.size(); ++r) {
    const RoutingSlice& choice = in.routing[std::size_t(pos)][r];
    routers.push_back({{"layer", in.routers[r].layer},
                       {"scores", row(in.routers[r].scores, pos, in.experts)},
                       {"selection", row(in.routers[r].selection, pos, in.experts)},
                       {"experts", choice.experts},
                       {"weights", choice.weights},
                       {"margin", choice.margin},
                       {"entropy", router_entropy(in.routers[r], in.experts, pos)}});
  }
  nlohmann::json mambas = nlohmann::json::array();
  for (const MambaInternals& m : in.mambas) {
    nlohmann::json dt = nlohmann::json::array(), norm = nlohmann::json::array();
    for (std::int64_t t = 0; t < T; ++t) {
      dt.push_back(row(m.dt, t, in.mamba_heads));
      norm.push_back(row(m.state_norm, t, in.mamba_heads));
    }
    mambas.push_back({{"layer", m.layer}, {"dt", dt}, {"state_norm", norm}});
  }
  nlohmann::json attentions = nlohmann::json::array();
  const int heads = in.attention_heads, group = in.attention_kv_heads > 0 ? heads / in.attention_kv_heads : 1;
  for (const AttentionInternals& a : in.attentions) {
    nlohmann::json per_head = nlohmann::json::array(), per_group = nlohmann::json::array();
    std::vector<float> mean(std::size_t(pos + 1), 0.0f);
    std::vector<std::vector<float>> groups(std::size_t(heads / std::max(group, 1)), std::vector<float>(std::size_t(pos + 1), 0.0f));
    for (int h = 0; h < heads; ++h) {
      const float* at = a.row(h, pos, T);  // [T]
      std::vector<float> w(at, at + pos + 1);
      for (std::int64_t s = 0; s <= pos; ++s) {
        mean[std::size_t(s)] += w[std::size_t(s)] / float(heads);
        groups[std::size_t(h / group)][std::size_t(s)] += w[std::size_t(s)] / float(group);
      }
      per_head.push_back(w);
    }
    for (const auto& g : groups) per_group.push_back(g);
    attentions.push_back({{"layer", a.layer}, {"heads", per_head}, {"kv_groups", per_group}, {"mean", mean}});
  }
  std::cout << dump_json({{"pos", pos}, {"routers", routers}, {"mamba", mambas}, {"attention", attentions}}) << "\n";
  return 0;
}

const CommandRegistration registration{{
    "inspect",
    "inside every layer at one position: router scores, Mamba time steps, attention weights (JSON)",
    std::string("usage: logitscope-cli inspect --model M --ids 1,2,3 [--pos P] [model options]\n\n"
                "One prompt forward over the ids. Prints {\"pos\": P, \"routers\": [{layer, scores [experts]\n"
                "(sigmoid), selection [experts] (scores + correction bias), experts, weights, margin, entropy}],\n"
                "\"mamba\": [{layer, dt [positions][heads] (softplus(dt_raw + dt_bias)), state_norm [positions]\n"
                "[heads]}], \"attention\": [{layer, heads [heads][P + 1], kv_groups [kv][P + 1], mean [P + 1]}]}:\n"
                "the weights position P gives every position up to itself (the CPU backend).\n\n") +
        kModelOptionsUsage,
    run_inspect,
}};

}  // namespace
}  // namespace logitscope::cli
