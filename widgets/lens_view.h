// SPDX-License-Identifier: GPL-3.0-or-later
// The logit lens at the selected token: one row per layer (index and kind letter), what that
// layer's residual stream would predict as the top-k tokens with their probabilities (cells coloured
// by probability), the KL divergence to the final distribution and the rank and probability there
// of the model's final choice. The rows scroll (52 layers), every cell has a hover read-out. The
// numbers come from the engine worker as a workbench::LensCapture; the view never calls the engine.
#pragma once

#include <QColor>
#include <QWidget>

#include "lens_capture.h"

class QLabel;
class QTableWidget;

namespace logitscope::widgets {

class LensView : public QWidget {
  Q_OBJECT
 public:
  explicit LensView(QWidget* parent = nullptr);

  void show_lens(workbench::LensCapture lens);
  void show_error(const QString& message);
  void set_busy(bool busy);
  // Off, with the reason, when there is nothing to read (no model, a remote server).
  void set_unavailable(const QString& why);

  // What is shown, for tests.
  const workbench::LensCapture& capture() const { return lens_; }
  QString header_text() const;
  QString readout_text() const;
  QTableWidget* table() const { return table_; }
  // The top-k cell of `layer` at `rank` (0 = best): its text and background.
  QString cell_text(int layer, int rank) const;
  QColor cell_colour(int layer, int rank) const;
  QString kl_text(int layer) const;
  QString final_rank_text(int layer) const;
  // What the read-out says for a cell (the hover logic).
  QString readout_at(int row, int column) const;

  static constexpr int kFirstRankColumn = 3;  // layer, KL, final top-1, then the ranks

 protected:
  void changeEvent(QEvent* event) override;

 private:
  void render();
  QString token_label(TokenId id) const;

  QLabel* header_;
  QTableWidget* table_;
  QLabel* readout_;
  workbench::LensCapture lens_;
};

}  // namespace logitscope::widgets
