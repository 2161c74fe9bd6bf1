// SPDX-License-Identifier: GPL-3.0-or-later
// Helpers shared by the Qt Test programs: where the test data is, and running logitscope-cli.
#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>

#include <filesystem>
#include <string>

namespace logitscope::test {

inline std::filesystem::path data_dir() { return LOGITSCOPE_TEST_DATA_DIR; }
inline std::filesystem::path fixtures_dir() { return data_dir() / "fixtures"; }

struct CliResult {
  int exit_code = -1;
  QByteArray out;
  QByteArray err;
};

// Runs logitscope-cli with `args` (and optional stdin), waiting up to `timeout_ms`.
inline CliResult run_cli(const QStringList& args, const QByteArray& input = {}, int timeout_ms = 120000) {
  QProcess process;
  process.start(QString::fromUtf8(LOGITSCOPE_CLI_PATH), args);
  CliResult result;
  if (!process.waitForStarted(10000)) return result;
  if (!input.isEmpty()) process.write(input);
  process.closeWriteChannel();
  if (!process.waitForFinished(timeout_ms)) {
    process.kill();
    process.waitForFinished();
    return result;
  }
  result.exit_code = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
  result.out = process.readAllStandardOutput();
  result.err = process.readAllStandardError();
  return result;
}

}  // namespace logitscope::test
