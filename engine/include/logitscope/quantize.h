// SPDX-License-Identifier: GPL-3.0-or-later
// Writes a quantized copy of a BF16/F32 NemotronH snapshot in NVIDIA ModelOpt's layout (the one
// vLLM and TensorRT-LLM load): FP8 or NVFP4 Linear weights with their scales, everything else as
// stored, config.json with `quantization_config` (flat form) and hf_quant_config.json (nested
// form), the tokenizer and other files copied. `logitscope-cli quantize` is its front end.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "logitscope/model.h"
#include "logitscope/quantization.h"
#include "logitscope/snapshot.h"

namespace logitscope {

struct QuantizeOptions {
  SnapshotQuery source;
  std::filesystem::path out;             // created; must not hold a snapshot already
  WeightFormat format = WeightFormat::Nvfp4;
  std::uint64_t shard_bytes = 5ull << 30;  // largest shard (model-0000N-of-0000M.safetensors)
};

struct QuantizeReport {
  int quantized = 0;                     // Linear modules written in `format`
  int kept = 0;                          // Linear modules kept as stored (the exclusions)
  std::vector<std::string> exclude;      // as written to exclude_modules / ignore
  std::uint64_t bytes_in = 0, bytes_out = 0;  // safetensors data, source and written
  int shards = 0;
};

// Throws logitscope::Error (source already quantized, fused 3-D experts, an unwritable folder, ...).
QuantizeReport write_quantized_snapshot(const QuantizeOptions& options, const ProgressFn& progress = {});

}  // namespace logitscope
