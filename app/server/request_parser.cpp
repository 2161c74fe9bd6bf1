// SPDX-License-Identifier: GPL-3.0-or-later
#include "request_parser.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "logitscope/chat.h"
#include "logitscope/chat_prompt.h"
#include "logitscope/errors.h"
#include "logitscope/tokenizer.h"

namespace logitscope::server {
namespace {

using nlohmann::json;

constexpr int kMaxTopLogprobs = 20;
constexpr std::size_t kMaxStopStrings = 16;

[[noreturn]] void bad(const std::string& param, const std::string& message) {
  throw ApiError(400, message, "invalid_request_error", "invalid_value", param);
}

const char* type_name(const json& v) {
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

[[noreturn]] void wrong_type(const std::string& param, const char* expected, const json& v) {
  throw ApiError(400, "'" + param + "' must be " + expected + ", not " + type_name(v), "invalid_request_error",
                 "invalid_type", param);
}

// A field that is absent or null counts as not given (clients send null for unset options).
const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<bool> get_bool(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) wrong_type(name, "a boolean", *v);
  return v->get<bool>();
}

std::optional<std::int64_t> get_int(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) {
    if (v->get<std::uint64_t>() > std::uint64_t(INT64_MAX)) bad(name, std::string("'") + name + "' is too large");
    return std::int64_t(v->get<std::uint64_t>());
  }
  if (v->is_number_integer()) return v->get<std::int64_t>();
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return std::int64_t(d);
  }
  wrong_type(name, "an integer", *v);
}

std::optional<double> get_number(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) wrong_type(name, "a number", *v);
  return v->get<double>();
}

// "model" is optional (the one served model); a different name is a 404, checked before any work.
void check_model(const json& body, const ServedModel& served, PreparedRequest& r) {
  if (const json* model = field(body, "model")) {
    if (!model->is_string()) wrong_type("model", "a string", *model);
    if (model->get<std::string>() != served.name)
      throw ApiError(404, "The model '" + model->get<std::string>() + "' does not exist; this server serves '" +
                              served.name + "' (see GET /v1/models)",
                     "not_found_error", "model_not_found", "model");
  }
  r.model = served.name;
}

// Options both endpoints share: stream, sampling, stop, extensions.
void parse_common(const json& body, PreparedRequest& r) {
  r.stream = get_bool(body, "stream").value_or(false);
  if (const json* options = field(body, "stream_options")) {
    if (!options->is_object()) wrong_type("stream_options", "an object", *options);
    r.include_usage = get_bool(*options, "include_usage").value_or(false);
  }

  if (auto n = get_int(body, "n"); n && *n != 1) bad("n", "'n' must be 1: this server generates one choice per request");
  if (auto n = get_int(body, "best_of"); n && *n != 1) bad("best_of", "'best_of' must be 1 on this server");
  for (const char* name : {"presence_penalty", "frequency_penalty"})
    if (auto v = get_number(body, name); v && *v != 0.0) bad(name, std::string("'") + name + "' is not supported by this server (leave it 0)");
  if (const json* bias = field(body, "logit_bias")) {
    if (!bias->is_object()) wrong_type("logit_bias", "an object", *bias);
    if (!bias->empty()) bad("logit_bias", "'logit_bias' is not supported by this server");
  }

  const double temperature = get_number(body, "temperature").value_or(1.0);
  if (!(temperature >= 0.0 && temperature <= 2.0)) bad("temperature", "'temperature' must be in [0, 2]");
  const double top_p = get_number(body, "top_p").value_or(1.0);
  if (!(top_p > 0.0 && top_p <= 1.0)) bad("top_p", "'top_p' must be in (0, 1]");
  const std::int64_t top_k = get_int(body, "top_k").value_or(0);  // vLLM extension; -1 or 0 = off
  if (top_k < -1) bad("top_k", "'top_k' must be -1, 0 (no limit) or positive");
  const double min_p = get_number(body, "min_p").value_or(0.0);  // vLLM extension
  if (!(min_p >= 0.0 && min_p <= 1.0)) bad("min_p", "'min_p' must be in [0, 1]");
  r.sampling.greedy = temperature == 0.0;
  r.sampling.temperature = static_cast<float>(temperature);
  r.sampling.top_p = static_cast<float>(top_p);
  r.sampling.top_k = top_k > 0 ? static_cast<int>(std::min<std::int64_t>(top_k, 1 << 30)) : 0;
  r.sampling.min_p = static_cast<float>(min_p);
  if (auto seed = get_int(body, "seed")) {
    r.seeded = true;
    r.sampling.seed = static_cast<std::uint64_t>(*seed);
  }

  if (const json* stop = field(body, "stop")) {
    if (stop->is_string()) {
      r.stop_strings.push_back(stop->get<std::string>());
    } else if (stop->is_array()) {
      if (stop->size() > kMaxStopStrings) bad("stop", "'stop' holds at most " + std::to_string(kMaxStopStrings) + " strings");
      for (const json& s : *stop) {
        if (!s.is_string()) wrong_type("stop", "a string or an array of strings", *stop);
        r.stop_strings.push_back(s.get<std::string>());
      }
    } else {
      wrong_type("stop", "a string or an array of strings", *stop);
    }
    std::erase_if(r.stop_strings, [](const std::string& s) { return s.empty(); });
  }

  // vLLM extensions that clients stepping token by token use.
  r.tokens_as_ids = get_bool(body, "return_tokens_as_token_ids").value_or(false);
  std::vector<TokenId> extra_stop_ids;
  if (const json* ids = field(body, "stop_token_ids")) {
    if (!ids->is_array()) wrong_type("stop_token_ids", "an array of integers", *ids);
    for (const json& id : *ids) {
      if (!id.is_number_integer()) wrong_type("stop_token_ids", "an array of integers", *ids);
      extra_stop_ids.push_back(id.get<TokenId>());
    }
  }
  if (get_bool(body, "ignore_eos").value_or(false)) r.generate.stop_ids.clear();
  r.generate.stop_ids.insert(r.generate.stop_ids.end(), extra_stop_ids.begin(), extra_stop_ids.end());
  if (r.generate.stop_ids.empty()) r.generate.stop_ids = {-1};  // empty would mean "the model's eos"

  if (const json* ext = field(body, "logitscope")) {
    if (!ext->is_object()) wrong_type("logitscope", "an object", *ext);
    r.ext_routing = get_bool(*ext, "routing").value_or(false);
    r.ext_tokens = r.ext_routing || get_bool(*ext, "tokens").value_or(false);
  }
}

// max_tokens / max_completion_tokens against the context, as vLLM checks them.
void apply_limits(const json& body, const ServedModel& served, PreparedRequest& r) {
  const auto prompt = std::int64_t(r.prompt_ids.size());
  if (prompt == 0) bad("prompt", "the prompt is empty");
  if (prompt >= served.max_context)
    throw ApiError(400,
                   "This model's maximum context length is " + std::to_string(served.max_context) +
                       " tokens, but the prompt has " + std::to_string(prompt) +
                       " tokens, leaving no room for a completion. Shorten the prompt (or start the server with a "
                       "larger --max-context).",
                   "invalid_request_error", "context_length_exceeded", "messages");
  std::optional<std::int64_t> max_tokens = get_int(body, "max_completion_tokens");
  const char* which = "max_completion_tokens";
  if (!max_tokens) {
    max_tokens = get_int(body, "max_tokens");
    which = "max_tokens";
  }
  if (max_tokens) {
    if (*max_tokens < 1) bad(which, std::string("'") + which + "' must be at least 1");
    if (prompt + *max_tokens > served.max_context)
      throw ApiError(400,
                     "This model's maximum context length is " + std::to_string(served.max_context) +
                         " tokens. However, you requested " + std::to_string(prompt + *max_tokens) + " tokens (" +
                         std::to_string(prompt) + " in the prompt, " + std::to_string(*max_tokens) +
                         " for the completion). Reduce the prompt or '" + which + "'.",
                     "invalid_request_error", "context_length_exceeded", which);
  }
  r.generate.max_new_tokens = static_cast<int>(max_tokens.value_or(served.max_context - prompt));
}

std::vector<TokenId> base_stop_ids(const Model& model) {
  std::vector<TokenId> ids(model.config().eos_token_ids.begin(), model.config().eos_token_ids.end());
  return ids;
}

// Message content may be a string or a list of text parts; the template gets a string.
json normalize_messages(const json& messages) {
  if (!messages.is_array()) wrong_type("messages", "an array", messages);
  if (messages.empty()) bad("messages", "'messages' is empty");
  json out = json::array();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    const json& m = messages[i];
    if (!m.is_object()) wrong_type(where, "an object", m);
    const json* role = field(m, "role");
    if (!role) bad(where + ".role", "'" + where + ".role' is missing");
    if (!role->is_string()) wrong_type(where + ".role", "a string", *role);
    json copy = m;
    const json* content = field(m, "content");
    if (!content) {
      copy["content"] = "";
    } else if (content->is_array()) {
      std::string text;
      for (const json& part : *content) {
        if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") ||
            !part["text"].is_string())
          bad(where + ".content", "'" + where + ".content' parts must be {\"type\": \"text\", \"text\": ...} "
                                  "(this model reads text only)");
        text += part["text"].get<std::string>();
      }
      copy["content"] = text;
    } else if (!content->is_string()) {
      wrong_type(where + ".content", "a string or an array of text parts", *content);
    }
    out.push_back(std::move(copy));
  }
  return out;
}

void require_tokenizer(const Model& model, const char* what) {
  if (!model.tokenizer())
    throw ApiError(400, model.info().snapshot_dir.string() + " has no tokenizer.json, so " + what +
                            " are not possible; send token ids to /v1/completions",
                   "invalid_request_error", "no_tokenizer");
}

void parse_logprobs_chat(const json& body, PreparedRequest& r) {
  r.logprobs = get_bool(body, "logprobs").value_or(false);
  if (auto n = get_int(body, "top_logprobs")) {
    if (*n < 0 || *n > kMaxTopLogprobs) bad("top_logprobs", "'top_logprobs' must be in 0..20");
    if (!r.logprobs && *n > 0) bad("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    r.top_logprobs = static_cast<int>(*n);
  }
}

}  // namespace

json parse_body(const std::string& text) {
  json body;
  try {
    body = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for numbers like 1e400
    throw ApiError(400, std::string("the request body is not valid JSON: ") + e.what(), "invalid_request_error",
                   "invalid_json");
  }
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object", "invalid_request_error", "invalid_json");
  return body;
}

PreparedRequest parse_chat_request(const json& body, const ServedModel& served) {
  const Model& model = *served.model;
  PreparedRequest r;
  r.endpoint = Endpoint::Chat;
  check_model(body, served, r);
  const json* messages_field = field(body, "messages");
  if (!messages_field) bad("messages", "'messages' is required");
  const json messages = normalize_messages(*messages_field);

  json extra = json::object();
  bool enable_thinking = true;
  if (const json* kwargs = field(body, "chat_template_kwargs")) {
    if (!kwargs->is_object()) wrong_type("chat_template_kwargs", "an object", *kwargs);
    extra = *kwargs;
    if (auto thinking = get_bool(*kwargs, "enable_thinking")) enable_thinking = *thinking;
    extra.erase("enable_thinking");
  }
  if (const json* tools = field(body, "tools")) {
    if (!tools->is_array()) wrong_type("tools", "an array", *tools);
    extra["tools"] = *tools;
  }
  require_tokenizer(model, "chat completions");
  if (!model.chat_template())
    throw ApiError(400, model.info().snapshot_dir.string() + " has no chat template, so chat completions are not "
                            "possible; use /v1/completions",
                   "invalid_request_error", "no_chat_template");
  ChatPrompt prompt;
  try {
    prompt = build_chat_prompt(model, messages, enable_thinking, extra);
  } catch (const Error& e) {
    throw ApiError(400, std::string("the chat template failed on these messages: ") + e.what(),
                   "invalid_request_error", "template_error", "messages");
  }
  r.prompt_ids = std::move(prompt.ids);
  r.generate = chat_generate_options(prompt, 1);
  r.generate.stop_ids = prompt.stop_ids;
  r.split_reasoning = true;
  parse_common(body, r);
  parse_logprobs_chat(body, r);
  apply_limits(body, served, r);
  return r;
}

PreparedRequest parse_completion_request(const json& body, const ServedModel& served) {
  const Model& model = *served.model;
  PreparedRequest r;
  r.endpoint = Endpoint::Completion;
  check_model(body, served, r);
  if (get_bool(body, "echo").value_or(false)) bad("echo", "'echo' is not supported by this server");
  if (const json* suffix = field(body, "suffix"))
    if (!suffix->is_string() || !suffix->get<std::string>().empty()) bad("suffix", "'suffix' is not supported by this server");

  const json* prompt = field(body, "prompt");
  if (!prompt) bad("prompt", "'prompt' is required");
  // A string, a list of ids, or a batch of exactly one of either.
  const json* single = prompt;
  if (prompt->is_array() && !prompt->empty() && (prompt->front().is_string() || prompt->front().is_array())) {
    if (prompt->size() != 1) bad("prompt", "'prompt' must hold one prompt: this server generates one choice per request");
    single = &prompt->front();
  }
  if (single->is_string()) {
    require_tokenizer(model, "text prompts");
    r.prompt_ids = model.tokenizer()->encode(single->get<std::string>(), /*add_special_tokens=*/true);
  } else if (single->is_array()) {
    const std::int64_t vocab = model.config().vocab_size;
    for (const json& id : *single) {
      if (!id.is_number_integer()) wrong_type("prompt", "a string or an array of token ids (integers)", *prompt);
      const std::int64_t v = id.get<std::int64_t>();
      if (v < 0 || v >= vocab)
        bad("prompt", "token id " + std::to_string(v) + " in 'prompt' is outside the vocabulary (0.." +
                          std::to_string(vocab - 1) + ")");
      r.prompt_ids.push_back(static_cast<TokenId>(v));
    }
  } else {
    wrong_type("prompt", "a string or an array of token ids", *prompt);
  }

  r.generate.stop_ids = base_stop_ids(model);
  parse_common(body, r);
  if (auto n = get_int(body, "logprobs")) {
    if (*n < 0 || *n > kMaxTopLogprobs) bad("logprobs", "'logprobs' must be in 0..20");
    r.logprobs = true;
    r.top_logprobs = static_cast<int>(*n);
  }
  apply_limits(body, served, r);
  return r;
}

}  // namespace logitscope::server
