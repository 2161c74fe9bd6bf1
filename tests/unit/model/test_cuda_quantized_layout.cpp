// SPDX-License-Identifier: GPL-3.0-or-later
// Where a quantized model lives on the GPU, checked without a GPU (the CUDA backend's layout pass
// is host code): FP8 and NVFP4 matrices keep their codes and scales and nothing else, so the real
// Nemotron-3-Nano shape fits the memory a desktop card has; a checkpoint whose experts mix formats,
// or whose codes do not have the size the config implies, is refused with the tensor named.
#include <QtTest>

#include "backend/cuda/device_model.h"
#include "golden.h"
#include "logitscope/config.h"
#include "logitscope/errors.h"
#include "logitscope/quantization.h"
#include "model/quantize.h"
#include "model/weights.h"

using namespace logitscope;
namespace fs = std::filesystem;

namespace {

fs::path quantized_dir(const std::string& name) { return test::fixtures_dir() / "quantized" / name; }

// The config as Model::load reads it: config.json plus the quantization declaration.
ModelConfig quantized_config(const std::string& name) {
  ModelConfig c = load_model_config(quantized_dir(name) / "config.json");
  c.quantization = load_quantization_config(quantized_dir(name));
  return c;
}

struct Sized {
  cuda::DeviceModel model;
  std::uint64_t arena = 0;
};

Sized size_of(const ModelConfig& cfg, const ModelWeights* weights) {
  Sized s;
  std::vector<cuda::UploadJob> jobs;
  s.arena = cuda::layout_model(cfg, weights, nullptr, s.model, jobs);
  return s;
}

std::string layout_error(const ModelConfig& cfg, const ModelWeights& weights) {
  try {
    size_of(cfg, &weights);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

constexpr double kGiB = double(1ull << 30);

}  // namespace

class CudaQuantizedLayout : public QObject {
  Q_OBJECT

 private slots:
  void real_shape_fits_desktop_cards() {
    const ModelConfig bf16 = load_model_config(test::fixtures_dir() / "configs" / "nemotron-3-nano-30b-a3b.json");
    ModelConfig fp8 = bf16, nvfp4 = bf16;
    fp8.quantization = quantization_on_load(bf16, WeightFormat::Fp8);
    nvfp4.quantization = quantization_on_load(bf16, WeightFormat::Nvfp4);
    const Sized b = size_of(bf16, nullptr), f = size_of(fp8, nullptr), n = size_of(nvfp4, nullptr);
    qInfo("weights on the GPU: BF16 %.2f GiB, FP8 %.2f GiB, NVFP4 %.2f GiB; per decoded token %.3f / %.3f / %.3f GB",
          b.arena / kGiB, f.arena / kGiB, n.arena / kGiB, b.model.decode_weight_bytes / 1e9,
          f.model.decode_weight_bytes / 1e9, n.model.decode_weight_bytes / 1e9);
    QCOMPARE(b.model.format, std::string("BF16"));
    QCOMPARE(f.model.format, std::string("FP8 + BF16"));
    QCOMPARE(n.model.format, std::string("NVFP4 + BF16"));
    // BF16 is ~59 GB (spec 4); FP8 keeps a byte a weight (+ the BF16 exclusions), NVFP4 9/16 of one.
    QVERIFY(b.arena / kGiB > 50.0);
    QVERIFY2(f.arena / kGiB < 34.0, "FP8 must fit a 48 GB card with room for the context");
    QVERIFY2(n.arena / kGiB < 21.0, "NVFP4 must fit a 24 GB card");
    QVERIFY(n.model.decode_weight_bytes < f.model.decode_weight_bytes);
    QVERIFY(f.model.decode_weight_bytes < b.model.decode_weight_bytes);
    // Prompt chunks dequantize one dense matrix at a time: the largest is the Mamba in_proj.
    QCOMPARE(n.model.max_dequant_elems, bf16.mamba_in_proj_dim() * bf16.hidden_size);
    QCOMPARE(b.model.max_dequant_elems, std::int64_t(0));
  }

  void checkpoints_keep_codes_and_scales_only() {
    for (const char* name : {"tiny-fp8", "tiny-fp8-channel", "tiny-nvfp4", "tiny-nvfp4-mixed", "tiny-fp8-kv"}) {
      const ModelConfig cfg = quantized_config(name);
      const ModelWeights w = bind_model_weights(cfg, quantized_dir(name));
      const Sized s = size_of(cfg, &w);
      QVERIFY2(s.model.format.find(std::string(name).find("nvfp4") != std::string::npos ? "NVFP4" : "FP8") !=
                   std::string::npos,
               (std::string(name) + ": " + s.model.format).c_str());
      // The arena holds the file's bytes in place of its matrices: never more than a bf16 copy of them.
      const ModelConfig src_cfg = load_model_config(test::fixtures_dir() / "quantized" / "sources" /
                                                    (std::string(name).find("nvfp4") != std::string::npos ? "tiny-nvfp4"
                                                                                                           : "tiny-fp8") /
                                                    "config.json");
      const Sized src = size_of(src_cfg, nullptr);
      QVERIFY2(s.arena < src.arena, name);
      QVERIFY2(s.model.decode_weight_bytes < src.model.decode_weight_bytes, name);
    }
    const ModelConfig kv_cfg = quantized_config("tiny-fp8-kv");
    const ModelWeights kv = bind_model_weights(kv_cfg, quantized_dir("tiny-fp8-kv"));
    const Sized s = size_of(kv_cfg, &kv);
    for (const auto& L : s.model.layers)
      if (L.kind == LayerKind::Attention) QVERIFY(L.k_scale > 0.0f && L.v_scale > 0.0f);
  }

  void experts_of_two_formats_are_refused() {
    const ModelConfig cfg = quantized_config("tiny-nvfp4");
    ModelWeights w = bind_model_weights(cfg, quantized_dir("tiny-nvfp4"));
    for (auto& layer : w.layers) {
      if (layer.moe.experts.size() < 2 || !layer.moe.experts[1].up.quant) continue;
      layer.moe.experts[1].up.quant.reset();  // expert 1's up_proj now claims to be BF16
      const std::string error = layout_error(cfg, w);
      QVERIFY2(error.find(layer.moe.experts[1].up.name) != std::string::npos, error.c_str());
      QVERIFY2(error.find("one format") != std::string::npos, error.c_str());
      return;
    }
    QFAIL("tiny-nvfp4 has no quantized experts");
  }

  void codes_of_the_wrong_size_are_refused() {
    const ModelConfig cfg = quantized_config("tiny-fp8");
    ModelWeights w = bind_model_weights(cfg, quantized_dir("tiny-fp8"));
    for (auto& layer : w.layers) {
      if (layer.kind != LayerKind::Mamba || !layer.mamba.out_proj.quant) continue;
      layer.mamba.out_proj.nbytes -= 16;
      const std::string error = layout_error(cfg, w);
      QVERIFY2(error.find(layer.mamba.out_proj.name) != std::string::npos, error.c_str());
      QVERIFY2(error.find("expected") != std::string::npos, error.c_str());
      return;
    }
    QFAIL("tiny-fp8 has no quantized Mamba out_proj");
  }
};

QTEST_APPLESS_MAIN(CudaQuantizedLayout)
#include "test_cuda_quantized_layout.moc"
