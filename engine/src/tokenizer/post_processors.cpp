// SPDX-License-Identifier: GPL-3.0-or-later
// Post-processors for single sequences: TemplateProcessing, ByteLevel (ids unchanged),
// RobertaProcessing / BertProcessing (cls A sep), Sequence.
#include "tokenizer/components.h"

namespace logitscope::tok {

namespace {

class Template : public PostProcessor {
 public:
  Template(const Json& j, const JsonCtx& ctx) {
    const std::string where = "post_processor TemplateProcessing";
    const Json& specials = ctx.field(j, "special_tokens", where);
    if (!specials.is_object()) ctx.fail(where + " field 'special_tokens' must be an object");
    for (const auto& item : ctx.array(j, "single", where)) {
      if (item.is_object() && item.contains("Sequence")) {
        const Json& seq = item["Sequence"];
        if (ctx.str(seq, "id", where + " Sequence") != "A")
          ctx.fail(where + " single template may only use sequence A");
        template_.push_back({});
      } else if (item.is_object() && item.contains("SpecialToken")) {
        std::string name = ctx.str(item["SpecialToken"], "id", where + " SpecialToken");
        auto it = specials.find(name);
        if (it == specials.end())
          ctx.fail(where + " uses special token '" + name + "' that is missing from special_tokens");
        std::vector<TokenId> ids;
        for (const auto& id : ctx.array(*it, "ids", where + " special_tokens '" + name + "'")) {
          if (!id.is_number_integer()) ctx.fail(where + " special_tokens '" + name + "' ids must be integers");
          ids.push_back(id.get<TokenId>());
        }
        template_.push_back({true, std::move(ids)});
      } else {
        ctx.fail(where + " single items must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
    }
  }
  void process(std::vector<TokenId>& ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    std::vector<TokenId> out;
    out.reserve(ids.size() + 4);
    for (const auto& item : template_) {
      if (item.special) out.insert(out.end(), item.ids.begin(), item.ids.end());
      else out.insert(out.end(), ids.begin(), ids.end());
    }
    ids = std::move(out);
  }

 private:
  struct Item {
    bool special = false;
    std::vector<TokenId> ids;
  };
  std::vector<Item> template_;
};

class ClsSep : public PostProcessor {
 public:
  ClsSep(const Json& j, const JsonCtx& ctx, const std::string& where) {
    cls_ = read(j, "cls", ctx, where);
    sep_ = read(j, "sep", ctx, where);
  }
  void process(std::vector<TokenId>& ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    ids.insert(ids.begin(), cls_);
    ids.push_back(sep_);
  }

 private:
  static TokenId read(const Json& j, const char* name, const JsonCtx& ctx, const std::string& where) {
    const Json& v = ctx.field(j, name, where);
    if (!v.is_array() || v.size() != 2 || !v[1].is_number_integer())
      ctx.fail(where + " field '" + name + "' must be [token, id]");
    return v[1].get<TokenId>();
  }
  TokenId cls_ = 0, sep_ = 0;
};

class NoOp : public PostProcessor {
 public:
  void process(std::vector<TokenId>&, bool) const override {}
};

class SequencePost : public PostProcessor {
 public:
  explicit SequencePost(std::vector<std::unique_ptr<PostProcessor>> items) : items_(std::move(items)) {}
  void process(std::vector<TokenId>& ids, bool add_special_tokens) const override {
    for (const auto& p : items_) p->process(ids, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> items_;
};

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const JsonCtx& ctx) {
  if (j.is_null()) return nullptr;
  std::string type = ctx.str(j, "type", "post_processor");
  if (type == "TemplateProcessing") return std::make_unique<Template>(j, ctx);
  if (type == "ByteLevel") return std::make_unique<NoOp>();
  if (type == "RobertaProcessing" || type == "BertProcessing")
    return std::make_unique<ClsSep>(j, ctx, "post_processor " + type);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PostProcessor>> items;
    for (const auto& item : ctx.array(j, "processors", "post_processor Sequence")) {
      if (auto p = make_post_processor(item, ctx)) items.push_back(std::move(p));
    }
    return std::make_unique<SequencePost>(std::move(items));
  }
  ctx.fail("post_processor type '" + type + "' is not supported");
}

}  // namespace logitscope::tok
