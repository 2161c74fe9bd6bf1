// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/telemetry/nvml_source.h"
#include "logitscope/telemetry/proc_source.h"
#include "logitscope/telemetry/source.h"
#include "logitscope/telemetry/tegrastats_source.h"

namespace logitscope::telemetry {

SourceKind parse_source_kind(const std::string& text) {
  if (text == "auto") return SourceKind::Auto;
  if (text == "tegrastats") return SourceKind::Tegrastats;
  if (text == "nvml") return SourceKind::Nvml;
  if (text == "proc") return SourceKind::Proc;
  throw TelemetryError("unknown telemetry source '" + text + "' (expected auto, tegrastats, nvml or proc)");
}

std::unique_ptr<TelemetrySource> make_source(SourceKind kind, const SourceOptions& options) {
  switch (kind) {
    case SourceKind::Tegrastats: {
      TegrastatsOptions o;
      o.interval = options.interval;
      return std::make_unique<TegrastatsSource>(o);
    }
    case SourceKind::Nvml: {
      NvmlOptions o;
      o.interval = options.interval;
      return std::make_unique<NvmlSource>(o);
    }
    case SourceKind::Proc: {
      ProcOptions o;
      o.interval = options.interval;
      return std::make_unique<ProcSource>(o);
    }
    case SourceKind::Auto:
      break;
  }
  // Jetson first (tegrastats knows rails, EMC and temperatures), then a discrete GPU, then the host.
  if (find_tegrastats()) return make_source(SourceKind::Tegrastats, options);
  try {
    return make_source(SourceKind::Nvml, options);
  } catch (const TelemetryError&) {
    // No driver or no GPU: the /proc fallback below is the documented answer, not an error.
  }
  return make_source(SourceKind::Proc, options);
}

}  // namespace logitscope::telemetry
