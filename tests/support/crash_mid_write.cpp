// SPDX-License-Identifier: GPL-3.0-or-later
#include "crash_mid_write.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QFileInfo>
#include <QProcess>
#include <QProcessEnvironment>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <sys/syscall.h>
#include <unistd.h>

namespace {

// Set once in the child before the save starts; read inside write(), so plain storage, no Qt.
char g_stall_folder[4096] = {};
std::size_t g_stall_folder_length = 0;

ssize_t raw_write(int fd, const void* data, std::size_t count) { return ::syscall(SYS_write, fd, data, count); }

bool ends_with(const char* text, const char* suffix) {
  const std::size_t n = std::strlen(text), m = std::strlen(suffix);
  return n >= m && std::strcmp(text + n - m, suffix) == 0;
}

// Where `fd` points, when it is a file in the armed folder that a save writes (not the lock file).
bool is_stall_target(int fd, char* target, std::size_t size) {
  if (g_stall_folder_length == 0 || fd <= 2) return false;
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = ::readlink(link, target, size - 1);
  if (n <= 0) return false;
  target[n] = '\0';
  return std::strncmp(target, g_stall_folder, g_stall_folder_length) == 0 && target[g_stall_folder_length] == '/' &&
         !ends_with(target, ".lock");
}

}  // namespace

// Replaces libc's write(2) for the whole test program (Qt included). Outside an armed child it is the
// plain system call; errors come back as -1 with errno set, exactly as from libc.
extern "C" ssize_t write(int fd, const void* data, std::size_t count) {
  char target[4096];
  if (count > 0 && is_stall_target(fd, target, sizeof target)) {
    raw_write(fd, data, count > 1 ? count / 2 : count);
    char line[4200];
    const int length = std::snprintf(line, sizeof line, "stalled %s\n", target);
    raw_write(1, line, std::size_t(length));
    for (;;) ::pause();  // until the parent's SIGKILL
  }
  return raw_write(fd, data, count);
}

namespace logitscope::test {

QString crash_child_mode() { return qEnvironmentVariable("LOGITSCOPE_CRASH_CHILD"); }
QString crash_child_path() { return qEnvironmentVariable("LOGITSCOPE_CRASH_PATH"); }

void stall_writes_in(const QString& folder) {
  // /proc/self/fd shows canonical paths.
  const QByteArray canonical = QFileInfo(folder).canonicalFilePath().toLocal8Bit();
  if (canonical.isEmpty() || std::size_t(canonical.size()) >= sizeof g_stall_folder) return;
  std::memcpy(g_stall_folder, canonical.constData(), std::size_t(canonical.size()));
  g_stall_folder[canonical.size()] = '\0';
  g_stall_folder_length = std::size_t(canonical.size());
}

KilledChild run_child_and_kill_mid_write(const QString& mode, const QString& path, int timeout_ms) {
  KilledChild result;
  QProcess child;
  QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
  environment.insert(QStringLiteral("LOGITSCOPE_CRASH_CHILD"), mode);
  environment.insert(QStringLiteral("LOGITSCOPE_CRASH_PATH"), path);
  child.setProcessEnvironment(environment);
  child.setProcessChannelMode(QProcess::SeparateChannels);
  child.start(QCoreApplication::applicationFilePath(), {});
  if (!child.waitForStarted(timeout_ms)) {
    result.log = child.errorString();
    return result;
  }
  // Anything else the child prints to stdout may come first; the report is one line.
  QByteArray out;
  qsizetype report = -1, report_end = -1;
  const QDeadlineTimer deadline(timeout_ms);
  while (child.state() == QProcess::Running && !deadline.hasExpired()) {
    child.waitForReadyRead(int(std::max<qint64>(1, deadline.remainingTime())));
    out += child.readAllStandardOutput();
    report = out.indexOf("stalled ");
    report_end = report < 0 ? -1 : out.indexOf('\n', report);
    if (report_end > 0) break;
  }
  if (report_end > 0) {
    result.stalled_on = QString::fromLocal8Bit(out.mid(report + 8, report_end - report - 8));
    result.stalled = child.state() == QProcess::Running;
  }
  child.kill();  // SIGKILL on Unix
  child.waitForFinished(timeout_ms);
  if (result.stalled) result.stalled = child.exitStatus() == QProcess::CrashExit;
  result.log = QString::fromLocal8Bit(out + child.readAllStandardOutput() + child.readAllStandardError());
  return result;
}

}  // namespace logitscope::test
