// SPDX-License-Identifier: GPL-3.0-or-later
// The telemetry panel offscreen: replayed tegrastats data is drawn (the grabbed image is not blank),
// replots are coalesced, the window trims old data, pause holds samples, CSV export writes them,
// and a live feed hands samples over from the source thread.
#include <QtTest>

#include <QApplication>
#include <QImage>
#include <QSet>

#include "logitscope/telemetry/replay_source.h"
#include "telemetry_feed.h"
#include "telemetry_panel.h"
#include "test_support.h"

namespace tel = logitscope::telemetry;

namespace {

std::vector<tel::Sample> replayed(const char* file) {
  tel::ReplayOptions options;
  options.file = logitscope::test::fixtures_dir() / "tegrastats" / file;
  return tel::ReplaySource(options).samples();
}

int distinct_colours(const QImage& image) {
  QSet<QRgb> colours;
  for (int y = 0; y < image.height(); y += 2)
    for (int x = 0; x < image.width(); x += 2) colours.insert(image.pixel(x, y));
  return colours.size();
}

}  // namespace

class TestTelemetryPanel : public QObject {
  Q_OBJECT

 private slots:
  void rendersReplayedData() {
    TelemetryPanel panel;
    panel.resize(1000, 900);
    panel.show();
    QImage empty = panel.grab().toImage();

    tel::EngineCounters counters;
    counters.model_loaded = true;
    counters.device_allocated_mb = 2048;
    counters.prefill_tokens_per_s = 900;
    counters.decode_tokens_per_s = 42;
    counters.time_to_first_token_ms = 180;
    panel.setEngineCounters(counters);
    double t_offset = 0;
    // Orin, then Thor (no GPU load, three GPC clocks, JP7.2 rails): both must draw.
    for (const char* file : {"orin_agx_2.txt", "thor_2.txt"}) {
      for (auto s : replayed(file)) {
        s.time_s += t_offset;
        panel.addSample(s);
      }
      t_offset += 10;
    }
    QTRY_VERIFY(panel.replotCount() >= 1);
    QVERIFY(panel.replotCount() <= 3);  // 6 samples, coalesced
    QCoreApplication::processEvents();
    QImage image = panel.grab().toImage();
    QVERIFY(!image.isNull());
    int colours = distinct_colours(image);
    QVERIFY2(colours > distinct_colours(empty), qPrintable(QString::number(colours)));
    QVERIFY(colours > 20);
    image.save(QDir::temp().filePath("logitscope_telemetry_panel.png"));
    QVERIFY(panel.memoryText().contains("model 2.0 GiB"));
    QVERIFY(panel.memoryText().contains("unified memory"));

    QString readout = panel.readoutAt(11.0);
    QVERIFY2(readout.contains("VDD_GPU"), qPrintable(readout));
    QVERIFY(readout.contains("GPU clock"));
    QVERIFY(!readout.contains("GPU load"));  // Thor has none; no false 0 %

    QTemporaryDir dir;
    QString csv = dir.path() + "/telemetry.csv";
    QVERIFY(panel.exportCsv(csv));
    QFile f(csv);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QList<QByteArray> lines = f.readAll().trimmed().split('\n');
    QCOMPARE(lines.size(), 1 + panel.sampleCount());
    QCOMPARE(panel.sampleCount(), 6);
    QVERIFY(lines[0].startsWith("time_s,"));
    QVERIFY(lines[0].contains("\"RAM used [GiB]\""));
    QVERIFY(lines[0].contains("\"VDD_GPU [W]\""));
    QVERIFY(lines[0].contains("\"GPU clock [MHz]\""));
    QVERIFY(lines.last().startsWith("11.000,"));
    QVERIFY(!panel.exportCsv(dir.path() + "/no/such/dir/x.csv"));
  }

  void windowTrimsAndPauseHolds() {
    TelemetryPanel panel;
    panel.resize(600, 700);
    panel.setWindowSeconds(30);
    auto lines = replayed("thor_1.txt");
    for (int i = 0; i < 100; ++i) {  // 100 samples at 100 ms... and a long run at 1 s
      tel::Sample s = lines[static_cast<std::size_t>(i) % lines.size()];
      s.time_s = i;
      panel.addSample(s);
    }
    QTRY_VERIFY(panel.replotCount() >= 1);
    QVERIFY(panel.sampleCount() <= 31);  // trimmed to the 30 s window

    panel.setPaused(true);
    int replots = panel.replotCount();
    tel::Sample s = lines[0];
    s.time_s = 100;
    panel.addSample(s);
    QTest::qWait(120);
    QCOMPARE(panel.replotCount(), replots);  // paused: nothing moves
    panel.setPaused(false);
    QTRY_VERIFY(panel.replotCount() > replots);
  }

  void unloadHintAppears() {
    TelemetryPanel panel;
    auto lines = replayed("thor_1.txt");
    tel::Sample s = lines[0];
    s.ram->cached_mb = 500;
    s.time_s = 0;
    panel.addSample(s);
    panel.modelLoading();
    tel::EngineCounters c;
    c.model_loaded = true;
    c.device_allocated_mb = 60000;
    panel.setEngineCounters(c);
    c.model_loaded = false;
    c.device_allocated_mb.reset();
    s.time_s = 1;
    panel.addSample(s);
    panel.setEngineCounters(c);  // unloaded at t = 1
    s.ram->cached_mb = 60000;    // the weights stay in the page cache
    s.time_s = 10;
    panel.addSample(s);
    QTRY_VERIFY(panel.hintText().contains("drop_caches"));
  }

  void liveFeedCrossesThreads() {
    TelemetryPanel panel;
    TelemetryFeed feed;
    QObject::connect(&feed, &TelemetryFeed::sampleReady, &panel, &TelemetryPanel::addSample);
    QSignalSpy finished(&feed, &TelemetryFeed::finished);
    tel::ReplayOptions options;
    options.file = logitscope::test::fixtures_dir() / "tegrastats" / "orin_agx_1.txt";
    options.interval = std::chrono::milliseconds(20);
    feed.start(std::make_unique<tel::ReplaySource>(options));
    QTRY_COMPARE(finished.count(), 1);
    QTRY_COMPARE(panel.sampleCount(), 3);
    feed.stop();
  }
};

QTEST_MAIN(TestTelemetryPanel)
#include "test_telemetry_panel.moc"
