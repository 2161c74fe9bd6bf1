// SPDX-License-Identifier: GPL-3.0-or-later
// The sources: /proc on this machine and on a fake tree, NVML absent, log replay, and the
// tegrastats process driven by a fake `tegrastats` script put first on PATH.
#include <QtTest>

#include <signal.h>

#include <atomic>
#include <mutex>

#include "logitscope/telemetry/engine_counters.h"
#include "logitscope/telemetry/nvml_source.h"
#include "logitscope/telemetry/proc_source.h"
#include "logitscope/telemetry/replay_source.h"
#include "logitscope/telemetry/tegrastats_source.h"
#include "telemetry_test_util.h"

using namespace logitscope::telemetry;
using namespace std::chrono_literals;

namespace {

// Collects samples from a source thread.
struct Collector {
  std::mutex mutex;
  std::vector<Sample> samples;
  std::vector<std::string> status;
  std::atomic<bool> finished{false};
  SourceCallbacks callbacks() {
    return {[this](Sample s) {
              std::lock_guard lock(mutex);
              samples.push_back(std::move(s));
            },
            [this](const std::string& m) {
              std::lock_guard lock(mutex);
              status.push_back(m);
            },
            [this] { finished = true; }};
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return samples.size();
  }
};

bool wait_until(const std::function<bool()>& done, int ms) {
  QElapsedTimer t;
  t.start();
  while (!done()) {
    if (t.elapsed() > ms) return false;
    QThread::msleep(10);
  }
  return true;
}

void write_file(const QString& path, const QByteArray& text) {
  QFile f(path);
  QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
  f.write(text);
}

}  // namespace

class TestTelemetrySources : public QObject {
  Q_OBJECT

 private slots:
  void procSourceReadsThisMachine() {
    ProcSource proc(ProcOptions{100ms});
    QThread::msleep(120);
    auto s = proc.poll();
    QVERIFY(s);
    QCOMPARE(s->source, std::string("proc"));
    QVERIFY(s->ram);
    QVERIFY(s->ram->total_mb > 64);
    QVERIFY(s->ram->used_mb > 0 && s->ram->used_mb <= s->ram->total_mb);
    QVERIFY(s->ram->cached_mb && *s->ram->cached_mb >= 0);
    QVERIFY(s->cpu && s->cpu->count() >= 1);
    for (const auto& load : s->cpu->load_pct)
      if (load) QVERIFY(*load >= 0 && *load <= 100);
  }

  void procSourceOnAFakeTree() {
    QTemporaryDir dir;
    QDir(dir.path()).mkpath("proc");
    QDir(dir.path()).mkpath("sys/devices/system/cpu/cpu1/cpufreq");
    QString proc = dir.path() + "/proc", sys = dir.path() + "/sys";
    write_file(proc + "/meminfo",
               "MemTotal:       16384000 kB\nMemFree:  1024000 kB\nMemAvailable:  8192000 kB\nBuffers: 0 kB\n"
               "Cached:          4096000 kB\nSwapCached:  1024 kB\nSwapTotal:  2048000 kB\nSwapFree:  1024000 kB\n");
    write_file(proc + "/stat", "cpu  0 0 0 0 0 0 0 0\ncpu0 100 0 100 800 0 0 0 0\ncpu2 100 0 0 900 0 0 0 0\n");
    write_file(sys + "/devices/system/cpu/possible", "0-3\n");
    write_file(sys + "/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "1190400\n");
    ProcSource source(ProcOptions{100ms, proc.toStdString(), sys.toStdString()});
    write_file(proc + "/stat", "cpu  0 0 0 0 0 0 0 0\ncpu0 150 0 150 900 0 0 0 0\ncpu2 100 0 0 1000 0 0 0 0\n");
    auto s = source.poll();
    QVERIFY(s);
    QCOMPARE(s->ram->total_mb, 16000.0);
    QCOMPARE(s->ram->used_mb, 8000.0);
    QCOMPARE(*s->ram->cached_mb, 4000.0);
    QCOMPARE(s->swap->used_mb, 1000.0);
    QCOMPARE(s->cpu->count(), 4);
    QCOMPARE(*s->cpu->load_pct[0], 50.0);  // 100 busy of 200
    QCOMPARE(*s->cpu->load_pct[2], 0.0);
    QVERIFY(!s->cpu->online[1] && !s->cpu->online[3]);  // absent from /proc/stat: offline
    QVERIFY(!s->cpu->freq_mhz[0]);
  }

  void nvmlAbsentIsHandled() {
    std::string error;
    auto lib = NvmlLibrary::load(&error, "libnvidia-ml-not-here.so.1");
    QVERIFY(!lib);
    QVERIFY(error.find("libnvidia-ml-not-here.so.1") != std::string::npos);
    NvmlOptions options;
    options.library = "libnvidia-ml-not-here.so.1";
    QVERIFY_THROWS_EXCEPTION(TelemetryError, NvmlSource{options});
    // Whatever this machine has, auto must give a working source.
    auto any = make_source(SourceKind::Auto, SourceOptions{100ms});
    QVERIFY(any);
    QVERIFY(any->name() == "tegrastats" || any->name() == "nvml" || any->name() == "proc");
    QVERIFY_THROWS_EXCEPTION(TelemetryError, parse_source_kind("gpu"));
  }

  void replayAsFastAsPossible() {
    ReplayOptions options;
    options.file = logitscope::test::tegrastats_fixtures() / "orin_agx_2.txt";
    options.as_fast_as_possible = true;
    ReplaySource replay(options);
    Collector c;
    replay.start(c.callbacks());
    QVERIFY(wait_until([&] { return c.finished.load(); }, 5000));
    replay.stop();
    QCOMPARE(c.count(), std::size_t(4));
    // Pace from the file: two lines in one second share it, then +1 s, then a 17-minute gap capped.
    QCOMPARE(c.samples[0].time_s, 0.0);
    QCOMPARE(c.samples[1].time_s, 0.5);
    QCOMPARE(c.samples[2].time_s, 1.5);
    QCOMPARE(c.samples[3].time_s, 6.5);
    QCOMPARE(c.samples[3].source, std::string("replay"));
    QCOMPARE(c.samples[3].ram->used_mb, 7233.0);
  }

  void replayAtAGivenInterval() {
    ReplayOptions options;
    options.file = logitscope::test::tegrastats_fixtures() / "tx2_1.txt";
    options.interval = 60ms;
    ReplaySource replay(options);
    Collector c;
    QElapsedTimer timer;
    timer.start();
    replay.start(c.callbacks());
    QVERIFY(wait_until([&] { return c.finished.load(); }, 5000));
    QVERIFY(timer.elapsed() >= 150);  // 3 waits of 60 ms
    QCOMPARE(c.count(), std::size_t(4));
    QCOMPARE(c.samples[3].time_s, 0.18);
    // Stopping a looping replay returns promptly.
    options.loop = true;
    ReplaySource looping(options);
    Collector c2;
    looping.start(c2.callbacks());
    QVERIFY(wait_until([&] { return c2.count() >= 6; }, 5000));
    looping.stop();
    QVERIFY(!looping.running());
    QVERIFY_THROWS_EXCEPTION(TelemetryError, ReplaySource(ReplayOptions{"no-such-file.log"}));
  }

  void tegrastatsProcessStartStopRestart() {
    QTemporaryDir dir;
    QString script = logitscope::test::write_fake_tegrastats(dir.path(), logitscope::test::tegrastats_fixtures() / "thor_1.txt");
    QVERIFY(!script.isEmpty());
    QByteArray old_path = qgetenv("PATH");
    qputenv("PATH", QFile::encodeName(dir.path()) + ":" + old_path);
    auto found = find_tegrastats();
    QVERIFY(found);
    QCOMPARE(QString::fromStdString(found->string()), script);

    TegrastatsOptions options;
    options.interval = 100ms;
    options.restart_delay = 100ms;
    options.add_nvml_gpu_load = false;
    TegrastatsSource source(options);
    Collector c;
    source.start(c.callbacks());
    QVERIFY(wait_until([&] { return c.count() >= 3; }, 5000));
    {
      std::lock_guard lock(c.mutex);
      QCOMPARE(c.samples[0].source, std::string("tegrastats"));
      QCOMPARE(c.samples[0].ram->total_mb, 125773.0);
      QVERIFY(c.samples[0].ram->cached_mb.has_value());  // page cache added from /proc/meminfo
      QVERIFY(!c.samples[0].gpu->load_pct);                 // Thor: no load in tegrastats
    }

    // The child dies: the source restarts it after the back-off.
    int first_pid = source.child_pid();
    QVERIFY(first_pid > 0);
    ::kill(first_pid, SIGKILL);
    QVERIFY(wait_until([&] { return source.restarts() >= 1 && source.child_pid() > 0 && source.child_pid() != first_pid; }, 5000));
    std::size_t before = c.count();
    QVERIFY(wait_until([&] { return c.count() >= before + 2; }, 5000));
    {
      std::lock_guard lock(c.mutex);
      QVERIFY(!c.status.empty());
    }

    // Stop: SIGTERM to our child, never `tegrastats --stop`.
    int second_pid = source.child_pid();
    source.stop();
    QVERIFY(!source.running());
    QCOMPARE(source.child_pid(), 0);
    QVERIFY(::kill(second_pid, 0) != 0);  // gone (reaped)
    QFile signal_log(dir.path() + "/signals.log");
    QVERIFY(signal_log.open(QIODevice::ReadOnly));
    QVERIFY(signal_log.readAll().contains("TERM"));
    QFile args(dir.path() + "/args.log");
    QVERIFY(args.open(QIODevice::ReadOnly));
    QByteArray logged = args.readAll();
    QVERIFY(logged.contains("--interval 100"));
    QVERIFY(!logged.contains("--stop"));
    QCOMPARE(logged.count('\n'), 2);  // started twice
    qputenv("PATH", old_path);
  }

  void memoryHeldAfterUnloading() {
    Sample before;
    before.ram = RamInfo{};
    before.ram->used_mb = 4000;
    before.ram->total_mb = 125000;
    before.ram->cached_mb = 1000;
    before.unified_memory = true;
    HeldMemoryWatch watch(1024, 5);
    watch.model_loading(before);
    EngineCounters counters;
    counters.model_loaded = true;
    counters.device_allocated_mb = 60000;
    Sample loaded = before;
    loaded.ram->used_mb = 66000;
    auto b = memory_breakdown(loaded, counters);
    QCOMPARE(*b.model_mb, 60000.0);
    QCOMPARE(*b.other_mb, 6000.0);
    watch.model_unloaded(10);
    Sample after = before;
    after.time_s = 12;
    after.ram->cached_mb = 61000;  // the weight files stay in the page cache
    QVERIFY(!watch.update(after));  // not settled yet
    after.time_s = 16;
    QVERIFY(watch.update(after));
    QVERIFY(watch.hint(after).find("drop_caches") != std::string::npos);
    after.ram->cached_mb = 1200;
    QVERIFY(!watch.update(after));
  }
};

QTEST_GUILESS_MAIN(TestTelemetrySources)
#include "test_telemetry_sources.moc"
