// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope-cli quantize: a BF16 snapshot written again as FP8 or NVFP4 in NVIDIA ModelOpt's layout.
#include <cstdio>
#include <iostream>

#include "args.h"
#include "command.h"
#include "logitscope/errors.h"
#include "logitscope/quantize.h"

namespace logitscope::cli {
namespace {

int run_quantize(const std::vector<std::string>& words) {
  const Args args(words, {"model", "revision", "cache-dir", "format", "out", "shard-gb"}, {});
  QuantizeOptions o;
  o.source.model = args.require("model");
  o.source.revision = args.get_or("revision", "main");
  if (auto dir = args.get("cache-dir")) o.source.cache_dir = *dir;
  o.format = parse_weight_format(args.require("format"));
  if (o.format == WeightFormat::Bf16) throw Error("option --format must be fp8 or nvfp4");
  o.out = args.require("out");
  const double shard_gb = args.get_double("shard-gb", 5.0);
  if (!(shard_gb > 0)) throw Error("option --shard-gb must be positive");
  o.shard_bytes = std::uint64_t(shard_gb * double(1ull << 30));
  int last_percent = -1;
  const QuantizeReport r = write_quantized_snapshot(o, [&](const LoadProgress& p) {
    const int percent = p.bytes_total ? int(100 * p.bytes_done / p.bytes_total) : 0;
    if (percent / 10 != last_percent / 10) std::fprintf(stderr, "quantize: %s %d%%\n", p.stage.c_str(), percent);
    last_percent = percent;
    return true;
  });
  std::printf("wrote %s: %d Linear modules %s, %d kept as stored (exclude_modules: %zu entries), %d shard(s), "
              "%.3f GB of weights from %.3f GB\n",
              o.out.string().c_str(), r.quantized, to_string(o.format), r.kept, r.exclude.size(), r.shards,
              double(r.bytes_out) / 1e9, double(r.bytes_in) / 1e9);
  return 0;
}

const CommandRegistration registration{{
    "quantize",
    "write a BF16 snapshot as FP8 or NVFP4 in NVIDIA ModelOpt's layout",
    "usage: logitscope-cli quantize --model M --format fp8|nvfp4 --out DIR [--shard-gb 5] [--revision R] [--cache-dir D]\n\n"
    "Quantizes every Linear weight of the snapshot (Mamba in/out projections, experts, shared experts, dense MLPs)\n"
    "the way NVIDIA ModelOpt does - FP8 E4M3 with a per-tensor scale, or NVFP4 (E2M1 codes, an E4M3 scale per\n"
    "16 inputs and a per-tensor fp32 scale) - keeping in BF16 what NVIDIA's Nemotron-3-Nano NVFP4 checkpoint\n"
    "keeps (lm_head, attention projections, the Mamba in/out projections next to attention, conv1d; for NVFP4\n"
    "also Linears whose input width is not a multiple of 16). Writes the safetensors shards, config.json with\n"
    "quantization_config, hf_quant_config.json, and copies the tokenizer and the other files. input_scale is\n"
    "1.0 (no calibration): weight-only readers (this engine, vLLM's W4A16 / FP8 weight-only paths) ignore it.\n",
    run_quantize,
}};

}  // namespace
}  // namespace logitscope::cli
