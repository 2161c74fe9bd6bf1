// SPDX-License-Identifier: GPL-3.0-or-later
// How a checkpoint declares its quantization (NVIDIA ModelOpt: config.json's `quantization_config`
// in the flat form, or hf_quant_config.json in the nested form; config.json wins when both are
// there, as in vLLM) and which format each Linear module is stored in.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace logitscope {

enum class WeightFormat { Bf16, Fp8, Nvfp4 };  // how one Linear's weight is stored (Bf16: unquantized)
const char* to_string(WeightFormat format);
// "fp8" / "nvfp4" (any case; also "bf16"). Throws logitscope::Error naming what is accepted.
WeightFormat parse_weight_format(std::string_view text);

struct QuantizationConfig {
  // "" (not quantized), "FP8" (per tensor), "FP8_PER_CHANNEL_PER_TOKEN", "NVFP4" or
  // "MIXED_PRECISION" (each quantized module named in `layer_formats`).
  std::string algo;
  std::string kv_cache_algo;         // "FP8" or "" (BF16 cache)
  int group_size = 16;               // NVFP4 block length along the input dimension
  std::vector<std::string> exclude;  // module names or patterns kept unquantized (`exclude_modules` / `ignore`)
  std::map<std::string, WeightFormat, std::less<>> layer_formats;  // MIXED_PRECISION: module -> format
  std::string source;                // the file and field it came from, for messages
  std::string producer;              // "modelopt 0.29.0"

  bool quantized() const { return !algo.empty(); }
  // The format of the Linear module `module` (a full name such as
  // "backbone.layers.3.mixer.in_proj"): Bf16 when excluded or not listed (MIXED_PRECISION).
  WeightFormat format_of(std::string_view module) const;
  // Whether `module` matches one of `exclude`: the name itself, a parent module of it, or a glob
  // whose '*' matches any characters (dots included), as vLLM and ModelOpt's wildcards mean it.
  bool excluded(std::string_view module) const;
  // "NVFP4", "FP8", "FP8 per channel", "NVFP4 + FP8" (MIXED_PRECISION), "" when not quantized.
  std::string describe() const;
};

// Reads the declaration of a snapshot folder: config.json's `quantization_config` when it has one
// (quant_method "modelopt"), else hf_quant_config.json. Throws logitscope::Error naming the file
// and field for an unknown quant_algo or quant_method, a malformed field, an NVFP4 group size other
// than 16, or a MIXED_PRECISION entry of an unknown format. Returns an empty config when neither
// declares one.
QuantizationConfig load_quantization_config(const std::filesystem::path& snapshot_dir);
QuantizationConfig parse_quantization_config(std::string_view json_text, const std::string& source, bool nested);

}  // namespace logitscope
