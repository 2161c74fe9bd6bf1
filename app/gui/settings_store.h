// SPDX-License-Identifier: GPL-3.0-or-later
// The workbench's QSettings file: a format version, a guard that keeps this build from writing over
// a file from a newer one, and reads that fall back to defaults on damaged values.
//
// Atomicity is QSettings' own: on Linux (Qt 6.4.2, as Debian ships it) QConfFileSettingsPrivate::
// syncConfFile takes "<file>.lock" (QLockFile), writes the whole file through QSaveFile with
// setDirectWriteFallback(false) (true only after setAtomicSyncRequired(false), which we never call):
// an O_TMPFILE inode in the same folder, fdatasync, linkat to "<file>.XXXXXX", rename over the file.
// Seen with strace on a QSettings::sync() and proven by tst_workbench_settings
// (crash_mid_save_keeps_the_previous_file: the writer SIGKILLed mid-write leaves the old file
// byte-identical). So we do not need a writer of our own.
#pragma once

#include <QString>

class QSettings;

namespace logitscope::gui {

// 1: the first versioned layout (sampling/*, chat/*, window/*, model/*, remote/*). A file without
// the key was written before versioning and is read as version 0, which this build owns.
inline constexpr int kSettingsFormatVersion = 1;
inline const QString kSettingsVersionKey = QStringLiteral("format/version");

// The version the file declares (call outside beginGroup()); 0 when the key is missing or not a
// whole number >= 0 (a damaged version falls back like any other damaged value, so a stray edit
// cannot lock the settings forever).
int settings_file_version(QSettings& settings);

// Call before any setValue()/remove(), outside beginGroup(). Stamps the version and returns true
// when this build owns the file. For a file from a newer build it returns false and the caller
// writes nothing: that build may have changed what our keys mean or moved them, so even "our" keys
// written back could be misread there, and stamping our version would mean lowering its own. The
// newer file stays byte-identical (QSettings writes nothing when no key changed); this session's
// changes are not remembered.
bool begin_settings_write(QSettings& settings);

// Typed reads. A missing value or one of the wrong type (text where a number belongs, a list, NaN)
// gives `fallback`; a number out of range is clamped into [min, max], the range the widget takes.
qint64 read_setting_int(QSettings& settings, const QString& key, qint64 fallback, qint64 min, qint64 max);
double read_setting_double(QSettings& settings, const QString& key, double fallback, double min, double max);
// true/false/1/0 (any case) only: QVariant::toBool() would call any other text true.
bool read_setting_bool(QSettings& settings, const QString& key, bool fallback);
QString read_setting_string(QSettings& settings, const QString& key, const QString& fallback = {});

}  // namespace logitscope::gui
