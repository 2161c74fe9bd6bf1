// SPDX-License-Identifier: GPL-3.0-or-later
// Broken FP8 / NVFP4 checkpoints (copies of tests/fixtures/quantized with one fault each): every
// mismatch is one error line that names the tensor, module or field at fault, and nothing crashes.
#include <QtTest>

#include <fstream>
#include <functional>

#include "checkpoint_edit.h"
#include "golden.h"
#include "logitscope/errors.h"
#include "logitscope/model.h"

using namespace logitscope;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using logitscope::test::edit_header;
using logitscope::test::edit_json;
using logitscope::test::load_error;
using logitscope::test::read_all;
using logitscope::test::write_all;

fs::path copy_fixture(const QTemporaryDir& tmp, const std::string& name) {
  return logitscope::test::copy_fixture_dir(tmp, logitscope::test::fixtures_dir() / "quantized" / name);
}

const std::string kExpert = "backbone.layers.2.mixer.experts.0.up_proj";  // an MoE layer of pattern M*EM-EM*E

}  // namespace

class BadQuantizedCheckpoints : public QObject {
  Q_OBJECT

  void expect(const std::string& message, const std::string& part) {
    QVERIFY2(message.find(part) != std::string::npos, ("expected \"" + part + "\" in: " + message).c_str());
    QVERIFY2(message.find('\n') == std::string::npos, ("one line: " + message).c_str());
  }

 private slots:
  void a_scale_is_missing() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-nvfp4");
    edit_header(dir / "model.safetensors", [](json& h) { h.erase(kExpert + ".weight_scale"); });
    expect(load_error(dir), "missing tensor " + kExpert + ".weight_scale (the weight_scale of a NVFP4 weight)");
    const fs::path fp8 = copy_fixture(tmp, "tiny-fp8");
    edit_header(fp8 / "model.safetensors", [](json& h) { h.erase(kExpert + ".weight_scale"); });
    expect(load_error(fp8), "missing tensor " + kExpert + ".weight_scale");
  }

  void packed_shape_does_not_match_the_config() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-nvfp4");
    edit_json(dir / "config.json", [](json& c) { c["moe_intermediate_size"] = 48; });
    expect(load_error(dir), "tensor " + kExpert + ".weight in model.safetensors is U8 [32, 32], expected U8 [48, 32] (NVFP4 per");
  }

  void unknown_quant_algo() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-nvfp4");
    edit_json(dir / "hf_quant_config.json", [](json& q) { q["quantization"]["quant_algo"] = "INT4_AWQ"; });
    expect(load_error(dir), "hf_quant_config.json: quant_algo 'INT4_AWQ' is not one this engine reads");
    const fs::path flat = copy_fixture(tmp, "tiny-fp8");
    edit_json(flat / "config.json", [](json& c) { c["quantization_config"]["quant_method"] = "awq"; });
    expect(load_error(flat), "config.json (quantization_config): quant_method 'awq' is not one this engine reads");
  }

  void excluded_module_stored_quantized() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-nvfp4");
    edit_json(dir / "hf_quant_config.json", [](json& q) { q["quantization"]["exclude_modules"].push_back(kExpert); });
    expect(load_error(dir), "tensor " + kExpert + ".weight in model.safetensors is stored quantized (U8) but");
    expect(load_error(dir), "keeps module " + kExpert + " unquantized");
  }

  void quantized_tensors_without_a_declaration() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-nvfp4");
    fs::remove(dir / "hf_quant_config.json");
    expect(load_error(dir), "the snapshot declares no quantization");
  }

  void wrong_group_size_and_kv_algo() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-nvfp4");
    edit_json(dir / "hf_quant_config.json", [](json& q) { q["quantization"]["group_size"] = 32; });
    expect(load_error(dir), "NVFP4 group_size is 32 (expected 16)");
    edit_json(dir / "hf_quant_config.json", [](json& q) {
      q["quantization"]["group_size"] = 16;
      q["quantization"]["kv_cache_quant_algo"] = "INT8";
    });
    expect(load_error(dir), "kv cache quantization 'INT8' is not supported");
  }

  void scale_of_the_wrong_dtype_or_shape() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-fp8");
    edit_header(dir / "model.safetensors", [](json& h) { h[kExpert + ".weight_scale"]["dtype"] = "I32"; });
    expect(load_error(dir), "tensor " + kExpert + ".weight_scale in model.safetensors is I32 [], expected F32");
    const fs::path kv = copy_fixture(tmp, "tiny-fp8-kv");
    edit_header(kv / "model.safetensors", [](json& h) { h["backbone.layers.1.mixer.k_proj.k_scale"]["dtype"] = "I32"; });
    expect(load_error(kv), "tensor backbone.layers.1.mixer.k_proj.k_scale in model.safetensors is I32 [], expected one F32 value");
  }

  void malformed_declarations() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-nvfp4");
    write_all(dir / "hf_quant_config.json", "{\"quantization\": ");
    expect(load_error(dir), "hf_quant_config.json: not valid JSON");
    write_all(dir / "hf_quant_config.json", json{{"producer", {{"name", "modelopt"}}}}.dump());
    expect(load_error(dir), "hf_quant_config.json: field 'quantization' is missing");
    write_all(dir / "hf_quant_config.json", json{{"quantization", {{"quant_algo", 4}}}}.dump());
    expect(load_error(dir), "hf_quant_config.json: field 'quant_algo' must be a string");
    const fs::path mixed = copy_fixture(tmp, "tiny-nvfp4-mixed");
    edit_json(mixed / "config.json", [](json& c) { c["quantization_config"]["quantized_layers"][kExpert] = {{"quant_algo", "W8A8"}}; });
    expect(load_error(mixed), "quantized_layers['" + kExpert + "']: quant_algo 'W8A8' is not one this engine reads");
  }

  void good_copies_load() {
    QTemporaryDir tmp;
    for (const char* name : {"tiny-fp8", "tiny-fp8-channel", "tiny-nvfp4", "tiny-nvfp4-mixed", "tiny-fp8-kv"})
      QVERIFY2(load_error(copy_fixture(tmp, name)).empty(), name);
  }
};

QTEST_APPLESS_MAIN(BadQuantizedCheckpoints)
#include "test_bad_quantized_checkpoints.moc"
