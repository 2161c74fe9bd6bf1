// SPDX-License-Identifier: GPL-3.0-or-later
// The CPU reference on a fixture as the scoring and inspection tests load it: one thread (exactly
// repeatable), a 256-token context.
#pragma once

#include <filesystem>
#include <memory>

#include "logitscope/model.h"
#include "logitscope/quantization.h"

namespace logitscope::test {

inline std::unique_ptr<Model> load_cpu_reference(const std::filesystem::path& dir, bool load_tokenizer = true,
                                                 WeightFormat quantize = WeightFormat::Bf16) {
  LoadOptions o;
  o.snapshot.model = dir.string();
  o.threads = 1;
  o.max_context = 256;
  o.load_tokenizer = load_tokenizer;
  o.quantize = quantize;
  return Model::load(o);
}

}  // namespace logitscope::test
