// SPDX-License-Identifier: GPL-3.0-or-later
// Session: the token sequence and the backend caches of one conversation.
//
// Tokens are fed lazily: prefill() and step() append to `tokens_`, and the next step() (or
// flush()) runs whatever has not been fed yet. So a step's forward pass is the one whose input was
// the previous token, and its routing is reported with the token it produced.
//
// Rewinding a hybrid model: attention caches just truncate, but Mamba state cannot be un-applied.
// The session keeps recurrent-state checkpoints (after prefill, and every `checkpoint_interval`
// fed tokens) and rewinds by restoring the nearest one at or before the target and replaying the
// tokens since, so the result equals a fresh prefill of the kept tokens.
#include "logitscope/session.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <new>
#include <random>

#include "backend/backend.h"
#include "logitscope/errors.h"
#include "logitscope/tokenizer.h"
#include "model/mapped_file_guard.h"
#include "session/sampler.h"

namespace logitscope {

const char* to_string(StopReason reason) {
  switch (reason) {
    case StopReason::MaxTokens: return "max_tokens";
    case StopReason::StopToken: return "stop_token";
    case StopReason::Cancelled: return "cancelled";
    case StopReason::ContextFull: return "context_full";
  }
  return "?";
}

namespace {
double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

struct Session::Impl {
  Backend& backend;
  SessionOptions options;
  std::unique_ptr<BackendState> state;
  std::map<std::int64_t, std::unique_ptr<RecurrentCheckpoint>> checkpoints;  // by fed count
  std::int64_t last_checkpoint_fed = 0;
  std::int64_t checkpoints_lost_to_memory = 0;  // dropped or not taken for lack of memory
  std::mt19937_64 rng;
  std::uint64_t rng_seed = 0;
  bool rng_seeded = false;
  std::unique_ptr<DecodeStream> decoder;
  double last_forward_ms = 0.0;
  Interventions interventions;  // applied to every forward from their from_position on

  Impl(Backend& b, const SessionOptions& o, std::int64_t max_context)
      : backend(b), options(o), state(b.create_state(max_context)) {}

  // Brings the state back to the newest checkpoint with fed <= limit (or empty).
  void roll_back(std::int64_t limit) {
    auto it = checkpoints.upper_bound(limit);
    if (it == checkpoints.begin()) {
      backend.reset(*state);
    } else {
      backend.restore(*state, *std::prev(it)->second);
    }
    last_checkpoint_fed = state->fed;
  }

  void take_checkpoint() {
    last_checkpoint_fed = state->fed;
    std::unique_ptr<RecurrentCheckpoint> cp;
    try {
      cp = backend.checkpoint(*state);
    } catch (const OutOfMemory&) {
      // Checkpoints only make rewinds cheaper: out of memory, give back the older half and try
      // once more; failing again, go on without one (a rewind replays from an earlier checkpoint).
      for (std::size_t n = checkpoints.size() / 2; n > 0 && !checkpoints.empty(); --n) {
        checkpoints.erase(checkpoints.begin());
        ++checkpoints_lost_to_memory;
      }
      try {
        cp = backend.checkpoint(*state);
      } catch (const OutOfMemory&) {
        ++checkpoints_lost_to_memory;
        return;
      }
    } catch (const std::bad_alloc&) {
      ++checkpoints_lost_to_memory;
      return;
    }
    checkpoints[state->fed] = std::move(cp);
    // Thin out: past the limit, drop every other checkpoint except the newest.
    if (static_cast<int>(checkpoints.size()) > std::max(2, options.max_checkpoints)) {
      bool drop = false;
      for (auto it = checkpoints.begin(); it != std::prev(checkpoints.end());) {
        it = drop ? checkpoints.erase(it) : std::next(it);
        drop = !drop;
      }
    }
  }
};

Session::Session(const Model& model, const SessionOptions& options) : model_(model) {
  std::int64_t max_context = options.max_context > 0 ? options.max_context : model.max_context();
  if (max_context <= 0) max_context = 4096;
  impl_ = std::make_unique<Impl>(model.backend(), options, max_context);
  if (model.tokenizer()) impl_->decoder = std::make_unique<DecodeStream>(*model.tokenizer());
}

Session::~Session() = default;

std::int64_t Session::max_context() const { return impl_->state->max_context; }

std::int64_t Session::checkpoints_lost_to_memory() const { return impl_->checkpoints_lost_to_memory; }

void Session::prefill(std::span<const TokenId> tokens) {
  if (length() + std::int64_t(tokens.size()) > max_context())
    throw Error("the prompt needs " + std::to_string(length() + tokens.size()) + " tokens but the context holds " +
                std::to_string(max_context()) + " (shorten it or load with a longer context)");
  check_token_ids(tokens, model_.config().vocab_size);
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
}

void Session::flush(std::stop_token stop) {
  Impl& s = *impl_;
  const std::int64_t pending = length() - s.state->fed;
  if (pending <= 0) return;
  const auto start = std::chrono::steady_clock::now();
  ForwardOptions options;
  options.capture_routing = true;
  options.interventions = &s.interventions;
  try {
    // A long prompt is fed in pieces that end on checkpoint boundaries, so a later rewind into the
    // prompt replays at most one interval.
    const std::int64_t interval = std::max(1, s.options.checkpoint_interval);
    while (s.state->fed < length()) {
      std::int64_t end = length();
      if (length() - s.state->fed > interval) end = (s.state->fed / interval + 1) * interval;
      if (length() - end < interval / 2) end = length();  // no tiny tail
      std::span<const TokenId> part(tokens_.data() + s.state->fed, static_cast<std::size_t>(end - s.state->fed));
      s.backend.forward(*s.state, part, options, stop);
      if (s.state->fed - s.last_checkpoint_fed >= interval || pending > 1) s.take_checkpoint();
    }
  } catch (...) {
    // Cancelled, out of memory, a device error: the state is unusable mid-forward. Back to the last
    // checkpoint; the tokens stay pending and feed again on the next call.
    s.roll_back(length());
    throw;
  }
  throw_if_mapping_faulted();  // a shard shrank under the mapping during this forward
  s.last_forward_ms = ms_since(start);
}

TokenEvent Session::step(const SamplingParams& sampling, const ProbeOptions& probe, std::optional<TokenId> forced,
                         std::stop_token stop) {
  Impl& s = *impl_;
  if (tokens_.empty()) throw Error("nothing to continue from: prefill at least one token first");
  if (length() >= max_context()) throw Error("the context is full (" + std::to_string(max_context()) + " tokens)");
  const bool fed_now = s.state->fed < length();
  flush(stop);
  if (!s.rng_seeded || s.rng_seed != sampling.seed) {
    s.rng.seed(sampling.seed);
    s.rng_seed = sampling.seed;
    s.rng_seeded = true;
  }
  ChoiceRequest request;
  request.sampling = sampling;
  request.report_top_k = std::clamp(probe.top_k, 0, 50);
  request.forced = forced;
  request.uniform = uniform_from_bits(s.rng());
  const auto start = std::chrono::steady_clock::now();
  ChoiceResult choice = s.backend.choose(*s.state, request);
  TokenEvent event;
  event.timing.sample_ms = ms_since(start);
  event.timing.forward_ms = fed_now ? s.last_forward_ms : 0.0;
  event.pos = length();
  event.id = choice.id;
  event.forced = forced.has_value();
  const auto& stop_ids = model_.info().stop_ids;
  event.end_of_turn = std::find(stop_ids.begin(), stop_ids.end(), event.id) != stop_ids.end();
  event.prob = choice.prob;
  event.logprob = choice.logprob;
  event.entropy = choice.entropy;
  event.top_k = std::move(choice.top_k);
  if (probe.routing) event.routing = s.backend.routing(*s.state);
  if (const Tokenizer* tok = model_.tokenizer()) {
    event.bytes = tok->token_bytes(event.id);
    if (s.decoder) event.text = s.decoder->push(event.id);
  }
  tokens_.push_back(event.id);
  return event;
}

NextTokenPreview Session::peek(const ProbeOptions& probe, std::stop_token stop) {
  Impl& s = *impl_;
  if (tokens_.empty()) throw Error("nothing to continue from: prefill at least one token first");
  flush(stop);
  ChoiceRequest request;
  request.sampling.greedy = true;
  request.report_top_k = std::clamp(probe.top_k, 0, 50);
  ChoiceResult choice = s.backend.choose(*s.state, request);
  NextTokenPreview preview;
  preview.pos = length();
  preview.entropy = choice.entropy;
  preview.top_k = std::move(choice.top_k);
  if (probe.routing) preview.routing = s.backend.routing(*s.state);
  return preview;
}

GenerateResult Session::generate(const GenerateOptions& options, const SamplingParams& sampling,
                                 const ProbeOptions& probe, const OnToken& on_token, std::stop_token stop) {
  GenerateResult result;
  const auto start = std::chrono::steady_clock::now();
  try {
    flush(stop);
  } catch (const Cancelled&) {
    result.reason = StopReason::Cancelled;
    return result;
  }
  result.prefill_ms = ms_since(start);
  const std::vector<TokenId>& stop_ids = options.stop_ids.empty() ? model_.info().stop_ids : options.stop_ids;
  // A generation is reproducible from its seed alone: the random stream starts afresh here (step()
  // alone keeps one stream going, so stepping by hand does not repeat the same draw).
  impl_->rng.seed(sampling.seed);
  impl_->rng_seed = sampling.seed;
  impl_->rng_seeded = true;
  bool thinking = options.starts_in_thinking;
  int thinking_tokens = 0;
  const auto decode_start = std::chrono::steady_clock::now();
  result.reason = StopReason::MaxTokens;
  for (int n = 0; n < options.max_new_tokens; ++n) {
    if (stop.stop_requested()) {
      result.reason = StopReason::Cancelled;
      break;
    }
    if (length() >= max_context()) {
      result.reason = StopReason::ContextFull;
      break;
    }
    std::optional<TokenId> forced;
    if (thinking && options.thinking_budget >= 0 && thinking_tokens >= options.thinking_budget && options.think_end_id >= 0)
      forced = options.think_end_id;
    TokenEvent event;
    try {
      event = step(sampling, probe, forced, stop);
    } catch (const Cancelled&) {
      result.reason = StopReason::Cancelled;
      break;
    }
    if (n == 0) result.time_to_first_token_ms = ms_since(start);
    if (event.id == options.think_start_id) {
      thinking = true;
      thinking_tokens = 0;
    } else if (event.id == options.think_end_id) {
      thinking = false;
    } else if (thinking) {
      ++thinking_tokens;
    }
    // This generation's stop ids decide (a caller may have dropped or added some of the model's).
    event.end_of_turn = std::find(stop_ids.begin(), stop_ids.end(), event.id) != stop_ids.end();
    result.events.push_back(event);
    const bool keep_going = on_token ? on_token(result.events.back()) : true;
    if (event.end_of_turn) {
      result.reason = StopReason::StopToken;
      break;
    }
    if (!keep_going) {
      result.reason = StopReason::Cancelled;
      break;
    }
  }
  result.decode_ms = ms_since(decode_start);
  return result;
}

void Session::rewind_to(std::int64_t target) {
  Impl& s = *impl_;
  if (target < 0 || target > length())
    throw Error("cannot rewind to " + std::to_string(target) + " tokens: the sequence has " + std::to_string(length()));
  tokens_.resize(static_cast<std::size_t>(target));
  last_replay_ = 0;
  // Checkpoints past the target describe tokens that are gone.
  s.checkpoints.erase(s.checkpoints.upper_bound(target), s.checkpoints.end());
  if (s.decoder) s.decoder = std::make_unique<DecodeStream>(*model_.tokenizer());
  if (s.state->fed <= target) return;  // nothing fed past the target: pending tokens feed lazily
  // The newest checkpoint that leaves at least one token to replay (which gives the logits).
  s.roll_back(target - 1);
  const std::int64_t from = s.state->fed;
  ForwardOptions options;
  options.interventions = &s.interventions;
  try {
    s.backend.forward(*s.state, std::span<const TokenId>(tokens_.data() + from, static_cast<std::size_t>(target - from)),
                      options);
  } catch (...) {
    s.roll_back(target - 1);  // consistent again; the replayed tokens stay pending
    throw;
  }
  throw_if_mapping_faulted();
  last_replay_ = target - from;
}

void Session::reset() { rewind_to(0); }

void Session::set_interventions(const Interventions& interventions) {
  Impl& s = *impl_;
  validate(interventions, model_.config());
  if (interventions == s.interventions) return;
  // Tokens fed at or after the first position either set touches ran under the old set.
  std::int64_t changed = length();
  if (!s.interventions.empty()) changed = std::min(changed, s.interventions.from_position);
  if (!interventions.empty()) changed = std::min(changed, interventions.from_position);
  s.interventions = interventions;
  if (s.state->fed <= changed) return;
  s.checkpoints.erase(s.checkpoints.upper_bound(changed), s.checkpoints.end());
  s.roll_back(changed);  // the tokens since stay pending and run again, under the new set
}

const Interventions& Session::interventions() const { return impl_->interventions; }

std::vector<float> Session::evaluate(std::span<const TokenId> ids, std::vector<std::vector<RoutingSlice>>* routing,
                                     std::stop_token stop) {
  reset();
  prefill(ids);
  Impl& s = *impl_;
  ForwardOptions options;
  options.all_logits = true;
  options.capture_routing = routing != nullptr;
  options.interventions = &s.interventions;
  try {
    s.backend.forward(*s.state, ids, options, stop);
  } catch (...) {
    s.roll_back(0);  // the tokens stay pending
    throw;
  }
  throw_if_mapping_faulted();
  s.take_checkpoint();
  if (routing) *routing = s.backend.routing_all(*s.state);
  return s.backend.logits(*s.state);
}

std::vector<float> Session::last_logits() {
  flush();
  return impl_->backend.logits(*impl_->state);
}

}  // namespace logitscope
