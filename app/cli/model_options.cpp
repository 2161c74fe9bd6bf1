// SPDX-License-Identifier: GPL-3.0-or-later
#include "model_options.h"

#include <nlohmann/json.hpp>

#include "logitscope/chat.h"
#include "logitscope/errors.h"
#include "logitscope/tokenizer.h"

namespace logitscope::cli {

const std::set<std::string> kModelOptions = {"model", "revision", "cache-dir", "backend", "threads", "max-context",
                                             "synthetic", "quantize"};
const char* const kModelOptionsUsage =
    "  --model M          a folder with config.json + safetensors, or a hub id in the local HF cache\n"
    "  --revision R       hub revision: commit hash or ref under refs/ (default main)\n"
    "  --cache-dir DIR    hub cache (default $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)\n"
    "  --backend B        cpu or cuda (default cpu)\n"
    "  --threads N        CPU backend threads (default: all cores)\n"
    "  --max-context N    tokens the caches hold (default 8192)\n"
    "  --synthetic CFG    instead of --model: random weights at the shape of config.json CFG, made on\n"
    "                     the GPU (--backend cuda), for speed tests without a download\n"
    "  --quantize F       fp8 or nvfp4: quantize a BF16 snapshot's Linear weights while loading\n"
    "                     (NVIDIA ModelOpt's rules and exclusions; `quantize` writes such a copy)\n";

const std::set<std::string> kSamplingOptions = {"temperature", "sample-top-k", "top-p", "min-p", "seed"};
const std::set<std::string> kSamplingFlags = {"greedy"};
const char* const kSamplingOptionsUsage =
    "  --greedy           take the most likely token (default when no sampling option is given)\n"
    "  --temperature T    sampling temperature (default 1; 0 = greedy)\n"
    "  --sample-top-k K   sample among the K most likely tokens (0 = all)\n"
    "  --top-p P          nucleus sampling (default 1)\n"
    "  --min-p P          drop tokens below P x the top probability (default 0)\n"
    "  --seed S           random seed (default 0)\n";

LoadOptions load_options_from(const Args& args) {
  LoadOptions options;
  if (auto config = args.get("synthetic")) {
    if (args.has("model")) throw Error("give --model or --synthetic, not both");
    options.synthetic_config = *config;
  } else {
    options.snapshot.model = args.require("model");
  }
  options.snapshot.revision = args.get_or("revision", "main");
  if (auto dir = args.get("cache-dir")) options.snapshot.cache_dir = *dir;
  options.backend = parse_backend_kind(args.get_or("backend", "cpu").c_str());
  options.threads = static_cast<int>(args.get_int("threads", 0));
  options.max_context = args.get_int("max-context", 8192);
  if (auto format = args.get("quantize")) options.quantize = parse_weight_format(*format);
  if (options.max_context <= 0) throw Error("option --max-context must be positive");
  return options;
}

SamplingParams sampling_from(const Args& args) {
  SamplingParams p;
  const bool any_sampling = args.has("temperature") || args.has("sample-top-k") || args.has("top-p") || args.has("min-p");
  p.greedy = args.has("greedy") || !any_sampling;
  if (args.has("greedy") && any_sampling) throw Error("--greedy cannot be combined with sampling options");
  p.temperature = static_cast<float>(args.get_double("temperature", 1.0));
  p.top_k = static_cast<int>(args.get_int("sample-top-k", 0));
  p.top_p = static_cast<float>(args.get_double("top-p", 1.0));
  p.min_p = static_cast<float>(args.get_double("min-p", 0.0));
  p.seed = static_cast<std::uint64_t>(args.get_int("seed", 0));
  if (p.temperature < 0) throw Error("option --temperature must be >= 0");
  if (p.top_k < 0) throw Error("option --sample-top-k must be >= 0");
  if (!(p.top_p > 0 && p.top_p <= 1)) throw Error("option --top-p must be in (0, 1]");
  if (!(p.min_p >= 0 && p.min_p <= 1)) throw Error("option --min-p must be in [0, 1]");
  return p;
}

std::set<std::string> merge(std::initializer_list<std::set<std::string>> sets) {
  std::set<std::string> out;
  for (const auto& s : sets) out.insert(s.begin(), s.end());
  return out;
}

std::vector<TokenId> scoring_ids(const Model& model, IdsOrText input, bool use_template) {
  if (input.text.empty()) return std::vector<TokenId>(input.ids.begin(), input.ids.end());
  const Tokenizer* tokenizer = model.tokenizer();
  if (!tokenizer) throw Error("the model has no tokenizer.json: use --ids");
  if (use_template) {
    const ChatTemplate* chat = model.chat_template();
    if (!chat) throw Error("the model has no chat template: drop --template");
    nlohmann::json messages = nlohmann::json::parse(input.text, nullptr, false);
    if (!messages.is_array()) messages = nlohmann::json::array({{{"role", "user"}, {"content", input.text}}});
    input.text = chat->render(messages, false, nlohmann::json::object());
  }
  return tokenizer->encode(input.text, false);
}

ScoringInput load_for_scoring(const Args& args) {
  LoadOptions options = load_options_from(args);
  ScoringInput in;
  in.model = Model::load(options);
  in.ids = scoring_ids(*in.model, ids_or_text(args), args.has("template"));
  if (std::int64_t(in.ids.size()) > in.model->max_context()) {
    options.max_context = std::int64_t(in.ids.size());
    in.model = Model::load(options);
  }
  return in;
}

}  // namespace logitscope::cli
