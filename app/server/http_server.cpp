// SPDX-License-Identifier: GPL-3.0-or-later
#include "http_server.h"

#include <httplib.h>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "api_error.h"
#include "generation_queue.h"
#include "generation_runner.h"
#include "logitscope/errors.h"
#include "request_parser.h"
#include "response_builder.h"

namespace logitscope::server {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// How often a waiting stream checks its client, and how long it stays silent before a keep-alive
// comment (which is also how a vanished client is noticed while the request waits in the queue).
constexpr auto kPoll = std::chrono::milliseconds(100);
constexpr auto kKeepAlive = std::chrono::milliseconds(1000);
// A non-streaming answer's body while it is being generated: a space this often (see whole()).
constexpr auto kWhitespaceEvery = std::chrono::milliseconds(250);

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(to_json_text(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  if (e.status() == 429) res.set_header("Retry-After", "1");
  send_json(res, e.status(), e.body());
}

// httplib's default sets SO_REUSEPORT, which lets a second server bind a port that one already
// listens on; the kernel then splits connections between the two processes. SO_REUSEADDR alone
// still allows a restart while old connections linger in TIME_WAIT, but a busy port fails to bind.
void exclusive_listen_options(int socket) {
  const int yes = 1;
  setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

}  // namespace

std::string bind_failure_reason(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return std::string("cannot resolve the host: ") + gai_strerror(rc);
  std::string reason;
  for (addrinfo* a = found; a; a = a->ai_next) {
    const int s = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (s < 0) {
      reason = std::strerror(errno);
      continue;
    }
    exclusive_listen_options(s);
    const bool bound = ::bind(s, a->ai_addr, a->ai_addrlen) == 0;
    const int error = errno;
    ::close(s);
    if (bound) {  // httplib listens on the first address that binds
      reason.clear();
      break;
    }
    if (error == EADDRINUSE) reason = "address already in use: another server listens there";
    else if (error == EADDRNOTAVAIL) reason = "not an address of this machine";
    else if (error == EACCES) reason = "permission denied (ports below 1024 need privileges)";
    else reason = std::strerror(error);
  }
  freeaddrinfo(found);
  return reason;
}

namespace {

// Compares without an early exit, so the time taken does not reveal how much of the key matched.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % std::max<std::size_t>(b.size(), 1)]);
  return diff == 0;
}

}  // namespace

struct HttpServer::Impl {
  Impl(const Model& m, ServerOptions o)
      : model(m), options(std::move(o)), queue(options.max_queue), runner(m, options.token_delay) {
    served.model = &model;
    served.name = options.served_name;
    served.max_context = model.max_context();
  }

  const Model& model;
  ServerOptions options;
  ServedModel served;
  GenerationQueue queue;
  GenerationRunner runner;  // used only on the queue's worker thread
  httplib::Server http;
  std::int64_t started = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();

  void install_routes();
  json model_entry() const;
  void generation(const httplib::Request& req, httplib::Response& res, Endpoint endpoint);
  void stream(httplib::Response& res, std::shared_ptr<PreparedRequest> request,
              std::shared_ptr<PieceChannel> channel, std::shared_ptr<GenerationQueue::Ticket> ticket);
  void whole(httplib::Response& res, std::shared_ptr<PreparedRequest> request, std::shared_ptr<PieceChannel> channel,
             std::shared_ptr<GenerationQueue::Ticket> ticket);
};

json HttpServer::Impl::model_entry() const {
  const ModelConfig& c = model.config();
  json moe_layers = json::array();
  for (std::size_t i = 0; i < c.layers.size(); ++i)
    if (c.layers[i] == LayerKind::Moe) moe_layers.push_back(i);
  return {{"id", served.name},
          {"object", "model"},
          {"created", started},
          {"owned_by", "logitscope"},
          {"max_model_len", served.max_context},
          {"logitscope",
           {{"backend", to_string(model.info().backend)},
            {"device", model.info().device_name},
            {"format", model.info().weight_format},
            {"weight_bytes", model.info().weight_bytes},
            {"bytes_per_token", model.info().decode_bytes_per_token},
            {"bandwidth_floor_tokens_per_second", model.info().decode_floor_tokens_per_second()},
            {"memory_plan", model.info().device_memory_plan},
            {"vocab_size", c.vocab_size},
            {"max_context", served.max_context},
            {"routing", !moe_layers.empty()},
            {"moe_layers", moe_layers},
            {"n_routed_experts", c.n_routed_experts},
            {"num_experts_per_tok", c.num_experts_per_tok},
            {"chat", model.tokenizer() != nullptr && model.chat_template() != nullptr}}}};
}

void HttpServer::Impl::install_routes() {
  http.set_socket_options(exclusive_listen_options);
  http.set_payload_max_length(options.max_body_bytes);
  http.set_tcp_nodelay(true);
  http.set_keep_alive_timeout(5);
  // One thread per connection that can be inside a request: every queued request holds one.
  const std::size_t threads = options.max_queue + 8;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (options.api_key.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const std::string header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (header.size() > prefix.size() && header.compare(0, prefix.size(), prefix) == 0 &&
        same_secret(header.substr(prefix.size()), options.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError(401, header.empty() ? "Missing API key: send 'Authorization: Bearer KEY'"
                                                 : "Incorrect API key provided",
                             "authentication_error", "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });

  // Errors httplib produces itself (no route, body too large, unreadable request) get JSON bodies too.
  http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message = "HTTP " + std::to_string(res.status);
    std::string code;
    if (res.status == 404) {
      message = "no route for " + req.method + " " + req.path + " (see docs/serve.md)";
      code = "not_found";
    } else if (res.status == 413) {
      message = "the request body is larger than this server accepts (" + std::to_string(options.max_body_bytes) + " bytes)";
      code = "payload_too_large";
    } else if (res.status == 400) {
      message = "malformed HTTP request";
    }
    const int status = res.status;
    send_json(res, status, error_body(message, error_type_for_status(status), code, ""));
    return httplib::Server::HandlerResponse::Handled;
  }));

  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string message = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      message += std::string(": ") + e.what();
    } catch (...) {
    }
    send_json(res, 500, error_body(message, "server_error", "", ""));
  });

  http.Get("/health", [](const httplib::Request&, httplib::Response& res) { send_json(res, 200, json::object()); });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"object", "list"}, {"data", json::array({model_entry()})}});
  });
  http.Get(R"(/v1/models/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (req.matches[1] == served.name) return send_json(res, 200, model_entry());
    send_error(res, ApiError(404, "The model '" + std::string(req.matches[1]) + "' does not exist",
                             "not_found_error", "model_not_found", "model"));
  });
  http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    generation(req, res, Endpoint::Chat);
  });
  http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    generation(req, res, Endpoint::Completion);
  });
}

void HttpServer::Impl::generation(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
  try {
    const json body = parse_body(req.body);
    auto request = std::make_shared<PreparedRequest>(endpoint == Endpoint::Chat ? parse_chat_request(body, served)
                                                                                : parse_completion_request(body, served));
    auto channel = std::make_shared<PieceChannel>();
    auto ticket = queue.submit([this, request, channel](std::stop_token stop) { runner.run(*request, *channel, stop); });
    if (!ticket)
      throw ApiError(429,
                     "the server is busy: " + std::to_string(queue.max_waiting()) +
                         " requests already wait for the model (--max-queue); retry later",
                     "rate_limit_error", "queue_full");
    if (request->stream) {
      stream(res, request, channel, ticket);
    } else {
      whole(res, request, channel, ticket);
    }
  } catch (const ApiError& e) {
    send_error(res, e);
  } catch (const Error& e) {
    send_error(res, ApiError(400, e.what()));
  }
}

void HttpServer::Impl::whole(httplib::Response& res, std::shared_ptr<PreparedRequest> request,
                             std::shared_ptr<PieceChannel> channel, std::shared_ptr<GenerationQueue::Ticket> ticket) {
  // Until the first piece the status is still open: a request the worker refuses gets its 4xx/5xx.
  auto builder = std::make_shared<ResponseBuilder>(*request, model);
  bool finished = false;
  bool got_final = false;
  auto add = [&](const std::vector<Piece>& pieces) -> const ApiError* {
    for (const Piece& piece : pieces) {
      if (piece.error) return &*piece.error;
      builder->add(piece);
      got_final = got_final || piece.final;
    }
    return nullptr;
  };
  std::vector<Piece> first;
  while (first.empty() && !finished) first = channel->take(std::chrono::milliseconds(500), finished);
  if (const ApiError* error = add(first)) return send_error(res, *error);
  if (!finished) {
    // Generating: the answer goes out as a chunked body led by a space every kWhitespaceEvery (JSON
    // allows leading whitespace). A client that hung up makes such a write fail within about two
    // intervals, and the generation is cancelled instead of running to max_tokens for nobody.
    struct State {
      std::shared_ptr<PreparedRequest> request;  // the builder refers to it
      std::shared_ptr<PieceChannel> channel;
      std::shared_ptr<GenerationQueue::Ticket> ticket;
      std::shared_ptr<ResponseBuilder> builder;
      bool got_final = false;
      Clock::time_point last_write = Clock::now();
    };
    auto state = std::make_shared<State>(State{request, channel, ticket, builder, got_final});
    // With the charset spelled out httplib does not gzip the body: a compressor would hold the
    // spaces back, and the writes that notice a departed client would never reach the socket.
    res.set_chunked_content_provider(
        "application/json; charset=utf-8",
        [this, state](std::size_t, httplib::DataSink& sink) {
          auto give_up = [&] {
            queue.cancel(state->ticket);
            return false;
          };
          bool done = false;
          for (const Piece& piece : state->channel->take(kPoll, done)) {
            if (piece.error) {  // the 200 is sent already: the body carries the error
              const std::string body = to_json_text(piece.error->body());
              if (!sink.write(body.data(), body.size())) return give_up();
              sink.done();
              return true;
            }
            state->builder->add(piece);
            state->got_final = state->got_final || piece.final;
          }
          if (done) {
            const std::string body = to_json_text(
                state->got_final ? state->builder->response()
                                 : ApiError(503, "the server is shutting down", "server_error", "shutting_down").body());
            if (!sink.write(body.data(), body.size())) return give_up();
            sink.done();
            return true;
          }
          if (Clock::now() - state->last_write >= kWhitespaceEvery) {
            if (!sink.write(" ", 1)) return give_up();
            state->last_write = Clock::now();
          }
          return true;
        },
        [this, state](bool) { queue.cancel(state->ticket); });
    return;
  }
  if (!got_final) return send_error(res, ApiError(503, "the server is shutting down", "server_error", "shutting_down"));
  send_json(res, 200, builder->response());
}

void HttpServer::Impl::stream(httplib::Response& res, std::shared_ptr<PreparedRequest> request,
                              std::shared_ptr<PieceChannel> channel, std::shared_ptr<GenerationQueue::Ticket> ticket) {
  struct State {
    std::shared_ptr<PreparedRequest> request;
    std::shared_ptr<PieceChannel> channel;
    std::shared_ptr<GenerationQueue::Ticket> ticket;
    ResponseBuilder builder;
    bool started = false;
    Clock::time_point last_write = Clock::now();
  };
  auto state = std::make_shared<State>(State{request, channel, ticket, ResponseBuilder(*request, model)});
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, state](std::size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& text) {
          if (text.empty()) return true;
          if (!sink.write(text.data(), text.size())) return false;
          state->last_write = Clock::now();
          return true;
        };
        auto give_up = [&] {
          queue.cancel(state->ticket);  // the client is gone: stop generating for it
          return false;
        };
        if (!state->started) {
          state->started = true;
          if (!write(state->builder.stream_start())) return give_up();
        }
        bool finished = false;
        const std::vector<Piece> pieces = state->channel->take(kPoll, finished);
        for (const Piece& piece : pieces)
          if (!write(state->builder.stream_piece(piece))) return give_up();
        if (finished) {
          if (!write(ResponseBuilder::stream_done())) return give_up();
          sink.done();
          return true;
        }
        if (pieces.empty() && Clock::now() - state->last_write >= kKeepAlive) {
          if (!write(": keep-alive\n\n")) return give_up();
        }
        return true;
      },
      [this, state](bool) { queue.cancel(state->ticket); });
}

HttpServer::HttpServer(const Model& model, ServerOptions options)
    : impl_(std::make_unique<Impl>(model, std::move(options))) {
  impl_->install_routes();
}

HttpServer::~HttpServer() {
  stop();
  impl_->queue.shutdown();
}

int HttpServer::bind() {
  const ServerOptions& o = impl_->options;
  const int port = o.port == 0 ? impl_->http.bind_to_any_port(o.host) : (impl_->http.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port < 0) {
    std::string reason = bind_failure_reason(o.host, o.port);
    throw Error("cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " +
                (reason.empty() ? std::string("the address could not be bound") : reason) + "; choose another --port");
  }
  return port;
}

void HttpServer::listen() { impl_->http.listen_after_bind(); }

void HttpServer::stop() {
  impl_->queue.shutdown();
  impl_->http.stop();
}

}  // namespace logitscope::server
