// SPDX-License-Identifier: GPL-3.0-or-later
// Attention and Mamba at the selected token. Attention: the weights of the selected position over
// itself and every earlier token in a chosen attention layer, per head or averaged over heads, as
// bars along the positions (hover names the token). Mamba: dt = softplus(dt_raw + dt_bias), how
// strongly each Mamba layer writes into its state at each token, as a Mamba-layer x token map (mean
// over heads or one head). Plots zoom and drag along the positions. The data is a
// workbench::PromptInside from the engine worker (captured with the attention weights).
#pragma once

#include <QWidget>

#include <vector>

#include "prompt_inside.h"

class QComboBox;
class QCustomPlot;
class QCPBars;
class QCPColorMap;
class QCPItemStraightLine;
class QLabel;

namespace logitscope::widgets {

class AttentionMambaView : public QWidget {
  Q_OBJECT
 public:
  explicit AttentionMambaView(QWidget* parent = nullptr);

  void show_inside(workbench::PromptInside inside);
  void show_error(const QString& message);
  void set_busy(bool busy);
  void set_unavailable(const QString& why);
  void set_reply_index(int index);  // as RouterView::set_reply_index
  // Attention layer (index among the attention layers), its head (-1: mean), the dt head (-1: mean).
  void set_attention(int attention, int head);
  void set_dt_head(int head);

  // What is shown, for tests.
  const workbench::PromptInside& inside() const { return inside_; }
  std::int64_t shown_position() const { return pos_; }
  QString caption_text() const;
  std::vector<double> attention_values() const;  // [shown_position() + 1] the bars
  double dt_cell(std::int64_t pos, int mamba) const;
  QString attention_readout(std::int64_t key) const;
  QString dt_readout(std::int64_t pos, int mamba) const;
  QString readout_text() const;

 protected:
  void changeEvent(QEvent* event) override;

 private:
  void render_attention();
  void render_dt();
  void fill_boxes();
  QString token_label(std::int64_t pos) const;

  QComboBox* attention_box_;
  QComboBox* head_box_;
  QComboBox* dt_head_box_;
  QLabel* caption_;
  QLabel* readout_;
  QCustomPlot* attention_plot_;
  QCustomPlot* dt_plot_;
  QCPBars* attention_bars_;
  QCPColorMap* dt_map_;
  QCPItemStraightLine* dt_cursor_;
  workbench::PromptInside inside_;
  int reply_index_ = -1;
  int attention_ = 0;
  int head_ = -1;
  int dt_head_ = -1;
  std::int64_t pos_ = -1;
};

}  // namespace logitscope::widgets
