// SPDX-License-Identifier: GPL-3.0-or-later
#include "api_error.h"

namespace logitscope::server {

nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& code,
                          const std::string& param) {
  nlohmann::json error = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!code.empty()) error["code"] = code;
  if (!param.empty()) error["param"] = param;
  return {{"error", error}};
}

nlohmann::json ApiError::body() const { return error_body(what(), type_, code_, param_); }

std::string error_type_for_status(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "invalid_request_error";
    case 429: return "rate_limit_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

}  // namespace logitscope::server
