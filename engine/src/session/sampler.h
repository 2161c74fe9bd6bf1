// SPDX-License-Identifier: GPL-3.0-or-later
// The next-token distribution on the host: raw probabilities, entropy and top-k report, then the
// choice (forced, greedy, or sampled after temperature / top-k / top-p / min-p, in Hugging Face's
// order). The CPU backend uses it directly; the CUDA backend computes the same on the GPU and is
// tested against it.
#pragma once

#include <span>

#include "backend/backend.h"

namespace logitscope {

ChoiceResult choose_from_logits(std::span<const float> logits, const ChoiceRequest& request);

// A uniform double in [0, 1) from 64 random bits (the session's RNG feeds ChoiceRequest::uniform).
inline double uniform_from_bits(std::uint64_t bits) { return double(bits >> 11) * (1.0 / 9007199254740992.0); }

}  // namespace logitscope
