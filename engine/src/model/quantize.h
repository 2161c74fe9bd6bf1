// SPDX-License-Identifier: GPL-3.0-or-later
// Quantizing BF16/F32 weights the way NVIDIA ModelOpt writes its checkpoints (the exact float32
// steps are those of tests/reference/make_quantized_fixtures.py, so the bytes are identical):
//   FP8    s = amax|W| / 448 (per tensor, or per output row); q = e4m3(clamp(W / s, +-448)).
//   NVFP4  g = amax|W| / 2688; per 16 inputs of a row s_b = block_amax / (6 g), 0 -> 1, <= 448,
//          never 0 in E4M3 (2^-9); scale = e4m3(s_b); codes = e2m1(W / (float(scale) * g)), two per
//          byte, even element low.
// Used on load (--quantize) and by `logitscope-cli quantize`, which writes the ModelOpt layout.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "logitscope/config.h"
#include "model/tensor.h"
#include "model/weights.h"

namespace logitscope {

// The bytes of one quantized Linear weight and its scales (F32 scalars are little-endian floats).
struct QuantizedLinear {
  QuantFormat format = QuantFormat::None;
  std::vector<std::int64_t> weight_shape;  // Fp8 [out, in]; Nvfp4 [out, in / 2]
  std::vector<std::byte> weight;           // F8_E4M3 or U8 (packed E2M1)
  std::vector<std::int64_t> scale_shape;   // Fp8: [] or [out]; Nvfp4: [out, in / 16]
  std::vector<std::byte> scale;            // Fp8: F32; Nvfp4: F8_E4M3
  std::vector<std::byte> global_scale;     // Nvfp4: F32 [] (weight_scale_2); empty for Fp8
  std::vector<std::byte> input_scale;      // F32 []: 1.0 (no calibration; weight-only readers ignore it)
};

// `w` is [out, in] row-major fp32.
QuantizedLinear quantize_fp8(const float* w, std::int64_t out, std::int64_t in, bool per_channel);
QuantizedLinear quantize_nvfp4(const float* w, std::int64_t out, std::int64_t in);

// The modules NVIDIA's Nemotron-3-Nano NVFP4 checkpoint keeps in BF16, for `config`: lm_head,
// every attention projection, the Mamba in/out projections of a Mamba layer right before an
// attention layer, every conv1d; for NVFP4 also any Linear whose input width is not a multiple of
// 16. Full module names under `prefix` (lm_head has none).
std::vector<std::string> default_quantization_exclusions(const ModelConfig& config, WeightFormat format,
                                                          const std::string& prefix = "backbone.");
// "backbone." (checkpoints) or "model." (transformers 5 state dicts): how the bound tensors are named.
std::string checkpoint_prefix(const ModelWeights& weights);

// A Linear of the bound weights: its full module name ("backbone.layers.3.mixer.in_proj", experts
// one by one) and the view to it, in checkpoint order.
struct LinearRef {
  std::string module;
  TensorView* weight;
};
std::vector<LinearRef> model_linears(const ModelConfig& config, ModelWeights& weights);

// The declaration of quantizing `c` to `format` on load (ModelOpt's per-tensor FP8 or NVFP4, the
// default exclusions under `prefix`); synthetic weights take it to be generated in that format.
QuantizationConfig quantization_on_load(const ModelConfig& c, WeightFormat format, const std::string& prefix = "backbone.");

// Quantizes the bound weights of an unquantized snapshot in memory: every Linear that
// default_quantization_exclusions keeps is replaced by a view of owned quantized bytes (the BF16
// copy is no longer referenced), and `config.quantization` declares what was done.
void quantize_weights_on_load(ModelConfig& config, ModelWeights& weights, WeightFormat format);

}  // namespace logitscope
