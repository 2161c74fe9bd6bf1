// SPDX-License-Identifier: GPL-3.0-or-later
#include "settings_panel.h"

#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QSettings>
#include <QSpinBox>

#include "settings_store.h"

namespace logitscope::gui {

namespace {

// One table for the widgets and the loader, so a value read from the file always fits its box.
struct Range {
  double min, max;
};
constexpr Range kTemperature{0.0, 5.0};
constexpr Range kTopP{0.0, 1.0};
constexpr Range kTopK{0, 100000};
constexpr Range kMinP{0.0, 1.0};
constexpr Range kSeed{0, 2147483647};  // QSpinBox holds an int
constexpr Range kMaxNewTokens{1, 1000000};
constexpr Range kThinkingBudget{-1, 1000000};
constexpr Range kProbeTopK{1, 50};
constexpr Range kStepCount{1, 10000};
constexpr int kDefaultStepCount = 8;

const QString kStepCountKey = QStringLiteral("sampling/step_count");

int read_int(QSettings& settings, const QString& key, int fallback, Range range) {
  return int(read_setting_int(settings, key, fallback, qint64(range.min), qint64(range.max)));
}

double read_double(QSettings& settings, const QString& key, double fallback, Range range) {
  return read_setting_double(settings, key, fallback, range.min, range.max);
}

}  // namespace

GenerationSettings load_generation_settings(QSettings& settings) {
  const GenerationSettings defaults;
  GenerationSettings values;
  settings.beginGroup(QStringLiteral("sampling"));
  values.temperature = read_double(settings, QStringLiteral("temperature"), defaults.temperature, kTemperature);
  values.top_p = read_double(settings, QStringLiteral("top_p"), defaults.top_p, kTopP);
  values.top_k = read_int(settings, QStringLiteral("top_k"), defaults.top_k, kTopK);
  values.min_p = read_double(settings, QStringLiteral("min_p"), defaults.min_p, kMinP);
  values.seed = std::uint64_t(read_int(settings, QStringLiteral("seed"), int(defaults.seed), kSeed));
  values.max_new_tokens = read_int(settings, QStringLiteral("max_new_tokens"), defaults.max_new_tokens, kMaxNewTokens);
  values.thinking_budget = read_int(settings, QStringLiteral("thinking_budget"), defaults.thinking_budget, kThinkingBudget);
  values.probe_top_k = read_int(settings, QStringLiteral("probe_top_k"), defaults.probe_top_k, kProbeTopK);
  settings.endGroup();
  return values;
}

bool save_generation_settings(QSettings& settings, const GenerationSettings& values) {
  if (!begin_settings_write(settings)) return false;
  settings.beginGroup(QStringLiteral("sampling"));
  settings.setValue(QStringLiteral("temperature"), values.temperature);
  settings.setValue(QStringLiteral("top_p"), values.top_p);
  settings.setValue(QStringLiteral("top_k"), values.top_k);
  settings.setValue(QStringLiteral("min_p"), values.min_p);
  settings.setValue(QStringLiteral("seed"), qulonglong(values.seed));
  settings.setValue(QStringLiteral("max_new_tokens"), values.max_new_tokens);
  settings.setValue(QStringLiteral("thinking_budget"), values.thinking_budget);
  settings.setValue(QStringLiteral("probe_top_k"), values.probe_top_k);
  settings.endGroup();
  return true;
}

int load_step_count(QSettings& settings) { return read_int(settings, kStepCountKey, kDefaultStepCount, kStepCount); }

bool save_step_count(QSettings& settings, int count) {
  if (!begin_settings_write(settings)) return false;
  settings.setValue(kStepCountKey, count);
  return true;
}

SettingsPanel::SettingsPanel(QWidget* parent) : QWidget(parent) {
  auto make_double = [this](Range range, double step, int decimals, const QString& tip) {
    auto* box = new QDoubleSpinBox(this);
    box->setRange(range.min, range.max);
    box->setSingleStep(step);
    box->setDecimals(decimals);
    box->setToolTip(tip);
    connect(box, &QDoubleSpinBox::valueChanged, this, &SettingsPanel::changed);
    return box;
  };
  auto make_int = [this](Range range, const QString& tip, const QString& special = {}) {
    auto* box = new QSpinBox(this);
    box->setRange(int(range.min), int(range.max));
    box->setToolTip(tip);
    if (!special.isEmpty()) box->setSpecialValueText(special);
    connect(box, &QSpinBox::valueChanged, this, &SettingsPanel::changed);
    return box;
  };
  temperature_ = make_double(kTemperature, 0.05, 2, tr("0 = greedy (always the most likely token)"));
  top_p_ = make_double(kTopP, 0.01, 3, tr("Keep the smallest set of tokens whose probability adds up to this; 1 = off"));
  top_k_ = make_int(kTopK, tr("Keep only the k most likely tokens; 0 = off"), tr("off"));
  min_p_ = make_double(kMinP, 0.01, 3, tr("Drop tokens less likely than this times the best one; 0 = off"));
  seed_ = make_int(kSeed, tr("Random seed for sampling; the same seed and settings give the same text"));
  max_new_tokens_ = make_int(kMaxNewTokens, tr("Most tokens one reply may have"));
  thinking_budget_ = make_int(kThinkingBudget, tr("Reasoning tokens before </think> is forced; -1 = no limit"), tr("no limit"));
  probe_top_k_ = make_int(kProbeTopK, tr("Alternatives recorded for each token (top-k viewer)"));
  step_count_ = make_int(kStepCount, tr("Tokens per Step N"));

  auto* form = new QFormLayout(this);
  form->addRow(tr("Temperature"), temperature_);
  form->addRow(tr("Top-p"), top_p_);
  form->addRow(tr("Top-k"), top_k_);
  form->addRow(tr("Min-p"), min_p_);
  form->addRow(tr("Seed"), seed_);
  form->addRow(tr("Max new tokens"), max_new_tokens_);
  form->addRow(tr("Thinking budget"), thinking_budget_);
  form->addRow(tr("Alternatives shown"), probe_top_k_);
  form->addRow(tr("Step N count"), step_count_);
  set_values(GenerationSettings{});
  step_count_->setValue(kDefaultStepCount);
}

GenerationSettings SettingsPanel::values() const {
  GenerationSettings values;
  values.temperature = temperature_->value();
  values.top_p = top_p_->value();
  values.top_k = top_k_->value();
  values.min_p = min_p_->value();
  values.seed = std::uint64_t(seed_->value());
  values.max_new_tokens = max_new_tokens_->value();
  values.thinking_budget = thinking_budget_->value();
  values.probe_top_k = probe_top_k_->value();
  return values;
}

void SettingsPanel::set_values(const GenerationSettings& values) {
  temperature_->setValue(values.temperature);
  top_p_->setValue(values.top_p);
  top_k_->setValue(values.top_k);
  min_p_->setValue(values.min_p);
  seed_->setValue(int(std::min<std::uint64_t>(values.seed, std::uint64_t(kSeed.max))));
  max_new_tokens_->setValue(values.max_new_tokens);
  thinking_budget_->setValue(values.thinking_budget);
  probe_top_k_->setValue(values.probe_top_k);
}

int SettingsPanel::step_count() const { return step_count_->value(); }
void SettingsPanel::set_step_count(int count) { step_count_->setValue(count); }

}  // namespace logitscope::gui
