// SPDX-License-Identifier: GPL-3.0-or-later
#include "compare_driver.h"

#include <QAction>
#include <QCheckBox>
#include <QDateTime>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QSpinBox>

#include "comparison_view.h"
#include "conversation_driver.h"
#include "engine_controller.h"
#include "event_store.h"
#include "inside_driver.h"
#include "logitscope/errors.h"
#include "open_model_dialog.h"

namespace logitscope::gui {
namespace {

QString no_interventions_text() {
  return CompareDriver::tr("This branch has no interventions; Generate > Intervene creates one (Ctrl+I), and this dock "
                           "then shows how they changed the model's predictions on the branch's tokens.");
}

QString no_second_model_text() {
  return CompareDriver::tr("No second model is loaded. File > Compare With Second Model… loads one beside this one "
                           "(same vocabulary; an FP8 or NVFP4 form, a fine-tune, another backend) and this dock "
                           "compares the two on the conversation's tokens.");
}

}  // namespace

CompareDriver::CompareDriver(EngineController* engine, ConversationDriver* conversation, workbench::EventStore* store,
                             widgets::ComparisonView* effect, QDockWidget* effect_dock, widgets::ComparisonView* comparison,
                             QDockWidget* comparison_dock, QWidget* window)
    : QObject(window), engine_(engine), conversation_(conversation), store_(store), effect_(effect),
      effect_dock_(effect_dock), comparison_(comparison), comparison_dock_(comparison_dock), window_(window) {
  // As InsideDriver: one question per pause in a burst of tokens or selections.
  timer_.setSingleShot(true);
  timer_.setInterval(80);
  connect(&timer_, &QTimer::timeout, this, &CompareDriver::refresh);
  connect(store_, &workbench::EventStore::changed, this, &CompareDriver::schedule);
  // The branch tree switches branches without changing the events' count: a new generation still
  // replaces them, and a branch's interventions come with it.
  connect(conversation_, &ConversationDriver::conversation_changed, this, &CompareDriver::schedule);
  for (QDockWidget* dock : {effect_dock_, comparison_dock_})
    connect(dock, &QDockWidget::visibilityChanged, this, [this](bool visible) {
      if (visible) schedule();
    });
  connect(comparison_, &widgets::ComparisonView::interventions_b_edited, this, &CompareDriver::set_interventions_b);

  connect(engine_, &EngineController::loaded, this, [this](const ModelSummary& summary) {
    model_ = summary;
    if (summary.remote_url.isEmpty()) {
      set_available(true, {});
      return;
    }
    if (second_) engine_->unload_second();  // nothing to compare it with
    set_available(false, tr("Comparing needs a local model: a server's API gives no logits of a given text."));
  });
  connect(engine_, &EngineController::load_failed, this, [this] {
    model_.reset();
    set_available(false, tr("Load a model to compare."));
  });
  connect(engine_, &EngineController::compared, this, [this](const CompareResult& result) {
    if (!result.second_model && result.request == effect_request_) effect_->show_comparison(result.comparison);
    if (result.second_model && result.request == comparison_request_) comparison_->show_comparison(result.comparison);
  });
  connect(engine_, &EngineController::compare_failed, this, [this](quint64 request, const QString& message) {
    // Asked again when something changes, not in a loop.
    if (request == effect_request_) effect_->show_error(message);
    if (request == comparison_request_) comparison_->show_error(message);
  });

  connect(engine_, &EngineController::second_load_progress, this, [this](const LoadProgressInfo& progress) {
    const QString share = progress.bytes_total > 0
                              ? QStringLiteral(" %1%").arg(100.0 * double(progress.bytes_done) / double(progress.bytes_total), 0, 'f', 0)
                              : QString();
    comparison_->show_message(tr("Loading the second model: %1%2").arg(progress.stage, share));
  });
  connect(engine_, &EngineController::second_loaded, this, [this](const ModelSummary& summary) {
    second_loading_ = false;
    second_ = summary;
    comparison_asked_.clear();
    update_actions();
    emit status(tr("Second model %1 loaded (%2): the Compare dock compares it with this one")
                    .arg(QFileInfo(summary.snapshot_dir).fileName(), summary.device_name));
    comparison_dock_->show();
    comparison_dock_->raise();
    schedule();
  });
  connect(engine_, &EngineController::second_load_failed, this, [this](const QString& message) {
    second_loading_ = false;
    second_.reset();
    update_actions();
    const QString text = tr("Could not load the second model: %1").arg(message);
    comparison_->show_message(text);
    emit error(text);
  });
  connect(engine_, &EngineController::second_unloaded, this, [this] {
    const bool had = second_.has_value();
    second_.reset();
    comparison_asked_.clear();
    comparison_request_ = 0;
    update_actions();
    if (!second_loading_) comparison_->show_message(no_second_model_text());
    if (had) emit status(tr("The second model was unloaded"));
  });

  connect(engine_, &EngineController::trace_exported, this, [this](const TraceExported& result) {
    if (result.request != trace_request_) return;
    emit status(tr("Wrote the trace of %1 tokens%2 to %3 (trace.jsonl, meta.json and NumPy arrays) in %4 s")
                    .arg(result.tokens)
                    .arg(result.interventions.isEmpty() ? QString() : tr(" under %1").arg(result.interventions))
                    .arg(QDir::toNativeSeparators(result.dir))
                    .arg(result.ms / 1000.0, 0, 'f', 1));
  });
  connect(engine_, &EngineController::trace_export_failed, this, [this](quint64 request, const QString& message) {
    if (request == trace_request_) emit error(tr("Could not export the trace: %1").arg(message));
  });
  set_available(false, tr("Load a model to compare."));
}

void CompareDriver::add_actions(QMenu* file) {
  auto add = [this, file](const QString& text, const QString& tip, auto slot) {
    auto* action = new QAction(text, this);
    action->setToolTip(tip.isEmpty() ? text : tip);
    connect(action, &QAction::triggered, this, slot);
    file->addAction(action);
    return action;
  };
  compare_action_ = add(tr("Compare &With Second Model…"),
                        tr("Load a second model beside this one and compare the two on the conversation's tokens: "
                           "per-token KL, top-1 agreement, expert overlap (the Compare dock)"),
                        [this] { load_second_dialog(); });
  unload_action_ = add(tr("&Unload Second Model"), {}, [this] { unload_second(); });
  export_action_ = add(tr("&Export Trace…"),
                       tr("Write the inspected branch's tokens as logitscope-cli trace does: trace.jsonl, meta.json "
                          "and NumPy arrays (docs/traces.md)"),
                       [this] { export_trace_dialog(); });
  update_actions();
}

void CompareDriver::update_actions() {
  if (compare_action_) compare_action_->setEnabled(available_);
  if (unload_action_) unload_action_->setEnabled(second_.has_value());
  if (export_action_) export_action_->setEnabled(available_);
}

void CompareDriver::set_available(bool available, const QString& why) {
  available_ = available;
  effect_asked_.clear();
  comparison_asked_.clear();
  effect_request_ = comparison_request_ = 0;
  update_actions();
  if (!available) {
    timer_.stop();
    effect_->show_message(why);
    comparison_->show_message(why);
    return;
  }
  if (!second_ && !second_loading_) comparison_->show_message(no_second_model_text());
  schedule();
}

void CompareDriver::schedule() {
  if (available_ && !timer_.isActive()) timer_.start();
}

void CompareDriver::refresh() {
  timer_.stop();
  if (!available_) return;
  if (effect_dock_->isVisible()) refresh_effect();  // nothing on screen: nothing computed
  if (comparison_dock_->isVisible()) refresh_comparison();
}

void CompareDriver::refresh_effect() {
  const auto& messages = conversation_->conversation().messages;
  const int message = conversation_->inspected();
  const bool reply = message >= 0 && message < int(messages.size()) && messages[std::size_t(message)].is_reply();
  const ConversationIds conversation = inspected_conversation(*conversation_, *store_);
  if (!reply || conversation.interventions.empty()) {
    effect_asked_.clear();
    effect_request_ = 0;
    effect_->show_message(no_interventions_text());
    return;
  }
  const workbench::ChatMessage& chosen = messages[std::size_t(message)];
  const workbench::EffectReference reference = workbench::effect_reference(chosen, chosen.current_branch);
  CompareRequest request;
  request.conversation = conversation;
  request.interventions_a = reference.interventions;
  request.interventions_b = conversation.interventions;
  if (reference.branch >= 0) {
    std::vector<TokenId> other;
    for (const TokenEvent& event : conversation_->conversation().branch_events(message, reference.branch)) other.push_back(event.id);
    const std::int64_t diverge = workbench::first_divergence(conversation.reply, other);
    // Where this reply is a prefix of the other, its text has not left it (yet).
    request.texts_diverge = diverge < std::int64_t(conversation.reply.size()) ? diverge : -1;
  }
  QByteArray asked = conversation_fingerprint(conversation);
  asked.append(QByteArray::fromStdString("|" + describe(reference.interventions) + "|" + std::to_string(request.texts_diverge)));
  if (asked == effect_asked_) return;
  effect_asked_ = asked;
  effect_->set_busy(true);
  effect_request_ = engine_->compare(std::move(request));
}

void CompareDriver::refresh_comparison() {
  if (!second_) return;  // the dock says why (loading, none, a failed load)
  const ConversationIds conversation = inspected_conversation(*conversation_, *store_);
  CompareRequest request;
  request.conversation = conversation;
  request.second_model = true;
  request.interventions_a = conversation.interventions;  // A is the model the branch was generated with
  request.interventions_b = interventions_b_;
  QByteArray asked = conversation_fingerprint(conversation);
  asked.append(QByteArray::fromStdString("|" + describe(interventions_b_) + "|") + second_->snapshot_dir.toUtf8());
  if (asked == comparison_asked_) return;
  comparison_asked_ = asked;
  comparison_->set_busy(true);
  comparison_request_ = engine_->compare(std::move(request));
}

bool CompareDriver::set_interventions_b(const QString& text) {
  Interventions parsed;
  try {
    parsed = parse_interventions(text.toStdString());
  } catch (const Error& e) {
    comparison_asked_.clear();
    comparison_request_ = 0;
    comparison_->show_message(tr("Side B's interventions are not understood: %1").arg(QString::fromUtf8(e.what())));
    return false;
  }
  comparison_->set_interventions_b_text(text);
  if (parsed == interventions_b_ && !comparison_asked_.isEmpty()) return true;
  interventions_b_ = parsed;
  comparison_asked_.clear();
  schedule();
  return true;
}

void CompareDriver::load_second(LoadRequest request) {
  last_second_request_ = request;
  second_loading_ = true;
  second_.reset();
  update_actions();
  comparison_->show_message(tr("Loading the second model %1…").arg(request.model));
  comparison_dock_->show();
  comparison_dock_->raise();
  engine_->load_second(std::move(request));
}

void CompareDriver::unload_second() {
  if (second_) engine_->unload_second();
}

void CompareDriver::load_second_dialog() {
  LoadRequest initial = last_second_request_;
  if (initial.model.isEmpty() && model_) {
    initial.model = model_->model;
    initial.backend = model_->backend;
  }
  OpenModelDialog dialog(initial, window_);
  dialog.setWindowTitle(tr("Compare With Second Model"));
  dialog.offer_remote(false);
  if (dialog.exec() == QDialog::Accepted) load_second(dialog.request());
}

std::uint64_t CompareDriver::export_trace(const QString& dir, int top_k, bool internals) {
  TraceExportRequest request;
  request.conversation = inspected_conversation(*conversation_, *store_);
  request.dir = dir;
  request.top_k = top_k;
  request.internals = internals;
  emit status(tr("Writing the trace to %1…").arg(QDir::toNativeSeparators(dir)));
  trace_request_ = engine_->export_trace(std::move(request));
  return trace_request_;
}

void CompareDriver::export_trace_dialog() {
  QDialog dialog(window_);
  dialog.setWindowTitle(tr("Export Trace"));
  auto* folder = new QLineEdit(&dialog);
  const QString model = model_ ? QFileInfo(model_->snapshot_dir).fileName() : QStringLiteral("model");
  folder->setText(QDir(QDir::homePath()).filePath(
      QStringLiteral("trace-%1-%2").arg(model, QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-hhmmss")))));
  auto* browse = new QPushButton(tr("Browse…"), &dialog);
  connect(browse, &QPushButton::clicked, &dialog, [&dialog, folder] {
    const QString dir = QFileDialog::getExistingDirectory(&dialog, tr("Trace folder"), QFileInfo(folder->text()).path());
    if (!dir.isEmpty()) folder->setText(dir);
  });
  auto* top_k = new QSpinBox(&dialog);
  top_k->setRange(1, 50);
  top_k->setValue(5);
  auto* internals = new QCheckBox(tr("router scores, Mamba dt and state norms, attention weights (CPU backend)"), &dialog);
  auto* row = new QHBoxLayout;
  row->addWidget(folder, 1);
  row->addWidget(browse);
  auto* form = new QFormLayout(&dialog);
  form->addRow(tr("Folder (created; its trace files replaced)"), row);
  form->addRow(tr("Top-k per token"), top_k);
  form->addRow(tr("Internals"), internals);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, &dialog);
  form->addRow(buttons);
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  dialog.resize(640, dialog.sizeHint().height());
  if (dialog.exec() == QDialog::Accepted && !folder->text().trimmed().isEmpty())
    export_trace(folder->text().trimmed(), top_k->value(), internals->isChecked());
}

}  // namespace logitscope::gui
