// SPDX-License-Identifier: GPL-3.0-or-later
// Two forward passes over the reply compared, for the Effect dock (a branch's interventions against
// its parent's, one model) and the Compare dock (the window's model against a second one): the KL
// between the two next-token distributions of every reply token as a plot (the tokens whose best
// guesses differ marked; where the interventions start and the texts diverge as lines), the summary,
// per MoE layer how often the expert set changed and the mean Jaccard overlap, and both top-k lists
// of the selected token side by side. Clicking the plot selects that token, as the other views do.
// The numbers come from the engine worker as a workbench::ModelComparison; the view never calls the engine.
#pragma once

#include <QWidget>

#include <vector>

#include "model_comparison.h"

class QCustomPlot;
class QCPGraph;
class QCPItemStraightLine;
class QLabel;
class QLineEdit;
class QTableWidget;

namespace logitscope::workbench {
class EventStore;
}  // namespace logitscope::workbench

namespace logitscope::widgets {

class ComparisonView : public QWidget {
  Q_OBJECT
 public:
  enum class Mode { Effect, Models };
  ComparisonView(workbench::EventStore* store, Mode mode, QWidget* parent = nullptr);

  void show_comparison(workbench::ModelComparison comparison);
  // Nothing to compare (no interventions, no second model, no model): the reason instead of numbers.
  void show_message(const QString& text);
  void show_error(const QString& message);
  void set_busy(bool busy);
  // The Compare dock's field for side B's interventions (what was typed, "" for none).
  void set_interventions_b_text(const QString& text);

  // What is shown, for tests.
  const workbench::ModelComparison& comparison() const { return data_; }
  QString caption_text() const;
  QString summary_text() const;
  std::vector<double> plotted_kl() const;         // [reply tokens] the plot's points
  std::vector<int> marked_disagreements() const;  // reply tokens marked as best guesses differing
  double marker_position() const;                 // the selected token's line; NaN when hidden
  int shown_index() const { return shown_index_; }  // the token whose top-k lists show, -1: none
  QString token_text() const;                     // the line above the two lists
  QTableWidget* layers_table() const { return layers_; }
  QTableWidget* top_table() const { return top_; }
  QCustomPlot* plot() const { return plot_; }
  QLineEdit* interventions_b_edit() const { return interventions_b_; }

  // Columns of the layer table and of the side-by-side top-k table.
  enum LayerColumn { kLayer = 0, kSetChanged = 1, kMeanJaccard = 2 };
  enum TopColumn { kRank = 0, kTokenA = 1, kProbA = 2, kTokenB = 3, kProbB = 4 };

 signals:
  // The Compare dock's side B interventions were edited (Return or leaving the field).
  void interventions_b_edited(const QString& text);

 protected:
  void changeEvent(QEvent* event) override;

 private:
  void clear_numbers();
  void render();
  void render_layers();
  void render_selection();
  QString token_label(TokenId id) const;
  QString side_name(bool b) const;

  workbench::EventStore* store_;
  Mode mode_;
  workbench::ModelComparison data_;
  int shown_index_ = -1;
  QLabel* caption_;
  QLabel* summary_;
  QLineEdit* interventions_b_ = nullptr;
  QCustomPlot* plot_;
  QCPGraph* kl_graph_;
  QCPGraph* disagree_graph_;
  QCPItemStraightLine* marker_;
  QCPItemStraightLine* intervened_line_;
  QCPItemStraightLine* diverge_line_;
  QLabel* token_;
  QTableWidget* top_;
  QTableWidget* layers_;
};

}  // namespace logitscope::widgets
