// SPDX-License-Identifier: GPL-3.0-or-later
// TokenEvent streams recorded from a real model: the fixture checkpoints' golden.json holds the
// logits and MoE routing that Hugging Face transformers produced for a prompt and a greedy
// continuation (tests/reference/make_fixtures.py). Each position becomes the TokenEvent the engine
// would emit for it, so the widget tests run on real distributions and routing without the engine.
#pragma once

#include <QString>

#include <vector>

#include "logitscope/events.h"

namespace logitscope::test {

// Events for every position after the first of prompt + greedy continuation of `model_dir`
// (e.g. tests/fixtures/models/tiny-every-kind), top-k of `top_k` entries. Empty bytes: fixture
// models have no tokenizer, so tokens show as <id>.
std::vector<TokenEvent> load_golden_stream(const QString& model_dir, int top_k = 10);

// `count` events made by cycling `base` (positions renumbered): a long stream for timing tests.
std::vector<TokenEvent> repeat_stream(const std::vector<TokenEvent>& base, int count);

}  // namespace logitscope::test
