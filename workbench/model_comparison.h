// SPDX-License-Identifier: GPL-3.0-or-later
// Two forward passes over the same tokens, compared (logitscope::compare_models), as the Effect and
// Compare docks read them: per position the KL between the two next-token distributions, whether the
// best guesses agree, both top-k lists and the overlap of every MoE layer's expert sets; summaries
// over the whole conversation and over the reply. The Effect dock compares a branch's interventions
// with its parent's on the same model, the Compare dock the window's model with a second one. Plain
// data the engine worker fills and the views only read; also the rules for which branch an
// intervention branch is compared with and whether a second model may be loaded (no engine code).
#pragma once

#include <QString>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "logitscope/compare.h"

namespace logitscope::workbench {

struct ChatMessage;

struct ModelComparison {
  std::vector<TokenId> ids;              // [positions] the prompt, then the reply
  std::int64_t prompt_length = 0;        // ids before the reply: reply token i sits at prompt_length + i
  std::vector<TokenComparison> tokens;   // [positions - 1] tokens[k] is position k + 1 (the first only conditions)
  ComparisonSummary whole;               // over every position
  ComparisonSummary reply;               // over the reply's tokens only (what the plot shows)
  std::string name_a, name_b;            // the two sides as the caption names them
  // Each side's interventions as describe() prints them, "from" counting reply tokens; "" for none.
  std::string interventions_a, interventions_b;
  std::int64_t intervened_from = -1;     // reply token from which B's interventions apply (-1: none)
  std::int64_t texts_diverge = -1;       // first reply token where the two branches' texts differ (-1: unknown)
  std::unordered_map<TokenId, std::string> labels;  // raw bytes of every id and top-k id (empty: no tokenizer)
  double ms = 0.0;                       // time the engine took

  bool empty() const { return tokens.empty(); }
  int reply_size() const { return int(std::int64_t(ids.size()) - prompt_length); }
  // The comparison of reply token `index` (the distributions it was chosen from), null outside the reply.
  const TokenComparison* at_reply(int index) const;
  // [reply_size()] KL(A||B) of each reply token.
  std::vector<double> reply_kl() const;
  // The reply token of a position, and back (may fall outside the reply).
  std::int64_t reply_index(std::int64_t pos) const { return pos - prompt_length; }
  // First reply token whose best guesses differ (-1: none in the reply).
  std::int64_t first_disagreement() const;
  std::string bytes_of(TokenId id) const;
};

// The first index where `a` and `b` differ; where one is a prefix of the other, the shorter's length;
// -1 when they are equal.
std::int64_t first_divergence(const std::vector<TokenId>& a, const std::vector<TokenId>& b);

// What an intervention branch is compared with: the nearest ancestor branch whose interventions
// differ from its own (a branch made from an intervention branch inherits them, and comparing the two
// would show nothing), else the plain model. Its tokens give where the texts diverge.
struct EffectReference {
  int branch = -1;                       // -1: no such ancestor (the plain model; no tokens of its own)
  Interventions interventions;           // the reference's ("from" counting reply tokens)
};
EffectReference effect_reference(const ChatMessage& reply, int branch);

// What decides whether a second model may be loaded beside the first.
struct SecondModelFit {
  std::int64_t vocab_a = 0, vocab_b = 0;
  bool gpu = false;                      // the second model goes to the GPU (else host memory)
  std::uint64_t bytes_a = 0;             // what the first holds on that same device (0: another device)
  std::uint64_t bytes_b = 0;             // the second's weights as stored (its safetensors files)
  bool shared_files = false;             // host memory: the same files, mapped once for both
  std::uint64_t memory_bytes = 0;        // host memory of this machine (0: unknown, not checked)
  // Both tokenizers read, the first id whose token differs (-1: none, or a model has no tokenizer;
  // logitscope::first_differing_token) and its raw bytes in each (empty: that tokenizer has no such id).
  std::int64_t differing_id = -1;
  std::string token_a, token_b;
};


// Why the second model cannot be loaded (empty: it may be): vocabularies of different sizes or
// tokenizers that give an id another token (either way their ids do not name the same tokens; the
// message names the first such id), or for host memory both models' weights together larger than the
// machine's memory, with the sizes. GPU memory is only known by trying: see second_model_out_of_memory.
QString second_model_refusal(const SecondModelFit& fit);
// The message for a second model whose load ran out of GPU memory: what it needs and what the first holds.
QString second_model_out_of_memory(const SecondModelFit& fit, const QString& engine_message);

}  // namespace logitscope::workbench
