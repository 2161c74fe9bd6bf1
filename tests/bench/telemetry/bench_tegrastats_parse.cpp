// SPDX-License-Identifier: GPL-3.0-or-later
// Parses 10,000 real tegrastats lines (the fixtures, cycled) and prints the time. A 100 ms live
// interval leaves plenty of room; this prints, it does not assert a speed.
#include <QtTest>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "logitscope/telemetry/json.h"
#include "logitscope/telemetry/tegrastats_parser.h"
#include "test_support.h"

class BenchTegrastatsParse : public QObject {
  Q_OBJECT
 private slots:
  void parse10000Lines() {
    std::vector<std::string> lines;
    for (const auto& entry : std::filesystem::directory_iterator(logitscope::test::fixtures_dir() / "tegrastats")) {
      if (entry.path().extension() != ".txt") continue;
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line);) lines.push_back(line);
    }
    QVERIFY(!lines.empty());
    constexpr int kLines = 10000;
    std::size_t fields = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kLines; ++i) {
      auto s = logitscope::telemetry::parse_tegrastats_line(lines[static_cast<std::size_t>(i) % lines.size()]);
      if (s) fields += s->temps.size() + s->rails.size();
    }
    auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < kLines; ++i) {
      auto s = logitscope::telemetry::parse_tegrastats_line(lines[static_cast<std::size_t>(i) % lines.size()]);
      if (s) fields += logitscope::telemetry::to_json(*s).dump().size();
    }
    auto t2 = std::chrono::steady_clock::now();
    double parse_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    double json_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
    std::printf("tegrastats parse: %d lines in %.2f ms (%.2f us/line); parse + JSON: %.2f ms [%zu]\n", kLines,
                parse_ms, 1000.0 * parse_ms / kLines, json_ms, fields);
  }
};

QTEST_GUILESS_MAIN(BenchTegrastatsParse)
#include "bench_tegrastats_parse.moc"
