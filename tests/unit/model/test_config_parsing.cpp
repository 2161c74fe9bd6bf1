// SPDX-License-Identifier: GPL-3.0-or-later
// config.json parsing: the real Nemotron-3-Nano config, the transformers 5 spelling, transformers'
// {"__float__": "Infinity"}, and impossible geometry rejected with the field named.
#include <QtTest>

#include <cmath>

#include "golden.h"
#include "logitscope/config.h"
#include "logitscope/errors.h"

using namespace logitscope;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_model_config(text, "config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class ConfigParsing : public QObject {
  Q_OBJECT
 private slots:
  void real_nemotron_3_nano_config() {
    ModelConfig c = load_model_config(logitscope::test::fixtures_dir() / "configs" / "nemotron-3-nano-30b-a3b.json");
    merge_generation_config(c, logitscope::test::fixtures_dir() / "configs" / "nemotron-3-nano-30b-a3b.generation_config.json");
    QCOMPARE(int(c.layers.size()), 52);
    QCOMPARE(c.count(LayerKind::Mamba), 23);
    QCOMPARE(c.count(LayerKind::Moe), 23);
    QCOMPARE(c.count(LayerKind::Attention), 6);
    QCOMPARE(c.pattern(), std::string("MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME"));
    QCOMPARE(c.mamba_d_inner(), std::int64_t(4096));  // heads x head_dim, not expand x hidden
    QCOMPARE(c.mamba_conv_dim(), std::int64_t(6144));
    QCOMPARE(c.mamba_in_proj_dim(), std::int64_t(10304));
    QCOMPARE(c.n_routed_experts, 128);
    QCOMPARE(c.num_experts_per_tok, 6);
    QCOMPARE(c.moe_shared_expert_intermediate_size, 3712);
    QCOMPARE(c.routed_scaling_factor, 2.5);
    QVERIFY(std::isinf(c.time_step_limit_max));
    QCOMPARE(c.eos_token_ids, (std::vector<int>{2, 11}));
  }

  void transformers_5_spelling() {
    const auto dir = logitscope::test::fixtures_dir() / "models" / "tiny-every-kind";
    const ModelConfig c = load_model_config(dir / "config.json");
    QCOMPARE(c.pattern(), std::string("M*EM-EM*E"));
    QVERIFY(std::isinf(c.time_step_limit_max));  // written as {"__float__": "Infinity"}
    QCOMPARE(c.time_step_limit_min, 0.0);
  }

  void impossible_geometry_names_the_field_data() {
    QTest::addColumn<QString>("patch");
    QTest::addColumn<QString>("field");
    QTest::newRow("kv heads") << R"({"num_key_value_heads": 3})" << "num_key_value_heads";
    QTest::newRow("groups") << R"({"n_groups": 3})" << "n_groups";
    QTest::newRow("top-k") << R"({"num_experts_per_tok": 200})" << "num_experts_per_tok";
    QTest::newRow("expert groups") << R"({"n_group": 3})" << "n_group";
    QTest::newRow("topk_group") << R"({"n_group": 8, "topk_group": 9})" << "topk_group";
    QTest::newRow("pattern char") << R"({"hybrid_override_pattern": "MEX"})" << "hybrid_override_pattern";
    QTest::newRow("layer count") << R"({"num_hidden_layers": 7})" << "num_hidden_layers";
    QTest::newRow("negative size") << R"({"hidden_size": -5})" << "hidden_size";
    QTest::newRow("wrong type") << R"({"vocab_size": "big"})" << "vocab_size";
    QTest::newRow("missing") << R"({"vocab_size": null})" << "vocab_size";
    QTest::newRow("model type") << R"({"model_type": "llama"})" << "model_type";
    QTest::newRow("activation") << R"({"mlp_hidden_act": "gelu"})" << "mlp_hidden_act";
  }
  void impossible_geometry_names_the_field() {
    QFETCH(QString, patch);
    QFETCH(QString, field);
    auto config = logitscope::test::read_json(logitscope::test::fixtures_dir() / "configs" / "nemotron-3-nano-30b-a3b.json");
    config.merge_patch(nlohmann::json::parse(patch.toStdString()));
    const std::string message = error_of(config.dump());
    QVERIFY2(message.find("'" + field.toStdString() + "'") != std::string::npos, message.c_str());
    QVERIFY2(message.rfind("config.json", 0) == 0, message.c_str());
  }

  void malformed_json_is_one_clear_error() {
    const std::string message = error_of("{\"vocab_size\": 12,");
    QVERIFY(message.find("not valid JSON") != std::string::npos);
    QVERIFY(error_of("[1, 2]").find("JSON object") != std::string::npos);
  }
};

QTEST_APPLESS_MAIN(ConfigParsing)
#include "test_config_parsing.moc"
