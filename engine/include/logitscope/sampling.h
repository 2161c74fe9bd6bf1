// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>

namespace logitscope {

// How the next token is drawn. Filters apply in the order temperature, top-k, top-p, min-p
// (as in Hugging Face's generate). `greedy` (or temperature 0) takes the argmax.
struct SamplingParams {
  bool greedy = false;
  float temperature = 1.0f;
  int top_k = 0;        // 0 = no limit
  float top_p = 1.0f;   // 1 = no limit
  float min_p = 0.0f;   // 0 = no limit
  std::uint64_t seed = 0;
};

// What to record about each step beyond the chosen token.
struct ProbeOptions {
  int top_k = 20;        // alternatives to report, 0..50
  bool routing = true;   // record the MoE routing of every layer
};

}  // namespace logitscope
