// SPDX-License-Identifier: GPL-3.0-or-later
// Shapes a CUDA kernel cannot take are named before anything is allocated (no GPU needed): each
// limit alone, several together in one message, and the real Nemotron-3-Nano shape and every
// fixture pass.
#include <QtTest>

#include "backend/cuda/cuda_backend.h"
#include "golden.h"
#include "logitscope/config.h"

using namespace logitscope;

class CudaShapeLimits : public QObject {
  Q_OBJECT
  ModelConfig base_;

 private slots:
  void initTestCase() { base_ = load_model_config(logitscope::test::model_dir("tiny-every-kind") / "config.json"); }

  void supported_shapes_pass() {
    QCOMPARE(cuda::cuda_shape_problem(base_), std::string());
    for (const auto& name : logitscope::test::fixture_model_names())
      QCOMPARE(cuda::cuda_shape_problem(load_model_config(logitscope::test::model_dir(name) / "config.json")), std::string());
    const auto real = load_model_config(logitscope::test::fixtures_dir() / "configs" / "nemotron-3-nano-30b-a3b.json");
    QCOMPARE(cuda::cuda_shape_problem(real), std::string());
  }

  void each_limit_is_named() {
    auto expect = [&](auto edit, const char* part) {
      ModelConfig c = base_;
      edit(c);
      const std::string problem = cuda::cuda_shape_problem(c);
      QVERIFY2(problem.find(part) != std::string::npos, (std::string(part) + " not in: " + problem).c_str());
    };
    expect([](ModelConfig& c) { c.head_dim = 320; }, "head_dim 320 (at most 256)");
    expect([](ModelConfig& c) { c.num_key_value_heads = 3; }, "num_attention_heads 4 / num_key_value_heads 3");
    expect([](ModelConfig& c) { c.conv_kernel = 9; }, "conv_kernel 9 (2..8)");
    expect([](ModelConfig& c) { c.ssm_state_size = 512; }, "ssm_state_size 512 (at most 256)");
    expect([](ModelConfig& c) { c.n_routed_experts = 1024; }, "n_routed_experts 1024 (at most 512)");
    expect([](ModelConfig& c) { c.num_experts_per_tok = 31; }, "num_experts_per_tok 31 (at most 30)");
    ModelConfig both = base_;
    both.head_dim = 300;
    both.conv_kernel = 12;
    const std::string problem = cuda::cuda_shape_problem(both);
    QVERIFY(problem.find("head_dim") != std::string::npos && problem.find("conv_kernel") != std::string::npos);
  }
};

QTEST_APPLESS_MAIN(CudaShapeLimits)
#include "test_cuda_shape_limits.moc"
