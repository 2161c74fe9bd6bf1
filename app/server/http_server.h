// SPDX-License-Identifier: GPL-3.0-or-later
// The OpenAI-compatible HTTP server over one loaded model (cpp-httplib): GET /v1/models,
// POST /v1/chat/completions, POST /v1/completions (streaming or not), GET /health. One generation
// worker serves requests in order through a bounded queue; see docs/serve.md for the API.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "logitscope/model.h"

namespace logitscope::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                          // 0 = any free port (bind() returns it)
  std::string api_key;                      // empty = no authentication
  std::string served_name;                  // the model id clients use
  std::size_t max_queue = 64;               // requests waiting behind the running one
  std::size_t max_body_bytes = 8u << 20;    // larger request bodies get 413
  std::chrono::milliseconds token_delay{0}; // testing: pause after each generated token
};

// Why host:port cannot be bound for listening now ("address already in use: another server listens
// there", "not an address of this machine", ...), or "" when it can. Tries a bind with the options
// the server uses (SO_REUSEADDR, never SO_REUSEPORT) and closes the socket again.
std::string bind_failure_reason(const std::string& host, int port);

class HttpServer {
 public:
  HttpServer(const Model& model, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket; returns the port. Throws logitscope::Error when it cannot.
  int bind();
  // Serves until stop() (from another thread). Returns after in-flight requests are dropped.
  void listen();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace logitscope::server
