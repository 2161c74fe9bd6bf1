// SPDX-License-Identifier: GPL-3.0-or-later
// Sampling and generation settings (temperature, top-p, top-k, min-p, seed, max new tokens,
// thinking budget, alternatives per token), kept with QSettings between runs.
#pragma once

#include <QWidget>

#include "engine_types.h"

class QDoubleSpinBox;
class QSpinBox;
class QSettings;

namespace logitscope::gui {

// QSettings keys live here only, so the panel and tests agree on them.
GenerationSettings load_generation_settings(QSettings& settings);
void save_generation_settings(QSettings& settings, const GenerationSettings& values);

class SettingsPanel : public QWidget {
  Q_OBJECT
 public:
  explicit SettingsPanel(QWidget* parent = nullptr);

  GenerationSettings values() const;
  void set_values(const GenerationSettings& values);
  int step_count() const;  // tokens per "Step N"
  void set_step_count(int count);

 signals:
  void changed();

 private:
  QDoubleSpinBox* temperature_;
  QDoubleSpinBox* top_p_;
  QSpinBox* top_k_;
  QDoubleSpinBox* min_p_;
  QSpinBox* seed_;
  QSpinBox* max_new_tokens_;
  QSpinBox* thinking_budget_;
  QSpinBox* probe_top_k_;
  QSpinBox* step_count_;
};

}  // namespace logitscope::gui
