// SPDX-License-Identifier: GPL-3.0-or-later
// ChatTemplate: loads a Hugging Face chat template and renders it as transformers'
// apply_chat_template does (context variables, special tokens, error reporting).
#include <fstream>
#include <sstream>

#include "chat/jinja/interpreter.h"
#include "chat/jinja/lexer.h"
#include "chat/jinja/parser.h"
#include "logitscope/chat.h"
#include "logitscope/errors.h"

namespace logitscope {

struct ChatTemplate::Impl {
  std::string source;
  jinja::Program program;
  std::string bos;
  std::string eos;
  std::function<std::tm()> clock;
};

static std::tm local_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm;
}

ChatTemplate::ChatTemplate(std::string_view template_text, std::string source) : impl_(std::make_unique<Impl>()) {
  impl_->source = std::move(source);
  impl_->clock = local_now;
  try {
    impl_->program = jinja::parse(jinja::tokenize(jinja::normalize_newlines(std::string(template_text))));
  } catch (const jinja::SyntaxError& e) {
    throw Error("chat template " + impl_->source + ":" + std::to_string(e.line) + ": syntax error: " + e.message);
  }
}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

const std::string& ChatTemplate::bos_token() const { return impl_->bos; }
const std::string& ChatTemplate::eos_token() const { return impl_->eos; }
const std::string& ChatTemplate::source_name() const { return impl_->source; }
void ChatTemplate::set_special_tokens(std::string bos, std::string eos) {
  impl_->bos = std::move(bos);
  impl_->eos = std::move(eos);
}
void ChatTemplate::set_clock(std::function<std::tm()> now) { impl_->clock = now ? std::move(now) : local_now; }

std::string ChatTemplate::render(const nlohmann::json& messages, bool add_generation_prompt,
                                 const nlohmann::json& extra) const {
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  context["messages"] = nlohmann::ordered_json::parse(messages.dump());
  context["add_generation_prompt"] = add_generation_prompt;
  if (!extra.is_null()) {
    if (!extra.is_object()) throw Error("chat template " + impl_->source + ": extra variables must be a JSON object");
    for (auto it = extra.begin(); it != extra.end(); ++it) context[it.key()] = nlohmann::ordered_json::parse(it.value().dump());
  }
  return render_with(context);
}

std::string ChatTemplate::render_with(const nlohmann::ordered_json& context) const {
  if (!context.is_object() && !context.is_null())
    throw Error("chat template " + impl_->source + ": the context must be a JSON object");
  // The order transformers passes them: messages, tools, documents, add_generation_prompt, then
  // the special tokens map and the caller's kwargs (later entries win).
  std::vector<std::pair<std::string, jinja::Value>> vars;
  vars.emplace_back("tools", jinja::Value::none());
  vars.emplace_back("documents", jinja::Value::none());
  vars.emplace_back("add_generation_prompt", jinja::Value(false));
  if (!impl_->bos.empty()) vars.emplace_back("bos_token", jinja::Value(impl_->bos));
  if (!impl_->eos.empty()) vars.emplace_back("eos_token", jinja::Value(impl_->eos));
  if (context.is_object())
    for (auto it = context.begin(); it != context.end(); ++it) vars.emplace_back(it.key(), jinja::Value::from_json(it.value()));

  auto clock = impl_->clock;
  jinja::Interpreter interp([clock](const std::string& format) {
    std::tm tm = clock();
    std::string out(256 + format.size() * 8, '\0');
    std::size_t n = format.empty() ? 0 : std::strftime(out.data(), out.size(), format.c_str(), &tm);
    out.resize(n);
    return out;
  });
  try {
    return interp.render(impl_->program, vars);
  } catch (const jinja::RenderError& e) {
    std::string where = "chat template " + impl_->source + ":" + std::to_string(interp.line()) + ": ";
    if (e.kind == "TemplateError") throw Error(where + e.what());
    throw Error(where + e.kind + ": " + e.what());
  }
}

static std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// bos_token/eos_token are a string or an AddedToken object {"content": ...}.
static std::string special_token(const nlohmann::json& config, const char* key, const std::filesystem::path& path) {
  if (!config.contains(key) || config[key].is_null()) return "";
  const auto& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  throw Error(path.string() + ": field '" + key + "' must be a string or an object with a string 'content'");
}

std::unique_ptr<ChatTemplate> ChatTemplate::from_snapshot(const std::filesystem::path& dir) {
  const auto config_path = dir / "tokenizer_config.json";
  nlohmann::json config;
  if (std::filesystem::exists(config_path)) {
    try {
      config = nlohmann::json::parse(read_file(config_path));
    } catch (const nlohmann::json::exception& e) {
      throw Error(config_path.string() + " is not valid JSON: " + e.what());
    }
    if (!config.is_object()) throw Error(config_path.string() + ": expected a JSON object");
  }

  std::unique_ptr<ChatTemplate> result;
  const auto jinja_path = dir / "chat_template.jinja";
  const auto json_path = dir / "chat_template.json";
  if (std::filesystem::exists(jinja_path)) {
    result = std::make_unique<ChatTemplate>(read_file(jinja_path), "chat_template.jinja");
  } else if (config.is_object() && config.contains("chat_template") && !config["chat_template"].is_null()) {
    const auto& t = config["chat_template"];
    if (t.is_string()) {
      result = std::make_unique<ChatTemplate>(t.get<std::string>(), "tokenizer_config.json:chat_template");
    } else if (t.is_array()) {
      // Named templates: [{"name": "default", "template": ...}, {"name": "tool_use", ...}].
      const nlohmann::json* chosen = nullptr;
      for (const auto& entry : t) {
        if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
            !entry["name"].is_string() || !entry["template"].is_string())
          throw Error(config_path.string() + ": field 'chat_template' entries must be {\"name\": string, \"template\": string}");
        if (entry["name"] == "default") chosen = &entry;
      }
      if (!chosen && !t.empty()) chosen = &t[0];
      if (chosen)
        result = std::make_unique<ChatTemplate>((*chosen)["template"].get<std::string>(),
                                                "tokenizer_config.json:chat_template[" + (*chosen)["name"].get<std::string>() + "]");
    } else {
      throw Error(config_path.string() + ": field 'chat_template' must be a string or a list of named templates");
    }
  } else if (std::filesystem::exists(json_path)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file(json_path));
    } catch (const nlohmann::json::exception& e) {
      throw Error(json_path.string() + " is not valid JSON: " + e.what());
    }
    if (!j.is_object() || !j.contains("chat_template") || !j["chat_template"].is_string())
      throw Error(json_path.string() + ": expected {\"chat_template\": string}");
    result = std::make_unique<ChatTemplate>(j["chat_template"].get<std::string>(), "chat_template.json");
  }
  if (!result) return nullptr;
  if (config.is_object())
    result->set_special_tokens(special_token(config, "bos_token", config_path), special_token(config, "eos_token", config_path));
  return result;
}

}  // namespace logitscope
