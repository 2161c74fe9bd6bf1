// SPDX-License-Identifier: GPL-3.0-or-later
#include "main_window.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include "branch_tree.h"
#include "chat_pane.h"
#include "compare_driver.h"
#include "comparison_view.h"
#include "conversation_driver.h"
#include "engine_controller.h"
#include "entropy_plot.h"
#include "event_store.h"
#include "inside_driver.h"
#include "attention_mamba_view.h"
#include "lens_view.h"
#include "logitscope/errors.h"
#include "logitscope/interventions.h"
#include "logitscope/telemetry/source.h"
#include "open_model_dialog.h"
#include "remote_connect_dialog.h"
#include "remote_notice.h"
#include "router_view.h"
#include "routing_heatmap.h"
#include "run_status.h"
#include "settings_panel.h"
#include "surprise_view.h"
#include "settings_store.h"
#include "telemetry_feed.h"
#include "telemetry_panel.h"
#include "token_strip.h"
#include "topk_view.h"
#include "window_geometry.h"

namespace logitscope::gui {

MainWindow::MainWindow(const WindowOptions& options, QWidget* parent) : QMainWindow(parent) {
  setObjectName(QStringLiteral("LogitscopeMainWindow"));
  engine_ = new EngineController(this);
  store_ = new workbench::EventStore(this);
  chat_ = new widgets::ChatPane(this);
  branches_ = new widgets::BranchTree(this);

  // The banner sits above the chat: errors stay visible until dismissed, the chat stays intact.
  banner_ = new QLabel(this);
  banner_->setWordWrap(true);
  banner_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  banner_->setObjectName(QStringLiteral("errorBanner"));
  banner_close_ = new QToolButton(this);
  banner_close_->setText(tr("Dismiss"));
  banner_row_ = new QWidget(this);
  banner_row_->setAutoFillBackground(true);
  QPalette banner_palette = banner_row_->palette();
  banner_palette.setColor(QPalette::Window, QColor(192, 57, 43));
  banner_palette.setColor(QPalette::WindowText, Qt::white);
  banner_row_->setPalette(banner_palette);
  auto* banner_layout = new QHBoxLayout(banner_row_);
  banner_layout->setContentsMargins(8, 4, 8, 4);
  banner_layout->addWidget(banner_, 1);
  banner_layout->addWidget(banner_close_);
  banner_row_->setVisible(false);
  connect(banner_close_, &QToolButton::clicked, banner_row_, &QWidget::hide);

  auto* central = new QWidget(this);
  auto* central_layout = new QVBoxLayout(central);
  central_layout->setContentsMargins(0, 0, 0, 0);
  central_layout->addWidget(banner_row_);
  central_layout->addWidget(chat_, 1);
  setCentralWidget(central);

  status_label_ = new QLabel(tr("No model loaded"), this);
  progress_ = new QProgressBar(this);
  progress_->setMaximumWidth(240);
  progress_->setVisible(false);
  cancel_load_ = new QPushButton(tr("Cancel"), this);
  cancel_load_->setVisible(false);
  run_status_ = new widgets::RunStatusLabel(this);
  statusBar()->addWidget(status_label_, 1);
  statusBar()->addPermanentWidget(run_status_);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(cancel_load_);
  connect(cancel_load_, &QPushButton::clicked, engine_, &EngineController::stop);

  build_docks();
  driver_ = new ConversationDriver(engine_, store_, chat_, branches_, this);
  driver_->set_settings_source([this] { return settings_panel_->values(); });
  compare_ = new CompareDriver(engine_, driver_, store_, effect_, findChild<QDockWidget*>(QStringLiteral("effectDock")),
                               comparison_, findChild<QDockWidget*>(QStringLiteral("compareDock")), this);
  connect(compare_, &CompareDriver::status, status_label_, &QLabel::setText);
  connect(compare_, &CompareDriver::error, this, &MainWindow::show_error);
  build_actions();
  wire_surprise();
  inside_ = new InsideDriver(engine_, driver_, store_, lens_, findChild<QDockWidget*>(QStringLiteral("lensDock")), router_,
                             findChild<QDockWidget*>(QStringLiteral("routerDock")), attention_mamba_,
                             findChild<QDockWidget*>(QStringLiteral("insideDock")), this);

  connect(driver_, &ConversationDriver::status, status_label_, &QLabel::setText);
  connect(driver_, &ConversationDriver::error, this, &MainWindow::show_error);
  connect(driver_, &ConversationDriver::conversation_changed, this, [this] {
    modified_ = true;
    update_title();
  });
  connect(driver_, &ConversationDriver::stats, this, [this](const GenerationStats& stats) {
    widgets::RunStatus& run = run_status_->edit();
    if (stats.prompt_tokens > 0) run.prompt_tokens = stats.prompt_tokens;
    else run.prompt_tokens.reset();
    run.reply_tokens = stats.tokens;
    if (stats.time_to_first_token_ms > 0) run.first_token_ms = stats.time_to_first_token_ms;
    if (stats.tokens > 1 && stats.tokens_per_second > 0) run.tokens_per_second = stats.tokens_per_second;
    if (stats.context_max > 0) {
      run.context_used = stats.context_used;
      run.context_max = stats.context_max;
    }
    run_status_->show_status();
    if (!telemetry_) return;
    logitscope::telemetry::EngineCounters counters;
    counters.model_loaded = model_.has_value();
    if (model_) counters.device_allocated_mb = double(model_->device_bytes) / (1024.0 * 1024.0);
    if (stats.tokens > 0) counters.decode_tokens_per_s = stats.tokens_per_second;
    if (stats.time_to_first_token_ms > 0) counters.time_to_first_token_ms = stats.time_to_first_token_ms;
    telemetry_->setEngineCounters(counters);
  });
  connect(chat_, &widgets::ChatPane::copy_requested, this, [this](int index) {
    const auto& messages = driver_->conversation().messages;
    if (index >= 0 && index < int(messages.size())) QApplication::clipboard()->setText(messages[index].content);
    status_label_->setText(tr("Copied message %1").arg(index + 1));
  });
  connect(topk_, &widgets::TopKView::candidate_chosen, driver_, &ConversationDriver::choose);
  connect(strip_, &widgets::TokenStrip::hovered, topk_, &widgets::TopKView::set_hovered);
  connect(engine_, &EngineController::busy_changed, this, &MainWindow::update_actions);
  connect(engine_, &EngineController::load_progress, this, [this](const LoadProgressInfo& progress) {
    progress_->setVisible(true);
    // Byte counts can pass 2^31: show per mille.
    progress_->setRange(0, progress.bytes_total > 0 ? 1000 : 0);
    if (progress.bytes_total > 0) progress_->setValue(int(1000.0 * double(progress.bytes_done) / double(progress.bytes_total)));
    progress_->setFormat(progress.stage + QStringLiteral(" %p%"));
    status_label_->setText(tr("Loading: %1").arg(progress.stage));
  });
  connect(engine_, &EngineController::loaded, this, &MainWindow::on_loaded);
  connect(engine_, &EngineController::load_failed, this, [this](const QString& message) {
    progress_->setVisible(false);
    cancel_load_->setVisible(false);
    model_.reset();
    driver_->clear_model();
    surprise_->set_available(false, tr("Load a model to score texts."));
    inside_->set_available(false, tr("Load a model to look inside its layers."));
    if (telemetry_) telemetry_->modelUnloaded();
    show_error(tr("Could not load the model: %1").arg(message));
    status_label_->setText(tr("No model loaded"));
    update_title();
  });

  // Every read falls back to defaults on damage and every write asks begin_settings_write first,
  // so a settings file from a newer build is read but never written (settings_store.h).
  QSettings settings;
  settings_panel_->set_values(load_generation_settings(settings));
  settings_panel_->set_step_count(load_step_count(settings));
  chat_->set_thinking_enabled(read_setting_bool(settings, QStringLiteral("chat/thinking"), false));
  connect(settings_panel_, &SettingsPanel::changed, this, [this] {
    QSettings s;
    if (save_generation_settings(s, settings_panel_->values())) save_step_count(s, settings_panel_->step_count());
  });
  place_window(this, QSize(1600, 1000), settings.value(QStringLiteral("window/geometry")).toByteArray());
  if (!restoreState(settings.value(QStringLiteral("window/state")).toByteArray())) size_docks();
  start_telemetry(options.telemetry);
  update_title();
  update_actions();
}

MainWindow::~MainWindow() {
  if (telemetry_feed_) telemetry_feed_->stop();
}

void MainWindow::build_docks() {
  strip_ = new widgets::TokenStrip(store_);
  auto* strip_area = new QScrollArea;
  strip_area->setWidget(strip_);
  strip_area->setWidgetResizable(true);
  strip_area->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  entropy_ = new widgets::EntropyPlot(store_);
  auto* tokens_split = new QSplitter(Qt::Vertical);
  tokens_split->addWidget(strip_area);
  tokens_split->addWidget(entropy_);
  tokens_split->setStretchFactor(0, 3);
  tokens_split->setStretchFactor(1, 2);
  topk_ = new widgets::TopKView(store_);
  heatmap_ = new widgets::RoutingHeatmap(store_);
  surprise_ = new widgets::SurpriseView;
  lens_ = new widgets::LensView;
  router_ = new widgets::RouterView;
  attention_mamba_ = new widgets::AttentionMambaView;
  effect_ = new widgets::ComparisonView(store_, widgets::ComparisonView::Mode::Effect);
  comparison_ = new widgets::ComparisonView(store_, widgets::ComparisonView::Mode::Models);
  settings_panel_ = new SettingsPanel;
  telemetry_ = new TelemetryPanel;

  view_menu_ = menuBar()->addMenu(tr("&View"));
  auto add_dock = [this](const QString& title, const QString& name, QWidget* widget, Qt::DockWidgetArea area) {
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(name);  // saveState() needs names
    dock->setWidget(widget);
    addDockWidget(area, dock);
    view_menu_->addAction(dock->toggleViewAction());
    return dock;
  };
  QDockWidget* tokens = add_dock(tr("Tokens"), QStringLiteral("tokensDock"), tokens_split, Qt::RightDockWidgetArea);
  QDockWidget* topk = add_dock(tr("Top-k"), QStringLiteral("topkDock"), topk_, Qt::RightDockWidgetArea);
  QDockWidget* routing = add_dock(tr("Routing"), QStringLiteral("routingDock"), heatmap_, Qt::BottomDockWidgetArea);
  QDockWidget* branch_dock = add_dock(tr("Branches"), QStringLiteral("branchesDock"), branches_, Qt::LeftDockWidgetArea);
  // The tall panels scroll inside their docks, so that their height never sets the window's
  // minimum (a 1024x768 VNC screen must hold the whole window).
  auto scrolling = [](QWidget* panel) {
    auto* area = new QScrollArea;
    area->setWidget(panel);
    area->setWidgetResizable(true);
    area->setFrameShape(QFrame::NoFrame);
    return area;
  };
  QDockWidget* settings =
      add_dock(tr("Settings"), QStringLiteral("settingsDock"), scrolling(settings_panel_), Qt::LeftDockWidgetArea);
  QDockWidget* telemetry =
      add_dock(tr("Telemetry"), QStringLiteral("telemetryDock"), scrolling(telemetry_), Qt::BottomDockWidgetArea);
  splitDockWidget(tokens, topk, Qt::Horizontal);
  splitDockWidget(branch_dock, settings, Qt::Vertical);
  QDockWidget* surprise = add_dock(tr("Surprise"), QStringLiteral("surpriseDock"), surprise_, Qt::BottomDockWidgetArea);
  tabifyDockWidget(routing, telemetry);
  tabifyDockWidget(routing, surprise);
  // These compute on demand (a prompt forward each), so they start behind a tab: nothing runs
  // until one is brought to the front.
  QDockWidget* lens = add_dock(tr("Lens"), QStringLiteral("lensDock"), lens_, Qt::BottomDockWidgetArea);
  QDockWidget* router = add_dock(tr("Router"), QStringLiteral("routerDock"), router_, Qt::BottomDockWidgetArea);
  QDockWidget* inside =
      add_dock(tr("Attention/Mamba"), QStringLiteral("insideDock"), attention_mamba_, Qt::BottomDockWidgetArea);
  tabifyDockWidget(routing, lens);
  tabifyDockWidget(routing, router);
  tabifyDockWidget(routing, inside);
  tabifyDockWidget(routing, add_dock(tr("Effect"), QStringLiteral("effectDock"), effect_, Qt::BottomDockWidgetArea));
  tabifyDockWidget(routing, add_dock(tr("Compare"), QStringLiteral("compareDock"), comparison_, Qt::BottomDockWidgetArea));
  routing->raise();
}

void MainWindow::size_docks() {
  // Shares of the window (1600x1000: tokens 450, top-k 350, branches 260, routing 300 px), so a
  // small screen gets a proportionally smaller layout rather than a squeezed-out column.
  auto dock = [this](const char* name) { return findChild<QDockWidget*>(QLatin1String(name)); };
  const int w = width(), h = height();
  resizeDocks({dock("tokensDock"), dock("topkDock")}, {w * 28 / 100, w * 22 / 100}, Qt::Horizontal);
  resizeDocks({dock("routingDock")}, {h * 30 / 100}, Qt::Vertical);
  resizeDocks({dock("branchesDock")}, {w * 16 / 100}, Qt::Horizontal);
}

void MainWindow::build_actions() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  menuBar()->insertMenu(view_menu_->menuAction(), file);
  QMenu* generate = menuBar()->addMenu(tr("&Generate"));
  menuBar()->insertMenu(view_menu_->menuAction(), generate);
  QToolBar* toolbar = addToolBar(tr("Main"));
  toolbar->setObjectName(QStringLiteral("mainToolbar"));

  auto add = [this](QMenu* menu, const QString& text, const QKeySequence& key, auto slot, const QString& tip = {}) {
    auto* action = new QAction(text, this);
    if (!key.isEmpty()) action->setShortcut(key);
    action->setToolTip(tip.isEmpty() ? text : tip);
    connect(action, &QAction::triggered, this, slot);
    menu->addAction(action);
    return action;
  };
  QAction* open_model = add(file, tr("&Open Model…"), QKeySequence(Qt::CTRL | Qt::Key_O), [this] { open_model_dialog(); });
  add(file, tr("Connect to &Server…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R), [this] { connect_dialog(); },
      tr("Use an OpenAI-compatible server (logitscope-cli serve, vLLM) instead of a local model"));
  file->addSeparator();
  add(file, tr("&New Conversation"), QKeySequence::New, [this] {
    driver_->new_conversation();
    conversation_path_.clear();
    modified_ = false;
    update_title();
  });
  add(file, tr("Open &Conversation…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O), [this] { open_conversation_dialog(); });
  add(file, tr("&Save Conversation"), QKeySequence::Save, [this] { save_conversation(false); });
  add(file, tr("Save Conversation &As…"), QKeySequence::SaveAs, [this] { save_conversation(true); });
  file->addSeparator();
  compare_->add_actions(file);
  file->addSeparator();
  add(file, tr("&Quit"), QKeySequence::Quit, [this] { close(); });

  send_action_ = add(generate, tr("&Send"), QKeySequence(Qt::CTRL | Qt::Key_Return), [this] { send_or_step(-1); },
                     tr("Send the message (Ctrl+Return)"));
  stop_action_ = add(generate, tr("S&top"), QKeySequence(Qt::Key_Escape), [this] { driver_->pause(); },
                     tr("Stop generating (Esc)"));
  generate->addSeparator();
  step_action_ = add(generate, tr("S&tep"), QKeySequence(Qt::Key_F10), [this] { send_or_step(1); },
                     tr("Generate one token, then list the candidates for the next (F10)"));
  step_n_action_ = add(generate, tr("Step &N"), QKeySequence(Qt::SHIFT | Qt::Key_F10),
                       [this] { send_or_step(settings_panel_->step_count()); },
                       tr("Generate N tokens (N in Settings), then list the candidates (Shift+F10)"));
  run_action_ = add(generate, tr("&Run"), QKeySequence(Qt::Key_F5), [this] {
    if (!chat_->input_text().trimmed().isEmpty()) send_or_step(-1);
    else driver_->run();
  }, tr("Continue the reply until it ends (F5)"));
  QAction* pause = add(generate, tr("&Pause"), QKeySequence(Qt::Key_F6), [this] { driver_->pause(); },
                       tr("Pause a run after the current token (F6)"));
  generate->addSeparator();
  add(generate, tr("&Intervene from the Selected Token…"), QKeySequence(Qt::CTRL | Qt::Key_I), [this] { intervene_dialog(); },
      tr("Branch the reply at the selected token and generate on with experts masked or forced, a part scaled or "
         "layers skipped (Ctrl+I)"));
  // Ctrl+Return must work while the input box has focus.
  send_action_->setShortcutContext(Qt::WindowShortcut);
  toolbar->addAction(open_model);
  toolbar->addSeparator();
  for (QAction* action : {send_action_, stop_action_, step_action_, step_n_action_, run_action_, pause}) toolbar->addAction(action);
}

void MainWindow::intervene_dialog() {
  const int selected = store_->selected();
  const int index = selected >= 0 ? selected : int(store_->size());
  bool ok = false;
  const QString text = QInputDialog::getText(
      this, tr("Intervene"),
      tr("Generate a new branch from reply token #%1 on with (items apart by ';'):\n"
         "  mask L:E  (*:E in every MoE layer)   force L:E1,E2   scale L:routed:X / L:shared:X   skip L\n"
         "Layers count the whole stack; experts from 0.")
          .arg(index),
      QLineEdit::Normal, QStringLiteral("mask *:0"), &ok);
  if (ok && !text.trimmed().isEmpty()) intervene(index, text);
}

bool MainWindow::intervene(int index, const QString& text) {
  Interventions interventions;
  try {
    interventions = parse_interventions(text.toStdString());
  } catch (const Error& e) {
    show_error(tr("Intervention not understood: %1").arg(QString::fromUtf8(e.what())));
    return false;
  }
  if (interventions.empty()) {
    show_error(tr("No intervention given: write e.g. \"mask 12:40; skip 3\"."));
    return false;
  }
  driver_->intervene(index < 0 ? int(store_->size()) : index, interventions);
  return true;
}

void MainWindow::wire_surprise() {
  connect(surprise_, &widgets::SurpriseView::score_text_requested, this, [this](const QString& text) {
    EvaluateRequest request;
    request.text = text;
    request.source = tr("pasted text");
    surprise_->set_busy(true);
    surprise_request_ = engine_->evaluate(request);
  });
  connect(surprise_, &widgets::SurpriseView::score_conversation_requested, this, [this] {
    EvaluateRequest request;
    request.turns = driver_->turns_before();
    if (request.turns.empty()) {
      surprise_->show_error(tr("the conversation is empty"));
      return;
    }
    const auto& messages = driver_->conversation().messages;
    request.enable_thinking = !messages.empty() && messages.back().thinking;
    surprise_->set_busy(true);
    surprise_request_ = engine_->evaluate(request);
  });
  connect(engine_, &EngineController::evaluated, this, [this](const EvaluateResult& result) {
    if (result.request == surprise_request_) surprise_->show_result(result.text);
  });
  // A token picked in a scored text: the Lens, Router and Attention/Mamba docks read the text there
  // (until a token of the conversation is selected); Look inside brings one of them forward.
  connect(surprise_, &widgets::SurpriseView::token_selected, this,
          [this](int index) { inside_->inspect_text(surprise_->result().ids, index); });
  connect(surprise_, &widgets::SurpriseView::look_inside_requested, this, [this] {
    for (const char* name : {"lensDock", "routerDock", "insideDock"})
      if (findChild<QDockWidget*>(QLatin1String(name))->isVisible()) return;
    QDockWidget* lens = findChild<QDockWidget*>(QStringLiteral("lensDock"));
    lens->show();
    lens->raise();
  });
  connect(engine_, &EngineController::evaluate_failed, this, [this](quint64 request, const QString& message) {
    if (request == surprise_request_) surprise_->show_error(message);
  });
}

void MainWindow::start_telemetry(const QString& kind) {
  if (kind == QLatin1String("none")) return;
  telemetry_feed_ = new TelemetryFeed(this);
  connect(telemetry_feed_, &TelemetryFeed::sampleReady, telemetry_, &TelemetryPanel::addSample);
  connect(telemetry_feed_, &TelemetryFeed::sampleReady, this, [this](const logitscope::telemetry::Sample& sample) {
    if (widgets::memory_from_sample(sample, &run_status_->edit())) run_status_->show_status();
  });
  try {
    logitscope::telemetry::SourceOptions options;
    telemetry_feed_->start(logitscope::telemetry::make_source(logitscope::telemetry::parse_source_kind(kind.toStdString()), options));
  } catch (const std::exception& error) {
    status_label_->setText(tr("Telemetry is off: %1").arg(QString::fromUtf8(error.what())));
  }
}

void MainWindow::send_or_step(int steps) {
  const QString text = chat_->input_text().trimmed();
  if (text.isEmpty()) {
    if (steps > 0) driver_->step(steps);
    return;
  }
  if (steps < 0) {
    chat_->send();  // handles edit-and-resend as well
    return;
  }
  if (!driver_->busy() && model_) chat_->set_input_text(QString());
  driver_->send(text, chat_->thinking_enabled(), steps);
}

void MainWindow::update_title() {
  QString title = QStringLiteral("Logitscope");
  if (model_) {
    title += QStringLiteral(" \u2014 ") + QFileInfo(model_->model).fileName();
    if (model_->is_demo) title += tr(" (toy demo model, not a real LLM)");
    title += model_->weight_format.isEmpty() ? QStringLiteral(" [%1]").arg(model_->backend)
                                             : QStringLiteral(" [%1, %2]").arg(model_->backend, model_->weight_format);
  }
  if (!conversation_path_.isEmpty()) title += QStringLiteral(" \u2014 ") + QFileInfo(conversation_path_).fileName();
  setWindowTitle(title + (modified_ ? QStringLiteral(" *") : QString()));
}

void MainWindow::update_actions() {
  const bool busy = engine_->busy();
  stop_action_->setEnabled(busy);
  for (QAction* action : {send_action_, step_action_, step_n_action_, run_action_}) action->setEnabled(!busy);
}

void MainWindow::load_model(const LoadRequest& request) {
  last_request_ = request;
  banner_row_->hide();
  progress_->setVisible(true);
  progress_->setRange(0, 0);
  cancel_load_->setVisible(true);
  status_label_->setText(tr("Loading %1…").arg(request.model));
  if (telemetry_) telemetry_->modelLoading();
  engine_->load(request);
}

void MainWindow::on_loaded(const ModelSummary& summary) {
  model_ = summary;
  progress_->setVisible(false);
  cancel_load_->setVisible(false);
  driver_->set_model(summary);
  if (summary.remote_url.isEmpty()) {
    surprise_->set_available(true);
    inside_->set_available(true);
  } else {
    surprise_->set_available(false, tr("Scoring a text needs a local model: a server's API gives no log-probabilities "
                                       "of a given text."));
    inside_->set_available(false, tr("Looking inside the layers needs a local model: a server's API does not expose them."));
  }
  apply_remote_notices(summary, heatmap_, entropy_, topk_);
  widgets::RunStatus run;
  run.model = QFileInfo(summary.model).fileName();
  if (run.model.isEmpty()) run.model = summary.model;
  run.format = summary.weight_format;
  if (summary.bytes_per_token > 0) run.bytes_per_token = double(summary.bytes_per_token);
  if (summary.floor_tokens_per_second > 0) run.floor_tokens_per_second = summary.floor_tokens_per_second;
  run.backend = summary.remote_url.isEmpty() ? summary.backend : QStringLiteral("remote");
  run.device = summary.device_name;
  run.context_max = summary.max_context;
  run.context_used = 0;
  // Until a telemetry sample says more: what the model holds.
  if (summary.device_bytes > 0) {
    run.memory_kind = QStringLiteral("model");
    run.memory_used_bytes = double(summary.device_bytes);
  }
  run_status_->edit() = run;
  run_status_->show_status();
  QSettings settings;
  if (begin_settings_write(settings)) settings.setValue(QStringLiteral("model/last"), summary.model);
  status_label_->setText(tr("%1 on %2: %3 layers (%4 MoE, %5 experts)%6%7")
                             .arg(QFileInfo(summary.model).fileName(), summary.device_name)
                             .arg(summary.num_layers).arg(summary.moe_layers.size()).arg(summary.num_experts)
                             .arg(summary.device_bytes > 0 ? QStringLiteral(", ") + QLocale().formattedDataSize(qint64(summary.device_bytes)) : QString())
                             .arg(summary.has_tokenizer ? QString() : tr("; no tokenizer: type token ids, tokens show as <id>")));
  if (!summary.memory_plan.isEmpty()) status_label_->setToolTip(tr("GPU memory at load: %1").arg(summary.memory_plan));
  if (telemetry_) {
    logitscope::telemetry::EngineCounters counters;
    counters.model_loaded = true;
    counters.device_allocated_mb = double(summary.device_bytes) / (1024.0 * 1024.0);
    telemetry_->setEngineCounters(counters);
  }
  update_title();
}

void MainWindow::open_model_dialog() {
  OpenModelDialog dialog(last_request_, this);
  const int result = dialog.exec();
  if (result == QDialog::Accepted) load_model(dialog.request());
  else if (result == OpenModelDialog::RemoteRequested) connect_dialog();
}

void MainWindow::connect_dialog() {
  ConnectDialog dialog(this);
  if (dialog.exec() == QDialog::Accepted) connect_remote(dialog.config());
}

void MainWindow::connect_remote(const RemoteConfig& config) {
  banner_row_->hide();
  progress_->setVisible(true);
  progress_->setRange(0, 0);
  status_label_->setText(tr("Connecting to %1…").arg(config.url));
  engine_->connect_remote(config);
}

void MainWindow::show_error(const QString& message) {
  banner_->setText(message);
  banner_row_->setVisible(true);
  status_label_->setText(message.left(160));
}

QString MainWindow::run_status_text() const { return run_status_->text(); }

QString MainWindow::banner_text() const { return banner_row_->isVisible() ? banner_->text() : QString(); }

void MainWindow::save_conversation(bool ask_path) {
  QString path = conversation_path_;
  if (ask_path || path.isEmpty()) {
    path = QFileDialog::getSaveFileName(this, tr("Save Conversation"), path, tr("Conversations (*.json)"));
    if (path.isEmpty()) return;
    if (!path.endsWith(QLatin1String(".json"))) path += QStringLiteral(".json");
  }
  QString error;
  if (!driver_->save(path, &error)) {
    show_error(error);
    return;
  }
  conversation_path_ = path;
  modified_ = false;
  update_title();
  status_label_->setText(tr("Saved %1").arg(path));
}

bool MainWindow::open_conversation(const QString& path) {
  QString error;
  if (!driver_->open(path, &error)) {
    show_error(error);
    return false;
  }
  conversation_path_ = path;
  modified_ = false;
  update_title();
  return true;
}

void MainWindow::open_conversation_dialog() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open Conversation"), conversation_path_, tr("Conversations (*.json)"));
  if (!path.isEmpty()) open_conversation(path);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (modified_ && !driver_->conversation().messages.empty() && !qEnvironmentVariableIsSet("LOGITSCOPE_NO_CLOSE_PROMPT")) {
    const auto answer = QMessageBox::question(this, tr("Unsaved conversation"),
                                              tr("Save the conversation before closing?"),
                                              QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    if (answer == QMessageBox::Cancel) {
      event->ignore();
      return;
    }
    if (answer == QMessageBox::Save) {
      save_conversation(false);
      if (modified_) {
        event->ignore();
        return;
      }
    }
  }
  engine_->stop();
  QSettings settings;
  if (begin_settings_write(settings)) {
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    settings.setValue(QStringLiteral("chat/thinking"), chat_->thinking_enabled());
  }
  event->accept();
}

}  // namespace logitscope::gui
