// SPDX-License-Identifier: GPL-3.0-or-later
#include "chunked_text.h"

#include <QLabel>
#include <QVBoxLayout>

namespace logitscope::widgets {

ChunkedText::ChunkedText(QWidget* parent) : QWidget(parent) {
  layout_ = new QVBoxLayout(this);
  layout_->setContentsMargins(0, 0, 0, 0);
  layout_->setSpacing(0);
}

QStringList ChunkedText::split(const QString& text, int max_chars) {
  QStringList out;
  qsizetype start = 0;
  while (start < text.size()) {
    qsizetype end = text.indexOf(QLatin1Char('\n'), start);
    end = end < 0 ? text.size() : end + 1;  // the line break stays with its line
    if (end - start > max_chars) {
      const qsizetype space = text.lastIndexOf(QLatin1Char(' '), start + max_chars - 1);
      end = space > start ? space + 1 : start + max_chars;
    }
    out << text.mid(start, end - start);
    start = end;
  }
  return out;
}

void ChunkedText::set_text(const QString& text) {
  if (text == text_) return;
  text_ = text;
  QStringList parts = split(text, kChunkChars);
  // A label shows its chunk without the trailing line break (that break is the next label).
  for (QString& part : parts)
    if (part.endsWith(QLatin1Char('\n'))) part.chop(1);
  while (chunks_.size() < std::size_t(parts.size())) {
    auto* label = new QLabel(this);
    label->setWordWrap(true);
    label->setTextFormat(Qt::PlainText);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setForegroundRole(foregroundRole());
    label->setIndent(-1);
    layout_->addWidget(label);
    chunks_.push_back(label);
  }
  while (chunks_.size() > std::size_t(parts.size())) {
    delete chunks_.back();
    chunks_.pop_back();
  }
  for (std::size_t i = 0; i < chunks_.size(); ++i)
    if (chunks_[i]->text() != parts[qsizetype(i)]) chunks_[i]->setText(parts[qsizetype(i)]);
}

}  // namespace logitscope::widgets
