// SPDX-License-Identifier: GPL-3.0-or-later
// "Change it and compare" in the window: feeds the Effect dock (the inspected branch under its
// interventions against the branch it was made from, one model) and the Compare dock (the window's
// model against a second one loaded beside it), each only while shown and only when the question
// changed, like InsideDriver; loads and unloads the second model; writes the conversation as a trace
// folder (File > Export Trace). Lives on the GUI thread; everything it asks runs on the engine thread.
#pragma once

#include <QByteArray>
#include <QObject>
#include <QTimer>

#include <cstdint>
#include <optional>

#include "engine_types.h"

class QAction;
class QDockWidget;
class QMenu;
class QWidget;

namespace logitscope::widgets {
class ComparisonView;
}  // namespace logitscope::widgets

namespace logitscope::workbench {
class EventStore;
}  // namespace logitscope::workbench

namespace logitscope::gui {

class ConversationDriver;
class EngineController;

class CompareDriver : public QObject {
  Q_OBJECT
 public:
  CompareDriver(EngineController* engine, ConversationDriver* conversation, workbench::EventStore* store,
                widgets::ComparisonView* effect, QDockWidget* effect_dock, widgets::ComparisonView* comparison,
                QDockWidget* comparison_dock, QWidget* window);

  // File > Compare With Second Model…, Unload Second Model and Export Trace….
  void add_actions(QMenu* file);

  // The second model (the Open Model dialog's request; it goes on the engine thread beside the first).
  void load_second(LoadRequest request);
  void unload_second();
  const std::optional<ModelSummary>& second_model() const { return second_; }
  bool second_loading() const { return second_loading_; }
  // Side B's interventions in the Compare dock ("mask *:0", "" for none); false, with the reason in
  // the dock, when the text does not read.
  bool set_interventions_b(const QString& text);

  // Writes the inspected branch's tokens (under its interventions) as a trace folder; returns the
  // request id. The answer comes as status() or error(), and as the engine's trace_exported().
  std::uint64_t export_trace(const QString& dir, int top_k = 5, bool internals = false);

  // Asks now for what the visible docks need (tests; normally after a coalescing delay).
  void refresh();
  // The newest request of each dock (0: none yet), for tests that wait for its answer.
  std::uint64_t effect_request() const { return effect_request_; }
  std::uint64_t comparison_request() const { return comparison_request_; }

 signals:
  void status(const QString& message);
  void error(const QString& message);

 private:
  void schedule();
  void set_available(bool available, const QString& why);
  void refresh_effect();
  void refresh_comparison();
  void update_actions();
  void load_second_dialog();
  void export_trace_dialog();

  EngineController* engine_;
  ConversationDriver* conversation_;
  workbench::EventStore* store_;
  widgets::ComparisonView* effect_;
  QDockWidget* effect_dock_;
  widgets::ComparisonView* comparison_;
  QDockWidget* comparison_dock_;
  QWidget* window_;
  QTimer timer_;
  bool available_ = false;
  std::optional<ModelSummary> model_;   // the window's model
  std::optional<ModelSummary> second_;
  bool second_loading_ = false;
  LoadRequest last_second_request_;
  Interventions interventions_b_;
  std::uint64_t effect_request_ = 0;
  std::uint64_t comparison_request_ = 0;
  std::uint64_t trace_request_ = 0;
  QByteArray effect_asked_;
  QByteArray comparison_asked_;
  QAction* compare_action_ = nullptr;
  QAction* unload_action_ = nullptr;
  QAction* export_action_ = nullptr;
};

}  // namespace logitscope::gui
