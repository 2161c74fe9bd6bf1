// SPDX-License-Identifier: GPL-3.0-or-later
#include "run_status.h"

#include <QStringList>

#include "logitscope/telemetry/sample.h"

namespace logitscope::widgets {
namespace {

QString gib(double bytes) { return QString::number(bytes / double(1ull << 30), 'f', 1); }

}  // namespace

QString describe_run_status(const RunStatus& s) {
  QStringList parts;
  if (!s.model.isEmpty()) parts << (s.format.isEmpty() ? s.model : s.model + QStringLiteral(" \u00B7 ") + s.format);
  if (!s.backend.isEmpty())
    parts << (s.device.isEmpty() ? s.backend : QObject::tr("%1 on %2").arg(s.backend, s.device));
  if (s.prompt_tokens && s.reply_tokens)
    parts << QObject::tr("prompt %1, reply %2 tokens").arg(*s.prompt_tokens).arg(*s.reply_tokens);
  else if (s.reply_tokens)
    parts << QObject::tr("reply %1 tokens").arg(*s.reply_tokens);
  if (s.first_token_ms) parts << QObject::tr("first token %1 ms").arg(*s.first_token_ms, 0, 'f', *s.first_token_ms < 10 ? 1 : 0);
  if (s.tokens_per_second && s.floor_tokens_per_second)
    parts << QObject::tr("%1 tok/s (floor %2)").arg(*s.tokens_per_second, 0, 'f', 1).arg(*s.floor_tokens_per_second, 0, 'f', 0);
  else if (s.tokens_per_second)
    parts << QObject::tr("%1 tok/s").arg(*s.tokens_per_second, 0, 'f', 1);
  else if (s.floor_tokens_per_second)
    parts << QObject::tr("floor %1 tok/s").arg(*s.floor_tokens_per_second, 0, 'f', 0);
  if (s.bytes_per_token) parts << QObject::tr("%1 GB/token").arg(*s.bytes_per_token / 1e9, 0, 'f', 2);
  if (s.context_max > 0)
    parts << QObject::tr("context %1 / %2").arg(s.context_used.value_or(0)).arg(s.context_max);
  if (s.memory_used_bytes) {
    const QString total = s.memory_total_bytes ? QStringLiteral(" / ") + gib(*s.memory_total_bytes) : QString();
    const QString kind = s.memory_kind == QLatin1String("GPU")       ? QObject::tr("GPU memory")
                         : s.memory_kind == QLatin1String("unified") ? QObject::tr("memory (unified)")
                         : s.memory_kind == QLatin1String("RAM")     ? QObject::tr("RAM")
                                                                     : QObject::tr("model holds");
    parts << QStringLiteral("%1 %2%3 GiB").arg(kind, gib(*s.memory_used_bytes), total);
  }
  return parts.join(QStringLiteral(" \u00B7 "));
}

bool memory_from_sample(const telemetry::Sample& sample, RunStatus* status) {
  constexpr double kMiB = 1024.0 * 1024.0;
  if (sample.device && sample.device->mem_used_mb) {
    status->memory_kind = QStringLiteral("GPU");
    status->memory_used_bytes = *sample.device->mem_used_mb * kMiB;
    status->memory_total_bytes.reset();
    if (sample.device->mem_total_mb) status->memory_total_bytes = *sample.device->mem_total_mb * kMiB;
    return true;
  }
  if (sample.ram && sample.ram->total_mb > 0) {
    status->memory_kind = sample.unified_memory ? QStringLiteral("unified") : QStringLiteral("RAM");
    status->memory_used_bytes = sample.ram->used_mb * kMiB;
    status->memory_total_bytes = sample.ram->total_mb * kMiB;
    return true;
  }
  return false;
}

RunStatusLabel::RunStatusLabel(QWidget* parent) : QLabel(parent) {
  setObjectName(QStringLiteral("runStatus"));
  setTextInteractionFlags(Qt::TextSelectableByMouse);
}

void RunStatusLabel::show_status() {
  const QString text = describe_run_status(status_);
  setText(text);
  setToolTip(text);
}

}  // namespace logitscope::widgets
