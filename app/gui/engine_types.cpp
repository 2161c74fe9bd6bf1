// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine_types.h"

namespace logitscope::gui {

void register_engine_types() {
  qRegisterMetaType<LoadRequest>();
  qRegisterMetaType<ModelSummary>();
  qRegisterMetaType<LoadProgressInfo>();
  qRegisterMetaType<GenerateRequest>();
  qRegisterMetaType<PromptInfo>();
  qRegisterMetaType<TokenBatch>();
  qRegisterMetaType<NextPreview>();
  qRegisterMetaType<GenerationStats>();
  qRegisterMetaType<EvaluateRequest>();
  qRegisterMetaType<EvaluateResult>();
  qRegisterMetaType<LensRequest>();
  qRegisterMetaType<LensResult>();
  qRegisterMetaType<InsideRequest>();
  qRegisterMetaType<InsideResult>();
  qRegisterMetaType<CompareRequest>();
  qRegisterMetaType<CompareResult>();
  qRegisterMetaType<TraceExportRequest>();
  qRegisterMetaType<TraceExported>();
}

}  // namespace logitscope::gui
