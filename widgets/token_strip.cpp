// SPDX-License-Identifier: GPL-3.0-or-later
#include "token_strip.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include "event_store.h"
#include "plot_style.h"
#include "token_format.h"

namespace logitscope::widgets {
namespace {
constexpr int kPadX = 3;
constexpr int kPadY = 2;
constexpr int kGap = 2;
constexpr int kMargin = 4;
}  // namespace

TokenStrip::TokenStrip(workbench::EventStore* store, QWidget* parent) : QWidget(parent), store_(store) {
  setMouseTracking(true);
  setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Minimum);
  setAttribute(Qt::WA_OpaquePaintEvent, false);
  connect(store_, &workbench::EventStore::changed, this, &TokenStrip::rebuild);
  connect(store_, &workbench::EventStore::selection_changed, this, qOverload<>(&QWidget::update));
  rebuild();
}

void TokenStrip::rebuild() {
  const auto& events = store_->events();
  const QFontMetrics metrics(font());
  // Events only ever append between set_events() calls, so keep the chips already measured.
  if (generation_ != store_->generation() || chips_.size() > events.size()) chips_.clear();
  generation_ = store_->generation();
  for (std::size_t i = chips_.size(); i < events.size(); ++i) {
    Chip chip;
    chip.text = visible_token(events[i]);
    chip.width = metrics.horizontalAdvance(chip.text) + 2 * kPadX;
    chips_.push_back(std::move(chip));
  }
  relayout();
}

int TokenStrip::layout_chips(int width, std::vector<Chip>* chips) const {
  const int line_height = QFontMetrics(font()).height() + 2 * kPadY;
  int x = kMargin;
  int y = kMargin;
  for (Chip& chip : *chips) {
    if (x > kMargin && x + chip.width > width - kMargin) {
      x = kMargin;
      y += line_height + kGap;
    }
    chip.rect = QRect(x, y, chip.width, line_height);
    x += chip.width + kGap;
  }
  return y + line_height + kMargin;
}

void TokenStrip::relayout() {
  laid_out_height_ = layout_chips(std::max(width(), 50), &chips_);
  if (minimumHeight() != laid_out_height_) setMinimumHeight(laid_out_height_);
  updateGeometry();
  update();
}

int TokenStrip::heightForWidth(int width) const {
  std::vector<Chip> copy = chips_;
  return layout_chips(width, &copy);
}

QSize TokenStrip::sizeHint() const { return QSize(400, std::max(laid_out_height_, 40)); }

QRect TokenStrip::chip_rect(int index) const {
  return index >= 0 && index < int(chips_.size()) ? chips_[index].rect : QRect();
}

QColor TokenStrip::chip_color(int index) const {
  const auto& events = store_->events();
  if (index < 0 || index >= int(events.size())) return {};
  return probability_color(events[index].prob, is_dark(palette()));
}

QString TokenStrip::chip_text(int index) const {
  return index >= 0 && index < int(chips_.size()) ? chips_[index].text : QString();
}

int TokenStrip::index_at(const QPoint& point) const {
  for (int i = 0; i < int(chips_.size()); ++i) {
    if (chips_[i].rect.contains(point)) return i;
  }
  return -1;
}

void TokenStrip::paintEvent(QPaintEvent* event) {
  QPainter painter(this);
  painter.fillRect(rect(), palette().color(QPalette::Base));
  const auto& events = store_->events();
  const QColor text_color = palette().color(QPalette::Text);
  const QColor highlight = palette().color(QPalette::Highlight);
  const int selected = store_->selected();
  for (int i = 0; i < int(chips_.size()) && i < int(events.size()); ++i) {
    const Chip& chip = chips_[i];
    if (!chip.rect.intersects(event->rect())) continue;
    painter.fillRect(chip.rect, chip_color(i));
    const bool in_span = store_->has_span() && i >= store_->span_begin() && i < store_->span_end();
    if (in_span) painter.fillRect(chip.rect.adjusted(0, chip.rect.height() - 3, 0, 0), highlight);
    if (is_special_looking(events[i].bytes)) {
      painter.setPen(QPen(text_color, 1, Qt::DashLine));
      painter.drawRect(chip.rect.adjusted(0, 0, -1, -1));
    }
    if (events[i].forced) {  // chosen by the user: a solid outline
      painter.setPen(QPen(highlight, 2));
      painter.drawRect(chip.rect.adjusted(1, 1, -1, -1));
    }
    if (i == selected || i == hovered_) {
      painter.setPen(QPen(i == selected ? highlight : text_color, i == selected ? 2 : 1));
      painter.drawRect(chip.rect.adjusted(0, 0, -1, -1));
    }
    // Chip colours are light on a light palette and dark on a dark one, so the palette's text
    // colour stays readable on them.
    painter.setPen(text_color);
    painter.drawText(chip.rect, Qt::AlignCenter, chip.text);
  }
}

void TokenStrip::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  relayout();
}

void TokenStrip::mouseMoveEvent(QMouseEvent* event) {
  const int index = index_at(event->position().toPoint());
  if (index != hovered_) {
    hovered_ = index;
    update();
    emit hovered(index);
  }
  if (index >= 0 && index < int(store_->size())) {
    const auto& token = store_->events()[index];
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("#%1  id %2  p=%3  H=%4 nats").arg(index).arg(token.id)
                           .arg(format_percent(token.prob)).arg(double(token.entropy), 0, 'f', 2),
                       this);
  }
}

void TokenStrip::mousePressEvent(QMouseEvent* event) {
  const int index = index_at(event->position().toPoint());
  if (index < 0) return;
  if ((event->modifiers() & Qt::ShiftModifier) && anchor_ >= 0) {
    store_->select_span(anchor_, index + 1);
  } else {
    anchor_ = index;
    store_->select(index);
  }
}

void TokenStrip::leaveEvent(QEvent* event) {
  QWidget::leaveEvent(event);
  if (hovered_ != -1) {
    hovered_ = -1;
    update();
    emit hovered(-1);
  }
}

void TokenStrip::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::FontChange) {
    chips_.clear();
    rebuild();
  } else if (event->type() == QEvent::PaletteChange) {
    update();
  }
}

}  // namespace logitscope::widgets
