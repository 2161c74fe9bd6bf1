// SPDX-License-Identifier: GPL-3.0-or-later
// What the user's chat and stepping actions mean: keeps the Conversation (messages and branch
// trees), turns actions into engine requests, and files the streamed events into the right branch
// and into the EventStore the inspection widgets draw from. Lives on the GUI thread.
#pragma once

#include <QObject>
#include <QTimer>

#include <functional>

#include "conversation.h"
#include "engine_types.h"

namespace logitscope::widgets {
class BranchTree;
class ChatPane;
}  // namespace logitscope::widgets

namespace logitscope::workbench {
class EventStore;
}  // namespace logitscope::workbench

namespace logitscope::gui {

class EngineController;

class ConversationDriver : public QObject {
  Q_OBJECT
 public:
  ConversationDriver(EngineController* engine, workbench::EventStore* store, widgets::ChatPane* chat,
                     widgets::BranchTree* branches, QObject* parent = nullptr);

  void set_settings_source(std::function<GenerationSettings()> source) { settings_ = std::move(source); }
  void set_model(const ModelSummary& model);
  void clear_model() { model_.reset(); }
  const workbench::Conversation& conversation() const { return conversation_; }
  int inspected() const { return inspected_; }
  bool busy() const;

  bool save(const QString& path, QString* error);
  bool open(const QString& path, QString* error);
  void set_conversation(workbench::Conversation conversation);
  // Text of message `index` as the user reads it: reasoning (if any) and answer.
  QString message_text(int index) const;
  // Messages [0, end) as the prompt builder takes them (replies with their current branch's ids);
  // end < 0: all of them.
  std::vector<PromptTurn> turns_before(int end = -1) const;

 public slots:
  void new_conversation();
  // steps < 0: run until done; N: generate N tokens, then list the candidates for the next one.
  void send(const QString& text, bool thinking, int steps = -1);
  void edit_and_resend(int index, const QString& text, bool thinking);
  void regenerate(int index);
  void step(int count);  // continue the last reply by `count` tokens
  void run();            // continue the last reply until a stop token or max new tokens
  void pause();
  void choose(int index, logitscope::TokenId id, bool run);
  // A new branch of the inspected reply (else the last) from its token `index` on, generated under
  // `interventions` (their from_position is set to `index`).
  void intervene(int index, const logitscope::Interventions& interventions);
  void switch_branch(int message, int branch);
  void inspect(int message);
  void set_thinking(int message, bool on);

 signals:
  void status(const QString& message);
  void error(const QString& message);
  void stats(const logitscope::gui::GenerationStats& stats);
  void conversation_changed();  // replaced or restructured (for the window's modified marker)

 private:
  struct Active {
    std::uint64_t request = 0;
    int message = -1;
    int branch = -1;
  };
  // Starts a request that appends to branch `branch` of reply `message`.
  void start(int message, int branch, std::optional<TokenId> forced, int steps, bool preview);
  void on_prompt(const PromptInfo& info);
  void on_tokens(const TokenBatch& batch);
  void on_preview(const NextPreview& preview);
  void on_finished(const GenerationStats& stats);
  void on_failed(quint64 request, const QString& message);
  // Re-derives answer and reasoning of a reply from its current branch's tokens (derive: the
  // conversation only; refresh: and the chat pane).
  void derive_reply_text(int message);
  void show_all_messages();  // the chat pane redrawn from the conversation (messages came or went)
  void refresh_reply_text(int message);
  void refresh_views(int message);
  int last_reply() const;
  bool check_ready();

  EngineController* engine_;
  workbench::EventStore* store_;
  widgets::ChatPane* chat_;
  widgets::BranchTree* branches_;
  std::function<GenerationSettings()> settings_;
  std::optional<ModelSummary> model_;
  workbench::Conversation conversation_;
  Active active_;
  int inspected_ = -1;
  QTimer text_timer_;  // coalesces the chat text refresh while streaming
};

}  // namespace logitscope::gui
