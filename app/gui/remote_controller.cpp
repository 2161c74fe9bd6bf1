// SPDX-License-Identifier: GPL-3.0-or-later
// EngineController's remote half: the RemoteWorker (GUI thread) wired to the same signals the
// engine thread's worker feeds, so ConversationDriver and the widgets see one interface.
#include "engine_controller.h"
#include "engine_worker.h"
#include "remote_worker.h"

namespace logitscope::gui {

void EngineController::attach_remote() {
  remote_ = new RemoteWorker(this);
  wire(remote_, Qt::AutoConnection, true);  // same thread: direct
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
