// SPDX-License-Identifier: GPL-3.0-or-later
// EngineController's remote half: the RemoteWorker (GUI thread) wired to the same signals the
// engine thread's worker feeds, so ConversationDriver and the widgets see one interface.
#include "engine_controller.h"
#include "engine_worker.h"
#include "remote_worker.h"

namespace logitscope::gui {

void EngineController::attach_remote() {
  remote_ = new RemoteWorker(this);
  connect(remote_, &RemoteWorker::loaded, this, [this](const ModelSummary& summary) {
    loading_ = false;
    remote_active_ = true;
    set_busy(false);
    emit loaded(summary);
  });
  connect(remote_, &RemoteWorker::load_failed, this, [this](const QString& message) {
    loading_ = false;
    remote_active_ = false;
    set_busy(false);
    emit load_failed(message);
  });
  connect(remote_, &RemoteWorker::prompt_ready, this, &EngineController::prompt_ready);
  connect(remote_, &RemoteWorker::tokens, this, &EngineController::tokens);
  connect(remote_, &RemoteWorker::preview, this, &EngineController::preview);
  connect(remote_, &RemoteWorker::finished, this, [this](const GenerationStats& stats) {
    if (stats.request == current_) set_busy(false);
    emit finished(stats);
  });
  connect(remote_, &RemoteWorker::failed, this, [this](quint64 request, const QString& message) {
    if (request == current_) set_busy(false);
    emit failed(request, message);
  });
}

void EngineController::connect_remote(const RemoteConfig& config) {
  if (!remote_) attach_remote();
  stop_.request_stop();  // a local generation ends
  stop_ = std::stop_source();
  // The local model is not needed while a server answers: free its memory.
  QMetaObject::invokeMethod(worker_, &EngineWorker::unload, Qt::QueuedConnection);
  remote_active_ = false;
  loading_ = true;
  current_ = 0;
  set_busy(true);
  remote_->connect_to(config);
}

}  // namespace logitscope::gui
