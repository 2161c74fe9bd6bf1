// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine_worker.h"

#include <QThread>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "logitscope/errors.h"
#include "logitscope/evaluate.h"
#include "logitscope/model.h"
#include "logitscope/session.h"
#include "logitscope/tokenizer.h"
#include "model_locator.h"
#include "prompt_builder.h"

namespace logitscope::gui {
namespace {

SamplingParams to_sampling(const GenerationSettings& s) {
  SamplingParams p;
  p.greedy = s.temperature <= 0.0;
  p.temperature = float(s.temperature);
  p.top_k = s.top_k;
  p.top_p = float(s.top_p);
  p.min_p = float(s.min_p);
  p.seed = s.seed;
  return p;
}

QString stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::MaxTokens: return QStringLiteral("max_tokens");
    case StopReason::StopToken: return QStringLiteral("stop_token");
    case StopReason::Cancelled: return QStringLiteral("cancelled");
    case StopReason::ContextFull: return QStringLiteral("context_full");
  }
  return QStringLiteral("unknown");
}

}  // namespace

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

LoadOptions load_options(const LoadRequest& request) {
  LoadOptions options;
  options.snapshot.model = request.model.toStdString();
  options.snapshot.revision = request.revision.isEmpty() ? std::string("main") : request.revision.toStdString();
  options.snapshot.cache_dir = request.cache_dir.toStdString();
  options.backend = parse_backend_kind(request.backend.toStdString().c_str());
  options.max_context = request.max_context;
  options.threads = request.threads;
  options.synthetic_config = request.synthetic_config.toStdString();
  if (!request.quantize.isEmpty()) options.quantize = parse_weight_format(request.quantize.toStdString());
  return options;
}

ModelSummary model_summary(const Model& model, const LoadRequest& request, std::int64_t max_context) {
  const ModelInfo& info = model.info();
  const ModelConfig& config = info.config;
  ModelSummary summary;
  summary.model = request.synthetic_config.isEmpty() ? request.model : request.synthetic_config;
  summary.snapshot_dir = QString::fromStdString(info.snapshot_dir.string());
  summary.backend = request.backend;
  summary.device_name = QString::fromStdString(info.device_name);
  summary.pattern = QString::fromStdString(config.pattern());
  summary.is_demo = is_demo_model(summary.snapshot_dir);
  summary.has_tokenizer = model.tokenizer() != nullptr;
  summary.has_template = model.chat_template() != nullptr;
  if (const Tokenizer* tokenizer = model.tokenizer()) {
    summary.can_think = tokenizer->token_to_id("<think>") && tokenizer->token_to_id("</think>");
  }
  summary.num_layers = int(config.layers.size());
  for (int i = 0; i < int(config.layers.size()); ++i) {
    if (config.layers[i] == LayerKind::Moe) summary.moe_layers.push_back(i);
  }
  summary.num_experts = config.n_routed_experts;
  summary.experts_per_tok = config.num_experts_per_tok;
  summary.vocab_size = config.vocab_size;
  summary.max_context = max_context;
  summary.parameter_count = info.parameter_count;
  summary.device_bytes = info.device_bytes;
  summary.weight_format = QString::fromStdString(info.weight_format);
  summary.bytes_per_token = info.decode_bytes_per_token;
  summary.floor_tokens_per_second = info.decode_floor_tokens_per_second();
  summary.memory_plan = QString::fromStdString(info.device_memory_plan);
  return summary;
}

EngineWorker::EngineWorker() = default;

EngineWorker::~EngineWorker() {
  session_.reset();  // the session refers to the model
  second_.reset();
  model_.reset();
}

void EngineWorker::unload() {
  session_.reset();
  // The second model was let in beside this one (its vocabulary, the memory left): it goes with it.
  const bool had_second = second_ != nullptr;
  second_.reset();
  if (had_second) emit second_unloaded();
  model_.reset();
  labelled_.clear();
}

void EngineWorker::load(const LoadRequest& request) {
  unload();
  try {
    const LoadOptions options = load_options(request);
    const std::stop_token stop = request.stop;
    model_ = Model::load(options, [this, stop](const LoadProgress& progress) {
      emit load_progress({QString::fromStdString(progress.stage), progress.bytes_done, progress.bytes_total});
      return !stop.stop_requested();
    });
    quantized_on_load_ = !request.quantize.isEmpty();
    session_ = std::make_unique<Session>(*model_);
    emit loaded(model_summary(*model_, request, session_->max_context()));
  } catch (const std::exception& error) {
    unload();
    emit load_failed(QString::fromStdString(error.what()));
  }
}

void EngineWorker::evaluate(const EvaluateRequest& request) {
  try {
    if (!model_) throw Error("no model is loaded");
    const Tokenizer* tokenizer = model_->tokenizer();
    workbench::ScoredText out;
    if (!request.text.isEmpty()) {
      const std::string text = request.text.toStdString();
      out.ids = tokenizer ? tokenizer->encode(text, false) : text_to_ids_without_tokenizer(text, model_->config().vocab_size);
      out.source = request.source.isEmpty() ? QStringLiteral("text") : request.source;
    } else {
      out.ids = build_prompt(*model_, request.turns, request.enable_thinking).ids;
      out.source = QStringLiteral("conversation");
    }
    if (out.ids.size() < 2) throw Error("scoring needs a text of at least two tokens");
    if (std::int64_t(out.ids.size()) > model_->max_context())
      throw Error("the text has " + std::to_string(out.ids.size()) + " tokens, more than the context of " +
                  std::to_string(model_->max_context()));
    const auto started = std::chrono::steady_clock::now();
    const TextScore score = evaluate_text(
        *model_, out.ids, request.top_k,
        [&](const TokenScore& s) { out.scored.push_back({s.id, s.logprob, s.entropy, s.rank, s.top_k}); }, 512,
        request.stop);
    out.total_nll = score.total_nll;
    out.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    if (tokenizer) {
      for (TokenId id : out.ids) out.bytes.push_back(tokenizer->token_bytes(id));
      for (const auto& s : out.scored)
        for (const auto& e : s.top_k)
          if (!out.labels.count(e.id)) out.labels.emplace(e.id, tokenizer->token_bytes(e.id));
    }
    emit evaluated(EvaluateResult{request.id, std::move(out)});
  } catch (const std::exception& error) {
    emit evaluate_failed(request.id, QString::fromUtf8(error.what()));
  }
}

void EngineWorker::generate(const GenerateRequest& request) {
  GenerationStats stats;
  stats.request = request.id;
  if (!session_) {
    emit failed(request.id, tr("No model is loaded. Open one with File > Open Model."));
    return;
  }
  pending_ = TokenBatch{request.id, {}, {}};
  since_emit_.start();
  try {
    run_request(request, &stats);
    emit_batch(true);
    emit finished(stats);
  } catch (const std::exception& error) {
    emit_batch(true);  // what was generated before the error stays in the conversation
    const bool cancelled = dynamic_cast<const Cancelled*>(&error) != nullptr;
    if (cancelled) {
      stats.stop_reason = QStringLiteral("cancelled");
      emit finished(stats);
    } else {
      emit failed(request.id, QString::fromStdString(error.what()));
    }
  }
}

PromptInfo EngineWorker::sync_session(const std::vector<TokenId>& target) {
  const auto& current = session_->tokens();
  std::size_t common = 0;
  while (common < current.size() && common < target.size() && current[common] == target[common]) ++common;
  PromptInfo info;
  info.reused = std::int64_t(common);
  if (common < current.size()) {
    if (common == 0) session_->reset();
    else session_->rewind_to(std::int64_t(common));
    info.replayed = session_->last_replay_length();
  }
  session_->prefill(std::span<const TokenId>(target).subspan(common));
  return info;
}

void EngineWorker::run_request(const GenerateRequest& request, GenerationStats* stats) {
  const BuiltPrompt prompt = build_prompt(*model_, request.turns, request.enable_thinking);
  if (prompt.ids.empty()) throw Error("the prompt is empty: write a message first");
  std::vector<TokenId> target = prompt.ids;
  target.insert(target.end(), request.prefix.begin(), request.prefix.end());

  // The branch's interventions, from the prompt's end + their reply position on (refused here,
  // before anything runs, when they do not fit the model).
  Interventions interventions = request.interventions;
  if (!interventions.empty()) interventions.from_position += std::int64_t(prompt.ids.size());
  session_->set_interventions(interventions);

  const auto started = std::chrono::steady_clock::now();
  PromptInfo info = sync_session(target);
  info.request = request.id;
  info.prompt_length = std::int64_t(prompt.ids.size());
  info.starts_in_thinking = prompt.starts_in_thinking;
  emit prompt_ready(info);
  session_->flush(request.stop);
  stats->prefill_ms = ms_since(started);

  const SamplingParams sampling = to_sampling(request.settings);
  ProbeOptions probe;
  probe.top_k = std::clamp(request.settings.probe_top_k, 0, 50);
  probe.routing = true;
  auto record = [&](const TokenEvent& event) {
    auto labels = new_labels(event);
    pending_.labels.insert(pending_.labels.end(), labels.begin(), labels.end());
    pending_.events.push_back(event);
    ++stats->tokens;
    emit_batch(false);
  };

  const auto decode_started = std::chrono::steady_clock::now();
  int remaining = request.steps >= 0 ? request.steps : request.settings.max_new_tokens;
  bool stopped_on_eos = false;
  if (request.forced && remaining > 0) {
    const TokenEvent event = session_->step(sampling, probe, request.forced, request.stop);
    record(event);
    stats->time_to_first_token_ms = ms_since(started);
    --remaining;
    stopped_on_eos = event.end_of_turn;
  }
  if (request.steps >= 0) {
    // Stepping: one token at a time so the caller can look at each before the next.
    while (remaining > 0 && !stopped_on_eos && !request.stop.stop_requested()) {
      const TokenEvent event = session_->step(sampling, probe, std::nullopt, request.stop);
      if (stats->tokens == 0) stats->time_to_first_token_ms = ms_since(started);
      record(event);
      --remaining;
      stopped_on_eos = event.end_of_turn;
    }
    stats->stop_reason = request.stop.stop_requested() ? QStringLiteral("cancelled")
                         : stopped_on_eos               ? QStringLiteral("stop_token")
                                                        : QStringLiteral("steps");
  } else if (!stopped_on_eos && remaining > 0) {
    GenerateOptions options;
    options.max_new_tokens = remaining;
    options.thinking_budget = request.settings.thinking_budget;
    options.starts_in_thinking = prompt.starts_in_thinking;
    if (const Tokenizer* tokenizer = model_->tokenizer()) {
      options.think_start_id = tokenizer->token_to_id("<think>").value_or(-1);
      options.think_end_id = tokenizer->token_to_id("</think>").value_or(-1);
    }
    const GenerateResult result = session_->generate(options, sampling, probe, [&](const TokenEvent& event) {
      if (stats->tokens == 0) stats->time_to_first_token_ms = ms_since(started);
      record(event);
      return !request.stop.stop_requested();
    }, request.stop);
    stats->stop_reason = stop_reason_name(result.reason);
    if (result.time_to_first_token_ms > 0 && !request.forced) stats->time_to_first_token_ms = stats->prefill_ms + result.time_to_first_token_ms;
  } else {
    stats->stop_reason = stopped_on_eos ? QStringLiteral("stop_token") : QStringLiteral("max_tokens");
  }
  stats->decode_ms = ms_since(decode_started);
  stats->prompt_tokens = std::int64_t(prompt.ids.size());
  stats->context_used = session_->length();
  stats->context_max = session_->max_context();
  if (stats->decode_ms > 0) stats->tokens_per_second = stats->tokens * 1000.0 / stats->decode_ms;

  if (request.preview_next && !request.stop.stop_requested() && !stopped_on_eos) {
    emit_batch(true);
    emit preview(compute_preview(request.id, probe.top_k, request.stop));
  }
}

NextPreview EngineWorker::compute_preview(std::uint64_t request, int top_k, const std::stop_token& stop) {
  // The distribution after the current sequence, before anything is chosen. The session computes
  // it where the logits are (on the GPU for CUDA) and returns only the top-k and the entropy.
  ProbeOptions probe;
  probe.top_k = std::max(top_k, 1);
  probe.routing = false;
  const NextTokenPreview next = session_->peek(probe, stop);
  NextPreview preview;
  preview.request = request;
  preview.entropy = next.entropy;
  preview.top_k = next.top_k;
  preview.labels = new_labels(preview.top_k);
  return preview;
}

std::vector<std::pair<TokenId, std::string>> EngineWorker::new_labels(const std::vector<TopKEntry>& top_k) {
  std::vector<std::pair<TokenId, std::string>> out;
  const Tokenizer* tokenizer = model_ ? model_->tokenizer() : nullptr;
  if (!tokenizer) return out;  // the GUI shows <id>
  for (const auto& entry : top_k) {
    if (labelled_.insert(entry.id).second) out.emplace_back(entry.id, tokenizer->token_bytes(entry.id));
  }
  return out;
}

std::vector<std::pair<TokenId, std::string>> EngineWorker::new_labels(const TokenEvent& event) {
  auto out = new_labels(event.top_k);
  if (model_ && model_->tokenizer() && labelled_.insert(event.id).second) out.emplace_back(event.id, event.bytes);
  return out;
}

void EngineWorker::emit_batch(bool force) {
  if (pending_.events.empty() && pending_.labels.empty()) return;
  if (!force && since_emit_.elapsed() < 15) return;
  emit tokens(pending_);
  pending_.events.clear();
  pending_.labels.clear();
  since_emit_.restart();
}

}  // namespace logitscope::gui
