// SPDX-License-Identifier: GPL-3.0-or-later
#include "settings_store.h"

#include <QSettings>
#include <QVariant>
#include <QtGlobal>

#include <algorithm>
#include <cmath>
#include <limits>

namespace logitscope::gui {

namespace {

// Lists (INI text with commas) and maps never stand for one scalar setting.
bool is_container(const QVariant& value) {
  const int type = value.typeId();
  return type == QMetaType::QStringList || type == QMetaType::QVariantList || type == QMetaType::QVariantMap;
}

}  // namespace

int settings_file_version(QSettings& settings) {
  Q_ASSERT(settings.group().isEmpty());  // the key is top-level; inside a group it would be another key
  // A damaged or negative version counts as "before versioning" (0), as the header explains.
  return int(read_setting_int(settings, kSettingsVersionKey, 0, 0, std::numeric_limits<int>::max()));
}

bool begin_settings_write(QSettings& settings) {
  const int version = settings_file_version(settings);
  if (version > kSettingsFormatVersion) {
    static bool warned = false;  // once per run, not on every spin-box step
    if (!warned) {
      warned = true;
      qWarning("logitscope: %s was written by a newer Logitscope (settings format %d, this build knows %d); "
               "it is read but not changed",
               qPrintable(settings.fileName()), version, kSettingsFormatVersion);
    }
    return false;
  }
  if (version != kSettingsFormatVersion) settings.setValue(kSettingsVersionKey, kSettingsFormatVersion);
  return true;
}

qint64 read_setting_int(QSettings& settings, const QString& key, qint64 fallback, qint64 min, qint64 max) {
  const QVariant value = settings.value(key);
  if (!value.isValid() || is_container(value) || value.typeId() == QMetaType::Bool) return fallback;
  bool ok = false;
  const qint64 whole = value.toLongLong(&ok);
  if (ok) return std::clamp(whole, min, max);
  // Text past qint64 ("1e30", 30 digits) is a number out of range, not garbage: clamp it too.
  // Fractions ("2.5") are not whole numbers, so they are the wrong type.
  const double number = value.toDouble(&ok);
  if (!ok || !std::isfinite(number) || number != std::floor(number)) return fallback;
  if (number <= double(min)) return min;
  if (number >= double(max)) return max;
  return qint64(number);
}

double read_setting_double(QSettings& settings, const QString& key, double fallback, double min, double max) {
  const QVariant value = settings.value(key);
  if (!value.isValid() || is_container(value) || value.typeId() == QMetaType::Bool) return fallback;
  bool ok = false;
  const double number = value.toDouble(&ok);
  // NaN cannot be clamped meaningfully and inf is no setting anyone typed: both are damage.
  if (!ok || !std::isfinite(number)) return fallback;
  return std::clamp(number, min, max);
}

bool read_setting_bool(QSettings& settings, const QString& key, bool fallback) {
  const QVariant value = settings.value(key);
  if (!value.isValid() || is_container(value)) return fallback;
  if (value.typeId() == QMetaType::Bool) return value.toBool();
  const QString text = value.toString().trimmed().toLower();
  if (text == QLatin1String("true") || text == QLatin1String("1")) return true;
  if (text == QLatin1String("false") || text == QLatin1String("0")) return false;
  return fallback;
}

QString read_setting_string(QSettings& settings, const QString& key, const QString& fallback) {
  const QVariant value = settings.value(key);
  // INI gives plain text as QString; @ByteArray(...), @Variant(...) and lists are not ours.
  if (!value.isValid() || value.typeId() != QMetaType::QString) return fallback;
  return value.toString();
}

}  // namespace logitscope::gui
