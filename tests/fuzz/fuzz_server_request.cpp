// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes the OpenAI-compatible server's request handling below HTTP: parse_body, then
// parse_chat_request and parse_completion_request against a real (tiny) model with a tokenizer and
// a chat template, assembled once in a scratch snapshot. Every input ends in a PreparedRequest or an
// ApiError (or logitscope::Error), never a crash.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "api_error.h"
#include "fuzz_support.h"
#include "logitscope/errors.h"
#include "logitscope/model.h"
#include "request_parser.h"

namespace {
namespace fs = std::filesystem;

logitscope::server::ServedModel& served() {
  static std::unique_ptr<logitscope::Model> model;
  static logitscope::server::ServedModel s = [] {
    const fs::path fixtures(LOGITSCOPE_FUZZ_FIXTURES);
    const fs::path dir = logitscope::fuzz::scratch_dir() / "snapshot";
    fs::create_directories(dir);
    const auto over = fs::copy_options::overwrite_existing;
    fs::copy_file(fixtures / "models/tiny-fused-experts/config.json", dir / "config.json", over);
    fs::copy_file(fixtures / "models/tiny-fused-experts/model.safetensors", dir / "model.safetensors", over);
    fs::copy_file(fixtures / "tokenizer/synthetic/splits/tokenizer.json", dir / "tokenizer.json", over);
    fs::copy_file(fixtures / "chat/templates/Qwen-Qwen3-0.6B.jinja", dir / "chat_template.jinja", over);
    logitscope::LoadOptions options;
    options.snapshot.model = dir.string();
    options.max_context = 256;
    options.threads = 1;
    model = logitscope::Model::load(options);
    logitscope::server::ServedModel m;
    m.model = model.get();
    m.name = "tiny";
    m.max_context = 256;
    return m;
  }();
  return s;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  served();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json body;
  try {
    body = logitscope::server::parse_body(text);
  } catch (const logitscope::server::ApiError&) {
    return 0;
  }
  for (int kind = 0; kind < 2; ++kind) {
    try {
      auto request = kind == 0 ? logitscope::server::parse_chat_request(body, served())
                               : logitscope::server::parse_completion_request(body, served());
      (void)request;
    } catch (const logitscope::server::ApiError&) {
    } catch (const logitscope::Error&) {
    }
  }
  return 0;
}
