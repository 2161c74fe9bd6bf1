// SPDX-License-Identifier: GPL-3.0-or-later
// The workbench on the CUDA backend at a real model's shape (default: Nemotron-3-Nano-30B-A3B,
// synthetic weights made on the GPU): a reply of LOGITSCOPE_GPU_WINDOW_TOKENS (default 1,000)
// tokens streams with the top-k chart, the MoE layer x expert routing heatmap and the telemetry
// panel (NVML) updating. Measures the GUI thread's longest stall (wall and its own CPU time), the
// tokens/s the window sustains, and how often each view redrew; prints one RESULT line for
// tools/gpu_window.sh. Exit 77 without a CUDA build or a GPU.
//   LOGITSCOPE_GPU_WINDOW_CONFIG  another config.json (e.g. a small fixture's, to try it anywhere)
//   LOGITSCOPE_GPU_WINDOW_SHOT    also save a picture of the window at the end of the reply (PNG)
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <qcustomplot.h>

#include "chat_pane.h"
#include "conversation_driver.h"
#include "engine_controller.h"
#include "event_loop_heartbeat.h"
#include "event_store.h"
#include "logitscope/cuda_tools.h"
#include "main_window.h"
#include "routing_heatmap.h"
#include "settings_panel.h"
#include "telemetry_panel.h"
#include "token_strip.h"
#include "topk_view.h"

using namespace logitscope;
using namespace logitscope::gui;

class TestWindowOnGpu : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  QString config_;

 private slots:
  void initTestCase() {
    // The config without end-of-sequence ids: random weights must not end the reply early.
    const QString source = qEnvironmentVariable("LOGITSCOPE_GPU_WINDOW_CONFIG", QStringLiteral(LOGITSCOPE_REAL_SHAPE_CONFIG));
    QFile in(source);
    QVERIFY2(in.open(QIODevice::ReadOnly), qPrintable(source));
    QJsonObject config = QJsonDocument::fromJson(in.readAll()).object();
    config.remove(QStringLiteral("eos_token_id"));
    config_ = dir_.filePath(QStringLiteral("config.json"));
    QFile out(config_);
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(QJsonDocument(config).toJson());
  }

  void stream_a_long_reply_with_every_view() {
    const int tokens = qEnvironmentVariableIntValue("LOGITSCOPE_GPU_WINDOW_TOKENS") > 0
                           ? qEnvironmentVariableIntValue("LOGITSCOPE_GPU_WINDOW_TOKENS")
                           : 1000;
    WindowOptions options;
    options.telemetry = QStringLiteral("nvml");
    MainWindow window(options);
    window.resize(1600, 1000);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));

    QElapsedTimer load_clock;
    load_clock.start();
    QSignalSpy loaded(window.engine(), &EngineController::loaded);
    QSignalSpy failed(window.engine(), &EngineController::load_failed);
    LoadRequest request;
    request.synthetic_config = config_;
    request.backend = QStringLiteral("cuda");
    request.max_context = 4096;
    window.load_model(request);
    QTRY_VERIFY_WITH_TIMEOUT(loaded.count() + failed.count() == 1, 300000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
    const qint64 load_ms = load_clock.elapsed();
    const ModelSummary& model = *window.model();
    qInfo().noquote() << "loaded" << model.device_name << model.num_layers << "layers," << model.moe_layers.size()
                      << "MoE x" << model.num_experts << "experts in" << load_ms << "ms";

    GenerationSettings settings;
    settings.temperature = 0.0;
    settings.max_new_tokens = tokens;
    settings.probe_top_k = 20;
    window.settings_panel()->set_values(settings);

    // Every view the user would have open: top-k (follows the last token), heatmap, telemetry.
    int heatmap_redraws = 0, topk_redraws = 0, telemetry_samples = 0;
    connect(window.heatmap()->map_plot(), &QCustomPlot::afterReplot, this, [&] { ++heatmap_redraws; });
    auto* topk_chart = window.topk()->findChild<QCustomPlot*>(QStringLiteral("topkChart"));
    QVERIFY(topk_chart);
    connect(topk_chart, &QCustomPlot::afterReplot, this, [&] { ++topk_redraws; });
    auto* telemetry = window.findChild<TelemetryPanel*>();
    QVERIFY(telemetry);
    const int telemetry_before = telemetry->replotCount();

    QSignalSpy finished(window.engine(), &EngineController::finished);
    test::EventLoopHeartbeat heartbeat;
    QStringList prompt;
    for (int i = 0; i < 28; ++i) prompt << QString::number(1000 + 37 * i);
    window.chat()->set_input_text(prompt.join(QLatin1Char(' ')));
    QElapsedTimer clock;
    clock.start();
    heartbeat.start();
    window.send_or_step(-1);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 600000);
    const qint64 wall_ms = clock.elapsed();
    QTest::qWait(200);  // the coalesced views catch up
    heartbeat.stop();
    telemetry_samples = telemetry->replotCount() - telemetry_before;

    const auto stats = finished.first().first().value<GenerationStats>();
    const auto& events = window.store()->events();
    QCOMPARE(int(events.size()), tokens);
    QCOMPARE(stats.tokens, tokens);
    QCOMPARE(window.strip()->chip_count(), tokens);
    for (const auto& event : {events.front(), events.back()}) {
      QCOMPARE(int(event.top_k.size()), 20);
      QCOMPARE(int(event.routing.size()), int(model.moe_layers.size()));
    }
    // The heatmap shows the last token's routing: MoE layers x experts.
    QCOMPARE(window.heatmap()->grid().rows(), int(model.moe_layers.size()));
    QCOMPARE(window.heatmap()->grid().num_experts, model.num_experts);
    QVERIFY(heatmap_redraws > 1 && topk_redraws > 1);
    const double window_tok_s = 1000.0 * double(tokens) / double(wall_ms);
    qInfo().noquote() << "status line:" << window.run_status_text();
    std::printf("RESULT device=\"%s\" tokens=%d engine_tok_s=%.1f window_tok_s=%.1f ttft_ms=%.1f "
                "gui_stall_wall_ms=%lld gui_stall_cpu_ms=%.1f heatmap_redraws=%d topk_redraws=%d telemetry_redraws=%d "
                "load_ms=%lld\n",
                qPrintable(model.device_name), tokens, stats.tokens_per_second, window_tok_s, stats.time_to_first_token_ms,
                heartbeat.worst_wall_ms(), heartbeat.worst_cpu_ms(), heatmap_redraws, topk_redraws, telemetry_samples,
                load_ms);
    std::fflush(stdout);
    QVERIFY2(heartbeat.worst_cpu_ms() <= 50.0,
             qPrintable(QStringLiteral("the GUI thread worked %1 ms at a stretch").arg(heartbeat.worst_cpu_ms())));
    QVERIFY2(window.banner_text().isEmpty(), qPrintable(window.banner_text()));
    // A picture of the window as it ends the reply (LOGITSCOPE_GPU_WINDOW_SHOT=file.png).
    if (qEnvironmentVariableIsSet("LOGITSCOPE_GPU_WINDOW_SHOT")) {
      window.store()->select(int(events.size()) - 1);
      QTest::qWait(300);
      QVERIFY(window.grab().save(qEnvironmentVariable("LOGITSCOPE_GPU_WINDOW_SHOT")));
    }
    window.close();
  }
};

int main(int argc, char** argv) {
  // CTest's "skipped" (77), as the other GPU tests report it, where there is no GPU.
  if (cuda_tools::device_count() == 0) {
    std::printf("tst_window_on_gpu: no CUDA GPU on this machine; skipped\n");
    return 77;
  }
  QApplication app(argc, argv);
  TestWindowOnGpu test;
  return QTest::qExec(&test, argc, argv);
}
#include "tst_window_on_gpu.moc"
