// SPDX-License-Identifier: GPL-3.0-or-later
// Two models on the same tokens: a model against itself agrees exactly (KL 0, same top-1, same
// experts); an F32 checkpoint against its NVFP4 form differs by a small, positive KL; the CLI's
// `compare --jsonl` prints one object per token with the documented fields.
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "golden.h"
#include "logitscope/compare.h"
#include "logitscope/errors.h"
#include "logitscope/model.h"
#include "logitscope/tokenizer.h"
#include "reference_model.h"

using namespace logitscope;

namespace {

std::unique_ptr<Model> load(const std::string& dir, WeightFormat quantize = WeightFormat::Bf16) {
  return logitscope::test::load_cpu_reference(dir, true, quantize);
}

std::string source() { return (logitscope::test::fixtures_dir() / "quantized" / "sources" / "tiny-nvfp4").string(); }

}  // namespace

class Compare : public QObject {
  Q_OBJECT
 private slots:
  void a_model_against_itself_agrees_exactly() {
    auto a = load(source()), b = load(source());
    const auto gold = logitscope::test::read_json(logitscope::test::fixtures_dir() / "quantized" / "tiny-nvfp4" / "golden.json");
    const auto ids = gold.at("prompt_ids").get<std::vector<TokenId>>();
    const auto tokens = compare_models(*a, *b, ids, 3);
    QCOMPARE(tokens.size(), ids.size() - 1);
    for (const auto& t : tokens) {
      QCOMPARE(t.kl, 0.0);
      QVERIFY(t.top1_agree);
      QCOMPARE(t.logprob_a, t.logprob_b);
      QCOMPARE(t.id, ids[std::size_t(t.pos)]);
      QCOMPARE(int(t.expert_overlap.size()), 3);  // MoE layers of M*EM-EM*E
      for (const auto& o : t.expert_overlap) QCOMPARE(o.jaccard, 1.0);
    }
    const ComparisonSummary s = summarize(tokens);
    QCOMPARE(s.mean_kl, 0.0);
    QCOMPARE(s.top1_agreement, 1.0);
    QCOMPARE(s.layers, (std::vector<int>{2, 5, 8}));
  }

  void quantization_shows_as_a_small_kl() {
    auto a = load(source()), b = load(source(), WeightFormat::Nvfp4);
    std::vector<TokenId> ids;
    for (int i = 0; i < 40; ++i) ids.push_back(TokenId(3 + (i * 7919 + 13) % 250));
    const ComparisonSummary s = summarize(compare_models(*a, *b, ids));
    qInfo("F32 vs NVFP4 on 40 tokens: mean KL %.4g, max %.4g, top-1 agreement %.3f", s.mean_kl, s.max_kl, s.top1_agreement);
    QVERIFY(s.mean_kl > 0.0 && s.mean_kl < 1.0);
    QVERIFY(s.top1_agreement > 0.5);
  }

  void different_vocabularies_are_refused() {
    auto a = load(source());
    auto b = load((logitscope::test::fixtures_dir() / "models" / "tiny-groups-bf16-sharded").string());
    try {
      compare_models(*a, *b, std::vector<TokenId>{5, 6, 7});
      QFAIL("compared models with different vocabularies");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("different vocabularies") != std::string::npos, e.what());
    }
  }

  // Same vocabulary size, tokenizers that give ids other tokens: refused, naming the first such id;
  // first_differing_token finds it (and an id only one of them has).
  void tokenizers_that_name_an_id_otherwise_are_refused() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    // A byte-level-free BPE over whole-word tokens: `vocab` in id order.
    auto tokenizer_json = [](const std::vector<std::string>& vocab) {
      nlohmann::json ids = nlohmann::json::object();
      for (std::size_t i = 0; i < vocab.size(); ++i) ids[vocab[i]] = i;
      return nlohmann::json{{"version", "1.0"}, {"added_tokens", nlohmann::json::array()}, {"normalizer", nullptr},
                            {"pre_tokenizer", nullptr}, {"post_processor", nullptr}, {"decoder", nullptr},
                            {"model", {{"type", "BPE"}, {"vocab", ids}, {"merges", nlohmann::json::array()}}}}
          .dump();
    };
    const std::filesystem::path root(dir.path().toStdString());
    for (const auto& [name, text] : {std::pair{"a", tokenizer_json({"a", "b", "c"})}, std::pair{"b", tokenizer_json({"b", "a", "c"})}}) {
      std::filesystem::copy(source(), root / name);
      std::ofstream(root / name / "tokenizer.json") << text;
    }
    auto a = logitscope::test::load_cpu_reference(root / "a"), b = logitscope::test::load_cpu_reference(root / "b");
    QVERIFY(a->tokenizer() && b->tokenizer());
    QCOMPARE(first_differing_token(*a->tokenizer(), *a->tokenizer()), std::optional<TokenId>());
    QCOMPARE(first_differing_token(*a->tokenizer(), *b->tokenizer()), std::optional<TokenId>(0));
    try {
      compare_models(*a, *b, std::vector<TokenId>{5, 6, 7});
      QFAIL("compared models whose tokenizers differ");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("tokenizers differ from token id 0 on") != std::string::npos, e.what());
    }
    const auto same = compare_models(*a, *a, std::vector<TokenId>{5, 6, 7});  // one model: no check needed
    QCOMPARE(same.size(), std::size_t(2));

    std::ofstream(root / "b" / "tokenizer.json") << tokenizer_json({"a", "b", "c", "d"});
    auto longer = logitscope::test::load_cpu_reference(root / "b");
    QCOMPARE(first_differing_token(*a->tokenizer(), *longer->tokenizer()), std::optional<TokenId>(3));  // only one has id 3
  }

  void cli_prints_one_object_per_token() {
    const auto r = logitscope::test::run_cli({"compare", "--model", QString::fromStdString(source()), "--quantize-b", "fp8",
                                              "--ids", "5,17,42,99,7", "--jsonl", "--threads", "1"});
    QVERIFY2(r.exit_code == 0, r.err.constData());
    std::istringstream lines(r.out.toStdString());
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      const auto j = nlohmann::json::parse(line);
      for (const char* key : {"pos", "id", "kl", "top1_agree", "expert_overlap", "top_k_a", "top_k_b"})
        QVERIFY2(j.contains(key), key);
      QCOMPARE(j["pos"].get<int>(), n + 1);
      QCOMPARE(int(j["expert_overlap"].size()), 3);
      ++n;
    }
    QCOMPARE(n, 4);
    QVERIFY2(r.err.contains("mean KL(A||B)"), r.err.constData());
  }
};

QTEST_APPLESS_MAIN(Compare)
#include "test_compare.moc"
