// SPDX-License-Identifier: GPL-3.0-or-later
// The generated tokens as a wrapping strip of chips coloured by probability. Hover reports the
// token under the mouse, click selects it, shift-click selects a span (for routing sums).
#pragma once

#include <QColor>
#include <QRect>
#include <QWidget>

#include <vector>

namespace logitscope::workbench {
class EventStore;
}  // namespace logitscope::workbench

namespace logitscope::widgets {

class TokenStrip : public QWidget {
  Q_OBJECT
 public:
  explicit TokenStrip(workbench::EventStore* store, QWidget* parent = nullptr);

  bool hasHeightForWidth() const override { return true; }
  int heightForWidth(int width) const override;
  QSize sizeHint() const override;

  // For tests and the hover logic: where chip `index` is drawn and in which colour.
  QRect chip_rect(int index) const;
  QColor chip_color(int index) const;
  QString chip_text(int index) const;
  int index_at(const QPoint& point) const;
  int chip_count() const { return int(chips_.size()); }

 signals:
  void hovered(int index);  // -1 when the mouse leaves the tokens

 protected:
  void paintEvent(QPaintEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;
  void changeEvent(QEvent* event) override;

 private:
  struct Chip {
    QString text;
    int width = 0;
    QRect rect;
  };
  void rebuild();                       // texts and widths for new events
  int layout_chips(int width, std::vector<Chip>* chips) const;  // returns the height used
  void relayout();

  workbench::EventStore* store_;
  std::vector<Chip> chips_;
  int generation_ = -1;
  int hovered_ = -1;
  int anchor_ = -1;
  int laid_out_height_ = 0;
};

}  // namespace logitscope::widgets
