// SPDX-License-Identifier: GPL-3.0-or-later
#include "inside_driver.h"

#include <QDataStream>
#include <QDockWidget>
#include <QIODevice>

#include <algorithm>

#include "conversation_driver.h"
#include "engine_controller.h"
#include "event_store.h"
#include "attention_mamba_view.h"
#include "lens_view.h"
#include "router_view.h"

namespace logitscope::gui {

QByteArray conversation_fingerprint(const ConversationIds& conversation) {
  QByteArray out;
  QDataStream stream(&out, QIODevice::WriteOnly);
  stream << conversation.enable_thinking << quint64(conversation.turns.size());
  for (const PromptTurn& turn : conversation.turns) {
    stream << QByteArray::fromStdString(turn.role) << QByteArray::fromStdString(turn.content) << quint64(turn.ids.size());
    for (TokenId id : turn.ids) stream << qint32(id);
  }
  stream << quint64(conversation.reply.size());
  for (TokenId id : conversation.reply) stream << qint32(id);
  stream << quint64(conversation.text.size());
  for (TokenId id : conversation.text) stream << qint32(id);
  stream << QByteArray::fromStdString(describe(conversation.interventions));
  return out;
}

InsideDriver::InsideDriver(EngineController* engine, ConversationDriver* conversation, workbench::EventStore* store,
                           widgets::LensView* lens, QDockWidget* lens_dock, widgets::RouterView* router,
                           QDockWidget* router_dock, widgets::AttentionMambaView* inside, QDockWidget* inside_dock,
                           QObject* parent)
    : QObject(parent), engine_(engine), conversation_(conversation), store_(store), lens_(lens), lens_dock_(lens_dock),
      router_(router), router_dock_(router_dock), inside_(inside), inside_dock_(inside_dock) {
  // Selections come in bursts (arrow keys, a drag over the strip) and tokens stream in batches:
  // one question per pause.
  timer_.setSingleShot(true);
  timer_.setInterval(80);
  connect(&timer_, &QTimer::timeout, this, &InsideDriver::refresh);
  connect(store_, &workbench::EventStore::changed, this, &InsideDriver::schedule);
  connect(store_, &workbench::EventStore::selection_changed, this, [this] {
    on_text_ = false;  // a token picked in the conversation: the docks read the conversation again
    router_->set_reply_index(reply_index());  // the whole conversation is there already
    inside_->set_reply_index(reply_index());
    schedule();
  });
  for (QDockWidget* dock : {lens_dock_, router_dock_, inside_dock_})
    connect(dock, &QDockWidget::visibilityChanged, this, [this](bool visible) {
      if (visible) schedule();
    });
  connect(engine_, &EngineController::lens_ready, this, [this](const LensResult& result) {
    if (result.request != lens_request_) return;
    lens_answered_ = result.request;
    lens_->show_lens(result.lens);
  });
  connect(engine_, &EngineController::inside_ready, this, [this](const InsideResult& result) {
    if (result.request != inside_request_) return;
    inside_answered_ = result.request;
    // Every attention row came (a short conversation): a new selection needs no new capture, so the
    // question is the conversation's alone. Otherwise each selected token asks for its own row.
    const auto& attentions = result.inside.internals.attentions;
    if (!attentions.empty() && attentions.front().rows.empty()) {
      attention_all_rows_for_ = inside_conversation_;
      inside_asked_ = inside_conversation_ + "+attention";
    }
    router_->show_inside(result.inside);
    inside_->show_inside(result.inside);
  });
  connect(engine_, &EngineController::inspect_failed, this, [this](quint64 request, const QString& message) {
    // A failed question is asked again when something changes, not in a loop.
    if (request == lens_request_) {
      lens_answered_ = request;
      lens_->show_error(message);
    }
    if (request == inside_request_) {
      inside_answered_ = request;
      router_->show_error(message);
      inside_->show_error(message);
    }
  });
  set_available(false, tr("Load a model to look inside its layers."));
}

void InsideDriver::set_available(bool available, const QString& why) {
  available_ = available;
  lens_asked_.clear();
  inside_asked_.clear();
  attention_all_rows_for_.clear();
  lens_request_ = inside_request_ = lens_answered_ = inside_answered_ = 0;
  if (!available) {
    timer_.stop();
    lens_->set_unavailable(why);
    router_->set_unavailable(why);
    inside_->set_unavailable(why);
    return;
  }
  schedule();
}

void InsideDriver::schedule() {
  if (available_ && !timer_.isActive()) timer_.start();
}

void InsideDriver::set_full_attention_bytes(std::int64_t bytes) {
  full_attention_bytes_ = bytes;
  attention_all_rows_for_.clear();  // what was enough before may not be now: ask again
  inside_asked_.clear();
  schedule();
}

void InsideDriver::inspect_text(std::vector<TokenId> ids, int index) {
  if (ids.size() < 2) return;  // a text of one token has nothing scored to look at
  on_text_ = true;
  text_ids_ = std::move(ids);
  text_index_ = std::clamp(index, 1, int(text_ids_.size()) - 1);
  router_->set_reply_index(text_index_);  // the docks move now when they already hold this text
  inside_->set_reply_index(text_index_);
  schedule();
}

int InsideDriver::reply_index() const {
  if (on_text_) return text_index_;
  const int selected = store_->selected();
  return selected >= 0 && selected < int(store_->size()) ? selected : -1;
}

ConversationIds inspected_conversation(const ConversationDriver& conversation, const workbench::EventStore& store) {
  ConversationIds out;
  const auto& messages = conversation.conversation().messages;
  const int message = conversation.inspected();
  if (message >= 0 && message < int(messages.size()) && messages[std::size_t(message)].is_reply()) {
    out.turns = conversation.turns_before(message);
    out.enable_thinking = message > 0 && messages[std::size_t(message - 1)].thinking;
    for (const TokenEvent& event : store.events()) out.reply.push_back(event.id);
    const auto& reply = messages[std::size_t(message)];
    if (reply.current_branch >= 0 && reply.current_branch < int(reply.branches.size()))
      out.interventions = reply.branches[std::size_t(reply.current_branch)].interventions;
  } else {
    out.turns = conversation.turns_before();
    out.enable_thinking = !messages.empty() && messages.back().thinking;
  }
  return out;
}

void InsideDriver::refresh() {
  timer_.stop();
  if (!available_) return;
  const bool lens_shown = lens_dock_->isVisible();
  const bool router_shown = router_dock_->isVisible();
  const bool attention_shown = inside_dock_->isVisible();
  if (!lens_shown && !router_shown && !attention_shown) return;  // nothing on screen: nothing computed
  ConversationIds conversation;
  if (on_text_) conversation.text = text_ids_;
  else conversation = inspected_conversation(*conversation_, *store_);
  const QByteArray asked = conversation_fingerprint(conversation);
  const int index = reply_index();
  if (lens_shown) {
    QByteArray lens_asked = asked;
    lens_asked.append(QByteArray::number(index));
    if (lens_asked != lens_asked_) {
      lens_asked_ = lens_asked;
      LensRequest request;
      request.conversation = conversation;
      request.reply_index = index;
      lens_->set_busy(true);
      lens_request_ = engine_->lens(std::move(request));
    }
  }
  // One capture serves the Router and the Attention/Mamba docks; the attention weights
  // ([heads, positions, positions] per layer) only come while the latter is on screen.
  // A long conversation's capture keeps only the selected token's attention row, so there the
  // selection is part of the question.
  QByteArray inside_asked = asked;
  if (attention_shown) {
    inside_asked.append("+attention");
    if (attention_all_rows_for_ != asked) inside_asked.append("@" + QByteArray::number(index));
  }
  if ((router_shown || attention_shown) && inside_asked != inside_asked_) {
    inside_asked_ = inside_asked;
    inside_conversation_ = asked;
    InsideRequest request;
    request.conversation = conversation;
    request.keep_attention = attention_shown;
    request.reply_index = index;
    request.full_attention_bytes = full_attention_bytes_;
    router_->set_busy(true);
    router_->set_reply_index(index);
    inside_->set_busy(true);
    inside_->set_reply_index(index);
    inside_request_ = engine_->inside(std::move(request));
  }
}

}  // namespace logitscope::gui
