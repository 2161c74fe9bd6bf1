// SPDX-License-Identifier: GPL-3.0-or-later
// The real window as the engine-driven GUI tests start it: shown at 1400x900 with telemetry off and
// the given generation settings; the bundled demo model loaded on the CPU backend; waiting for the
// engine to go idle.
#pragma once

#include <QDockWidget>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QSignalSpy>
#include <QTest>

#include <memory>

#include "engine_controller.h"
#include "main_window.h"
#include "model_locator.h"
#include "settings_panel.h"

namespace logitscope::gui::testing {

inline bool demo_model_present() {
  const QString demo = demo_model_dir();
  return !demo.isEmpty() && QFileInfo::exists(demo + QStringLiteral("/tokenizer.json"));
}

// Greedy decoding (reproducible replies), ten alternatives recorded per token.
inline GenerationSettings greedy(int max_new_tokens) {
  GenerationSettings settings;
  settings.temperature = 0.0;
  settings.max_new_tokens = max_new_tokens;
  settings.probe_top_k = 10;
  return settings;
}

// Null when the window was not exposed.
inline std::unique_ptr<MainWindow> shown_window(const GenerationSettings& settings) {
  WindowOptions options;
  options.telemetry = QStringLiteral("none");
  auto window = std::make_unique<MainWindow>(options);
  window->resize(1400, 900);
  window->show();
  if (!QTest::qWaitForWindowExposed(window.get())) return nullptr;
  window->settings_panel()->set_values(settings);
  return window;
}

// A dock by object name, shown and raised (the tabbed docks compute only while in front); null when
// the window has none of that name or it did not show within 5 s.
inline QDockWidget* bring_forward(MainWindow* window, const char* name) {
  auto* dock = window->findChild<QDockWidget*>(QLatin1String(name));
  if (!dock) return nullptr;
  dock->show();
  dock->raise();
  return QTest::qWaitFor([dock] { return dock->isVisible(); }, 5000) ? dock : nullptr;
}

// Saves a picture of a dock as DIR/NAME.png when the environment variable `dir_variable` names a
// folder (for looking at, not checked).
inline void save_dock_picture(MainWindow* window, const char* name, const char* dir_variable) {
  if (!qEnvironmentVariableIsSet(dir_variable)) return;
  QTest::qWait(100);  // queued replots
  auto* dock = window->findChild<QDockWidget*>(QLatin1String(name));
  if (dock) dock->grab().save(qEnvironmentVariable(dir_variable) + QLatin1Char('/') + QLatin1String(name) + ".png");
}

// False when the model did not load within a minute.
inline bool load_demo_model(MainWindow* window) {
  QSignalSpy loaded(window->engine(), &EngineController::loaded);
  LoadRequest request;
  request.model = demo_model_dir();
  request.backend = QStringLiteral("cpu");
  request.threads = 2;
  window->load_model(request);
  return loaded.count() == 1 || loaded.wait(60000);
}

inline bool wait_idle(MainWindow* window, int timeout_ms = 120000) {
  QElapsedTimer timer;
  timer.start();
  while (window->engine()->busy() && timer.elapsed() < timeout_ms) QTest::qWait(10);
  QTest::qWait(60);
  return !window->engine()->busy();
}

}  // namespace logitscope::gui::testing
