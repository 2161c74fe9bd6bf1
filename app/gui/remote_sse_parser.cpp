// SPDX-License-Identifier: GPL-3.0-or-later
#include "remote_sse_parser.h"

namespace logitscope::gui {

QList<QByteArray> SseParser::feed(const QByteArray& bytes) {
  buffer_ += bytes;
  return take_events(false);
}

QList<QByteArray> SseParser::finish() {
  QList<QByteArray> events = take_events(true);
  buffer_.clear();
  return events;
}

void SseParser::reset() { buffer_.clear(); }

QList<QByteArray> SseParser::take_events(bool at_end) {
  QList<QByteArray> events;
  QByteArray data;
  bool has_data = false;
  qsizetype consumed = 0;
  qsizetype start = 0;
  while (true) {
    qsizetype end = buffer_.indexOf('\n', start);
    if (end < 0) {
      if (!at_end || start >= buffer_.size()) break;
      end = buffer_.size();  // the last line without its newline
    }
    QByteArray line = buffer_.mid(start, end - start);
    if (line.endsWith('\r')) line.chop(1);  // CRLF framing
    start = end + 1;
    if (line.isEmpty()) {
      if (has_data) events.push_back(data);
      data.clear();
      has_data = false;
      consumed = start;
      continue;
    }
    if (line.startsWith(':')) continue;  // a comment: keep-alive
    QByteArray field = line;
    QByteArray value;
    const qsizetype colon = line.indexOf(':');
    if (colon >= 0) {
      field = line.left(colon);
      value = line.mid(colon + 1);
      if (value.startsWith(' ')) value.remove(0, 1);
    }
    if (field == "data") {
      if (has_data) data += '\n';
      data += value;
      has_data = true;
    }
    // event:, id:, retry: carry nothing these servers use.
  }
  if (at_end && has_data) events.push_back(data);
  buffer_.remove(0, at_end ? buffer_.size() : consumed);
  return events;
}

}  // namespace logitscope::gui
