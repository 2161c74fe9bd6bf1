// SPDX-License-Identifier: GPL-3.0-or-later
#include "settings_panel.h"

#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QSettings>
#include <QSpinBox>

namespace logitscope::gui {

GenerationSettings load_generation_settings(QSettings& settings) {
  GenerationSettings values;
  settings.beginGroup(QStringLiteral("sampling"));
  values.temperature = settings.value(QStringLiteral("temperature"), values.temperature).toDouble();
  values.top_p = settings.value(QStringLiteral("top_p"), values.top_p).toDouble();
  values.top_k = settings.value(QStringLiteral("top_k"), values.top_k).toInt();
  values.min_p = settings.value(QStringLiteral("min_p"), values.min_p).toDouble();
  values.seed = settings.value(QStringLiteral("seed"), qulonglong(values.seed)).toULongLong();
  values.max_new_tokens = settings.value(QStringLiteral("max_new_tokens"), values.max_new_tokens).toInt();
  values.thinking_budget = settings.value(QStringLiteral("thinking_budget"), values.thinking_budget).toInt();
  values.probe_top_k = settings.value(QStringLiteral("probe_top_k"), values.probe_top_k).toInt();
  settings.endGroup();
  return values;
}

void save_generation_settings(QSettings& settings, const GenerationSettings& values) {
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
}

SettingsPanel::SettingsPanel(QWidget* parent) : QWidget(parent) {
  auto make_double = [this](double min, double max, double step, int decimals, const QString& tip) {
    auto* box = new QDoubleSpinBox(this);
    box->setRange(min, max);
    box->setSingleStep(step);
    box->setDecimals(decimals);
    box->setToolTip(tip);
    connect(box, &QDoubleSpinBox::valueChanged, this, &SettingsPanel::changed);
    return box;
  };
  auto make_int = [this](int min, int max, const QString& tip, const QString& special = {}) {
    auto* box = new QSpinBox(this);
    box->setRange(min, max);
    box->setToolTip(tip);
    if (!special.isEmpty()) box->setSpecialValueText(special);
    connect(box, &QSpinBox::valueChanged, this, &SettingsPanel::changed);
    return box;
  };
  temperature_ = make_double(0.0, 5.0, 0.05, 2, tr("0 = greedy (always the most likely token)"));
  top_p_ = make_double(0.0, 1.0, 0.01, 3, tr("Keep the smallest set of tokens whose probability adds up to this; 1 = off"));
  top_k_ = make_int(0, 100000, tr("Keep only the k most likely tokens; 0 = off"), tr("off"));
  min_p_ = make_double(0.0, 1.0, 0.01, 3, tr("Drop tokens less likely than this times the best one; 0 = off"));
  seed_ = make_int(0, 2147483647, tr("Random seed for sampling; the same seed and settings give the same text"));
  max_new_tokens_ = make_int(1, 1000000, tr("Most tokens one reply may have"));
  thinking_budget_ = make_int(-1, 1000000, tr("Reasoning tokens before </think> is forced; -1 = no limit"), tr("no limit"));
  probe_top_k_ = make_int(1, 50, tr("Alternatives recorded for each token (top-k viewer)"));
  step_count_ = make_int(1, 10000, tr("Tokens per Step N"));

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
  step_count_->setValue(8);
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
  seed_->setValue(int(std::min<std::uint64_t>(values.seed, 2147483647)));
  max_new_tokens_->setValue(values.max_new_tokens);
  thinking_budget_->setValue(values.thinking_budget);
  probe_top_k_->setValue(values.probe_top_k);
}

int SettingsPanel::step_count() const { return step_count_->value(); }
void SettingsPanel::set_step_count(int count) { step_count_->setValue(count); }

}  // namespace logitscope::gui
