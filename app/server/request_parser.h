// SPDX-License-Identifier: GPL-3.0-or-later
// OpenAI request bodies -> PreparedRequest. Validates types and ranges (ApiError 400 naming the
// field), renders chat messages through the model's template, tokenizes, and checks the context.
// Unknown fields are ignored, as OpenAI does; known fields this server cannot honour (n > 1, echo,
// penalties, logit_bias) are refused rather than silently ignored.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "generation_types.h"
#include "logitscope/model.h"

namespace logitscope::server {

struct ServedModel {
  const Model* model = nullptr;
  std::string name;                  // what clients put in "model"
  std::int64_t max_context = 0;      // tokens of prompt + completion
};

// Throws ApiError 400 for malformed JSON or a body that is not an object.
nlohmann::json parse_body(const std::string& text);

PreparedRequest parse_chat_request(const nlohmann::json& body, const ServedModel& served);
PreparedRequest parse_completion_request(const nlohmann::json& body, const ServedModel& served);

}  // namespace logitscope::server
