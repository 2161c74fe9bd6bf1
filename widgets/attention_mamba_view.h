// SPDX-License-Identifier: GPL-3.0-or-later
// Attention and Mamba at the selected token. Attention: the weights of the selected position over
// itself and every earlier token in a chosen attention layer, per head, per KV group (the heads
// that read the same keys and values) or averaged over heads, as bars along the positions (hover
// names the token). Mamba, as a Mamba-layer x token map (mean over heads or one head): the time step
// dt = softplus(dt_raw + dt_bias), how strongly each layer writes into its state at each token, or
// the L2 norm of the state after the token. Plots zoom and drag along the positions. The data is a
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
  enum class MambaQuantity { TimeStep, StateNorm };

  explicit AttentionMambaView(QWidget* parent = nullptr);

  void show_inside(workbench::PromptInside inside);
  void show_error(const QString& message);
  void set_busy(bool busy);
  void set_unavailable(const QString& why);
  void set_reply_index(int index);  // as RouterView::set_reply_index
  // Attention layer (index among the attention layers), its head (-1: mean), the dt head (-1: mean).
  void set_attention(int attention, int head);
  void set_attention_group(int attention, int group);  // mean over the heads of one KV group
  void set_dt_head(int head);                          // the Mamba head, whichever quantity is shown
  void set_mamba_quantity(MambaQuantity quantity);

  // What is shown, for tests.
  const workbench::PromptInside& inside() const { return inside_; }
  std::int64_t shown_position() const { return pos_; }
  QString caption_text() const;
  std::vector<double> attention_values() const;  // [shown_position() + 1] the bars
  double mamba_cell(std::int64_t pos, int mamba) const;  // the Mamba map at (pos, Mamba layer index)
  QString attention_readout(std::int64_t key) const;
  QString mamba_readout(std::int64_t pos, int mamba) const;
  QString readout_text() const;

 protected:
  void changeEvent(QEvent* event) override;

 private:
  void render_attention();
  void render_mamba();
  void fill_boxes();
  QString token_label(std::int64_t pos) const;
  int head_box_index() const;
  std::vector<double> shown_row() const;  // [pos_ + 1] the attention row for the head choice
  QString heads_text() const;             // "head 2", "KV group 1 (heads 2-3)", "mean of 4 heads"
  double mamba_value(int mamba, std::int64_t pos) const;
  QString quantity_name() const;

  QComboBox* attention_box_;
  QComboBox* head_box_;
  QComboBox* dt_head_box_;
  QComboBox* mamba_quantity_box_;
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
  int head_ = -1;   // -1: the mean over heads (or over group_'s heads)
  int group_ = -1;  // >= 0: the KV group shown (head_ is then -1)
  int dt_head_ = -1;
  MambaQuantity quantity_ = MambaQuantity::TimeStep;
  std::int64_t pos_ = -1;
};

}  // namespace logitscope::widgets
