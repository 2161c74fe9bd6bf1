// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine_controller.h"

#include "engine_worker.h"
#include "remote_worker.h"

namespace logitscope::gui {

EngineController::EngineController(QObject* parent) : WorkerSignals(parent), worker_(new EngineWorker) {
  register_engine_types();
  thread_.setObjectName(QStringLiteral("logitscope-engine"));
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  // Explicitly queued in both directions: the worker's slots run on the engine thread, its
  // signals are delivered on the GUI thread.
  connect(this, &EngineController::load_requested, worker_, &EngineWorker::load, Qt::QueuedConnection);
  connect(this, &EngineController::generate_requested, worker_, &EngineWorker::generate, Qt::QueuedConnection);
  connect(this, &EngineController::evaluate_requested, worker_, &EngineWorker::evaluate, Qt::QueuedConnection);
  connect(this, &EngineController::lens_requested, worker_, &EngineWorker::lens, Qt::QueuedConnection);
  connect(this, &EngineController::inside_requested, worker_, &EngineWorker::inside, Qt::QueuedConnection);
  connect(this, &EngineController::load_second_requested, worker_, &EngineWorker::load_second, Qt::QueuedConnection);
  connect(this, &EngineController::unload_second_requested, worker_, &EngineWorker::unload_second, Qt::QueuedConnection);
  connect(this, &EngineController::compare_requested, worker_, &EngineWorker::compare, Qt::QueuedConnection);
  connect(this, &EngineController::export_trace_requested, worker_, &EngineWorker::export_trace, Qt::QueuedConnection);
  wire(worker_, Qt::QueuedConnection, false);
  thread_.start();
}

void EngineController::wire(WorkerSignals* worker, Qt::ConnectionType type, bool remote) {
  connect(worker, &WorkerSignals::load_progress, this, &EngineController::load_progress, type);
  connect(worker, &WorkerSignals::loaded, this, [this, remote](const ModelSummary& summary) {
    loading_ = false;
    if (remote) remote_active_ = true;
    set_busy(false);
    emit loaded(summary);
  }, type);
  connect(worker, &WorkerSignals::load_failed, this, [this, remote](const QString& message) {
    loading_ = false;
    if (remote) remote_active_ = false;
    set_busy(false);
    emit load_failed(message);
  }, type);
  connect(worker, &WorkerSignals::prompt_ready, this, &EngineController::prompt_ready, type);
  connect(worker, &WorkerSignals::tokens, this, &EngineController::tokens, type);
  connect(worker, &WorkerSignals::preview, this, &EngineController::preview, type);
  connect(worker, &WorkerSignals::finished, this, [this](const GenerationStats& stats) {
    if (stats.request == current_) set_busy(false);
    emit finished(stats);
  }, type);
  connect(worker, &WorkerSignals::evaluated, this, &EngineController::evaluated, type);
  connect(worker, &WorkerSignals::evaluate_failed, this, &EngineController::evaluate_failed, type);
  connect(worker, &WorkerSignals::lens_ready, this, &EngineController::lens_ready, type);
  connect(worker, &WorkerSignals::inside_ready, this, &EngineController::inside_ready, type);
  connect(worker, &WorkerSignals::inspect_failed, this, &EngineController::inspect_failed, type);
  connect(worker, &WorkerSignals::second_load_progress, this, &EngineController::second_load_progress, type);
  connect(worker, &WorkerSignals::second_loaded, this, &EngineController::second_loaded, type);
  connect(worker, &WorkerSignals::second_load_failed, this, &EngineController::second_load_failed, type);
  connect(worker, &WorkerSignals::second_unloaded, this, &EngineController::second_unloaded, type);
  connect(worker, &WorkerSignals::compared, this, &EngineController::compared, type);
  connect(worker, &WorkerSignals::compare_failed, this, &EngineController::compare_failed, type);
  connect(worker, &WorkerSignals::trace_exported, this, &EngineController::trace_exported, type);
  connect(worker, &WorkerSignals::trace_export_failed, this, &EngineController::trace_export_failed, type);
  connect(worker, &WorkerSignals::failed, this, [this](quint64 request, const QString& message) {
    if (request == current_) set_busy(false);
    emit failed(request, message);
  }, type);
}

EngineController::~EngineController() {
  stop_.request_stop();
  thread_.quit();
  thread_.wait();
}

void EngineController::set_busy(bool busy) {
  if (busy_ == busy) return;
  busy_ = busy;
  emit busy_changed(busy);
}

void EngineController::load(LoadRequest request) {
  if (remote_) remote_->disconnect_from();
  remote_active_ = false;
  stop_.request_stop();  // a running generation ends; the load queues behind it
  stop_ = std::stop_source();
  request.stop = stop_.get_token();
  loading_ = true;
  current_ = 0;
  set_busy(true);
  emit load_requested(request);
}

std::uint64_t EngineController::generate(GenerateRequest request) {
  stop_ = std::stop_source();
  request.id = next_id_++;
  request.stop = stop_.get_token();
  current_ = request.id;
  set_busy(true);
  if (remote_active_) {
    // Queued like the engine's: the caller learns the id before any answer arrives.
    QMetaObject::invokeMethod(remote_, [remote = remote_, request] { remote->generate(request); }, Qt::QueuedConnection);
    return request.id;
  }
  emit generate_requested(request);
  return request.id;
}

void EngineController::stop() { stop_.request_stop(); }

std::uint64_t EngineController::evaluate(EvaluateRequest request) {
  request.id = next_id_++;
  if (remote_active_) {
    const std::uint64_t id = request.id;
    QMetaObject::invokeMethod(this, [this, id] {
      emit evaluate_failed(id, tr("scoring a text needs a local model: a server's API gives no log-probabilities of a "
                                  "given text"));
    }, Qt::QueuedConnection);
    return request.id;
  }
  request.stop = stop_.get_token();
  emit evaluate_requested(request);
  return request.id;
}

void EngineController::refuse_inspection(std::uint64_t id) {
  QMetaObject::invokeMethod(this, [this, id] {
    emit inspect_failed(id, tr("looking inside the layers needs a local model: a server's API does not expose them"));
  }, Qt::QueuedConnection);
}

template <typename Request>
std::uint64_t EngineController::send_inspection(Request request, const std::shared_ptr<std::atomic<std::uint64_t>>& newest,
                                                std::stop_source& running, void (EngineController::*requested)(const Request&)) {
  request.id = next_id_++;
  if (remote_active_) {
    refuse_inspection(request.id);
    return request.id;
  }
  newest->store(request.id);
  request.newest = newest;
  // The one of this kind the engine thread may be computing now stops at its next layer: its answer
  // would be thrown away (a queued one is skipped through `newest` before it starts).
  running.request_stop();
  running = std::stop_source();
  request.stop = running.get_token();
  emit(this->*requested)(request);
  return request.id;
}

std::uint64_t EngineController::lens(LensRequest request) {
  return send_inspection(std::move(request), newest_lens_, lens_stop_, &EngineController::lens_requested);
}

std::uint64_t EngineController::inside(InsideRequest request) {
  return send_inspection(std::move(request), newest_inside_, inside_stop_, &EngineController::inside_requested);
}

namespace {

QString needs_local_model() {
  return EngineController::tr("comparing models and writing traces need a local model: a server's API gives no "
                              "logits of a given text");
}

}  // namespace

void EngineController::load_second(LoadRequest request) {
  if (remote_active_) {
    QMetaObject::invokeMethod(this, [this] { emit second_load_failed(needs_local_model()); }, Qt::QueuedConnection);
    return;
  }
  emit load_second_requested(request);
}

void EngineController::unload_second() { emit unload_second_requested(); }

std::uint64_t EngineController::compare(CompareRequest request) {
  request.id = next_id_++;
  if (remote_active_) {
    const std::uint64_t id = request.id;
    QMetaObject::invokeMethod(this, [this, id] { emit compare_failed(id, needs_local_model()); }, Qt::QueuedConnection);
    return id;
  }
  const auto& newest = request.second_model ? newest_comparison_ : newest_effect_;
  newest->store(request.id);
  request.newest = newest;
  emit compare_requested(request);
  return request.id;
}

std::uint64_t EngineController::export_trace(TraceExportRequest request) {
  request.id = next_id_++;
  if (remote_active_) {
    const std::uint64_t id = request.id;
    QMetaObject::invokeMethod(this, [this, id] { emit trace_export_failed(id, needs_local_model()); }, Qt::QueuedConnection);
    return id;
  }
  request.stop = stop_.get_token();
  emit export_trace_requested(request);
  return request.id;
}

}  // namespace logitscope::gui
