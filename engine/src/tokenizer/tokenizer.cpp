// SPDX-License-Identifier: GPL-3.0-or-later
// Tokenizer::from_file: reads tokenizer.json and assembles the pipeline
// (added tokens -> normalizer -> pre-tokenizer -> BPE -> post-processor; decoder for the way back).
#include "logitscope/tokenizer.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "logitscope/errors.h"
#include "tokenizer/added_vocab.h"
#include "tokenizer/bpe.h"
#include "tokenizer/components.h"
#include "tokenizer/unicode.h"

namespace logitscope {

namespace {

using tok::Json;
using tok::JsonCtx;

class HfTokenizer final : public Tokenizer {
 public:
  HfTokenizer(const Json& root, const JsonCtx& ctx) {
    if (!root.is_object()) ctx.fail("the top level must be a JSON object");
    const Json& model = ctx.field(root, "model", "tokenizer");
    std::string type = ctx.str_or(model, "type", "", "model");
    if (type.empty()) {
      // Older files omit the model type; a BPE model is recognisable by its merges.
      if (model.is_object() && model.contains("merges")) type = "BPE";
      else ctx.fail("model has no field 'type'");
    }
    if (type != "BPE") ctx.fail("model type '" + type + "' is not supported (only BPE)");
    model_ = std::make_unique<tok::BpeModel>(model, ctx);

    auto get = [&](const char* name) -> const Json& {
      static const Json null_json;
      auto it = root.find(name);
      return it == root.end() ? null_json : *it;
    };
    normalizer_ = tok::make_normalizer(get("normalizer"), ctx);
    pre_tokenizer_ = tok::make_pre_tokenizer(get("pre_tokenizer"), ctx);
    post_processor_ = tok::make_post_processor(get("post_processor"), ctx);
    decoder_ = tok::make_decoder(get("decoder"), ctx);
    if (!get("truncation").is_null()) ctx.fail("truncation is not supported (set \"truncation\": null)");
    if (!get("padding").is_null()) ctx.fail("padding is not supported (set \"padding\": null)");

    std::vector<tok::AddedToken> added;
    const Json& list = get("added_tokens");
    if (!list.is_null() && !list.is_array()) ctx.fail("field 'added_tokens' must be an array");
    // Ids are assigned the way the Rust crate does on load: a token already in the model keeps the
    // model's id, a new one goes after the model vocab (the "id" field in the file is not trusted).
    std::unordered_map<std::string, TokenId> assigned;
    TokenId max_added = -1;
    const TokenId model_size = TokenId(model_->vocab_entries());
    for (std::size_t i = 0; list.is_array() && i < list.size(); ++i) {
      const Json& t = list[i];
      const std::string where = "added_tokens[" + std::to_string(i) + "]";
      tok::AddedToken a;
      a.content = ctx.str(t, "content", where);
      a.single_word = ctx.flag(t, "single_word", false, where);
      a.lstrip = ctx.flag(t, "lstrip", false, where);
      a.rstrip = ctx.flag(t, "rstrip", false, where);
      a.normalized = ctx.flag(t, "normalized", !ctx.flag(t, "special", false, where), where);
      a.special = ctx.flag(t, "special", false, where);
      if (a.content.empty()) continue;
      if (auto id = model_->token_to_id(a.content)) {
        a.id = *id;
      } else if (auto it = assigned.find(a.content); it != assigned.end()) {
        a.id = it->second;
      } else {
        a.id = max_added < 0 ? model_size : (max_added >= model_size || model_size == 0 ? max_added + 1 : model_size);
        assigned.emplace(a.content, a.id);
        max_added = std::max(max_added, a.id);
      }
      added.push_back(std::move(a));
    }
    added_ = std::make_unique<tok::AddedVocabulary>(std::move(added), normalizer_.get());
    vocab_size_ = std::size_t(model_->max_id() + 1);
    for (const auto& a : added_->tokens()) vocab_size_ = std::max(vocab_size_, std::size_t(a.id) + 1);
  }

  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens) const override {
    if (auto bad = tok::find_invalid_utf8(text); bad != std::string_view::npos)
      throw Error("tokenizer: the text is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    std::vector<TokenId> ids;
    ids.reserve(text.size() / 3 + 8);
    std::vector<tok::Segment> segments;
    added_->extract_and_normalize(text, normalizer_.get(), segments);
    std::vector<tok::Piece> pieces;
    for (auto& segment : segments) {
      if (segment.token >= 0) {
        ids.push_back(segment.token);
        continue;
      }
      pieces.clear();
      pieces.push_back(std::move(segment.piece));
      if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pieces);
      for (const auto& p : pieces) model_->tokenize(p.text, ids);
    }
    if (post_processor_) post_processor_->process(ids, add_special_tokens);
    return ids;
  }

  std::string decode(std::span<const TokenId> ids, bool skip_special_tokens) const override {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (TokenId id : ids) {
      // Unknown ids are skipped silently, as the Rust crate does.
      const std::string* s = lookup(id);
      if (!s) continue;
      if (skip_special_tokens && added_->is_special_content(*s)) continue;
      tokens.push_back(*s);
    }
    if (!decoder_) {
      std::string out;
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (i) out.push_back(' ');
        out += tokens[i];
      }
      return out;
    }
    decoder_->decode_chain(tokens);
    std::string out;
    for (const auto& t : tokens) out += t;
    return out;
  }

  std::string token_bytes(TokenId id) const override {
    const std::string* s = lookup(id);
    if (!s) return {};
    std::string bytes = *s;
    if (added_->by_id(id)) return bytes;  // added tokens stand for their own text
    if (decoder_) decoder_->raw_bytes(bytes);
    return bytes;
  }

  std::string token_string(TokenId id) const override {
    const std::string* s = lookup(id);
    return s ? *s : std::string();
  }

  std::optional<TokenId> token_to_id(std::string_view token) const override {
    if (const auto* a = added_->by_content(token)) return a->id;
    return model_->token_to_id(token);
  }

  bool is_special(TokenId id) const override {
    const auto* a = added_->by_id(id);
    return a && a->special;
  }

  std::size_t vocab_size() const override { return vocab_size_; }

 private:
  const std::string* lookup(TokenId id) const {
    if (const auto* a = added_->by_id(id)) return &a->content;
    return model_->id_to_token(id);
  }

  std::unique_ptr<tok::BpeModel> model_;
  std::unique_ptr<tok::Normalizer> normalizer_;
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer_;
  std::unique_ptr<tok::PostProcessor> post_processor_;
  std::unique_ptr<tok::Decoder> decoder_;
  std::unique_ptr<tok::AddedVocabulary> added_;
  std::size_t vocab_size_ = 0;
};

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_file(const std::filesystem::path& path) {
  std::filesystem::path file = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) file = path / "tokenizer.json";
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    if (std::filesystem::is_directory(path, ec)) throw Error(path.string() + ": folder has no tokenizer.json");
    throw Error(file.string() + ": cannot open the tokenizer file");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  JsonCtx ctx{file.string()};
  Json root;
  try {
    root = Json::parse(buffer.str());
  } catch (const Json::exception& e) {
    ctx.fail(std::string("is not valid JSON: ") + e.what());
  }
  try {
    return std::make_unique<HfTokenizer>(root, ctx);
  } catch (const Error&) {
    throw;
  } catch (const Json::exception& e) {
    // A field of an unexpected JSON type that the checked accessors did not cover.
    ctx.fail(std::string("unexpected JSON structure: ") + e.what());
  }
}

DecodeStream::DecodeStream(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_(skip_special_tokens) {}

// Same scheme as the Rust crate's DecodeStream: decode a small window of ids, emit what grew beyond
// the text already emitted unless it ends in U+FFFD (an incomplete character), then slide the window
// so the previous tokens stay as context (decoders treat the first token specially).
std::string DecodeStream::push(TokenId id) {
  ids_.push_back(id);
  std::string text = tokenizer_.decode(ids_, skip_special_);
  if (text.size() <= prefix_.size() || text.ends_with("\xEF\xBF\xBD")) return {};
  std::string fresh;
  if (text.compare(0, prefix_.size(), prefix_) == 0) {
    fresh = text.substr(prefix_.size());
  } else {
    // The window's context decoded differently once more ids arrived; emit the new tail only.
    fresh = text.substr(std::min(text.size(), emitted_bytes_));
  }
  std::size_t new_prefix_start = ids_.size() - prefix_start_;
  ids_.erase(ids_.begin(), ids_.begin() + std::ptrdiff_t(prefix_start_));
  prefix_ = tokenizer_.decode(ids_, skip_special_);
  emitted_bytes_ = prefix_.size();
  prefix_start_ = new_prefix_start;
  return fresh;
}

std::string DecodeStream::flush() {
  std::string text = tokenizer_.decode(ids_, skip_special_);
  std::string rest;
  if (text.size() > prefix_.size() && text.compare(0, prefix_.size(), prefix_) == 0) rest = text.substr(prefix_.size());
  ids_.clear();
  prefix_.clear();
  emitted_bytes_ = 0;
  prefix_start_ = 0;
  return rest;
}

std::optional<TokenId> first_differing_token(const Tokenizer& a, const Tokenizer& b) {
  const std::size_t shared = std::min(a.vocab_size(), b.vocab_size());
  for (std::size_t id = 0; id < shared; ++id)
    if (a.token_bytes(TokenId(id)) != b.token_bytes(TokenId(id))) return TokenId(id);
  if (a.vocab_size() != b.vocab_size()) return TokenId(shared);
  return std::nullopt;
}

}  // namespace logitscope
