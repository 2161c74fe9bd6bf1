// SPDX-License-Identifier: GPL-3.0-or-later
// The tegrastats parser against real lines: every fixture line must give the values in
// expected.json; further real lines from other generations give their documented values; garbage,
// cut-off and mutated lines never crash.
#include <QtTest>

#include <clocale>
#include <random>

#include "logitscope/telemetry/json.h"
#include "logitscope/telemetry/tegrastats_parser.h"
#include "telemetry_test_util.h"

using logitscope::telemetry::parse_tegrastats_line;
using logitscope::telemetry::Sample;
using logitscope::telemetry::to_json;
using nlohmann::json;

namespace {

json as_json(const Sample& s) { return json::parse(to_json(s).dump()); }

Sample must_parse(const std::string& line) {
  auto s = parse_tegrastats_line(line);
  if (!s) qFatal("line did not parse: %s", line.c_str());
  return *s;
}

// Not a line from any board: built from the documented forms of one quirk each.
Sample synthetic(const std::string& tail) { return must_parse("RAM 100/1000MB (lfb 1x4MB) " + tail); }

}  // namespace

class TestTegrastatsParser : public QObject {
  Q_OBJECT

 private slots:
  void everyExpectedLineMatches() {
    json expected = expected_json_();
    int matched = 0;
    for (const auto& entry : expected) {
      auto file = entry["file"].get<std::string>();
      auto index = entry["line_index"].get<std::size_t>();
      auto lines = logitscope::test::read_lines(logitscope::test::tegrastats_fixtures() / file);
      QVERIFY2(index < lines.size(), file.c_str());
      auto sample = parse_tegrastats_line(lines[index]);
      QVERIFY2(sample, (file + ":" + std::to_string(index)).c_str());
      json got = as_json(*sample);
      for (auto it = entry["expected"].begin(); it != entry["expected"].end(); ++it) {
        if (got[it.key()] != it.value()) {
          QFAIL(qPrintable(QString::fromStdString(file + ":" + std::to_string(index) + " key " + it.key() +
                                                  ": got " + got[it.key()].dump() + ", expected " +
                                                  it.value().dump())));
        }
      }
      if (!sample->extras.empty()) QFAIL((file + ": unrecognised token " + sample->extras.front()).c_str());
      ++matched;
    }
    QCOMPARE(matched, static_cast<int>(expected.size()));
    qInfo("%d of %d fixture lines parse to their expected values", matched, static_cast<int>(expected.size()));
  }

  void everyFixtureFileLineIsCovered() {
    json expected = expected_json_();
    int lines_total = 0;
    for (const auto& entry : std::filesystem::directory_iterator(logitscope::test::tegrastats_fixtures())) {
      if (entry.path().extension() != ".txt" || entry.path().filename() == "extra_real_lines.txt") continue;
      auto lines = logitscope::test::read_lines(entry.path());
      for (std::size_t i = 0; i < lines.size(); ++i) {
        QVERIFY(parse_tegrastats_line(lines[i]).has_value());
        bool listed = false;
        for (const auto& e : expected)
          listed |= e["file"] == entry.path().filename().string() && e["line_index"] == i;
        QVERIFY2(listed, entry.path().filename().string().c_str());
        ++lines_total;
      }
    }
    QCOMPARE(lines_total, static_cast<int>(expected.size()));
  }

  void extraRealLines() {
    auto lines = logitscope::test::read_lines(logitscope::test::tegrastats_fixtures() / "extra_real_lines.txt");
    QCOMPARE(lines.size(), std::size_t(9));
    for (const auto& line : lines) QVERIFY2(must_parse(line).extras.empty(), line.c_str());

    // TX1, L4T 28 legacy: lowercase cpu, one shared clock, EMC and GR3D keywords.
    Sample tx1 = must_parse(lines[1]);
    QCOMPARE(tx1.cpu->count(), 4);
    QCOMPARE(*tx1.cpu->load_pct[2], 65.0);
    QCOMPARE(*tx1.cpu->freq_mhz[3], 1734.0);
    QCOMPARE(*tx1.emc->freq_mhz, 1600.0);
    QCOMPARE(*tx1.gpu->load_pct, 39.0);
    QCOMPARE(tx1.gpu->freq_mhz->front(), 76.0);
    QCOMPARE(*tx1.swap->cached_mb, 281.0);

    // TX1 r32 with IRAM (no space before "(lfb").
    Sample tx1b = must_parse(lines[2]);
    QCOMPARE(tx1b.iram->total_kb, 252.0);
    QCOMPARE(*tx1b.iram->lfb_kb, 252.0);
    QVERIFY(!tx1b.swap);
    QCOMPARE(tx1b.rails.size(), std::size_t(3));
    QCOMPARE(*tx1b.rails[0].avg_mw, 2698.0);

    // TX2: Denver cores off keep their positions.
    Sample tx2 = must_parse(lines[3]);
    QCOMPARE(tx2.cpu->count(), 6);
    QCOMPARE(tx2.cpu->online_count(), 4);
    QVERIFY(!tx2.cpu->load_pct[1] && !tx2.cpu->freq_mhz[2]);
    QCOMPARE(*tx2.cpu->load_pct[5], 2.0);

    // AGX Xavier: rails GPU/CPU/SOC without VDD_ must not collide with GPU@ temps or CPU [.
    Sample agx = must_parse(lines[4]);
    QCOMPARE(agx.rails.size(), std::size_t(6));
    QCOMPARE(agx.rails[1].name, std::string("CPU"));
    QCOMPARE(*agx.rails[1].cur_mw, 311.0);
    QCOMPARE(agx.find_temp("GPU")->celsius, 37.5);
    QCOMPARE(*agx.mts->bg_pct, 0.0);
    QCOMPARE(agx.cpu->online_count(), 4);

    // Orin with upper-case zones and a bare VIC_FREQ clock.
    Sample orin5 = must_parse(lines[6]);
    QCOMPARE(orin5.engines.size(), std::size_t(1));
    QCOMPARE(*orin5.engines[0].freq_mhz, 729.0);
    QVERIFY(!orin5.engines[0].load_pct);
    QCOMPARE(orin5.find_temp("tj")->celsius, 48.875);

    // r36 with runs of spaces between tokens.
    Sample r36 = must_parse(lines[7]);
    QCOMPARE(r36.engines.size(), std::size_t(9));
    QVERIFY(r36.engines[0].off);
    QCOMPARE(*r36.ape_mhz, 174.0);
    QCOMPARE(r36.gpu->freq_mhz->size(), std::size_t(2));
    QCOMPARE(r36.temps.size(), std::size_t(6));

    // Unprivileged Orin: GR3D load without clock, no EMC token at all.
    Sample user = must_parse(lines[8]);
    QVERIFY(!user.emc);
    QCOMPARE(*user.gpu->load_pct, 0.0);
    QVERIFY(!user.gpu->freq_mhz);
  }

  void documentedQuirks() {
    // Thor: clock only, three GPCs, no load. Never 0 %.
    Sample thor = synthetic("GR3D_FREQ @[314,314,314]");
    QVERIFY(!thor.gpu->load_pct);
    QCOMPARE(*thor.gpu->max_freq_mhz(), 314.0);
    // JetPack 7.2: cur/avg/max rails and cur/max temperatures.
    Sample jp72 = synthetic("cpu@34.312C/34.843C VDD_CPU_SOC_MSS 7953mW/8332mW/8710mW");
    QCOMPARE(jp72.temps[0].celsius, 34.312);
    QCOMPARE(*jp72.temps[0].max_celsius, 34.843);
    QCOMPARE(*jp72.rails[0].max_mw, 8710.0);
    // Offline sensor kept as printed, flagged offline.
    Sample off = synthetic("CV0@-256C GPU@-256C");
    QCOMPARE(off.temps[0].celsius, -256.0);
    QVERIFY(off.temps[1].offline());
    // EMC without load, GR3D2, *_LOAD engines, duplicated NC rails.
    Sample early = synthetic("EMC_FREQ @3199 GR3D_FREQ 99%@1274 GR3D2_FREQ 99%@1274 NVENC_LOAD 7% NC 0mW/0mW NC 0mW/0mW");
    QVERIFY(!early.emc->load_pct);
    QCOMPARE(*early.emc->freq_mhz, 3199.0);
    QCOMPARE(*early.gpu2->load_pct, 99.0);
    QCOMPARE(*early.engines[0].load_pct, 7.0);
    QCOMPARE(early.rails.size(), std::size_t(2));
    // lfb in kB; NVIDIA's documented CPU form with spaces inside the brackets.
    Sample kb = must_parse("RAM 220/38955MB (lfb 1x512kB) CPU [1%@102, 5%@102, 0%@102, off]");
    QCOMPARE(*kb.ram->lfb_size, 512.0);
    QCOMPARE(kb.ram->lfb_unit, std::string("kB"));
    QCOMPARE(kb.cpu->count(), 4);
    QCOMPARE(kb.cpu->online_count(), 3);
    // Unknown tokens are kept verbatim, never an error.
    Sample future = synthetic("FUTURE_TOKEN lowercase_thing");
    QCOMPARE(future.extras.size(), std::size_t(2));
    // Zero clocks are data, not failures.
    Sample gated = synthetic("GR3D_FREQ 0%@[0,0]");
    QCOMPARE(*gated.gpu->load_pct, 0.0);
    QCOMPARE(gated.gpu->freq_mhz->size(), std::size_t(2));
    // CRLF endings.
    QCOMPARE(synthetic("VDD_IN 5251mW/8535mW\r").rails.size(), std::size_t(1));
  }

  void garbageNeverCrashes() {
    const char* junk[] = {"", " ", "\r", "\t\t", "Tue Jan 26 18:22:31 UTC 2021", "czw, 2 maj 2024, 17:51:57 UTC",
                          "RAM", "RAM /MB", "CPU [", "CPU []", "CPU [,,,]@", "GR3D_FREQ @[", "@@@@", "////",
                          "RAM 1/2MB (lfb", "RAM 1/2MB (lfb x)", "SWAP 1/2MB (cached", "cpu@C", "x@-C/C",
                          "VDD_IN /", "VDD_IN 1/2/3/4", "[[[[[[", "]]]]", "RAM 1e999/1MB", "RAM nan/inf"};
    for (const char* line : junk) {
      auto s = parse_tegrastats_line(line);
      if (s) (void)to_json(*s).dump();
    }
    QVERIFY(!parse_tegrastats_line("").has_value());
    QVERIFY(!parse_tegrastats_line("Tue Jan 26 18:22:31 UTC 2021").has_value());
    std::string binary;
    for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
    if (auto b = parse_tegrastats_line(binary)) (void)to_json(*b).dump(-1, ' ', false, json::error_handler_t::replace);
  }

  void cutOffLinesNeverCrash() {
    // Every prefix of every real line: what is complete parses, the rest is unknown.
    for (const auto& line : all_real_lines()) {
      for (std::size_t n = 0; n <= line.size(); ++n) {
        auto s = parse_tegrastats_line(std::string_view(line).substr(0, n));
        if (s) (void)to_json(*s).dump();
      }
      auto half = parse_tegrastats_line(std::string_view(line).substr(0, line.size() / 2));
      QVERIFY(half.has_value());
    }
  }

  void randomMutationsNeverCrash() {
    std::mt19937 rng(20240607);  // fixed seed: a failure reproduces
    auto lines = all_real_lines();
    const std::string alphabet = "0123456789%@[],/()xCMBkW .-_offRAMCPUGR3D\t\r\n";
    int parsed = 0;
    for (int round = 0; round < 20000; ++round) {
      std::string line = lines[rng() % lines.size()];
      int edits = 1 + static_cast<int>(rng() % 8);
      for (int e = 0; e < edits && !line.empty(); ++e) {
        std::size_t pos = rng() % line.size();
        switch (rng() % 6) {
          case 0: line.erase(pos, 1 + rng() % 5); break;
          case 1: line.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
          case 2: line[pos] = static_cast<char>(rng() % 256); break;
          case 3: line.resize(pos); break;
          case 4: line.insert(pos, line.substr(rng() % line.size(), rng() % 20)); break;
          case 5: std::swap(line[pos], line[rng() % line.size()]); break;
        }
      }
      if (auto s = parse_tegrastats_line(line)) {
        (void)to_json(*s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        ++parsed;
      }
    }
    QVERIFY(parsed > 0);
  }

  void numbersIgnoreTheLocale() {
    // QCoreApplication calls setlocale(LC_ALL, ""); under de_DE strtod stops at '.'.
    const char* names[] = {"de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "pl_PL.UTF-8"};
    const char* chosen = nullptr;
    for (const char* n : names)
      if (std::setlocale(LC_NUMERIC, n)) {
        chosen = n;
        break;
      }
    Sample s = synthetic("cpu@47.687C thermal@29.45C");
    std::setlocale(LC_NUMERIC, "C");
    QCOMPARE(s.temps[0].celsius, 47.687);
    QCOMPARE(s.temps[1].celsius, 29.45);
    if (!chosen) QSKIP("no comma-decimal locale is installed here; the values were still checked under C");
  }

 private:
  static json expected_json_() { return logitscope::test::expected_json(); }
  static std::vector<std::string> all_real_lines() {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator(logitscope::test::tegrastats_fixtures())) {
      if (entry.path().extension() != ".txt") continue;
      for (auto& l : logitscope::test::read_lines(entry.path())) out.push_back(l);
    }
    return out;
  }
};

QTEST_GUILESS_MAIN(TestTegrastatsParser)
#include "test_tegrastats_parser.moc"
