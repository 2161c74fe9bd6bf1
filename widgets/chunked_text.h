// SPDX-License-Identifier: GPL-3.0-or-later
// Word-wrapped, selectable plain text that is cheap to grow: the text is held as a column of labels,
// one per chunk (a paragraph, or about kChunkChars of one at a space), so a streamed reply that
// grows at its end re-lays out only its last chunk. One word-wrapped QLabel re-lays out all of its
// text at every update, which at a few thousand characters stalls the window at each token batch.
#pragma once

#include <QString>
#include <QStringList>
#include <QWidget>

#include <vector>

class QLabel;
class QVBoxLayout;

namespace logitscope::widgets {

class ChunkedText : public QWidget {
  Q_OBJECT
 public:
  explicit ChunkedText(QWidget* parent = nullptr);

  // Replaces the text; only chunks whose text changed are touched.
  void set_text(const QString& text);
  const QString& text() const { return text_; }
  int chunk_count() const { return int(chunks_.size()); }

  // The text cut into chunks: at line breaks (kept at the end of their chunk), and a paragraph
  // longer than `max_chars` at its last space before that length (or hard, without one).
  static QStringList split(const QString& text, int max_chars);
  static constexpr int kChunkChars = 1500;

 private:
  QString text_;
  QVBoxLayout* layout_;
  std::vector<QLabel*> chunks_;
};

}  // namespace logitscope::widgets
