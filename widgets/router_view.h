// SPDX-License-Identifier: GPL-3.0-or-later
// The router in full. For the selected token and a chosen MoE layer: every expert's sigmoid score as
// a bar (the chosen experts highlighted and labelled with their combine weights), the selection score
// (score + correction bias) as a dot beside it, the margin and the router entropy. Over the whole
// conversation: a token x MoE-layer map of routing margins (bright = a near-tie that could flip) and
// a MoE-layer x expert map of how often each expert fired (never: red). Plots zoom and drag along
// their long axis and every plot has a hover read-out, so 128 experts and long conversations stay
// readable. The data is a workbench::PromptInside from the engine worker; the view never calls it.
#pragma once

#include <QWidget>

#include <vector>

#include "prompt_inside.h"

class QComboBox;
class QCustomPlot;
class QCPBars;
class QCPColorMap;
class QCPGraph;
class QCPItemStraightLine;
class QCPItemText;
class QLabel;

namespace logitscope::widgets {

class RouterView : public QWidget {
  Q_OBJECT
 public:
  explicit RouterView(QWidget* parent = nullptr);

  void show_inside(workbench::PromptInside inside);
  void show_error(const QString& message);
  void set_busy(bool busy);
  void set_unavailable(const QString& why);
  // The reply token whose routing shows (-1: the last position), as the conversation's selection.
  void set_reply_index(int index);
  // Which MoE layer (index among the MoE layers) the scores are for.
  void set_moe(int moe);

  // What is shown, for tests.
  const workbench::PromptInside& inside() const { return inside_; }
  int moe() const { return moe_; }
  std::int64_t shown_position() const { return pos_; }
  QString caption_text() const;
  QString summary_text() const;
  QString readout_text() const;
  std::vector<double> score_values() const;      // [experts] the bars
  std::vector<double> selection_values() const;  // [experts] the dots
  std::vector<int> highlighted_experts() const;  // the chosen experts' bars, ascending
  std::vector<QString> weight_labels() const;    // the labels over the chosen bars
  double margin_cell(std::int64_t pos, int moe) const;  // read back from the colour map
  double load_cell(int moe, int expert) const;          // NaN: never chosen
  QString expert_readout(int expert) const;
  QString margin_readout(std::int64_t pos, int moe) const;
  QString load_readout(int moe, int expert) const;
  QCustomPlot* scores_plot() const { return scores_plot_; }
  QCustomPlot* margin_plot() const { return margin_plot_; }
  QCustomPlot* load_plot() const { return load_plot_; }
  QComboBox* layer_box() const { return layer_box_; }

 protected:
  void changeEvent(QEvent* event) override;

 private:
  void setup_plots();
  void render_maps();    // the whole conversation: margins and expert load
  void render_scores();  // the selected token at the chosen layer
  QString token_label(std::int64_t pos) const;

  QComboBox* layer_box_;
  QLabel* caption_;
  QLabel* summary_;
  QLabel* readout_;
  QCustomPlot* scores_plot_;
  QCustomPlot* margin_plot_;
  QCustomPlot* load_plot_;
  QCPBars* score_bars_;
  QCPBars* chosen_bars_;
  QCPGraph* selection_dots_;
  QCPColorMap* margin_map_;
  QCPColorMap* load_map_;
  QCPItemStraightLine* margin_cursor_;
  std::vector<QCPItemText*> weight_items_;  // [chosen experts] over their bars
  workbench::PromptInside inside_;
  int reply_index_ = -1;
  int moe_ = 0;
  std::int64_t pos_ = -1;
};

}  // namespace logitscope::widgets
