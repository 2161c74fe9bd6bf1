// SPDX-License-Identifier: GPL-3.0-or-later
// A full disk while saving a conversation: save_conversation fails with a message and the previous
// file stays intact and loadable (QSaveFile writes a temporary file and renames it only on success).
// The full disk is a 64 KiB tmpfs (needs root and a kernel that lets us mount; skipped otherwise).
// Not /dev/full: QSaveFile would create its temporary file in /dev and, as root, rename it over the
// device node.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/mount.h>
#include <unistd.h>

#include "conversation.h"

using namespace logitscope::workbench;

namespace {

Conversation make_conversation(int chars) {
  Conversation c;
  c.model = "tiny";
  c.messages.push_back(ChatMessage::make("user", QString(chars, QLatin1Char('x'))));
  c.messages.push_back(ChatMessage::make("assistant", "ok"));
  return c;
}

}  // namespace

class FaultFullDisk : public QObject {
  Q_OBJECT
 private slots:
  void full_disk_keeps_the_previous_file() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString mount_point = tmp.path() + "/small";
    QVERIFY(QDir().mkpath(mount_point));
    if (::geteuid() != 0 || ::mount("tmpfs", mount_point.toLocal8Bit().constData(), "tmpfs", 0, "size=64k") != 0)
      QSKIP("cannot mount a small tmpfs here (needs root and mount permission)");
    struct Unmount {
      QString path;
      ~Unmount() { ::umount(path.toLocal8Bit().constData()); }
    } unmount{mount_point};

    {  // Some sandboxed kernels accept size= but never enforce it: then there is no full disk to test.
      QFile probe(mount_point + "/probe");
      QVERIFY(probe.open(QIODevice::WriteOnly));
      const bool wrote_all = probe.write(QByteArray(256 * 1024, 'p')) == 256 * 1024 && probe.flush();
      probe.close();
      probe.remove();
      if (wrote_all) QSKIP("this kernel does not enforce the tmpfs size limit, so the disk never fills");
    }
    const QString path = mount_point + "/conversation.json";
    QString error;
    QVERIFY2(save_conversation(path, make_conversation(1000), &error), qPrintable(error));
    QFile saved(path);
    QVERIFY(saved.open(QIODevice::ReadOnly));
    const QByteArray before = saved.readAll();
    saved.close();

    // Far more than the 64 KiB the file system holds.
    QVERIFY(!save_conversation(path, make_conversation(200000), &error));
    QVERIFY2(!error.isEmpty(), "a failed save must say why");

    QVERIFY(saved.open(QIODevice::ReadOnly));
    QCOMPARE(saved.readAll(), before);
    saved.close();
    Conversation back;
    QVERIFY2(load_conversation(path, &back, &error), qPrintable(error));
    QCOMPARE(back.messages.size(), std::size_t(2));
    QCOMPARE(back.messages[0].content.size(), qsizetype(1000));
    // No temporary file is left behind.
    QCOMPARE(QDir(mount_point).entryList(QDir::Files), QStringList{"conversation.json"});
  }
};

QTEST_GUILESS_MAIN(FaultFullDisk)
#include "test_fault_full_disk.moc"
