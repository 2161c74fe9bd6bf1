// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope: the workbench window. Qt's own options (-platform offscreen|xcb|vnc:port=5900, ...)
// are taken by QApplication before our parser sees the arguments.
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include "engine_types.h"
#include "logitscope/types.h"
#include "main_window.h"
#include "model_locator.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("logitscope"));
  QApplication::setOrganizationName(QStringLiteral("logitscope"));
  QApplication::setApplicationDisplayName(QStringLiteral("Logitscope"));
  logitscope::gui::register_engine_types();

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral(
      "Look inside Nemotron-H models while they run.\n"
      "Qt options also work, e.g. -platform vnc:port=5900 to serve the window over VNC."));
  parser.addHelpOption();
  const QCommandLineOption model({QStringLiteral("m"), QStringLiteral("model")},
                                 QStringLiteral("Snapshot folder or Hugging Face id (default: the toy demo model)."),
                                 QStringLiteral("path-or-id"));
  const QCommandLineOption revision(QStringLiteral("revision"), QStringLiteral("Hub revision: commit or ref (default main)."),
                                    QStringLiteral("rev"), QStringLiteral("main"));
  const QCommandLineOption cache_dir(QStringLiteral("cache-dir"), QStringLiteral("Hugging Face hub cache folder."),
                                     QStringLiteral("dir"));
  const QCommandLineOption backend(QStringLiteral("backend"), QStringLiteral("cpu or cuda (default cpu)."),
                                   QStringLiteral("name"), QStringLiteral("cpu"));
  const QCommandLineOption threads(QStringLiteral("threads"), QStringLiteral("CPU backend threads (0 = all cores)."),
                                   QStringLiteral("n"), QStringLiteral("0"));
  const QCommandLineOption conversation(QStringLiteral("conversation"), QStringLiteral("Open a saved conversation (JSON)."),
                                        QStringLiteral("file"));
  const QCommandLineOption telemetry(QStringLiteral("telemetry"),
                                     QStringLiteral("Telemetry source: auto, tegrastats, nvml, proc or none."),
                                     QStringLiteral("kind"), QStringLiteral("auto"));
  const QCommandLineOption synthetic(QStringLiteral("synthetic"),
                                     QStringLiteral("Instead of a model: random weights at the shape of this config.json, "
                                                    "made on the GPU (--backend cuda), to try the window at a real model's size."),
                                     QStringLiteral("config.json"));
  const QCommandLineOption max_context(QStringLiteral("max-context"), QStringLiteral("Tokens the caches hold (default 8192)."),
                                       QStringLiteral("n"), QStringLiteral("8192"));
  const QCommandLineOption quantize(QStringLiteral("quantize"),
                                    QStringLiteral("fp8 or nvfp4: quantize a BF16 snapshot's Linear weights while loading."),
                                    QStringLiteral("format"));
  parser.addOptions({model, revision, cache_dir, backend, threads, conversation, telemetry, synthetic, max_context, quantize});
  parser.process(app);

  const QString backend_name = parser.value(backend).toLower();
  try {
    logitscope::parse_backend_kind(backend_name.toStdString().c_str());
  } catch (const std::exception& error) {
    fprintf(stderr, "logitscope: --backend: %s\n", error.what());
    return 2;
  }

  logitscope::gui::WindowOptions options;
  options.telemetry = parser.value(telemetry);
  logitscope::gui::MainWindow window(options);
  window.show();

  if (parser.isSet(conversation)) window.open_conversation(parser.value(conversation));
  logitscope::gui::LoadRequest request;
  request.synthetic_config = parser.value(synthetic);
  request.quantize = parser.value(quantize).toLower();
  if (!request.quantize.isEmpty() && request.quantize != QLatin1String("fp8") && request.quantize != QLatin1String("nvfp4")) {
    fprintf(stderr, "logitscope: --quantize must be fp8 or nvfp4\n");
    return 2;
  }
  request.model = parser.isSet(model) || parser.isSet(synthetic) ? parser.value(model) : logitscope::gui::demo_model_dir();
  request.max_context = parser.value(max_context).toLongLong();
  if (request.max_context <= 0) {
    fprintf(stderr, "logitscope: --max-context must be a positive number of tokens\n");
    return 2;
  }
  request.revision = parser.value(revision);
  request.cache_dir = parser.value(cache_dir);
  request.backend = backend_name;
  request.threads = parser.value(threads).toInt();
  if (!request.model.isEmpty() || !request.synthetic_config.isEmpty()) {
    // After the window is up, so the progress bar shows while the weights load.
    QTimer::singleShot(0, &window, [&window, request] { window.load_model(request); });
  } else {
    window.show_error(QObject::tr("No model given and no demo model found: open one with File > Open Model (Ctrl+O)."));
  }
  return app.exec();
}
