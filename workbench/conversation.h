// SPDX-License-Identifier: GPL-3.0-or-later
// A conversation as the workbench keeps it: messages, and for each reply a tree of branches of
// generated tokens (every TokenEvent, so a reopened file shows the same top-k and routing). Saved
// as versioned JSON, written atomically.
#pragma once

#include <QHash>
#include <QJsonObject>
#include <QString>

#include <string>
#include <vector>

#include "logitscope/events.h"
#include "logitscope/interventions.h"

namespace logitscope::workbench {

struct ChatMessage;

// Generated tokens [fork_at, fork_at + events.size()) of one reply; [0, fork_at) are the parent's.
struct Branch {
  int parent = -1;         // -1: a root (first answer or a regeneration)
  int fork_at = 0;         // index among the reply's generated tokens
  std::vector<TokenEvent> events;
  QString stop_reason;     // "max_tokens", "stop_token", "cancelled", "" while running
  // What-if edits this branch's tokens were generated under, from interventions.from_position on:
  // an index among the reply's generated tokens (the engine adds the prompt's length). A branch made
  // from another starts with its parent's. Empty: the plain model.
  Interventions interventions;
  // The messages that came after this reply while this branch was chosen, kept here while another
  // branch of the reply is (Conversation::messages holds the chosen branch's followers).
  std::vector<ChatMessage> followers;
};

struct ChatMessage {
  QString role;            // "system", "user", "assistant"
  QString content;         // user text, or the reply's answer (without reasoning)
  QString reasoning;       // reply only: text inside <think> ... </think>
  bool thinking = false;   // user: reply with thinking on; reply: generated with thinking on
  bool starts_in_thinking = false;  // reply: the prompt opened the reasoning block
  std::vector<Branch> branches;     // reply only
  int current_branch = 0;

  bool is_reply() const { return role == QLatin1String("assistant"); }
  static ChatMessage make(const QString& role, const QString& content = {}) {
    ChatMessage message;
    message.role = role;
    message.content = content;
    return message;
  }
};

struct Conversation {
  QString model;           // folder or hub id it was generated with (informational)
  QJsonObject sampling;    // settings at the time of the last reply (informational)
  std::vector<ChatMessage> messages;
  QHash<TokenId, std::string> labels;  // raw bytes of token ids seen in top-k lists

  // All generated tokens of `branch` of message `index`, the ancestors' prefix included.
  std::vector<TokenEvent> branch_events(int index, int branch) const;
  std::vector<TokenEvent> current_events(int index) const;
  std::vector<TokenId> current_ids(int index) const;

  // Branch operations on reply `index`. The messages after it follow its chosen branch: they move
  // into that branch's `followers` when another branch is chosen or made, and come back with it.
  // Nothing is dropped. Each returns the chosen branch (-1 when index or branch is out of range).
  int choose_branch(int index, int branch);
  // A new branch sharing the first `fork_at` tokens of `parent` (-1 = a new root), chosen; it
  // inherits the parent's interventions.
  int add_branch(int index, int parent, int fork_at);
};

// 2: branches keep their "followers" (the messages after a reply while that branch was chosen) and
// events mark "end_of_turn". 3: branches keep their "interventions". Older files read as before.
inline constexpr int kConversationFormatVersion = 3;

// {"from": n, "mask": ["4:17", "*:3"], "force": ["6:1,2"], "scale": ["9:shared:0.5"], "skip": [3]}
// (the command line's forms); absent lists are empty. Reading names the bad entry in `error`.
QJsonObject interventions_to_json(const Interventions& interventions);
bool interventions_from_json(const QJsonObject& object, Interventions* out, QString* error);

QJsonObject event_to_json(const TokenEvent& event);
TokenEvent event_from_json(const QJsonObject& object);

QJsonObject conversation_to_json(const Conversation& conversation);
// Throws nothing; returns false with `error` set on a malformed or newer file.
bool conversation_from_json(const QJsonObject& object, Conversation* out, QString* error);

// Written through QSaveFile: a crash mid-save leaves the old file intact.
bool save_conversation(const QString& path, const Conversation& conversation, QString* error);
bool load_conversation(const QString& path, Conversation* out, QString* error);

}  // namespace logitscope::workbench
