// SPDX-License-Identifier: GPL-3.0-or-later
// Lives on the engine thread and owns the model and the session. Every request arrives as a queued
// slot call and every result leaves as a queued signal (worker_signals.h) carrying plain values;
// errors become signals with the engine's message, never exceptions across the thread boundary.
#pragma once

#include <QElapsedTimer>
#include <QObject>

#include <chrono>
#include <memory>
#include <unordered_set>

#include "engine_types.h"
#include "worker_signals.h"

namespace logitscope {
class Model;
class Session;
struct LoadOptions;
}  // namespace logitscope

namespace logitscope::gui {

// Milliseconds since `start`, for the worker's timings (engine_worker.cpp, engine_worker_inside.cpp).
double ms_since(std::chrono::steady_clock::time_point start);
// The engine's load options for a request, and what the window shows of a loaded model.
LoadOptions load_options(const LoadRequest& request);
ModelSummary model_summary(const Model& model, const LoadRequest& request, std::int64_t max_context);

class EngineWorker : public WorkerSignals {
  Q_OBJECT
 public:
  EngineWorker();
  ~EngineWorker() override;

 public slots:
  void load(const logitscope::gui::LoadRequest& request);
  void generate(const logitscope::gui::GenerateRequest& request);
  // Scores a text or the conversation (evaluate_text); answers evaluated() or evaluate_failed().
  void evaluate(const logitscope::gui::EvaluateRequest& request);
  // The "see inside" docks (engine_worker_inside.cpp): the logit lens at one position, the internals
  // of the whole conversation. A request that a newer one superseded is skipped.
  void lens(const logitscope::gui::LensRequest& request);
  void inside(const logitscope::gui::InsideRequest& request);
  // A second model beside the first, and the comparisons and traces (engine_worker_compare.cpp). A
  // second model is refused before its weights are read when its vocabulary differs or both do not
  // fit in memory; loading or unloading the first unloads it.
  void load_second(const logitscope::gui::LoadRequest& request);
  void unload_second();
  void compare(const logitscope::gui::CompareRequest& request);
  void export_trace(const logitscope::gui::TraceExportRequest& request);
  void unload();

 private:
  void run_request(const GenerateRequest& request, GenerationStats* stats);
  // Keeps the session's longest common prefix with `target` and feeds the rest (exact rewind).
  PromptInfo sync_session(const std::vector<TokenId>& target);
  // The prompt of the turns followed by the reply; throws when empty or past the context.
  std::vector<TokenId> conversation_ids(const ConversationIds& conversation, std::int64_t* prompt_length) const;
  NextPreview compute_preview(std::uint64_t request, int top_k, const std::stop_token& stop);
  std::vector<std::pair<TokenId, std::string>> new_labels(const TokenEvent& event);
  std::vector<std::pair<TokenId, std::string>> new_labels(const std::vector<TopKEntry>& top_k);
  // Sends collected events at most every ~15 ms: fewer queued events, same latency to the eye.
  void emit_batch(bool force);

  std::unique_ptr<Model> model_;
  std::unique_ptr<Session> session_;
  bool quantized_on_load_ = false;  // model_'s weights are not its files' (quantized while loading)
  std::unique_ptr<Model> second_;   // the Compare dock's model B
  std::unordered_set<TokenId> labelled_;
  TokenBatch pending_;
  QElapsedTimer since_emit_;
};

}  // namespace logitscope::gui
