// SPDX-License-Identifier: GPL-3.0-or-later
// Model::load: snapshot -> config -> weights -> backend, plus the tokenizer and chat template
// when the snapshot has them.
#include "logitscope/model.h"

#include <algorithm>

#include "backend/backend.h"
#ifdef LOGITSCOPE_HAVE_CUDA
#include "backend/cuda/cuda_backend.h"
#include "logitscope/cuda_tools.h"
#endif
#include "logitscope/chat.h"
#include "logitscope/errors.h"
#include "logitscope/tokenizer.h"
#include "model/mapped_file_guard.h"
#include "model/quantize.h"
#include "model/weights.h"

namespace logitscope {

namespace fs = std::filesystem;

Model::~Model() = default;

namespace {

// A snapshot's config, tensors and weights bound on the backend.
template <class Report>
void load_weights(const LoadOptions& options, const Report& report, const ProgressFn& progress, ModelInfo& info,
                  std::unique_ptr<Backend>& backend) {
  report("finding the model", 0, 0);
  info.snapshot_dir = resolve_snapshot(options.snapshot);
  info.config = load_model_config(info.snapshot_dir / "config.json");
  merge_generation_config(info.config, info.snapshot_dir / "generation_config.json");
  info.config.quantization = load_quantization_config(info.snapshot_dir);
  info.backend = options.backend;

  report("reading safetensors headers", 0, 0);
  ModelWeights weights = bind_model_weights(info.config, info.snapshot_dir);
  info.parameter_count = weights.parameter_count;
  if (options.quantize != WeightFormat::Bf16) {
    report(std::string("quantizing to ") + to_string(options.quantize), 0, 0);
    quantize_weights_on_load(info.config, weights, options.quantize);
  }
  info.weight_bytes = weights.total_bytes;
  info.weight_format = weights.format;
  info.decode_bytes_per_token = decode_bytes_per_token(info.config, weights);

  if (options.backend == BackendKind::Cpu) {
    backend = make_cpu_backend(info.config, std::move(weights), options.threads);
    report("weights", info.weight_bytes, info.weight_bytes);
  } else {
#ifdef LOGITSCOPE_HAVE_CUDA
    backend = make_cuda_backend(info.config, weights, options.max_context, progress);
    // What the device reads per token (its own layout: F32 checkpoints become bf16 there), and the
    // copy rate that bounds decode.
    const cuda::CudaBackendStats stats = cuda::cuda_backend_stats(*backend);
    info.decode_bytes_per_token = stats.decode_weight_bytes;
    info.device_memory_plan = stats.memory_plan;
    info.memory_bandwidth_gbps = cuda_tools::measure_copy_bandwidth_gbps();
#else
    (void)progress;
    throw Error("this build has no CUDA backend (configure with -DLOGITSCOPE_CUDA=ON where nvcc is installed)");
#endif
  }
}

// Random weights on the GPU at a config's shape (LoadOptions::synthetic_config).
void load_synthetic(const LoadOptions& options, ModelInfo& info, std::unique_ptr<Backend>& backend) {
  if (options.backend != BackendKind::Cuda)
    throw Error("synthetic weights (" + options.synthetic_config.string() +
                ") are made on the GPU: use the CUDA backend (--backend cuda)");
  info.snapshot_dir = options.synthetic_config.parent_path();
  info.config = load_model_config(options.synthetic_config);
  if (options.quantize != WeightFormat::Bf16) info.config.quantization = quantization_on_load(info.config, options.quantize);
  info.backend = BackendKind::Cuda;
#ifdef LOGITSCOPE_HAVE_CUDA
  backend = make_cuda_backend_synthetic(info.config, options.synthetic_seed, options.max_context);
  const cuda::CudaBackendStats stats = cuda::cuda_backend_stats(*backend);
  info.weight_bytes = stats.weight_bytes;
  info.decode_bytes_per_token = stats.decode_weight_bytes;
  info.weight_format = stats.weight_format + ", synthetic";
  info.memory_bandwidth_gbps = cuda_tools::measure_copy_bandwidth_gbps();
  info.device_memory_plan = stats.memory_plan;
#else
  (void)backend;
  throw Error("this build has no CUDA backend (configure with -DLOGITSCOPE_CUDA=ON where nvcc is installed)");
#endif
}

}  // namespace

std::unique_ptr<Model> Model::load(const LoadOptions& options, const ProgressFn& progress) {
  auto report = [&](const std::string& stage, std::uint64_t done, std::uint64_t total) {
    if (progress && !progress(LoadProgress{stage, done, total})) throw Cancelled("loading cancelled");
  };
  std::unique_ptr<Model> model(new Model());
  ModelInfo& info = model->info_;
  if (!options.synthetic_config.empty()) {
    report("random weights on the GPU", 0, 0);
    load_synthetic(options, info, model->backend_);
  } else {
    load_weights(options, report, progress, info, model->backend_);
  }
  throw_if_mapping_faulted();  // a shard shrank while its weights were read or copied
  info.device_name = model->backend_->device_name();
  info.device_bytes = model->backend_->device_bytes();
  model->max_context_ = options.max_context;

  if (options.load_tokenizer) {
    if (fs::exists(info.snapshot_dir / "tokenizer.json")) {
      report("tokenizer", 0, 0);
      model->tokenizer_ = Tokenizer::from_file(info.snapshot_dir / "tokenizer.json");
    }
    model->chat_template_ = ChatTemplate::from_snapshot(info.snapshot_dir);
  }
  info.stop_ids.assign(info.config.eos_token_ids.begin(), info.config.eos_token_ids.end());
  if (model->tokenizer_ && model->chat_template_ && !model->chat_template_->eos_token().empty())
    if (auto id = model->tokenizer_->token_to_id(model->chat_template_->eos_token()))
      if (std::find(info.stop_ids.begin(), info.stop_ids.end(), *id) == info.stop_ids.end()) info.stop_ids.push_back(*id);
  return model;
}

}  // namespace logitscope
