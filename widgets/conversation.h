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

namespace logitscope::widgets {

// Generated tokens [fork_at, fork_at + events.size()) of one reply; [0, fork_at) are the parent's.
struct Branch {
  int parent = -1;         // -1: a root (first answer or a regeneration)
  int fork_at = 0;         // index among the reply's generated tokens
  std::vector<TokenEvent> events;
  QString stop_reason;     // "max_tokens", "stop_token", "cancelled", "" while running
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
};

inline constexpr int kConversationFormatVersion = 1;

QJsonObject event_to_json(const TokenEvent& event);
TokenEvent event_from_json(const QJsonObject& object);

QJsonObject conversation_to_json(const Conversation& conversation);
// Throws nothing; returns false with `error` set on a malformed or newer file.
bool conversation_from_json(const QJsonObject& object, Conversation* out, QString* error);

// Written through QSaveFile: a crash mid-save leaves the old file intact.
bool save_conversation(const QString& path, const Conversation& conversation, QString* error);
bool load_conversation(const QString& path, Conversation* out, QString* error);

}  // namespace logitscope::widgets
