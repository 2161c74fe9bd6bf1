// SPDX-License-Identifier: GPL-3.0-or-later
// The stages of a Hugging Face tokenizer pipeline as small polymorphic components, each built from
// its tokenizer.json object. Only ids matter to us, so text flows as plain strings without the
// offset alignment the Rust crate tracks; the one place offsets matter (Metaspace's "first" scheme)
// is carried as a flag on each piece.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "logitscope/types.h"
#include "tokenizer/json_util.h"

namespace logitscope::tok {

// A span of text on its way to the model. `at_start`: it begins at offset 0 of the original input.
struct Piece {
  std::string text;
  bool at_start = false;
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` by their sub-pieces; empty pieces are dropped, as in the Rust crate.
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // HF's decode_chain: token strings in, token strings out (joined by the caller).
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
  // The bytes one token stands for on its own (for token_bytes): byte mapping undone, "▁" as space,
  // but without the first-token and lossy-UTF-8 rules of decode_chain.
  virtual void raw_bytes(std::string& token) const { (void)token; }
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void process(std::vector<TokenId>& ids, bool add_special_tokens) const = 0;
};

std::unique_ptr<Normalizer> make_normalizer(const Json& j, const JsonCtx& ctx);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j, const JsonCtx& ctx);
std::unique_ptr<Decoder> make_decoder(const Json& j, const JsonCtx& ctx);
std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const JsonCtx& ctx);

}  // namespace logitscope::tok
