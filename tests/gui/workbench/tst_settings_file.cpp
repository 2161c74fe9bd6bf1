// SPDX-License-Identifier: GPL-3.0-or-later
// The settings file (settings_store.h): a file from a newer build is read but never written, damaged
// values fall back to defaults (or are clamped into the panel's ranges) without a crash, and a
// writer SIGKILLed in the middle of QSettings::sync() leaves the previous file intact.
//
// What a killed sync leaves (Qt 6.4, Linux): the temporary file is an O_TMPFILE inode (no name, gone
// with the process) and "<file>.lock" holding the dead writer's pid. QLockFile sees that the pid is
// not running, takes the stale lock over and removes it after the next sync, so the next save works.
// Where O_TMPFILE is missing a named "<file>.XXXXXX" stays behind; QSettings never reads it.
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSettings>
#include <QTemporaryDir>
#include <QTest>

#include "crash_mid_write.h"
#include "settings_panel.h"
#include "settings_store.h"

using namespace logitscope::gui;
using logitscope::test::crash_child_mode;
using logitscope::test::crash_child_path;

namespace {

QByteArray read_all(const QString& path) {
  QFile file(path);
  return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

void write_all(const QString& path, const QByteArray& bytes) {
  QFile file(path);
  QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
  QCOMPARE(file.write(bytes), bytes.size());
}

GenerationSettings values_a() {
  GenerationSettings v;
  v.temperature = 0.3;
  v.top_p = 0.8;
  v.top_k = 40;
  v.seed = 1234;
  v.max_new_tokens = 77;
  return v;
}

GenerationSettings values_b() {
  GenerationSettings v;
  v.temperature = 1.5;
  v.top_p = 0.5;
  v.top_k = 7;
  v.seed = 99;
  v.max_new_tokens = 4096;
  v.thinking_budget = 100;
  return v;
}

void compare(const GenerationSettings& got, const GenerationSettings& want) {
  QCOMPARE(got.temperature, want.temperature);
  QCOMPARE(got.top_p, want.top_p);
  QCOMPARE(got.top_k, want.top_k);
  QCOMPARE(got.min_p, want.min_p);
  QCOMPARE(got.seed, want.seed);
  QCOMPARE(got.max_new_tokens, want.max_new_tokens);
  QCOMPARE(got.thinking_budget, want.thinking_budget);
  QCOMPARE(got.probe_top_k, want.probe_top_k);
}

// The child: the app's save path with a large window state, so the file is far from one write.
int run_the_child_save() {
  const QString path = crash_child_path();
  logitscope::test::stall_writes_in(QFileInfo(path).absolutePath());
  if (crash_child_mode() == QLatin1String("direct")) {  // the control: rewrite in place
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) return 3;
    file.write("[sampling]\ntemperature=1.5\n" + QByteArray(512 * 1024, ';'));
    file.flush();
    return 0;
  }
  QSettings settings(path, QSettings::IniFormat);
  if (!save_generation_settings(settings, values_b()) || !save_step_count(settings, 3)) return 3;
  settings.setValue(QStringLiteral("window/state"), QByteArray(512 * 1024, 'w'));
  settings.sync();
  return 0;  // reaching here means no stall: the parent fails
}

const char kNewerFile[] =
    "[format]\nversion=2\n\n"
    "[sampling]\ntemperature=0.3\ntop_k=40\nfuture_knob=on\n\n"
    "[future]\nlayout=grid\n";

}  // namespace

class TestSettingsFile : public QObject {
  Q_OBJECT
 private slots:
  void newer_version_is_read_not_clobbered() {
    QTemporaryDir dir;
    const QString path = dir.filePath("settings.ini");
    write_all(path, kNewerFile);
    {
      QSettings settings(path, QSettings::IniFormat);
      QCOMPARE(settings_file_version(settings), 2);
      const GenerationSettings read = load_generation_settings(settings);
      QCOMPARE(read.temperature, 0.3);  // what we understand is used
      QCOMPARE(read.top_k, 40);
      QCOMPARE(read.max_new_tokens, GenerationSettings{}.max_new_tokens);  // the rest keeps defaults
      QVERIFY(!save_generation_settings(settings, values_b()));
      QVERIFY(!save_step_count(settings, 3));
      QVERIFY(!begin_settings_write(settings));
      settings.sync();
      QCOMPARE(settings.status(), QSettings::NoError);
    }
    QCOMPARE(read_all(path), QByteArray(kNewerFile));
  }

  void own_and_unversioned_files_are_written() {
    // The other side of the guard: versions 0 (no key) and 1 belong to this build.
    for (const QByteArray& header : {QByteArray(), QByteArray("[format]\nversion=1\n\n")}) {
      QTemporaryDir dir;
      const QString path = dir.filePath("settings.ini");
      write_all(path, header + "[sampling]\ntemperature=0.3\n");
      {
        QSettings settings(path, QSettings::IniFormat);
        QVERIFY(save_generation_settings(settings, values_b()));
      }
      QSettings settings(path, QSettings::IniFormat);
      QCOMPARE(settings_file_version(settings), kSettingsFormatVersion);
      compare(load_generation_settings(settings), values_b());
    }
  }

  void garbage_values_fall_back_to_defaults() {
    QTemporaryDir dir;
    const QString path = dir.filePath("settings.ini");
    // Each value is one a plain QVariant conversion would have turned into something else.
    write_all(path,
              "[sampling]\n"
              "temperature=warm\n"                  // toDouble: 0
              "top_p=1.5\n"                         // above the box: clamped to 1
              "top_k=-3\n"                          // below: clamped to 0
              "min_p=nan\n"                         // toDouble: NaN
              "seed=99999999999999999999999\n"      // past qint64: clamped to the box's maximum
              "max_new_tokens=1, 2\n"               // a list: toInt gives 0
              "thinking_budget=@ByteArray(\\0\\x1)\n"  // bytes: toInt gives 0
              "probe_top_k=1000\n"                  // clamped to 50
              "step_count=2.5\n"                    // not a whole number
              "[chat]\nthinking=maybe\n"            // toBool: true
              "[remote]\nurl=a, b\n");              // a list, not a URL
    QSettings settings(path, QSettings::IniFormat);
    const GenerationSettings defaults;
    const GenerationSettings read = load_generation_settings(settings);
    QCOMPARE(read.temperature, defaults.temperature);
    QCOMPARE(read.top_p, 1.0);
    QCOMPARE(read.top_k, 0);
    QCOMPARE(read.min_p, defaults.min_p);
    QCOMPARE(read.seed, std::uint64_t(2147483647));
    QCOMPARE(read.max_new_tokens, defaults.max_new_tokens);
    QCOMPARE(read.thinking_budget, defaults.thinking_budget);
    QCOMPARE(read.probe_top_k, 50);
    QCOMPARE(load_step_count(settings), 8);
    QCOMPARE(read_setting_bool(settings, "chat/thinking", false), false);
    QCOMPARE(read_setting_string(settings, "remote/url", "fallback"), QString("fallback"));
    QCOMPARE(read_setting_int(settings, "sampling/nothing", 5, 0, 10), qint64(5));

    // What was read fits the panel's boxes unchanged: the loader and the widgets share the ranges.
    SettingsPanel panel;
    panel.set_values(read);
    compare(panel.values(), read);
  }

  void random_bytes_never_crash() {
    QTemporaryDir dir;
    QRandomGenerator random(20261128);
    const QByteArray alphabet("[]=,;\"\\@()\n\r\t 0123456789.-eEnaxsmplingtop_k/");
    for (int round = 0; round < 200; ++round) {
      QByteArray bytes = "[sampling]\n";
      for (int i = 0; i < 300; ++i)
        bytes += round % 2 ? char(random.bounded(256)) : alphabet[int(random.bounded(alphabet.size()))];
      // A fresh name each round: QSettings' cache would take a same-sized file within the same
      // timestamp for the one it read before.
      const QString path = dir.filePath(QStringLiteral("settings-%1.ini").arg(round));
      write_all(path, bytes);
      QSettings settings(path, QSettings::IniFormat);
      const GenerationSettings read = load_generation_settings(settings);
      // Inside the boxes' ranges: the panel keeps every value (doubles up to its decimals).
      SettingsPanel panel;
      panel.set_values(read);
      const GenerationSettings shown = panel.values();
      QVERIFY2(qAbs(shown.temperature - read.temperature) < 0.006 && qAbs(shown.top_p - read.top_p) < 0.0006 &&
                   qAbs(shown.min_p - read.min_p) < 0.0006 && shown.top_k == read.top_k && shown.seed == read.seed &&
                   shown.max_new_tokens == read.max_new_tokens && shown.thinking_budget == read.thinking_budget &&
                   shown.probe_top_k == read.probe_top_k,
               qPrintable(QStringLiteral("round %1").arg(round)));
    }
  }

  void crash_mid_save_keeps_the_previous_file() {
    QTemporaryDir dir;
    const QString path = dir.filePath("settings.ini");
    {
      QSettings settings(path, QSettings::IniFormat);
      QVERIFY(save_generation_settings(settings, values_a()));
      QVERIFY(save_step_count(settings, 5));
    }
    const QByteArray before = read_all(path);
    QVERIFY(!before.isEmpty());

    const auto child = logitscope::test::run_child_and_kill_mid_write("qsettings", path);
    QVERIFY2(child.stalled, qPrintable("the child never stalled mid-write: " + child.log));
    QVERIFY2(child.stalled_on != QFileInfo(path).canonicalFilePath(), qPrintable(child.stalled_on));

    QCOMPARE(read_all(path), before);
    {
      QSettings settings(path, QSettings::IniFormat);
      QCOMPARE(settings.status(), QSettings::NoError);
      compare(load_generation_settings(settings), values_a());
      QCOMPARE(load_step_count(settings), 5);
    }
    const QStringList left = QDir(dir.path()).entryList(QDir::Files | QDir::Hidden, QDir::Name);
    const QRegularExpression save_temp(QStringLiteral("^settings\\.ini\\.\\w{6}$"));
    for (const QString& name : left)
      QVERIFY2(name == "settings.ini" || name == "settings.ini.lock" || save_temp.match(name).hasMatch(),
               qPrintable("unexpected file " + name));
    qInfo("after the kill: stalled on %s; files: %s", qPrintable(child.stalled_on), qPrintable(left.join(", ")));

    // The next save takes over the dead writer's lock and succeeds.
    {
      QSettings settings(path, QSettings::IniFormat);
      QVERIFY(save_generation_settings(settings, values_b()));
      settings.sync();
      QCOMPARE(settings.status(), QSettings::NoError);
    }
    QSettings settings(path, QSettings::IniFormat);
    compare(load_generation_settings(settings), values_b());
    QVERIFY(!QFile::exists(path + ".lock"));
  }

  void control_a_rewrite_in_place_is_destroyed() {
    // The harness really kills mid-write: without QSaveFile the previous settings are gone.
    QTemporaryDir dir;
    const QString path = dir.filePath("settings.ini");
    {
      QSettings settings(path, QSettings::IniFormat);
      QVERIFY(save_generation_settings(settings, values_a()));
    }
    const QByteArray before = read_all(path);
    const auto child = logitscope::test::run_child_and_kill_mid_write("direct", path);
    QVERIFY2(child.stalled, qPrintable("the child never stalled mid-write: " + child.log));
    QVERIFY(read_all(path) != before);
    QSettings settings(path, QSettings::IniFormat);
    QVERIFY(load_generation_settings(settings).top_k != values_a().top_k);
  }
};

int main(int argc, char** argv) {
  if (!crash_child_mode().isEmpty()) return run_the_child_save();
  QApplication app(argc, argv);
  TestSettingsFile test;
  return QTest::qExec(&test, argc, argv);
}

#include "tst_settings_file.moc"
