// SPDX-License-Identifier: GPL-3.0-or-later
// JSON form of a Sample, the contract of `logitscope-cli telemetry --json`. Field names and null
// conventions follow the tegrastats reference's expected.json: an absent token is null, an `off`
// core is null in cpu.load_pct/freq_mhz, whole numbers print as integers.
#pragma once

#include <nlohmann/json.hpp>

#include "logitscope/telemetry/sample.h"

namespace logitscope::telemetry {

struct JsonOptions {
  bool extras = false;  // add "extras": the tokens the parser did not recognise
  bool live = false;    // add "source", "time_s", "unified_memory" and NVML's "device"
};

nlohmann::ordered_json to_json(const Sample& sample, const JsonOptions& options = {});

}  // namespace logitscope::telemetry
