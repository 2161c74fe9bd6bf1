// SPDX-License-Identifier: GPL-3.0-or-later
// The workbench window: the chat in the middle, docks for the token strip and entropy plot, the
// top-k viewer, the routing heatmap, the branch tree, the settings, the telemetry panel, the
// surprise of a text, the "see inside" views (lens, router, attention/Mamba) and the comparisons
// (an intervention's effect, a second model); menus, toolbar and
// shortcuts; model loading with a progress bar. Errors show in a banner and the status
// bar, and never cost the conversation.
#pragma once

#include <QMainWindow>

#include "engine_types.h"
#include "remote_client.h"

class QAction;
class QLabel;
class QProgressBar;
class QPushButton;
class QToolButton;
class QDockWidget;
class TelemetryPanel;
class TelemetryFeed;

namespace logitscope::widgets {
class BranchTree;
class ChatPane;
class ComparisonView;
class EntropyPlot;
class AttentionMambaView;
class LensView;
class RouterView;
class RoutingHeatmap;
class RunStatusLabel;
class TokenStrip;
class TopKView;
class SurpriseView;
}  // namespace logitscope::widgets

namespace logitscope::workbench {
class EventStore;
}  // namespace logitscope::workbench

namespace logitscope::gui {

class CompareDriver;
class ConversationDriver;
class EngineController;
class InsideDriver;
class SettingsPanel;

struct WindowOptions {
  QString telemetry = QStringLiteral("auto");  // auto, tegrastats, nvml, proc, none
};

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(const WindowOptions& options = {}, QWidget* parent = nullptr);
  ~MainWindow() override;

  void load_model(const LoadRequest& request);
  // Talks to an OpenAI-compatible server instead (File > Connect to Server).
  void connect_remote(const RemoteConfig& config);
  bool open_conversation(const QString& path);

  // For tests and the screenshot script.
  ConversationDriver* driver() const { return driver_; }
  EngineController* engine() const { return engine_; }
  workbench::EventStore* store() const { return store_; }
  widgets::ChatPane* chat() const { return chat_; }
  widgets::TopKView* topk() const { return topk_; }
  widgets::RoutingHeatmap* heatmap() const { return heatmap_; }
  widgets::TokenStrip* strip() const { return strip_; }
  widgets::BranchTree* branches() const { return branches_; }
  widgets::SurpriseView* surprise() const { return surprise_; }
  widgets::LensView* lens() const { return lens_; }
  widgets::RouterView* router() const { return router_; }
  widgets::AttentionMambaView* attention_mamba() const { return attention_mamba_; }
  InsideDriver* inside() const { return inside_; }
  widgets::ComparisonView* effect() const { return effect_; }
  widgets::ComparisonView* comparison() const { return comparison_; }
  CompareDriver* compare() const { return compare_; }
  SettingsPanel* settings_panel() const { return settings_panel_; }
  QString banner_text() const;
  QString run_status_text() const;  // the status line: model, device, last reply's numbers
  const std::optional<ModelSummary>& model() const { return model_; }

 public slots:
  void show_error(const QString& message);
  void send_or_step(int steps);  // the input's text starts a reply of `steps` tokens (-1: all)
  // A new branch of the inspected reply from its token `index` on (-1: its end), generated under the
  // interventions `text` names ("mask 4:17; skip 3"); false with the reason in the banner when the
  // text does not read. Generate > Intervene asks for the text.
  bool intervene(int index, const QString& text);

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void build_docks();
  void size_docks();  // the default dock sizes, as shares of the window's size
  void build_actions();
  void start_telemetry(const QString& kind);
  void intervene_dialog();
  void wire_surprise();  // the Surprise dock's requests and answers
  void update_title();
  void update_actions();
  void open_model_dialog();
  void connect_dialog();
  void save_conversation(bool ask_path);
  void open_conversation_dialog();
  void on_loaded(const ModelSummary& summary);

  EngineController* engine_;
  workbench::EventStore* store_;
  widgets::ChatPane* chat_;
  widgets::TokenStrip* strip_;
  widgets::EntropyPlot* entropy_;
  widgets::TopKView* topk_;
  widgets::RoutingHeatmap* heatmap_;
  widgets::SurpriseView* surprise_;
  std::uint64_t surprise_request_ = 0;  // the scoring the Surprise dock waits for
  widgets::LensView* lens_;
  widgets::RouterView* router_;
  widgets::AttentionMambaView* attention_mamba_;
  InsideDriver* inside_ = nullptr;  // feeds the Lens, Router and Attention/Mamba docks
  widgets::ComparisonView* effect_;
  widgets::ComparisonView* comparison_;
  CompareDriver* compare_ = nullptr;  // feeds the Effect and Compare docks; the second model; traces
  widgets::BranchTree* branches_;
  SettingsPanel* settings_panel_;
  TelemetryPanel* telemetry_ = nullptr;
  TelemetryFeed* telemetry_feed_ = nullptr;
  ConversationDriver* driver_;
  QLabel* banner_;
  QToolButton* banner_close_;
  QWidget* banner_row_;
  QLabel* status_label_;
  widgets::RunStatusLabel* run_status_;
  QProgressBar* progress_;
  QPushButton* cancel_load_;
  QMenu* view_menu_ = nullptr;
  QAction* send_action_ = nullptr;
  QAction* stop_action_ = nullptr;
  QAction* step_action_ = nullptr;
  QAction* step_n_action_ = nullptr;
  QAction* run_action_ = nullptr;
  std::optional<ModelSummary> model_;
  LoadRequest last_request_;
  QString conversation_path_;
  bool modified_ = false;
};

}  // namespace logitscope::gui
