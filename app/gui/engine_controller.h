// SPDX-License-Identifier: GPL-3.0-or-later
// The GUI thread's handle on the engine: owns the engine QThread and the EngineWorker moved onto
// it. Requests go out as queued signals; stop is a std::stop_source triggered directly from the
// GUI thread, because a queued stop would wait behind the generation it is meant to end.
#pragma once

#include <QObject>
#include <QThread>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stop_token>

#include "engine_types.h"
#include "worker_signals.h"

namespace logitscope::gui {

class EngineWorker;
class RemoteWorker;
struct RemoteConfig;

class EngineController : public WorkerSignals {
  Q_OBJECT
 public:
  explicit EngineController(QObject* parent = nullptr);
  ~EngineController() override;  // stops what runs, then quits and joins the thread

  void load(LoadRequest request);
  // Fills in the id and the stop token; returns the id.
  std::uint64_t generate(GenerateRequest request);
  void stop();            // never blocks
  // Scores a text or the conversation on the engine thread (after what runs there); fills in the
  // id and returns it. A remote server cannot score: evaluate_failed() at once.
  std::uint64_t evaluate(EvaluateRequest request);
  // The "see inside" docks: fill in the id and return it; a newer request of the same kind
  // supersedes one still queued. A remote server cannot look inside: inspect_failed() at once.
  std::uint64_t lens(LensRequest request);
  std::uint64_t inside(InsideRequest request);
  // "Change it and compare" (engine_worker_compare.cpp): a second model beside the first (answers
  // second_loaded() or second_load_failed()), the comparisons the Effect and Compare docks draw
  // (superseded per kind, like lens()) and a trace written to a folder. A remote server can do none
  // of these: the failure signal at once.
  void load_second(LoadRequest request);
  void unload_second();
  std::uint64_t compare(CompareRequest request);
  std::uint64_t export_trace(TraceExportRequest request);
  bool busy() const { return busy_; }
  bool loading() const { return loading_; }
  std::uint64_t current_request() const { return current_; }
  // A remote OpenAI-compatible server instead of the local engine (remote_worker.h): answers with
  // the same signals; loaded() comes once its model list is read. load() goes back to local.
  void connect_remote(const RemoteConfig& config);
  bool remote() const { return remote_active_; }
  RemoteWorker* remote_worker() const { return remote_; }

 signals:
  // To the worker (queued).
  void load_requested(const logitscope::gui::LoadRequest& request);
  void generate_requested(const logitscope::gui::GenerateRequest& request);
  void evaluate_requested(const logitscope::gui::EvaluateRequest& request);
  void lens_requested(const logitscope::gui::LensRequest& request);
  void inside_requested(const logitscope::gui::InsideRequest& request);
  void load_second_requested(const logitscope::gui::LoadRequest& request);
  void unload_second_requested();
  void compare_requested(const logitscope::gui::CompareRequest& request);
  void export_trace_requested(const logitscope::gui::TraceExportRequest& request);
  // The worker's answers (WorkerSignals) are re-emitted on the GUI thread; and:
  void busy_changed(bool busy);

 private:
  void set_busy(bool busy);
  // Answers `id` with inspect_failed(why) on the GUI thread, after the caller has the id.
  void refuse_inspection(std::uint64_t id);
  // Numbers `request`, marks it the newest of its kind and sends it through `requested`.
  template <typename Request>
  std::uint64_t send_inspection(Request request, const std::shared_ptr<std::atomic<std::uint64_t>>& newest, std::stop_source& running,
                                void (EngineController::*requested)(const Request&));
  void attach_remote();  // remote_controller.cpp
  // Re-emits a worker's answers with the busy/loading bookkeeping; a remote worker's loaded() also
  // makes it the active one.
  void wire(WorkerSignals* worker, Qt::ConnectionType type, bool remote);

  RemoteWorker* remote_ = nullptr;
  bool remote_active_ = false;

  QThread thread_;
  EngineWorker* worker_;
  std::stop_source stop_;
  std::uint64_t next_id_ = 1;
  // The newest lens / inside request's id, read by the worker to skip superseded ones.
  std::shared_ptr<std::atomic<std::uint64_t>> newest_lens_ = std::make_shared<std::atomic<std::uint64_t>>(0);
  std::shared_ptr<std::atomic<std::uint64_t>> newest_inside_ = std::make_shared<std::atomic<std::uint64_t>>(0);
  std::shared_ptr<std::atomic<std::uint64_t>> newest_effect_ = std::make_shared<std::atomic<std::uint64_t>>(0);
  std::shared_ptr<std::atomic<std::uint64_t>> newest_comparison_ = std::make_shared<std::atomic<std::uint64_t>>(0);
  std::stop_source lens_stop_, inside_stop_;  // the newest lens / inside request's: a newer one stops it
  std::uint64_t current_ = 0;
  bool busy_ = false;
  bool loading_ = false;
};

}  // namespace logitscope::gui
