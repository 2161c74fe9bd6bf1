// SPDX-License-Identifier: GPL-3.0-or-later
// An error the HTTP API reports to its client: status code plus the OpenAI error object
// {"error": {"message", "type", "param", "code"}}, which OpenAI clients turn into typed exceptions.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace logitscope::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message, std::string type = "invalid_request_error", std::string code = {},
           std::string param = {})
      : std::runtime_error(message), status_(status), type_(std::move(type)), code_(std::move(code)),
        param_(std::move(param)) {}

  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& code() const { return code_; }
  const std::string& param() const { return param_; }
  nlohmann::json body() const;

 private:
  int status_;
  std::string type_;
  std::string code_;
  std::string param_;
};

// {"error": {...}} with `code` and `param` null when empty.
nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& code,
                          const std::string& param);
// The OpenAI error type for a status with no more specific one (400 -> invalid_request_error, ...).
std::string error_type_for_status(int status);

}  // namespace logitscope::server
