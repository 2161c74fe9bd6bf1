// SPDX-License-Identifier: GPL-3.0-or-later
#include "conversation_driver.h"

#include <QJsonObject>

#include "branch_tree.h"
#include "chat_pane.h"
#include "engine_controller.h"
#include "event_store.h"
#include "logitscope/chat.h"

namespace logitscope::gui {

using workbench::Branch;
using workbench::ChatMessage;

namespace {

QJsonObject settings_json(const GenerationSettings& s) {
  return QJsonObject{{"temperature", s.temperature}, {"top_p", s.top_p}, {"top_k", s.top_k},
                     {"min_p", s.min_p}, {"seed", QString::number(s.seed)},
                     {"max_new_tokens", s.max_new_tokens}, {"thinking_budget", s.thinking_budget}};
}

}  // namespace

ConversationDriver::ConversationDriver(EngineController* engine, workbench::EventStore* store,
                                       widgets::ChatPane* chat, widgets::BranchTree* branches, QObject* parent)
    : QObject(parent), engine_(engine), store_(store), chat_(chat), branches_(branches) {
  settings_ = [] { return GenerationSettings{}; };
  text_timer_.setSingleShot(true);
  text_timer_.setInterval(50);
  connect(&text_timer_, &QTimer::timeout, this, [this] {
    if (active_.message >= 0) refresh_reply_text(active_.message);
  });
  connect(engine_, &EngineController::prompt_ready, this, &ConversationDriver::on_prompt);
  connect(engine_, &EngineController::tokens, this, &ConversationDriver::on_tokens);
  connect(engine_, &EngineController::preview, this, &ConversationDriver::on_preview);
  connect(engine_, &EngineController::finished, this, &ConversationDriver::on_finished);
  connect(engine_, &EngineController::failed, this, &ConversationDriver::on_failed);
  connect(engine_, &EngineController::busy_changed, chat_, &widgets::ChatPane::set_busy);
  connect(chat_, &widgets::ChatPane::send_requested, this, [this](const QString& text, bool thinking) { send(text, thinking); });
  connect(chat_, &widgets::ChatPane::edit_resend_requested, this, &ConversationDriver::edit_and_resend);
  connect(chat_, &widgets::ChatPane::regenerate_requested, this, &ConversationDriver::regenerate);
  connect(chat_, &widgets::ChatPane::stop_requested, this, &ConversationDriver::pause);
  connect(chat_, &widgets::ChatPane::inspect_requested, this, &ConversationDriver::inspect);
  connect(chat_, &widgets::ChatPane::thinking_toggled, this, &ConversationDriver::set_thinking);
  connect(branches_, &widgets::BranchTree::branch_selected, this, &ConversationDriver::switch_branch);
}

bool ConversationDriver::busy() const { return engine_->busy(); }

void ConversationDriver::set_model(const ModelSummary& model) {
  model_ = model;
  workbench::RoutingShape shape;
  shape.moe_layers = model.moe_layers;
  shape.num_experts = model.num_experts;
  store_->set_routing_shape(shape);
  chat_->set_thinking_available(model.has_template && model.can_think);
  conversation_.model = model.model;
}

int ConversationDriver::last_reply() const {
  const auto& messages = conversation_.messages;
  return !messages.empty() && messages.back().is_reply() ? int(messages.size()) - 1 : -1;
}

bool ConversationDriver::check_ready() {
  if (!model_) {
    emit error(tr("No model is loaded. Open one with File > Open Model (Ctrl+O)."));
    return false;
  }
  if (engine_->busy()) {
    emit status(tr("Still generating: stop it first (Esc)."));
    return false;
  }
  return true;
}

void ConversationDriver::new_conversation() {
  if (engine_->busy()) engine_->stop();
  workbench::Conversation fresh;
  if (model_) fresh.model = model_->model;
  set_conversation(std::move(fresh));
}

void ConversationDriver::set_conversation(workbench::Conversation conversation) {
  conversation_ = std::move(conversation);
  // The text of a reply follows from its tokens (a file written by an older version may hold an
  // end-of-turn token in it).
  for (int i = 0; i < int(conversation_.messages.size()); ++i)
    if (conversation_.messages[i].is_reply() && !conversation_.current_events(i).empty()) derive_reply_text(i);
  active_ = {};
  store_->set_labels(conversation_.labels);
  chat_->set_conversation(conversation_);
  inspected_ = -1;
  inspect(last_reply());
  emit conversation_changed();
}

bool ConversationDriver::save(const QString& path, QString* error) {
  conversation_.sampling = settings_json(settings_());
  return workbench::save_conversation(path, conversation_, error);
}

bool ConversationDriver::open(const QString& path, QString* error) {
  workbench::Conversation loaded;
  if (!workbench::load_conversation(path, &loaded, error)) return false;
  if (engine_->busy()) engine_->stop();
  set_conversation(std::move(loaded));
  return true;
}

void ConversationDriver::send(const QString& text, bool thinking, int steps) {
  if (!check_ready()) return;
  ChatMessage user = ChatMessage::make(QStringLiteral("user"), text);
  user.thinking = thinking;
  conversation_.messages.push_back(user);
  ChatMessage reply = ChatMessage::make(QStringLiteral("assistant"));
  reply.thinking = thinking;
  reply.branches.push_back(Branch{});
  conversation_.messages.push_back(reply);
  const int index = int(conversation_.messages.size()) - 1;
  chat_->update_message(index - 1, conversation_.messages[index - 1]);
  chat_->update_message(index, conversation_.messages[index]);
  start(index, 0, std::nullopt, steps, steps >= 0);
}

void ConversationDriver::edit_and_resend(int index, const QString& text, bool thinking) {
  if (!check_ready()) return;
  if (index < 0 || index >= int(conversation_.messages.size()) || conversation_.messages[index].role != QLatin1String("user")) return;
  conversation_.messages.resize(std::size_t(index) + 1);
  conversation_.messages[index].content = text;
  conversation_.messages[index].thinking = thinking;
  ChatMessage reply = ChatMessage::make(QStringLiteral("assistant"));
  reply.thinking = thinking;
  reply.branches.push_back(Branch{});
  conversation_.messages.push_back(reply);
  chat_->set_conversation(conversation_);
  emit conversation_changed();
  start(index + 1, 0, std::nullopt, -1, false);
}

void ConversationDriver::regenerate(int index) {
  if (!check_ready()) return;
  if (index < 0 || index >= int(conversation_.messages.size()) || !conversation_.messages[index].is_reply()) return;
  // A new root: the old answers stay as branches, each with the messages that followed it.
  const int branch = conversation_.add_branch(index, -1, 0);
  ChatMessage& reply = conversation_.messages[index];
  if (index > 0) reply.thinking = conversation_.messages[index - 1].thinking;
  show_all_messages();
  emit conversation_changed();
  start(index, branch, std::nullopt, -1, false);
}

void ConversationDriver::step(int count) {
  if (!check_ready()) return;
  const int index = last_reply();
  if (index < 0) {
    emit status(tr("Nothing to continue: type a message and press Step to start a reply token by token."));
    return;
  }
  start(index, conversation_.messages[index].current_branch, std::nullopt, std::max(count, 1), true);
}

void ConversationDriver::run() {
  if (!check_ready()) return;
  const int index = last_reply();
  if (index < 0) return;
  start(index, conversation_.messages[index].current_branch, std::nullopt, -1, false);
}

void ConversationDriver::pause() { engine_->stop(); }

void ConversationDriver::choose(int index, TokenId id, bool run) {
  if (!check_ready()) return;
  const int message = inspected_ >= 0 ? inspected_ : last_reply();
  if (message < 0 || message >= int(conversation_.messages.size()) || !conversation_.messages[message].is_reply()) return;
  const int length = int(conversation_.current_events(message).size());
  if (index < 0 || index > length) return;
  const bool later_messages = message != int(conversation_.messages.size()) - 1;
  if (index < length || later_messages) {
    // A new branch that shares tokens [0, index) with the current one. In an earlier reply the
    // messages after it stay with the branch they answered (the branch tree switches back to them).
    conversation_.add_branch(message, conversation_.messages[message].current_branch, index);
    if (later_messages) show_all_messages();
    refresh_views(message);
  }
  start(message, conversation_.messages[message].current_branch, id, run ? -1 : 1, !run);
}

void ConversationDriver::intervene(int index, const Interventions& interventions) {
  if (!check_ready()) return;
  const int message = inspected_ >= 0 ? inspected_ : last_reply();
  if (message < 0 || message >= int(conversation_.messages.size()) || !conversation_.messages[message].is_reply()) {
    emit status(tr("Nothing to intervene on: generate a reply first."));
    return;
  }
  const int length = int(conversation_.current_events(message).size());
  if (index < 0 || index > length) return;
  const bool later_messages = message != int(conversation_.messages.size()) - 1;
  const int branch = conversation_.add_branch(message, conversation_.messages[message].current_branch, index);
  Interventions applied = interventions;
  applied.from_position = index;
  conversation_.messages[message].branches[std::size_t(branch)].interventions = applied;
  if (later_messages) show_all_messages();
  refresh_views(message);
  emit conversation_changed();
  start(message, branch, std::nullopt, -1, false);
}

void ConversationDriver::switch_branch(int message, int branch) {
  if (message < 0 || message >= int(conversation_.messages.size())) return;
  ChatMessage& reply = conversation_.messages[message];
  if (branch < 0 || branch >= int(reply.branches.size()) || branch == reply.current_branch) return;
  if (engine_->busy()) {
    emit status(tr("Stop the generation before switching branches."));
    branches_->show_message(conversation_, message);
    return;
  }
  // The engine follows lazily: the next request keeps the common prefix and rewinds the rest. The
  // messages after this reply change with the branch they followed.
  const bool later_messages = message != int(conversation_.messages.size()) - 1 || !reply.branches[branch].followers.empty();
  conversation_.choose_branch(message, branch);
  if (later_messages) show_all_messages();
  refresh_views(message);
}

void ConversationDriver::inspect(int message) {
  inspected_ = message;
  chat_->set_inspected(message);
  store_->set_events(conversation_.current_events(message));
  branches_->show_message(conversation_, message);
}

void ConversationDriver::set_thinking(int message, bool on) {
  if (message >= 0 && message < int(conversation_.messages.size())) conversation_.messages[message].thinking = on;
}

std::vector<PromptTurn> ConversationDriver::turns_before(int end) const {
  const int n = end < 0 ? int(conversation_.messages.size()) : std::min(end, int(conversation_.messages.size()));
  std::vector<PromptTurn> turns;
  for (int i = 0; i < n; ++i) {
    const ChatMessage& m = conversation_.messages[i];
    PromptTurn turn;
    turn.role = m.role.toStdString();
    turn.content = m.content.toStdString();
    if (m.is_reply()) turn.ids = conversation_.current_ids(i);
    turns.push_back(std::move(turn));
  }
  return turns;
}

void ConversationDriver::start(int message, int branch, std::optional<TokenId> forced, int steps, bool preview) {
  GenerateRequest request;
  request.turns = turns_before(message);
  ChatMessage& reply = conversation_.messages[message];
  reply.current_branch = branch;
  reply.branches[branch].stop_reason.clear();
  request.enable_thinking = message > 0 && conversation_.messages[message - 1].thinking;
  reply.thinking = request.enable_thinking;
  const auto events = conversation_.branch_events(message, branch);
  for (const auto& event : events) request.prefix.push_back(event.id);
  request.forced = forced;
  request.steps = steps;
  request.preview_next = preview;
  request.interventions = reply.branches[branch].interventions;
  request.settings = settings_();
  conversation_.sampling = settings_json(request.settings);
  active_ = {0, message, branch};
  if (inspected_ != message) inspect(message);
  else if (int(store_->size()) != int(events.size())) store_->set_events(events);
  store_->set_next_candidates(std::nullopt);
  active_.request = engine_->generate(std::move(request));
  emit status(steps >= 0 ? tr("Stepping %1 token(s)…").arg(steps) : tr("Generating…"));
}

void ConversationDriver::on_prompt(const PromptInfo& info) {
  if (info.request != active_.request) return;
  conversation_.messages[active_.message].starts_in_thinking = info.starts_in_thinking;
  emit status(tr("Prompt: %1 tokens (%2 kept from before, %3 replayed after the rewind)")
                  .arg(info.prompt_length).arg(info.reused).arg(info.replayed));
}

void ConversationDriver::on_tokens(const TokenBatch& batch) {
  if (batch.request != active_.request || active_.message < 0) return;
  for (const auto& [id, bytes] : batch.labels) conversation_.labels.insert(id, bytes);
  store_->add_labels(batch.labels);
  Branch& branch = conversation_.messages[active_.message].branches[active_.branch];
  const bool shown = inspected_ == active_.message && conversation_.messages[active_.message].current_branch == active_.branch;
  for (const auto& event : batch.events) {
    branch.events.push_back(event);
    if (shown) store_->append(event);
  }
  if (!text_timer_.isActive()) text_timer_.start();
}

void ConversationDriver::on_preview(const NextPreview& preview) {
  if (preview.request != active_.request) return;
  for (const auto& [id, bytes] : preview.labels) conversation_.labels.insert(id, bytes);
  store_->add_labels(preview.labels);
  store_->flush();
  workbench::NextCandidates next;
  next.index = std::int64_t(store_->size());
  next.entropy = preview.entropy;
  next.top_k = preview.top_k;
  store_->set_next_candidates(next);
}

void ConversationDriver::on_finished(const GenerationStats& stats) {
  if (stats.request != active_.request || active_.message < 0) return;
  conversation_.messages[active_.message].branches[active_.branch].stop_reason = stats.stop_reason;
  text_timer_.stop();
  refresh_reply_text(active_.message);
  branches_->show_message(conversation_, inspected_);
  emit status(tr("%1 tokens, %2 tokens/s, first token after %3 ms (%4)")
                  .arg(stats.tokens).arg(stats.tokens_per_second, 0, 'f', 1)
                  .arg(stats.time_to_first_token_ms, 0, 'f', 0).arg(stats.stop_reason));
  emit this->stats(stats);
  emit conversation_changed();
}

void ConversationDriver::on_failed(quint64 request, const QString& message) {
  if (request != active_.request) return;
  // What streamed before the error stays; the message goes to the banner.
  text_timer_.stop();
  if (active_.message >= 0) {
    conversation_.messages[active_.message].branches[active_.branch].stop_reason = QStringLiteral("error");
    refresh_reply_text(active_.message);
  }
  emit error(message);
}

void ConversationDriver::derive_reply_text(int message) {
  ChatMessage& reply = conversation_.messages[message];
  std::string text;
  for (const auto& event : conversation_.current_events(message)) {
    if (event.end_of_turn) continue;  // <|im_end|> and the like: a token in the strip, not reply text
    // Without a tokenizer a token has no text: show its id, as the token strip does.
    if (event.text.empty() && event.bytes.empty()) text += "<" + std::to_string(event.id) + ">";
    else text += event.text;
  }
  const ReasoningSplit split = split_reasoning(text, reply.starts_in_thinking);
  reply.reasoning = QString::fromStdString(split.reasoning);
  reply.content = QString::fromStdString(split.answer);
}

void ConversationDriver::refresh_reply_text(int message) {
  if (message < 0 || message >= int(conversation_.messages.size())) return;
  if (!conversation_.messages[message].is_reply()) return;
  derive_reply_text(message);
  chat_->update_message(message, conversation_.messages[message]);
}

void ConversationDriver::show_all_messages() {
  chat_->set_conversation(conversation_);
  chat_->set_inspected(inspected_);
}

void ConversationDriver::refresh_views(int message) {
  refresh_reply_text(message);
  if (inspected_ == message) store_->set_events(conversation_.current_events(message));
  branches_->show_message(conversation_, message);
  emit conversation_changed();
}

QString ConversationDriver::message_text(int index) const {
  if (index < 0 || index >= int(conversation_.messages.size())) return {};
  const ChatMessage& m = conversation_.messages[index];
  if (m.reasoning.isEmpty()) return m.content;
  return QStringLiteral("<think>\n%1\n</think>\n\n%2").arg(m.reasoning, m.content);
}

}  // namespace logitscope::gui
