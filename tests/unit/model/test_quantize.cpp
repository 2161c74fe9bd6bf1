// SPDX-License-Identifier: GPL-3.0-or-later
// Quantizing a BF16/F32 snapshot (on load with LoadOptions::quantize, and `quantize` writing the
// ModelOpt layout) gives byte for byte the tensors tests/reference/make_quantized_fixtures.py wrote
// with torch from the same source, and the model then computes what the quantized checkpoint does.
#include <QtTest>

#include <cmath>

#include "golden.h"
#include "logitscope/errors.h"
#include "logitscope/model.h"
#include "logitscope/quantize.h"
#include "logitscope/session.h"
#include "model/quantize.h"
#include "model/safetensors.h"
#include "model/weights.h"

using namespace logitscope;
namespace fs = std::filesystem;

namespace {

fs::path quantized_dir(const std::string& name) { return logitscope::test::fixtures_dir() / "quantized" / name; }
fs::path source_dir(const std::string& name) { return logitscope::test::fixtures_dir() / "quantized" / "sources" / name; }

bool same_bytes(const TensorView& a, const TensorView& b) {
  return a.nbytes == b.nbytes && a.dtype_name == b.dtype_name && std::memcmp(a.data, b.data, a.nbytes) == 0;
}

std::vector<float> prompt_logits(const LoadOptions& options, const std::vector<TokenId>& ids) {
  auto model = Model::load(options);
  Session session(*model);
  return session.evaluate(ids);
}

}  // namespace

class Quantize : public QObject {
  Q_OBJECT

  // Every tensor the reference script hashed must come out of `write_quantized_snapshot` identical;
  // returns how many were compared. `all`: the script quantized exactly what we do.
  int compare_written(const std::string& name, WeightFormat format, bool all) {
    QTemporaryDir tmp;
    QuantizeOptions o;
    o.source.model = source_dir(name).string();
    o.out = fs::path(tmp.path().toStdString()) / "out";
    o.format = format;
    const QuantizeReport report = write_quantized_snapshot(o);
    auto ours = SafetensorsSet::open(o.out);
    auto theirs = SafetensorsSet::open(quantized_dir(name));
    const auto hashes = logitscope::test::read_json(quantized_dir(name) / "quantized_tensors.json");
    int compared = 0;
    for (auto it = hashes.begin(); it != hashes.end(); ++it) {
      const TensorView* a = ours->find(it.key());
      const TensorView* b = theirs->find(it.key());
      // A module our default keeps as stored (the reference quantized it): its weight is not FP8/U8.
      const std::string module = it.key().substr(0, it.key().rfind('.'));
      const TensorView* weight = ours->find(module + ".weight");
      const bool ours_quantized = weight && (weight->dtype_name == "F8_E4M3" || weight->dtype_name == "U8");
      if (!all && !ours_quantized) continue;
      if (!a || !b) {
        qWarning("%s: %s missing", name.c_str(), it.key().c_str());
        return -1;
      }
      if (!same_bytes(*a, *b)) {
        qWarning("%s: %s differs from the reference", name.c_str(), it.key().c_str());
        return -1;
      }
      ++compared;
    }
    qInfo("%s: %d quantized tensors identical (%d Linears quantized, %d kept)", name.c_str(), compared, report.quantized,
          report.kept);
    // The written copy loads and computes what the reference checkpoint computes.
    const auto gold = logitscope::test::read_json(quantized_dir(name) / "golden.json");
    const auto ids = gold.at("prompt_ids").get<std::vector<TokenId>>();
    LoadOptions written;
    written.snapshot.model = o.out.string();
    written.threads = 1;
    const auto logits = prompt_logits(written, ids);
    if (all) {
      LoadOptions reference;
      reference.snapshot.model = quantized_dir(name).string();
      reference.threads = 1;
      if (logits != prompt_logits(reference, ids)) return -1;
    }
    return compared;
  }

 private slots:
  void written_nvfp4_is_byte_identical() {
    // The fixture keeps what NVIDIA's NVFP4 Nemotron-3-Nano keeps: the same as our default.
    const int n = compare_written("tiny-nvfp4", WeightFormat::Nvfp4, true);
    QVERIFY(n > 100);
  }

  void written_fp8_is_byte_identical() {
    // The fixture quantizes the attention projections too (it excludes only lm_head); every module
    // we quantize must match.
    const int n = compare_written("tiny-fp8", WeightFormat::Fp8, false);
    QVERIFY(n > 100);
  }

  void on_load_equals_the_checkpoint() {
    const auto gold = logitscope::test::read_json(quantized_dir("tiny-nvfp4") / "golden.json");
    const auto ids = gold.at("prompt_ids").get<std::vector<TokenId>>();
    LoadOptions on_load;
    on_load.snapshot.model = source_dir("tiny-nvfp4").string();
    on_load.quantize = WeightFormat::Nvfp4;
    on_load.threads = 1;
    auto model = Model::load(on_load);
    QCOMPARE(QString::fromStdString(model->info().weight_format), QStringLiteral("NVFP4, quantized on load"));
    QCOMPARE(model->config().quantization.algo, std::string("NVFP4"));
    LoadOptions checkpoint;
    checkpoint.snapshot.model = quantized_dir("tiny-nvfp4").string();
    checkpoint.threads = 1;
    const auto a = prompt_logits(on_load, ids), b = prompt_logits(checkpoint, ids);
    QCOMPARE(a.size(), b.size());
    QVERIFY2(a == b, "on-load quantization does not compute what the NVFP4 checkpoint computes");
    double worst = 0.0;
    const auto& expected = gold.at("logits");
    const std::size_t vocab = a.size() / ids.size();
    for (std::size_t p = 0; p < ids.size(); ++p)
      for (std::size_t v = 0; v < vocab; ++v) worst = std::max(worst, std::fabs(double(a[p * vocab + v]) - expected[p][v].get<double>()));
    qInfo("on-load NVFP4 against HF on the dequantized weights: max |logit diff| %.3g", worst);
    QVERIFY(worst < 2e-4);
    // The bytes held shrink by what the quantized Linears save (F32 -> 0.5 + 1/16 byte per weight).
    LoadOptions plain;
    plain.snapshot.model = source_dir("tiny-nvfp4").string();
    const auto before = Model::load(plain)->info().weight_bytes, after = model->info().weight_bytes;
    qInfo("weights: %llu bytes F32, %llu NVFP4 on load", static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
    QVERIFY(after < before * 3 / 5);
  }

  void refusals_are_clear() {
    LoadOptions twice;
    twice.snapshot.model = quantized_dir("tiny-fp8").string();
    twice.quantize = WeightFormat::Nvfp4;
    try {
      Model::load(twice);
      QFAIL("quantizing a quantized checkpoint loaded");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("is already FP8") != std::string::npos, e.what());
    }
    QTemporaryDir tmp;
    QuantizeOptions o;
    o.source.model = source_dir("tiny-fp8").string();
    o.out = tmp.path().toStdString();
    o.format = WeightFormat::Fp8;
    write_quantized_snapshot(o);
    try {
      write_quantized_snapshot(o);
      QFAIL("overwrote a snapshot");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("already holds a snapshot") != std::string::npos, e.what());
    }
    try {
      (void)parse_weight_format("int4");
      QFAIL("int4 accepted");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("expected fp8 or nvfp4") != std::string::npos, e.what());
    }
  }

  // The number formats against values worked out by hand (E4M3 fn: bias 7, max 448; E2M1 grid).
  void number_formats() {
    QCOMPARE(e4m3_to_float(0x7e), 448.0f);
    QCOMPARE(e4m3_to_float(0x01), std::ldexp(1.0f, -9));
    QVERIFY(std::isnan(e4m3_to_float(0x7f)));
    QCOMPARE(float_to_e4m3(448.0f), std::uint8_t(0x7e));
    QCOMPARE(float_to_e4m3(1000.0f), std::uint8_t(0x7e));       // saturates
    QCOMPARE(float_to_e4m3(-1000.0f), std::uint8_t(0xfe));
    QCOMPARE(float_to_e4m3(1.0625f), std::uint8_t(0x38));       // tie between 1 and 1.125: even (1)
    QCOMPARE(float_to_e4m3(1.1875f), std::uint8_t(0x3a));       // tie between 1.125 and 1.25: even (1.25)
    QCOMPARE(float_to_e4m3(std::ldexp(1.5f, -10)), std::uint8_t(0x01));  // 0.75 of a subnormal step rounds to 1
    for (int code = 0; code < 256; ++code) {
      if ((code & 0x7f) == 0x7f) continue;
      const float v = e4m3_to_float(std::uint8_t(code));
      if (v == 0.0f) continue;  // -0 and +0 both come back as a zero
      QCOMPARE(int(float_to_e4m3(v)), code);
    }
    const float grid[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
    for (int i = 0; i < 8; ++i) {
      QCOMPARE(e2m1_to_float(std::uint8_t(i)), grid[i]);
      QCOMPARE(e2m1_to_float(std::uint8_t(i | 8)), -grid[i]);
      QCOMPARE(int(float_to_e2m1(grid[i])), i);
    }
    // Ties to the even index, saturation, the sign of a small negative.
    const std::pair<float, int> cases[] = {{0.25f, 0}, {0.75f, 2}, {1.25f, 2}, {1.75f, 4}, {2.5f, 4}, {3.5f, 6},
                                           {5.0f, 6},  {5.01f, 7}, {100.f, 7}, {-0.1f, 8}, {-2.6f, 13}};
    for (const auto& [value, code] : cases) QCOMPARE(int(float_to_e2m1(value)), code);
  }
};

QTEST_APPLESS_MAIN(Quantize)
#include "test_quantize.moc"
