// SPDX-License-Identifier: GPL-3.0-or-later
// The answers every engine worker gives, local (EngineWorker, on the engine thread) or remote
// (RemoteWorker, over HTTP): one signal set, so EngineController wires either the same way and the
// conversation driver and the widgets cannot tell them apart.
#pragma once

#include <QObject>

#include "engine_types.h"

namespace logitscope::gui {

class WorkerSignals : public QObject {
  Q_OBJECT
 public:
  using QObject::QObject;

 signals:
  void load_progress(const logitscope::gui::LoadProgressInfo& progress);  // local loads only
  void loaded(const logitscope::gui::ModelSummary& summary);
  void load_failed(const QString& message);
  void prompt_ready(const logitscope::gui::PromptInfo& info);
  void tokens(const logitscope::gui::TokenBatch& batch);
  void preview(const logitscope::gui::NextPreview& preview);
  void finished(const logitscope::gui::GenerationStats& stats);
  void failed(quint64 request, const QString& message);
  void evaluated(const logitscope::gui::EvaluateResult& result);
  void evaluate_failed(quint64 request, const QString& message);
  void lens_ready(const logitscope::gui::LensResult& result);
  void inside_ready(const logitscope::gui::InsideResult& result);
  // A lens or inside request the engine could not answer (no model, a backend that cannot capture).
  void inspect_failed(quint64 request, const QString& message);
  // A second model beside the first, for the Compare dock (local engine only).
  void second_load_progress(const logitscope::gui::LoadProgressInfo& progress);
  void second_loaded(const logitscope::gui::ModelSummary& summary);
  void second_load_failed(const QString& message);
  void second_unloaded();
  void compared(const logitscope::gui::CompareResult& result);
  void compare_failed(quint64 request, const QString& message);
  void trace_exported(const logitscope::gui::TraceExported& result);
  void trace_export_failed(quint64 request, const QString& message);
};

}  // namespace logitscope::gui
