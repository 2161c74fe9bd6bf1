// SPDX-License-Identifier: GPL-3.0-or-later
// The engine worker's answers to the "see inside" docks: the logit lens at one position and the
// internals of the whole conversation, each from its own prompt forward (the session, and with it
// the conversation's KV cache and recurrent state, is left alone).
#include <chrono>

#include "engine_worker.h"
#include "logitscope/errors.h"
#include "logitscope/inspect.h"
#include "logitscope/lens.h"
#include "logitscope/model.h"
#include "logitscope/tokenizer.h"
#include "prompt_builder.h"

namespace logitscope::gui {
namespace {

bool superseded(std::uint64_t id, const std::shared_ptr<const std::atomic<std::uint64_t>>& newest) {
  return newest && newest->load() != id;
}

}  // namespace

std::vector<TokenId> EngineWorker::conversation_ids(const ConversationIds& conversation, std::int64_t* prompt_length) const {
  if (!model_) throw Error("no model is loaded");
  if (!conversation.text.empty()) {
    // A scored text: its own ids; its token i plays the part of reply token i.
    if (std::int64_t(conversation.text.size()) > model_->max_context())
      throw Error("the text has " + std::to_string(conversation.text.size()) + " tokens, more than the context of " +
                  std::to_string(model_->max_context()));
    *prompt_length = 0;
    return conversation.text;
  }
  // An empty conversation would still render to a few template tokens: nothing of the user's to read.
  if (conversation.turns.empty() && conversation.reply.empty()) throw Error("the conversation is empty: write a message first");
  std::vector<TokenId> ids = build_prompt(*model_, conversation.turns, conversation.enable_thinking).ids;
  *prompt_length = std::int64_t(ids.size());
  ids.insert(ids.end(), conversation.reply.begin(), conversation.reply.end());
  if (ids.empty()) throw Error("the conversation is empty: write a message first");
  if (std::int64_t(ids.size()) > model_->max_context())
    throw Error("the conversation has " + std::to_string(ids.size()) + " tokens, more than the context of " +
                std::to_string(model_->max_context()));
  return ids;
}

void EngineWorker::lens(const LensRequest& request) {
  if (superseded(request.id, request.newest)) return;
  try {
    std::int64_t prompt_length = 0;
    const std::vector<TokenId> ids = conversation_ids(request.conversation, &prompt_length);
    const std::int64_t last = std::int64_t(ids.size()) - 1;
    // Reply token i was chosen by the forward that read the token before it.
    const std::int64_t pos = workbench::reply_position(prompt_length, last + 1, request.reply_index);
    workbench::LensCapture out;
    out.pos = pos;
    out.input = ids[std::size_t(pos)];
    out.chosen = pos < last ? ids[std::size_t(pos + 1)] : -1;
    out.pattern = model_->config().pattern();
    const auto started = std::chrono::steady_clock::now();
    Interventions interventions = request.conversation.interventions;
    if (!interventions.empty()) interventions.from_position += prompt_length;
    out.layers = logit_lens(*model_, ids, pos, request.top_k, interventions, request.stop);
    out.ms = ms_since(started);
    if (const Tokenizer* tokenizer = model_->tokenizer()) {
      auto label = [&](TokenId id) {
        if (id >= 0 && !out.labels.count(id)) out.labels.emplace(id, tokenizer->token_bytes(id));
      };
      label(out.input);
      label(out.chosen);
      for (const LayerLens& layer : out.layers)
        for (const TopKEntry& entry : layer.top_k) label(entry.id);
    }
    emit lens_ready(LensResult{request.id, std::move(out)});
  } catch (const Cancelled&) {
    // A newer lens request stopped this one; its answer is the one the view waits for.
  } catch (const std::exception& error) {
    emit inspect_failed(request.id, QString::fromUtf8(error.what()));
  }
}

void EngineWorker::inside(const InsideRequest& request) {
  if (superseded(request.id, request.newest)) return;
  try {
    workbench::PromptInside out;
    out.ids = conversation_ids(request.conversation, &out.prompt_length);
    out.experts_per_tok = model_->config().num_experts_per_tok;
    const auto started = std::chrono::steady_clock::now();
    InspectOptions inspect;
    inspect.attention = request.keep_attention;
    const ModelConfig& c = model_->config();
    const std::int64_t n = std::int64_t(out.ids.size());
    const std::int64_t all_rows_bytes = std::int64_t(sizeof(float)) * c.num_attention_heads * n * n * c.count(LayerKind::Attention);
    if (request.keep_attention && all_rows_bytes > request.full_attention_bytes)
      inspect.attention_rows = {workbench::reply_position(out.prompt_length, n, request.reply_index)};
    out.internals = inspect_prompt(*model_, out.ids, inspect, request.stop);
    const int moe_layers = int(out.internals.routers.size());
    out.entropy.resize(std::size_t(out.positions()) * std::size_t(moe_layers));
    for (std::int64_t pos = 0; pos < out.positions(); ++pos)
      for (int m = 0; m < moe_layers; ++m)
        out.entropy[std::size_t(pos) * std::size_t(moe_layers) + std::size_t(m)] =
            float(router_entropy(out.internals.routers[std::size_t(m)], out.experts(), pos));
    out.ms = ms_since(started);
    if (const Tokenizer* tokenizer = model_->tokenizer())
      for (TokenId id : out.ids) out.bytes.push_back(tokenizer->token_bytes(id));
    emit inside_ready(InsideResult{request.id, std::move(out)});
  } catch (const Cancelled&) {
    // Superseded while running (a newer inside request stopped it).
  } catch (const std::exception& error) {
    emit inspect_failed(request.id, QString::fromUtf8(error.what()));
  }
}

}  // namespace logitscope::gui
