// SPDX-License-Identifier: GPL-3.0-or-later
// A crash in the middle of saving a conversation: a child process saving a 2 MB conversation over
// an existing file is SIGKILLed after half of a write(2) reached the disk (crash_mid_write.h). The
// previous file must be byte-identical and load, and a later save must work.
//
// What is left behind: QSaveFile (Qt 6.4 on Linux) writes into an O_TMPFILE inode, which has no
// name until commit, so the killed save leaves nothing; the child reports "#<inode> (deleted)".
// Where the file system lacks O_TMPFILE, QSaveFile names it "<file>.XXXXXX" and that file stays
// after a kill; it never confuses a load (we open the exact path) nor a later save (a fresh random
// name). The test accepts either and says which it saw.
//
// The control case shows the harness can fail: the same kill during a plain QFile rewrite in place
// destroys the previous file.
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include "conversation.h"
#include "crash_mid_write.h"

using namespace logitscope::workbench;
using logitscope::test::crash_child_mode;
using logitscope::test::crash_child_path;

namespace {

Conversation make_conversation(int chars, QChar fill) {
  Conversation c;
  c.model = "tiny";
  c.messages.push_back(ChatMessage::make("user", QString(chars, fill)));
  c.messages.push_back(ChatMessage::make("assistant", "ok"));
  return c;
}

QByteArray read_all(const QString& path) {
  QFile file(path);
  return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// The child: arm the stall, then save a large conversation over the test's file.
int run_the_child_save() {
  const QString path = crash_child_path();
  logitscope::test::stall_writes_in(QFileInfo(path).absolutePath());
  const Conversation big = make_conversation(2 * 1024 * 1024, QLatin1Char('y'));
  if (crash_child_mode() == QLatin1String("direct")) {  // the control: rewrite in place, no QSaveFile
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) return 3;
    file.write(QJsonDocument(conversation_to_json(big)).toJson());
    file.flush();
    return 0;
  }
  QString error;
  return save_conversation(path, big, &error) ? 0 : 2;  // reaching here means no stall: the parent fails
}

}  // namespace

class FaultCrashMidSave : public QObject {
  Q_OBJECT
 private slots:
  void crash_mid_save_keeps_the_previous_file() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("conversation.json");
    QString error;
    QVERIFY2(save_conversation(path, make_conversation(1000, QLatin1Char('x')), &error), qPrintable(error));
    const QByteArray before = read_all(path);
    QVERIFY(!before.isEmpty());

    const auto child = logitscope::test::run_child_and_kill_mid_write("qsavefile", path);
    QVERIFY2(child.stalled, qPrintable("the child never stalled mid-write: " + child.log));
    // The stalled write went to a temporary file, not to the conversation itself.
    QVERIFY2(child.stalled_on != QFileInfo(path).canonicalFilePath(), qPrintable(child.stalled_on));

    QCOMPARE(read_all(path), before);
    Conversation back;
    QVERIFY2(load_conversation(path, &back, &error), qPrintable(error));
    QCOMPARE(back.messages.size(), std::size_t(2));
    QCOMPARE(back.messages[0].content, QString(1000, QLatin1Char('x')));

    const QStringList left = QDir(tmp.path()).entryList(QDir::Files | QDir::Hidden, QDir::Name);
    const QRegularExpression save_temp(QStringLiteral("^conversation\\.json\\.\\w{6}$"));
    for (const QString& name : left)
      QVERIFY2(name == "conversation.json" || save_temp.match(name).hasMatch(), qPrintable("unexpected file " + name));
    qInfo("after the kill: stalled on %s; files: %s", qPrintable(child.stalled_on), qPrintable(left.join(", ")));

    // A later save is not disturbed by whatever the killed one left.
    QVERIFY2(save_conversation(path, make_conversation(3000, QLatin1Char('z')), &error), qPrintable(error));
    QVERIFY2(load_conversation(path, &back, &error), qPrintable(error));
    QCOMPARE(back.messages[0].content, QString(3000, QLatin1Char('z')));
  }

  void control_a_rewrite_in_place_is_destroyed() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("conversation.json");
    QString error;
    QVERIFY2(save_conversation(path, make_conversation(1000, QLatin1Char('x')), &error), qPrintable(error));
    const QByteArray before = read_all(path);

    const auto child = logitscope::test::run_child_and_kill_mid_write("direct", path);
    QVERIFY2(child.stalled, qPrintable("the child never stalled mid-write: " + child.log));
    QCOMPARE(child.stalled_on, QFileInfo(path).canonicalFilePath());
    // Without the temporary file the kill leaves half a document: what the real test guards against.
    QVERIFY(read_all(path) != before);
    Conversation back;
    QVERIFY(!load_conversation(path, &back, &error));
  }
};

int main(int argc, char** argv) {
  if (!crash_child_mode().isEmpty()) return run_the_child_save();
  QCoreApplication app(argc, argv);
  FaultCrashMidSave test;
  return QTest::qExec(&test, argc, argv);
}

#include "test_fault_crash_mid_save.moc"
