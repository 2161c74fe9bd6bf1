// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope-cli serve: an OpenAI-compatible HTTP server over one loaded model (docs/serve.md).
// Prints one line "listening on http://HOST:PORT" on stdout once it accepts connections (with
// --port 0 the port is the one the system chose); SIGINT or SIGTERM stop it.
#include <csignal>
#include <iostream>
#include <pthread.h>
#include <thread>

#include "args.h"
#include "command.h"
#include "http_server.h"
#include "logitscope/errors.h"
#include "model_options.h"

namespace logitscope::cli {
namespace {

int run_serve(const std::vector<std::string>& words) {
  const Args args(words,
                  merge({kModelOptions, {"host", "port", "api-key", "max-queue", "served-model-name", "max-body-bytes",
                                         "debug-token-delay-ms"}}),
                  {});
  server::ServerOptions options;
  options.host = args.get_or("host", "127.0.0.1");
  const std::int64_t port = args.get_int("port", 8000);
  if (port < 0 || port > 65535) throw Error("option --port must be in 0..65535");
  options.port = static_cast<int>(port);
  options.api_key = args.get_or("api-key", "");
  if (args.has("api-key") && options.api_key.empty()) throw Error("option --api-key is empty");
  const std::int64_t max_queue = args.get_int("max-queue", 64);
  if (max_queue < 0 || max_queue > 1024) throw Error("option --max-queue must be in 0..1024");
  options.max_queue = static_cast<std::size_t>(max_queue);
  const std::int64_t max_body = args.get_int("max-body-bytes", 8 << 20);
  if (max_body < 1024) throw Error("option --max-body-bytes must be at least 1024");
  options.max_body_bytes = static_cast<std::size_t>(max_body);
  const std::int64_t delay = args.get_int("debug-token-delay-ms", 0);
  if (delay < 0 || delay > 10000) throw Error("option --debug-token-delay-ms must be in 0..10000");
  options.token_delay = std::chrono::milliseconds(delay);
  options.served_name = args.get_or("served-model-name", args.has("synthetic") ? args.require("synthetic") : args.require("model"));

  // SIGINT/SIGTERM go to one thread that stops the server (blocked here, before any other thread starts).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // our own wake-up for the signal thread at exit
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up is a failed write, not a dead server

  // A busy port is reported before the model loads (which can take minutes); bind() below decides.
  if (options.port != 0)
    if (const std::string reason = server::bind_failure_reason(options.host, options.port); !reason.empty())
      throw Error("cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " + reason +
                  "; choose another --port");
  auto model = Model::load(load_options_from(args));
  server::HttpServer http(*model, options);
  const int bound = http.bind();
  std::cerr << "logitscope-cli serve: " << options.served_name << " on " << model->info().device_name << ", context "
            << model->max_context() << " tokens, queue " << options.max_queue
            << (options.api_key.empty() ? ", no API key" : ", API key required") << "\n";
  const bool loopback = options.host == "127.0.0.1" || options.host == "localhost" || options.host == "::1";
  if (!loopback && options.api_key.empty())
    std::cerr << "logitscope-cli serve: warning: listening on " << options.host
              << " without --api-key: anyone who can reach this address can use the model\n";
  // An IPv6 address goes in brackets in a URL.
  const std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  std::cout << "listening on http://" << host << ":" << bound << "\n" << std::flush;

  std::jthread stopper([&](std::stop_token) {
    int signal = 0;
    sigwait(&signals, &signal);
    if (signal == SIGUSR1) return;
    std::cerr << "logitscope-cli serve: stopping\n";
    http.stop();
  });
  http.listen();
  // Wake the signal thread (if no signal ended the server) so it can be joined.
  pthread_kill(stopper.native_handle(), SIGUSR1);
  return 0;
}

const CommandRegistration registration{{
    "serve",
    "OpenAI-compatible HTTP server (chat, completions, streaming, logprobs, routing)",
    std::string("usage: logitscope-cli serve --model M [--host 127.0.0.1] [--port 8000] [--api-key KEY]\n"
                "                            [--max-queue N] [--served-model-name NAME] [--backend cpu|cuda]\n\n"
                "Serves GET /v1/models, POST /v1/chat/completions and POST /v1/completions (streaming and not)\n"
                "as OpenAI clients expect; see docs/serve.md. Requests run one at a time on one session; up to\n"
                "--max-queue wait behind the running one and more get 429. Prints 'listening on http://HOST:PORT'\n"
                "once ready (--port 0 picks a free port). SIGINT/SIGTERM stop it.\n\n"
                "  --host H           address to bind (default 127.0.0.1: this machine only)\n"
                "  --port P           TCP port (default 8000; 0 = any free port)\n"
                "  --api-key KEY      require 'Authorization: Bearer KEY' on every request\n"
                "  --max-queue N      requests that may wait behind the running one (default 64)\n"
                "  --served-model-name NAME  the model id clients send (default: the --model value)\n"
                "  --max-body-bytes N larger request bodies get 413 (default 8388608)\n"
                "  --debug-token-delay-ms N  sleep N ms after each generated token (for tests)\n") +
        kModelOptionsUsage,
    run_serve,
}};

}  // namespace
}  // namespace logitscope::cli
