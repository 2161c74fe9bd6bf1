// SPDX-License-Identifier: GPL-3.0-or-later
#include "generation_runner.h"

#include <algorithm>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "logitscope/chat.h"
#include "logitscope/errors.h"
#include "logitscope/tokenizer.h"
#include "stop_strings.h"

namespace logitscope::server {
namespace {

// Closes the channel however run() leaves.
struct CloseOnExit {
  PieceChannel& channel;
  ~CloseOnExit() { channel.close(); }
};

// Sleeps, waking early when `stop` is requested.
void sleep_unless_stopped(std::chrono::milliseconds delay, std::stop_token stop) {
  if (delay.count() <= 0) return;
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait_for(lock, stop, delay, [] { return false; });
}

// Text state of one generation: what has been decoded, and what has been sent of each part.
class TextProgress {
 public:
  TextProgress(const PreparedRequest& request) : request_(request), stops_(request.stop_strings) {}

  StopStringMatcher& stops() { return stops_; }

  // Moves the newly showable text into `piece` (reasoning and content apart for chat).
  void release(Piece& piece) {
    const std::string_view visible = std::string_view(stops_.text()).substr(0, stops_.releasable());
    if (!request_.split_reasoning) {
      piece.content += std::string(visible.substr(std::min(sent_content_, visible.size())));
      sent_content_ = std::max(sent_content_, visible.size());
      return;
    }
    const ReasoningSplit split = split_reasoning(visible, request_.generate.starts_in_thinking);
    // Both parts only grow (apart from whitespace trimming, which only withholds), so send suffixes.
    if (split.reasoning.size() > sent_reasoning_.size() && split.reasoning.starts_with(sent_reasoning_)) {
      piece.reasoning += split.reasoning.substr(sent_reasoning_.size());
      sent_reasoning_ = split.reasoning;
    }
    if (split.answer.size() > sent_answer_.size() && split.answer.starts_with(sent_answer_)) {
      piece.content += split.answer.substr(sent_answer_.size());
      sent_answer_ = split.answer;
    }
  }

 private:
  const PreparedRequest& request_;
  StopStringMatcher stops_;
  std::size_t sent_content_ = 0;
  std::string sent_reasoning_;
  std::string sent_answer_;
};

TokenInfo token_info(const TokenEvent& e, const PreparedRequest& request, bool is_stop) {
  TokenInfo t;
  t.pos = e.pos;
  t.id = e.id;
  t.is_stop = is_stop;
  t.prob = e.prob;
  t.logprob = e.logprob;
  t.entropy = e.entropy;
  const std::size_t top = std::size_t(std::max(request.top_logprobs, request.ext_tokens ? 5 : 0));
  t.top.assign(e.top_k.begin(), e.top_k.begin() + std::min(top, e.top_k.size()));
  if (request.ext_routing) t.routing = e.routing;
  return t;
}

}  // namespace

GenerationRunner::GenerationRunner(const Model& model, std::chrono::milliseconds token_delay)
    : model_(model), token_delay_(token_delay), seeds_(std::random_device{}()) {}

GenerationRunner::~GenerationRunner() = default;

void GenerationRunner::position_session(const std::vector<TokenId>& prompt, const PreparedRequest& request) {
  // The engine reseeds its sampler only when the seed changes; a request repeating the last seed
  // gets a fresh session so that the same seed gives the same tokens.
  const bool same_seed = request.seeded && last_seed_ && *last_seed_ == request.sampling.seed;
  if (!session_ || same_seed) session_ = std::make_unique<Session>(model_);
  last_seed_ = request.sampling.seed;
  const std::vector<TokenId>& have = session_->tokens();
  std::size_t common = 0;
  while (common < have.size() && common < prompt.size() && have[common] == prompt[common]) ++common;
  // Keep at least one prompt token to feed: its forward pass gives the first distribution.
  const std::size_t keep = std::min(common, prompt.size() - 1);
  try {
    if (keep < have.size()) session_->rewind_to(std::int64_t(keep));
  } catch (const Error& e) {
    std::cerr << "logitscope-cli serve: rewind failed, starting a fresh session: " << e.what() << "\n";
    session_ = std::make_unique<Session>(model_);
  }
  const std::size_t from = std::min<std::size_t>(session_->tokens().size(), keep);
  session_->prefill(std::span<const TokenId>(prompt.data() + from, prompt.size() - from));
}

void GenerationRunner::run(const PreparedRequest& request, PieceChannel& out, std::stop_token stop) {
  CloseOnExit close{out};
  if (stop.stop_requested()) return;
  PreparedRequest r = request;
  if (!r.seeded) r.sampling.seed = seeds_();
  try {
    position_session(r.prompt_ids, r);
  } catch (const Error& e) {
    Piece failed;
    failed.final = true;
    failed.error = ApiError(400, e.what());
    out.push(std::move(failed));
    session_.reset();
    return;
  }

  const Tokenizer* tokenizer = model_.tokenizer();
  std::optional<DecodeStream> decoder;
  if (tokenizer) decoder.emplace(*tokenizer, /*skip_special_tokens=*/false);
  TextProgress text(r);
  const bool want_tokens = r.logprobs || r.ext_tokens;
  ProbeOptions probe;
  probe.top_k = std::max(r.top_logprobs, r.ext_tokens ? 5 : 0);
  probe.routing = r.ext_routing;

  std::int64_t generated = 0;
  auto on_token = [&](const TokenEvent& event) {
    ++generated;
    const bool is_stop = event.end_of_turn;  // one of r.generate.stop_ids (Session::generate decides)
    // The end-of-sequence token's text (e.g. <|im_end|>) is not part of the answer.
    if (!is_stop && decoder) text.stops().append(decoder->push(event.id));
    Piece piece;
    if (want_tokens) piece.tokens.push_back(token_info(event, r, is_stop));
    text.release(piece);
    if (!piece.tokens.empty() || !piece.content.empty() || !piece.reasoning.empty()) out.push(std::move(piece));
    sleep_unless_stopped(token_delay_, stop);
    return !text.stops().matched() && !stop.stop_requested();
  };

  GenerateResult result;
  try {
    result = session_->generate(r.generate, r.sampling, probe, on_token, stop);
  } catch (const std::exception& e) {
    std::cerr << "logitscope-cli serve: generation failed: " << e.what() << "\n";
    session_.reset();  // its state is unknown now
    Piece failed;
    failed.final = true;
    failed.error = ApiError(500, std::string("generation failed: ") + e.what(), "server_error");
    out.push(std::move(failed));
    return;
  }
  if (stop.stop_requested()) return;  // the client went away; nobody reads the rest

  if (!text.stops().matched() && decoder) text.stops().append(decoder->flush());
  text.stops().finish();
  Piece last;
  text.release(last);
  last.final = true;
  const bool stopped = text.stops().matched() || result.reason == StopReason::StopToken;
  last.finish_reason = stopped ? "stop" : "length";
  last.prompt_tokens = std::int64_t(r.prompt_ids.size());
  last.completion_tokens = generated;
  out.push(std::move(last));
}

}  // namespace logitscope::server
