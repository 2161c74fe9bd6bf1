// SPDX-License-Identifier: GPL-3.0-or-later
// Open Model: a snapshot folder, or a Hugging Face id + cache folder + revision (never the network),
// with the resolved snapshot's config summary shown before anything is loaded.
#pragma once

#include <QDialog>

#include "engine_types.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QRadioButton;
class QTimer;
class QDialogButtonBox;
class QPushButton;

namespace logitscope::gui {

// A few lines about the snapshot `request` names, or the error that finding it gives. Reads only
// config.json and lists files, so it is quick enough for the GUI thread.
QString describe_snapshot(const LoadRequest& request, bool* ok);

class OpenModelDialog : public QDialog {
  Q_OBJECT
 public:
  explicit OpenModelDialog(const LoadRequest& initial, QWidget* parent = nullptr);
  // exec() returns this when the user chose "Remote Server…" instead of a local model.
  static constexpr int RemoteRequested = 2;
  LoadRequest request() const;
  QString summary_text() const;
  // Off for a second model to compare with: a server's API gives no logits of a given text.
  void offer_remote(bool offered);

 private:
  void update_summary();

  QRadioButton* folder_mode_;
  QRadioButton* hub_mode_;
  QLineEdit* folder_;
  QLineEdit* hub_id_;
  QLineEdit* cache_dir_;
  QLineEdit* revision_;
  QComboBox* backend_;
  QComboBox* quantize_;  // "", "fp8", "nvfp4"
  QLabel* summary_;
  QDialogButtonBox* buttons_;
  QPushButton* remote_;
  QTimer* debounce_;
};

}  // namespace logitscope::gui
