// SPDX-License-Identifier: GPL-3.0-or-later
// The `logitscope-cli telemetry` contract: --tegrastats-log FILE --json prints one JSON object per
// line that equals expected.json; live sources stream the same fields.
#include <QtTest>

#include "telemetry_test_util.h"

using nlohmann::json;

namespace {

std::vector<json> json_lines(const QByteArray& out) {
  std::vector<json> result;
  for (const QByteArray& line : out.split('\n'))
    if (!line.trimmed().isEmpty()) result.push_back(json::parse(line.toStdString()));
  return result;
}

}  // namespace

class TestCliTelemetry : public QObject {
  Q_OBJECT

 private slots:
  void logJsonMatchesExpected() {
    json expected = logitscope::test::expected_json();
    std::map<std::string, std::vector<json>> by_file;
    for (const auto& e : expected) by_file[e["file"].get<std::string>()].push_back(e);
    int matched = 0;
    for (const auto& [file, entries] : by_file) {
      auto path = logitscope::test::tegrastats_fixtures() / file;
      auto r = logitscope::test::run_cli({"telemetry", "--tegrastats-log", QString::fromStdString(path.string()), "--json"});
      QVERIFY2(r.exit_code == 0, r.err.constData());
      auto objects = json_lines(r.out);
      QCOMPARE(objects.size(), logitscope::test::read_lines(path).size());  // one object per input line
      for (const auto& e : entries) {
        const json& got = objects.at(e["line_index"].get<std::size_t>());
        // Exactly the keys of expected.json, with the same values and nulls.
        QVERIFY2(got == e["expected"], (file + ": " + got.dump() + "\n!= " + e["expected"].dump()).c_str());
        ++matched;
      }
    }
    QCOMPARE(matched, static_cast<int>(expected.size()));
  }

  void logSkipsBannersAndReportsMissingFiles() {
    QTemporaryDir dir;
    QString log = dir.path() + "/mixed.log";
    QFile f(log);
    QVERIFY(f.open(QIODevice::WriteOnly));
    auto lines = logitscope::test::read_lines(logitscope::test::tegrastats_fixtures() / "tx2_1.txt");
    f.write("Tue Jan 26 18:22:31 UTC 2021\n");
    f.write(QByteArray::fromStdString(lines[0]) + "\r\n\n");
    f.close();
    auto r = logitscope::test::run_cli({"telemetry", "--tegrastats-log", log, "--json", "--extras"});
    QCOMPARE(r.exit_code, 0);
    auto objects = json_lines(r.out);
    QCOMPARE(objects.size(), std::size_t(1));
    QCOMPARE(objects[0]["ram"]["used_mb"].get<int>(), 896);
    QVERIFY(objects[0]["extras"].empty());

    auto missing = logitscope::test::run_cli({"telemetry", "--tegrastats-log", dir.path() + "/nope.log", "--json"});
    QVERIFY(missing.exit_code != 0);
    QVERIFY(missing.err.contains("nope.log"));
  }

  void liveProcStreamsTheSameFields() {
    auto r = logitscope::test::run_cli({"telemetry", "--source", "proc", "--interval-ms", "100", "--count", "2", "--json"});
    QVERIFY2(r.exit_code == 0, r.err.constData());
    auto objects = json_lines(r.out);
    QCOMPARE(objects.size(), std::size_t(2));
    for (const char* key : {"timestamp", "ram", "swap", "cpu", "gpu", "temps_c", "power_mw"})
      QVERIFY2(objects[1].contains(key), key);
    QCOMPARE(objects[1]["source"].get<std::string>(), std::string("proc"));
    QVERIFY(objects[1]["ram"]["total_mb"].get<double>() > 0);
    QVERIFY(objects[1]["cpu"]["load_pct"].is_array());
  }

  void liveTegrastatsFromAFakeBinary() {
    QTemporaryDir dir;
    logitscope::test::write_fake_tegrastats(dir.path(), logitscope::test::tegrastats_fixtures() / "thor_2.txt");
    QByteArray old_path = qgetenv("PATH");
    qputenv("PATH", QFile::encodeName(dir.path()) + ":" + old_path);  // run_cli's child inherits it
    auto r = logitscope::test::run_cli({"telemetry", "--source", "tegrastats", "--interval-ms", "100", "--count", "3", "--json"});
    qputenv("PATH", old_path);
    QVERIFY2(r.exit_code == 0, r.err.constData());
    auto objects = json_lines(r.out);
    QCOMPARE(objects.size(), std::size_t(3));
    QCOMPARE(objects[0]["source"].get<std::string>(), std::string("tegrastats"));
    QCOMPARE(objects[0]["power_mw"][1]["max_mw"].get<int>(), 8710);
    QVERIFY(objects[0]["gpu"]["freq_mhz"].is_array());
    QFile args(dir.path() + "/args.log");
    QVERIFY(args.open(QIODevice::ReadOnly));
    QVERIFY(!args.readAll().contains("--stop"));
    QFile signal_log(dir.path() + "/signals.log");
    QVERIFY(signal_log.open(QIODevice::ReadOnly));  // the CLI stopped its child with SIGTERM
  }

  void unknownSourceIsAnError() {
    auto r = logitscope::test::run_cli({"telemetry", "--source", "gpu", "--json"});
    QVERIFY(r.exit_code != 0);
    QVERIFY(r.err.contains("auto, tegrastats, nvml or proc"));
  }
};

QTEST_GUILESS_MAIN(TestCliTelemetry)
#include "test_cli_telemetry.moc"
