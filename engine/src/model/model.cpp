// SPDX-License-Identifier: GPL-3.0-or-later
// Model::load: snapshot -> config -> weights -> backend, plus the tokenizer and chat template
// when the snapshot has them.
#include "logitscope/model.h"

#include "backend/backend.h"
#include "logitscope/chat.h"
#include "logitscope/errors.h"
#include "logitscope/tokenizer.h"
#include "model/mapped_file_guard.h"
#include "model/weights.h"

namespace logitscope {

namespace fs = std::filesystem;

Model::~Model() = default;

std::unique_ptr<Model> Model::load(const LoadOptions& options, const ProgressFn& progress) {
  auto report = [&](const std::string& stage, std::uint64_t done, std::uint64_t total) {
    if (progress && !progress(LoadProgress{stage, done, total})) throw Cancelled("loading cancelled");
  };
  std::unique_ptr<Model> model(new Model());
  ModelInfo& info = model->info_;
  report("finding the model", 0, 0);
  info.snapshot_dir = resolve_snapshot(options.snapshot);
  info.config = load_model_config(info.snapshot_dir / "config.json");
  merge_generation_config(info.config, info.snapshot_dir / "generation_config.json");
  info.backend = options.backend;

  report("reading safetensors headers", 0, 0);
  ModelWeights weights = bind_model_weights(info.config, info.snapshot_dir);
  info.parameter_count = weights.parameter_count;
  info.weight_bytes = weights.total_bytes;
  info.decode_bytes_per_token = decode_bytes_per_token(info.config, weights);

  if (options.backend == BackendKind::Cpu) {
    model->backend_ = make_cpu_backend(info.config, std::move(weights), options.threads);
    report("weights", info.weight_bytes, info.weight_bytes);
  } else {
#ifdef LOGITSCOPE_HAVE_CUDA
    model->backend_ = make_cuda_backend(info.config, weights, options.max_context, progress);
#else
    throw Error("this build has no CUDA backend (configure with -DLOGITSCOPE_CUDA=ON where nvcc is installed)");
#endif
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
  return model;
}

}  // namespace logitscope
