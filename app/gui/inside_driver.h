// SPDX-License-Identifier: GPL-3.0-or-later
// Feeds the "see inside" docks (Lens, Router, Attention/Mamba) from the engine: when the conversation or its selected
// token changes (or a token of a scored text is picked in the Surprise dock), asks the engine worker for what a visible dock draws (never for a hidden one), after
// a short coalescing delay and only when the question changed; the controller lets a newer request
// supersede a queued one. Answers and errors (a backend that cannot capture, a remote server) go to
// the views. Lives on the GUI thread; the computation runs on the engine thread.
#pragma once

#include <QByteArray>
#include <QObject>
#include <QTimer>

#include <cstdint>
#include <vector>

#include "engine_types.h"

class QDockWidget;

namespace logitscope::widgets {
class AttentionMambaView;
class LensView;
class RouterView;
}  // namespace logitscope::widgets

namespace logitscope::workbench {
class EventStore;
}  // namespace logitscope::workbench

namespace logitscope::gui {

class ConversationDriver;
class EngineController;

// The inspected reply (else the conversation so far) as the docks that read the whole conversation
// ask for it: the turns before it, its current branch's tokens (those in `store`) and that branch's
// interventions.
ConversationIds inspected_conversation(const ConversationDriver& conversation, const workbench::EventStore& store);
// Everything that decides the ids (and the interventions), so that an unchanged question is not asked again.
QByteArray conversation_fingerprint(const ConversationIds& conversation);

class InsideDriver : public QObject {
  Q_OBJECT
 public:
  InsideDriver(EngineController* engine, ConversationDriver* conversation, workbench::EventStore* store,
               widgets::LensView* lens, QDockWidget* lens_dock, widgets::RouterView* router, QDockWidget* router_dock,
               widgets::AttentionMambaView* inside, QDockWidget* inside_dock, QObject* parent = nullptr);

  // A local model is loaded (true), or there is none / a remote server (false, with the reason).
  void set_available(bool available, const QString& why = {});
  // The docks read a scored text (a token picked in the Surprise dock) at its token `index`: the
  // forward that read ids[index - 1] and scored ids[index]. Until a token of the conversation is
  // selected again.
  void inspect_text(std::vector<TokenId> ids, int index);
  bool reads_text() const { return on_text_; }
  // Past this many bytes of attention weights (all rows, heads and layers) a capture keeps only the
  // selected token's row (kFullAttentionBytes; tests lower it).
  void set_full_attention_bytes(std::int64_t bytes);
  // Asks now for what the visible docks need (tests; normally after the coalescing delay).
  void refresh();
  // The newest request of each kind (0: none yet), for tests that wait for its answer.
  std::uint64_t lens_request() const { return lens_request_; }
  std::uint64_t inside_request() const { return inside_request_; }
  // The newest lens and inside requests have their answers (or errors).
  bool answered_everything() const { return lens_answered_ == lens_request_ && inside_answered_ == inside_request_; }

 private:
  void schedule();
  int reply_index() const;  // the selected reply token, -1: none (the last position)

  EngineController* engine_;
  ConversationDriver* conversation_;
  workbench::EventStore* store_;
  widgets::LensView* lens_;
  QDockWidget* lens_dock_;
  widgets::RouterView* router_;
  QDockWidget* router_dock_;
  widgets::AttentionMambaView* inside_;
  QDockWidget* inside_dock_;
  QTimer timer_;
  bool available_ = false;
  std::uint64_t lens_request_ = 0;
  std::uint64_t inside_request_ = 0;
  std::uint64_t lens_answered_ = 0;
  std::uint64_t inside_answered_ = 0;
  std::int64_t full_attention_bytes_ = kFullAttentionBytes;
  bool on_text_ = false;
  std::vector<TokenId> text_ids_;  // [tokens] the scored text the docks read while on_text_
  int text_index_ = -1;
  QByteArray lens_asked_;    // the question behind the newest lens request (conversation and index)
  QByteArray inside_asked_;  // the conversation behind the newest inside request (and whether with attention)
  QByteArray inside_conversation_;     // the conversation alone of the newest inside request
  QByteArray attention_all_rows_for_;  // the conversation whose capture kept every attention row
};

}  // namespace logitscope::gui
