// SPDX-License-Identifier: GPL-3.0-or-later
// Shared by the telemetry tests: fixture paths, reading lines, the fake tegrastats script.
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QString>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.h"

namespace logitscope::test {

inline std::filesystem::path tegrastats_fixtures() { return fixtures_dir() / "tegrastats"; }

inline std::vector<std::string> read_lines(const std::filesystem::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline nlohmann::json expected_json() {
  std::ifstream in(tegrastats_fixtures() / "expected.json");
  return nlohmann::json::parse(in);
}

// Writes an executable `tegrastats` into `dir` that logs its arguments and signals to files there
// and prints the lines of `fixture` every 50 ms, forever. It exits on SIGTERM after noting it.
inline QString write_fake_tegrastats(const QString& dir, const std::filesystem::path& fixture) {
  QString path = dir + "/tegrastats";
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly)) return {};
  QByteArray d = QFile::encodeName(dir);
  QByteArray fx = QByteArray::fromStdString(fixture.string());
  f.write("#!/bin/sh\n");
  f.write("echo \"$*\" >> '" + d + "/args.log'\n");
  f.write("trap 'echo TERM >> \"" + d + "/signals.log\"; exit 0' TERM\n");
  f.write("while :; do\n  while IFS= read -r line; do\n    printf '%s\\n' \"$line\"\n    sleep 0.05\n"
          "  done < '" + fx + "'\ndone\n");
  f.close();
  f.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
  return path;
}

}  // namespace logitscope::test
