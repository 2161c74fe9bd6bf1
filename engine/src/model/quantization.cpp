// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/quantization.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "logitscope/errors.h"

namespace logitscope {

namespace {

using nlohmann::json;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// '*' matches any run of characters, dots included (fnmatch as vLLM uses it); no other wildcards.
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

WeightFormat format_of_algo(const std::string& algo, const std::string& where) {
  if (algo == "FP8" || algo == "FP8_PER_CHANNEL_PER_TOKEN") return WeightFormat::Fp8;
  if (algo == "NVFP4") return WeightFormat::Nvfp4;
  throw Error(where + ": quant_algo '" + algo + "' is not one this engine reads (FP8, FP8_PER_CHANNEL_PER_TOKEN, NVFP4, MIXED_PRECISION)");
}

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

const char* to_string(WeightFormat format) {
  switch (format) {
    case WeightFormat::Bf16: return "BF16";
    case WeightFormat::Fp8: return "FP8";
    case WeightFormat::Nvfp4: return "NVFP4";
  }
  return "?";
}

WeightFormat parse_weight_format(std::string_view text) {
  const std::string t = upper(std::string(text));
  if (t == "FP8") return WeightFormat::Fp8;
  if (t == "NVFP4") return WeightFormat::Nvfp4;
  if (t == "BF16" || t == "NONE") return WeightFormat::Bf16;
  throw Error("unknown weight format '" + std::string(text) + "' (expected fp8 or nvfp4)");
}

bool QuantizationConfig::excluded(std::string_view module) const {
  for (const std::string& pattern : exclude) {
    if (pattern == module) return true;
    // A parent module ("backbone.layers.5.mixer" excludes its q_proj), split at a dot only.
    if (module.size() > pattern.size() && module.compare(0, pattern.size(), pattern) == 0 && module[pattern.size()] == '.')
      return true;
    if (pattern.find('*') != std::string::npos && glob_match(pattern, module)) return true;
  }
  return false;
}

WeightFormat QuantizationConfig::format_of(std::string_view module) const {
  if (!quantized()) return WeightFormat::Bf16;
  if (algo == "MIXED_PRECISION") {
    auto it = layer_formats.find(module);
    return it == layer_formats.end() ? WeightFormat::Bf16 : it->second;
  }
  if (excluded(module)) return WeightFormat::Bf16;
  return algo == "NVFP4" ? WeightFormat::Nvfp4 : WeightFormat::Fp8;
}

std::string QuantizationConfig::describe() const {
  if (!quantized()) return "";
  if (algo == "FP8_PER_CHANNEL_PER_TOKEN") return "FP8 per channel";
  if (algo != "MIXED_PRECISION") return algo;
  bool fp8 = false, nvfp4 = false;
  for (const auto& [module, format] : layer_formats) {
    fp8 = fp8 || format == WeightFormat::Fp8;
    nvfp4 = nvfp4 || format == WeightFormat::Nvfp4;
  }
  return nvfp4 && fp8 ? "NVFP4 + FP8" : nvfp4 ? "NVFP4" : "FP8";
}

namespace {

QuantizationConfig read_declaration(const json& root, const std::string& source, bool nested) {
  QuantizationConfig q;
  q.source = source;
  const json* body = &root;
  if (nested) {
    // hf_quant_config.json: {"producer": {...}, "quantization": {...}}
    if (!root.is_object() || !root.contains("quantization") || !root["quantization"].is_object())
      throw Error(source + ": field 'quantization' is missing or not an object");
    body = &root["quantization"];
    if (root.contains("producer") && root["producer"].is_object()) {
      const json& p = root["producer"];
      q.producer = p.value("name", "") + " " + p.value("version", "");
    }
  } else {
    if (!root.is_object()) throw Error(source + ": must be an object");
    const std::string method = root.value("quant_method", "");
    if (method.rfind("modelopt", 0) != 0)
      throw Error(source + ": quant_method '" + method + "' is not one this engine reads (expected modelopt)");
    if (root.contains("producer") && root["producer"].is_object())
      q.producer = root["producer"].value("name", "") + " " + root["producer"].value("version", "");
  }
  const json& b = *body;
  auto text_field = [&](const char* name) -> std::string {
    if (!b.contains(name) || b[name].is_null()) return "";
    if (!b[name].is_string()) throw Error(source + ": field '" + name + "' must be a string");
    return b[name].get<std::string>();
  };
  q.algo = upper(text_field("quant_algo"));
  if (q.algo.empty()) throw Error(source + ": field 'quant_algo' is missing");
  if (q.algo != "MIXED_PRECISION") format_of_algo(q.algo, source);  // rejects unknown algorithms
  if (nested) {
    q.kv_cache_algo = upper(text_field("kv_cache_quant_algo"));
  } else if (b.contains("kv_cache_scheme") && !b["kv_cache_scheme"].is_null()) {
    const json& kv = b["kv_cache_scheme"];
    if (kv.is_string()) q.kv_cache_algo = upper(kv.get<std::string>());
    else if (kv.is_object() && kv.value("type", "") == "float" && kv.value("num_bits", 0) == 8) q.kv_cache_algo = "FP8";
    else throw Error(source + ": field 'kv_cache_scheme' is not an FP8 scheme ({\"type\": \"float\", \"num_bits\": 8})");
  }
  if (!q.kv_cache_algo.empty() && q.kv_cache_algo != "FP8")
    throw Error(source + ": kv cache quantization '" + q.kv_cache_algo + "' is not supported (FP8 or none)");
  if (b.contains("group_size") && !b["group_size"].is_null()) {
    if (!b["group_size"].is_number_integer()) throw Error(source + ": field 'group_size' must be an integer");
    q.group_size = b["group_size"].get<int>();
  }
  if (q.algo == "NVFP4" && q.group_size != 16)
    throw Error(source + ": NVFP4 group_size is " + std::to_string(q.group_size) + " (expected 16)");
  const char* list_name = nested ? "exclude_modules" : "ignore";
  if (b.contains(list_name) && !b[list_name].is_null()) {
    if (!b[list_name].is_array()) throw Error(source + std::string(": field '") + list_name + "' must be a list of module names");
    for (const json& m : b[list_name]) {
      if (!m.is_string()) throw Error(source + std::string(": field '") + list_name + "' must be a list of module names");
      q.exclude.push_back(m.get<std::string>());
    }
  }
  if (q.algo == "MIXED_PRECISION") {
    if (!b.contains("quantized_layers") || !b["quantized_layers"].is_object())
      throw Error(source + ": MIXED_PRECISION needs the field 'quantized_layers' (module -> {quant_algo})");
    for (auto it = b["quantized_layers"].begin(); it != b["quantized_layers"].end(); ++it) {
      const std::string where = source + ": quantized_layers['" + it.key() + "']";
      if (!it.value().is_object() || !it.value().contains("quant_algo") || !it.value()["quant_algo"].is_string())
        throw Error(where + " has no quant_algo");
      const std::string algo = upper(it.value()["quant_algo"].get<std::string>());
      q.layer_formats[it.key()] = format_of_algo(algo, where);
      if (algo == "NVFP4" && it.value().value("group_size", 16) != 16) throw Error(where + ": group_size must be 16");
    }
  }
  return q;
}

// A field of the wrong JSON type (a number where a name should be) is one clear line too.
QuantizationConfig quantization_from_json(const json& root, const std::string& source, bool nested) {
  try {
    return read_declaration(root, source, nested);
  } catch (const json::exception& e) {
    throw Error(source + ": a field has the wrong type (" + std::string(e.what()) + ")");
  }
}

}  // namespace

QuantizationConfig parse_quantization_config(std::string_view json_text, const std::string& source, bool nested) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    throw Error(source + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  return quantization_from_json(root, source, nested);
}

QuantizationConfig load_quantization_config(const std::filesystem::path& dir) {
  const auto config = dir / "config.json";
  if (std::filesystem::exists(config)) {
    json root;
    try {
      root = json::parse(read_file(config));
    } catch (const json::exception&) {
      root = json();  // load_model_config reports a broken config.json
    }
    if (root.is_object() && root.contains("quantization_config") && !root["quantization_config"].is_null())
      return quantization_from_json(root["quantization_config"], config.string() + " (quantization_config)", false);
  }
  const auto hf = dir / "hf_quant_config.json";
  if (std::filesystem::exists(hf)) return parse_quantization_config(read_file(hf), hf.string(), true);
  return {};
}

}  // namespace logitscope
