// SPDX-License-Identifier: GPL-3.0-or-later
// The engine worker's answers for "change it and compare": a second model loaded beside the first
// (refused before its weights are read when the vocabularies differ or both would not fit), the
// comparison of two forward passes over the conversation (compare_models: the Effect and Compare
// docks), and a trace of the conversation written as `logitscope-cli trace` writes one. Each runs its
// own prompt forwards; the session, and with it the conversation's KV cache, is left alone.
#include <QDir>

#include <algorithm>
#include <optional>
#include <chrono>
#include <cstddef>
#include <filesystem>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "engine_worker.h"
#include "logitscope/compare.h"
#include "logitscope/errors.h"
#include "logitscope/model.h"
#include "logitscope/tokenizer.h"
#include "logitscope/trace.h"

namespace logitscope::gui {
namespace {

// Physical memory of this machine (0 where it cannot be read: nothing is then refused for it).
std::uint64_t host_memory_bytes() {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGE_SIZE)
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0) return std::uint64_t(pages) * std::uint64_t(page);
#endif
  return 0;
}

// The weights as stored: every safetensors file of the snapshot (following the hub cache's links).
std::uint64_t snapshot_weight_bytes(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  const QDir qdir(QString::fromStdString(dir.string()));
  for (const QFileInfo& file : qdir.entryInfoList({QStringLiteral("*.safetensors")}, QDir::Files)) total += std::uint64_t(file.size());
  return total;
}

bool same_folder(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code error;
  return std::filesystem::equivalent(a, b, error);
}

// Reply-indexed interventions (as branches keep them) moved to the conversation's positions.
Interventions at_positions(Interventions interventions, std::int64_t prompt_length) {
  if (!interventions.empty()) interventions.from_position += prompt_length;
  return interventions;
}

std::string model_name(const Model& model) { return model.info().snapshot_dir.filename().string(); }

bool superseded(std::uint64_t id, const std::shared_ptr<const std::atomic<std::uint64_t>>& newest) {
  return newest && newest->load() != id;
}

}  // namespace

void EngineWorker::load_second(const LoadRequest& request) {
  if (second_) {
    second_.reset();
    emit second_unloaded();
  }
  try {
    if (!model_) throw Error("load a model first (File > Open Model): the second is compared with it");
    LoadOptions options = load_options(request);
    options.max_context = model_->max_context();  // compare_models reads both up to the same length
    const bool gpu = options.backend == BackendKind::Cuda;
    const bool same_device = options.backend == model_->info().backend;
    // What decides it is read from config.json and the file sizes alone, before any weight is.
    workbench::SecondModelFit fit;
    fit.vocab_a = model_->config().vocab_size;
    fit.gpu = gpu;
    fit.bytes_a = !same_device ? 0 : gpu ? model_->info().device_bytes : model_->info().weight_bytes;
    if (options.synthetic_config.empty()) {
      const std::filesystem::path dir = resolve_snapshot(options.snapshot);
      fit.vocab_b = load_model_config(dir / "config.json").vocab_size;
      fit.bytes_b = snapshot_weight_bytes(dir);
      // Same size is not same vocabulary: every id must name the same bytes in both tokenizers. A
      // tokenizer.json that does not read is left to the load, which names the file and the field.
      const Tokenizer* tokenizer_a = model_->tokenizer();
      if (tokenizer_a && std::filesystem::exists(dir / "tokenizer.json") && fit.vocab_a == fit.vocab_b) {
        std::unique_ptr<Tokenizer> tokenizer_b;
        try {
          tokenizer_b = Tokenizer::from_file(dir / "tokenizer.json");
        } catch (const Error&) {
        }
        if (tokenizer_b)
          if (const std::optional<TokenId> id = first_differing_token(*tokenizer_a, *tokenizer_b)) {
            fit.differing_id = *id;
            if (std::size_t(*id) < tokenizer_a->vocab_size()) fit.token_a = tokenizer_a->token_bytes(*id);
            if (std::size_t(*id) < tokenizer_b->vocab_size()) fit.token_b = tokenizer_b->token_bytes(*id);
          }
      }
      fit.shared_files = same_device && !gpu && same_folder(dir, model_->info().snapshot_dir) && !quantized_on_load_ &&
                         request.quantize.isEmpty();
    } else {
      fit.vocab_b = load_model_config(options.synthetic_config).vocab_size;
    }
    if (!gpu) fit.memory_bytes = host_memory_bytes();
    const QString refusal = workbench::second_model_refusal(fit);
    if (!refusal.isEmpty()) {
      emit second_load_failed(refusal);
      return;
    }
    try {
      second_ = Model::load(options, [this](const LoadProgress& progress) {
        emit second_load_progress({QString::fromStdString(progress.stage), progress.bytes_done, progress.bytes_total});
        return true;
      });
    } catch (const OutOfMemory& error) {
      second_.reset();
      emit second_load_failed(workbench::second_model_out_of_memory(fit, QString::fromUtf8(error.what())));
      return;
    }
    emit second_loaded(model_summary(*second_, request, second_->max_context()));
  } catch (const std::exception& error) {
    second_.reset();
    emit second_load_failed(QString::fromUtf8(error.what()));
  }
}

void EngineWorker::unload_second() {
  second_.reset();
  emit second_unloaded();
}

void EngineWorker::compare(const CompareRequest& request) {
  if (superseded(request.id, request.newest)) return;
  try {
    if (request.second_model && !second_) throw Error("no second model is loaded (File > Compare With Second Model)");
    workbench::ModelComparison out;
    out.ids = conversation_ids(request.conversation, &out.prompt_length);
    const Model& a = *model_;
    const Model& b = request.second_model ? *second_ : *model_;
    const auto started = std::chrono::steady_clock::now();
    out.tokens = compare_models(a, b, out.ids, request.top_k, at_positions(request.interventions_a, out.prompt_length),
                                at_positions(request.interventions_b, out.prompt_length));
    out.ms = ms_since(started);
    out.whole = summarize(out.tokens);
    // tokens[k] is position k + 1: the reply's start at prompt_length (the first position only conditions).
    const std::size_t first_reply = std::size_t(std::max<std::int64_t>(out.prompt_length - 1, 0));
    out.reply = summarize(std::vector<TokenComparison>(out.tokens.begin() + std::ptrdiff_t(std::min(first_reply, out.tokens.size())),
                                                       out.tokens.end()));
    out.name_a = model_name(a);
    out.name_b = model_name(b);
    out.interventions_a = describe(request.interventions_a);
    out.interventions_b = describe(request.interventions_b);
    out.intervened_from = request.interventions_b.empty() ? -1 : request.interventions_b.from_position;
    out.texts_diverge = request.texts_diverge;
    if (const Tokenizer* tokenizer = model_->tokenizer()) {
      auto label = [&](TokenId id) {
        if (!out.labels.count(id)) out.labels.emplace(id, tokenizer->token_bytes(id));
      };
      for (TokenId id : out.ids) label(id);
      for (const TokenComparison& t : out.tokens) {
        for (const TopKEntry& e : t.top_k_a) label(e.id);
        for (const TopKEntry& e : t.top_k_b) label(e.id);
      }
    }
    emit compared(CompareResult{request.id, request.second_model, std::move(out)});
  } catch (const std::exception& error) {
    emit compare_failed(request.id, QString::fromUtf8(error.what()));
  }
}

void EngineWorker::export_trace(const TraceExportRequest& request) {
  try {
    if (request.dir.isEmpty()) throw Error("no folder was given for the trace");
    std::int64_t prompt_length = 0;
    const std::vector<TokenId> ids = conversation_ids(request.conversation, &prompt_length);
    TraceOptions options;  // the CLI's defaults but for what the request sets
    options.top_k = request.top_k;
    if (options.top_k < 1 || options.top_k > 50) throw Error("the trace's top-k must be in 1..50");
    options.internals = request.internals;
    options.interventions = at_positions(request.conversation.interventions, prompt_length);
    const auto started = std::chrono::steady_clock::now();
    const Trace trace = trace_tokens(*model_, ids, options, request.stop);
    write_trace(trace, request.dir.toStdString());
    emit trace_exported(TraceExported{request.id, request.dir, std::int64_t(ids.size()),
                                      QString::fromStdString(trace.interventions), ms_since(started)});
  } catch (const std::exception& error) {
    emit trace_export_failed(request.id, QString::fromUtf8(error.what()));
  }
}

}  // namespace logitscope::gui
