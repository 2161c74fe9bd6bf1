// SPDX-License-Identifier: GPL-3.0-or-later
// Runs prepared requests on the one Session, on the generation worker thread. Keeps the session
// between requests and reuses the longest common prefix of the token sequence (a chat's earlier
// turns, a completion stepped one token at a time) via Session::rewind_to. Turns the TokenEvents into
// Pieces: text through a DecodeStream, stop strings, the reasoning split, per-token details.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <stop_token>

#include "generation_types.h"
#include "logitscope/model.h"
#include "logitscope/session.h"

namespace logitscope::server {

class GenerationRunner {
 public:
  // `token_delay`: sleep after every generated token (tests use it to hold the queue busy).
  GenerationRunner(const Model& model, std::chrono::milliseconds token_delay = {});
  ~GenerationRunner();

  // Pushes pieces to `out` and closes it, always. Cancelled runs push nothing more.
  void run(const PreparedRequest& request, PieceChannel& out, std::stop_token stop);

 private:
  void position_session(const std::vector<TokenId>& prompt, const PreparedRequest& request);

  const Model& model_;
  std::chrono::milliseconds token_delay_;
  std::unique_ptr<Session> session_;
  std::optional<std::uint64_t> last_seed_;
  std::mt19937_64 seeds_;
};

}  // namespace logitscope::server
