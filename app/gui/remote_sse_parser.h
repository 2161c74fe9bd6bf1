// SPDX-License-Identifier: GPL-3.0-or-later
// Server-sent events as OpenAI-compatible servers stream them: `data: ...` lines, events ended by a
// blank line, `:` comments (keep-alives) ignored. Network reads split events anywhere, so the parser
// keeps the unfinished tail until its blank line arrives.
#pragma once

#include <QByteArray>
#include <QList>

namespace logitscope::gui {

class SseParser {
 public:
  // Feeds bytes as they arrive; returns the data payloads of the events they completed, in order
  // (several `data:` lines of one event are joined with '\n'). "[DONE]" is returned like any other.
  QList<QByteArray> feed(const QByteArray& bytes);
  // What is left over at the end of the stream: an event without its blank line (some servers
  // close the connection right after the last one).
  QList<QByteArray> finish();
  void reset();

 private:
  QList<QByteArray> take_events(bool at_end);

  QByteArray buffer_;
};

}  // namespace logitscope::gui
