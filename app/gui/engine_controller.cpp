// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine_controller.h"

#include "engine_worker.h"
#include "remote_worker.h"

namespace logitscope::gui {

EngineController::EngineController(QObject* parent) : QObject(parent), worker_(new EngineWorker) {
  register_engine_types();
  thread_.setObjectName(QStringLiteral("logitscope-engine"));
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  // Explicitly queued in both directions: the worker's slots run on the engine thread, its
  // signals are delivered on the GUI thread.
  connect(this, &EngineController::load_requested, worker_, &EngineWorker::load, Qt::QueuedConnection);
  connect(this, &EngineController::generate_requested, worker_, &EngineWorker::generate, Qt::QueuedConnection);
  connect(worker_, &EngineWorker::load_progress, this, &EngineController::load_progress, Qt::QueuedConnection);
  connect(worker_, &EngineWorker::loaded, this, [this](const ModelSummary& summary) {
    loading_ = false;
    set_busy(false);
    emit loaded(summary);
  }, Qt::QueuedConnection);
  connect(worker_, &EngineWorker::load_failed, this, [this](const QString& message) {
    loading_ = false;
    set_busy(false);
    emit load_failed(message);
  }, Qt::QueuedConnection);
  connect(worker_, &EngineWorker::prompt_ready, this, &EngineController::prompt_ready, Qt::QueuedConnection);
  connect(worker_, &EngineWorker::tokens, this, &EngineController::tokens, Qt::QueuedConnection);
  connect(worker_, &EngineWorker::preview, this, &EngineController::preview, Qt::QueuedConnection);
  connect(worker_, &EngineWorker::finished, this, [this](const GenerationStats& stats) {
    if (stats.request == current_) set_busy(false);
    emit finished(stats);
  }, Qt::QueuedConnection);
  connect(worker_, &EngineWorker::failed, this, [this](quint64 request, const QString& message) {
    if (request == current_) set_busy(false);
    emit failed(request, message);
  }, Qt::QueuedConnection);
  thread_.start();
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

}  // namespace logitscope::gui
