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

// QSettings keys live here only, so the panel and tests agree on them. Loading never fails: a value
// that is missing or of the wrong type gives the default, one out of range is clamped to what the
// panel's box takes (settings_store.h). Saving returns false, writing nothing, when the file comes
// from a newer build (begin_settings_write).
GenerationSettings load_generation_settings(QSettings& settings);
bool save_generation_settings(QSettings& settings, const GenerationSettings& values);
// Tokens per "Step N" (sampling/step_count), kept beside the generation settings.
int load_step_count(QSettings& settings);
bool save_step_count(QSettings& settings, int count);

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
