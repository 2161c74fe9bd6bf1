// SPDX-License-Identifier: GPL-3.0-or-later
// write_quantized_snapshot: plan every output tensor (name, dtype, shape, bytes) from the bound
// source weights, then stream the shards: a quantized Linear is quantized when its first tensor is
// written (one Linear in memory at a time), everything else is copied from the mapped source.
#include "logitscope/quantize.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "logitscope/errors.h"
#include "model/quantize.h"
#include "model/safetensors.h"
#include "model/weights.h"

namespace logitscope {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// One tensor of the output: where its bytes come from.
struct Planned {
  std::string name;
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t bytes = 0;
  const TensorView* copy_of = nullptr;  // copied as stored, or
  std::size_t linear = 0;               // index into the quantized Linears, and which of its parts:
  int part = -1;                        // 0 weight, 1 weight_scale, 2 weight_scale_2, 3 input_scale
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out.flush()) throw Error(path.string() + ": cannot be written");
}

}  // namespace

QuantizeReport write_quantized_snapshot(const QuantizeOptions& o, const ProgressFn& progress) {
  if (o.format == WeightFormat::Bf16) throw Error("quantize: choose a format (fp8 or nvfp4)");
  const fs::path src = resolve_snapshot(o.source);
  ModelConfig config = load_model_config(src / "config.json");
  config.quantization = load_quantization_config(src);
  if (config.quantization.quantized())
    throw Error(src.string() + " is already " + config.quantization.describe() + " (" + config.quantization.source + ")");
  ModelWeights weights = bind_model_weights(config, src);
  const std::string prefix = checkpoint_prefix(weights);
  QuantizationConfig declared;
  declared.algo = o.format == WeightFormat::Nvfp4 ? "NVFP4" : "FP8";
  declared.exclude = default_quantization_exclusions(config, o.format, prefix);

  // The Linears to quantize, by the name of their weight tensor.
  std::vector<LinearRef> linears;
  std::map<std::string, std::size_t, std::less<>> linear_of_weight;
  QuantizeReport report;
  for (const LinearRef& linear : model_linears(config, weights)) {
    if (linear.weight->name.find('[') != std::string::npos)
      throw Error(src.string() + ": experts are stored fused (" + linear.weight->name +
                  "); quantize writes ModelOpt's per-expert layout from per-expert checkpoints only");
    if (declared.excluded(linear.module)) {
      ++report.kept;
      continue;
    }
    linear_of_weight[linear.weight->name] = linears.size();
    linears.push_back(linear);
  }
  report.quantized = int(linears.size());
  report.exclude = declared.exclude;

  // Every source tensor in name order; a quantized Linear's weight becomes its four tensors.
  std::vector<Planned> plan;
  const bool nvfp4 = o.format == WeightFormat::Nvfp4;
  for (const auto& [name, view] : weights.files->tensors()) {
    if (name.rfind("mtp.", 0) == 0) continue;  // multi-token prediction heads: not part of the decoder
    report.bytes_in += view.nbytes;
    auto it = linear_of_weight.find(name);
    if (it == linear_of_weight.end()) {
      plan.push_back({name, view.dtype_name, view.shape, view.nbytes, &view, 0, -1});
      continue;
    }
    const std::string module = linears[it->second].module;
    const std::int64_t out = view.shape[0], in = view.shape[1];
    if (nvfp4) {
      plan.push_back({module + ".weight", "U8", {out, in / 2}, std::uint64_t(out * in / 2), nullptr, it->second, 0});
      plan.push_back({module + ".weight_scale", "F8_E4M3", {out, in / 16}, std::uint64_t(out * in / 16), nullptr, it->second, 1});
      plan.push_back({module + ".weight_scale_2", "F32", {}, 4, nullptr, it->second, 2});
    } else {
      plan.push_back({module + ".weight", "F8_E4M3", {out, in}, std::uint64_t(out * in), nullptr, it->second, 0});
      plan.push_back({module + ".weight_scale", "F32", {}, 4, nullptr, it->second, 1});
    }
    plan.push_back({module + ".input_scale", "F32", {}, 4, nullptr, it->second, 3});
  }

  // Shards of at most shard_bytes (a tensor larger than that gets a shard of its own).
  std::vector<std::vector<std::size_t>> shards(1);
  std::uint64_t in_shard = 0;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    if (in_shard > 0 && in_shard + plan[i].bytes > o.shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(i);
    in_shard += plan[i].bytes;
  }
  report.shards = int(shards.size());

  fs::create_directories(o.out);
  if (fs::exists(o.out / "config.json") || fs::exists(o.out / "model.safetensors"))
    throw Error(o.out.string() + " already holds a snapshot: choose an empty folder");
  std::uint64_t total = 0;
  for (const Planned& p : plan) total += p.bytes;
  std::uint64_t done = 0;
  std::size_t cached = std::size_t(-1);
  QuantizedLinear quantized;
  std::vector<float> row_major;
  json weight_map = json::object();
  auto shard_name = [&](std::size_t s) {
    if (shards.size() == 1) return std::string("model.safetensors");
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    return std::string(name);
  };
  for (std::size_t s = 0; s < shards.size(); ++s) {
    json header = json::object();
    header["__metadata__"] = {{"format", "pt"}, {"producer", "logitscope quantize"}};
    std::uint64_t offset = 0;
    for (std::size_t i : shards[s]) {
      header[plan[i].name] = {{"dtype", plan[i].dtype}, {"shape", plan[i].shape}, {"data_offsets", {offset, offset + plan[i].bytes}}};
      offset += plan[i].bytes;
      weight_map[plan[i].name] = shard_name(s);
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
    const fs::path path = o.out / shard_name(s);
    std::ofstream file(path, std::ios::binary);
    if (!file) throw Error(path.string() + ": cannot be created");
    char length[8];
    for (int b = 0; b < 8; ++b) length[b] = char((std::uint64_t(text.size()) >> (8 * b)) & 0xff);
    file.write(length, 8);
    file.write(text.data(), std::streamsize(text.size()));
    for (std::size_t i : shards[s]) {
      const Planned& p = plan[i];
      if (p.copy_of) {
        file.write(reinterpret_cast<const char*>(p.copy_of->data), std::streamsize(p.bytes));
      } else {
        if (cached != p.linear) {
          const TensorView& t = *linears[p.linear].weight;
          const std::int64_t out = t.shape[0], in = t.shape[1];
          row_major.resize(std::size_t(out * in));
          t.to_float(row_major.data());
          quantized = nvfp4 ? quantize_nvfp4(row_major.data(), out, in) : quantize_fp8(row_major.data(), out, in, false);
          cached = p.linear;
        }
        const std::vector<std::byte>& part = p.part == 0 ? quantized.weight
                                             : p.part == 1 ? quantized.scale
                                             : p.part == 2 ? quantized.global_scale
                                                           : quantized.input_scale;
        if (part.size() != p.bytes) throw Error("quantize: internal size mismatch for " + p.name);
        file.write(reinterpret_cast<const char*>(part.data()), std::streamsize(part.size()));
      }
      done += p.bytes;
      if (progress && !progress(LoadProgress{"writing " + shard_name(s), done, total})) throw Cancelled("quantize cancelled");
    }
    if (!file.flush()) throw Error(path.string() + ": cannot be written (disk full?)");
  }
  report.bytes_out = total;
  if (shards.size() > 1)
    write_text(o.out / "model.safetensors.index.json",
               json{{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}}.dump(2));

  // The declarations: hf_quant_config.json (nested, ModelOpt <= 0.29) and config.json's flat form.
  const json producer = {{"name", "logitscope"}, {"version", "quantize"}};
  json nested_q = {{"quant_algo", declared.algo}, {"kv_cache_quant_algo", nullptr}, {"exclude_modules", declared.exclude}};
  if (nvfp4) nested_q["group_size"] = 16;
  write_text(o.out / "hf_quant_config.json", json{{"producer", producer}, {"quantization", nested_q}}.dump(2));
  json group = nvfp4 ? json{{"input_activations", {{"dynamic", false}, {"num_bits", 4}, {"type", "float"}, {"group_size", 16}}},
                            {"weights", {{"dynamic", false}, {"num_bits", 4}, {"type", "float"}, {"group_size", 16}}},
                            {"targets", {"Linear"}}}
                     : json{{"input_activations", {{"dynamic", false}, {"num_bits", 8}, {"type", "float"}}},
                            {"weights", {{"dynamic", false}, {"num_bits", 8}, {"type", "float"}}},
                            {"targets", {"Linear"}}};
  json config_json = json::parse(read_text(src / "config.json"));
  config_json["quantization_config"] = {{"quant_method", "modelopt"},  {"quant_algo", declared.algo},
                                        {"producer", producer},        {"ignore", declared.exclude},
                                        {"kv_cache_scheme", nullptr},  {"config_groups", {{"group_0", group}}}};
  write_text(o.out / "config.json", config_json.dump(2));
  // Tokenizer, chat template, generation config and the rest, as they are.
  for (const auto& entry : fs::directory_iterator(src)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || entry.path().extension() == ".safetensors" || name == "config.json" ||
        name == "model.safetensors.index.json" || name == "hf_quant_config.json")
      continue;
    fs::copy_file(entry.path(), o.out / name, fs::copy_options::overwrite_existing);
  }
  return report;
}

}  // namespace logitscope
