// SPDX-License-Identifier: GPL-3.0-or-later
// A loaded model: config, weights bound on a backend, tokenizer and chat template. Immutable after
// load and shared by sessions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "logitscope/config.h"
#include "logitscope/snapshot.h"
#include "logitscope/types.h"

namespace logitscope {

class Backend;
class Tokenizer;
class ChatTemplate;

struct LoadOptions {
  SnapshotQuery snapshot;
  BackendKind backend = BackendKind::Cpu;
  std::int64_t max_context = 8192;   // tokens the caches are sized for
  int threads = 0;                   // CPU backend worker threads; 0 = hardware concurrency
  bool load_tokenizer = true;        // read tokenizer.json / chat template when present
  // Random weights at the shape of this config.json, made on the GPU (CUDA backend only): speed
  // and interface tests at a real model's size without its download. `snapshot` is then unused;
  // a tokenizer.json and chat template next to the config are loaded as for a snapshot.
  std::filesystem::path synthetic_config;
  std::uint64_t synthetic_seed = 1;
  // Quantize a BF16/F32 snapshot's Linear weights while loading (NVIDIA ModelOpt's rules and
  // exclusions; see engine/src/model/quantize.h). Bf16: as stored.
  WeightFormat quantize = WeightFormat::Bf16;
};

struct LoadProgress {
  std::string stage;                 // "reading config", "weights", ...
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
};
// Return false to cancel the load (it then throws logitscope::Cancelled).
using ProgressFn = std::function<bool(const LoadProgress&)>;

struct ModelInfo {
  std::filesystem::path snapshot_dir;
  ModelConfig config;
  BackendKind backend = BackendKind::Cpu;
  std::uint64_t parameter_count = 0;
  std::uint64_t weight_bytes = 0;          // as stored in the files
  std::string weight_format;               // dtype of most weight bytes ("BF16"; "BF16 + F32" when mixed)
  std::uint64_t decode_bytes_per_token = 0;  // weights read for one decoded token (active experts only)
  std::uint64_t device_bytes = 0;          // memory the backend holds for weights
  std::string device_name;                 // "CPU (16 threads)", "NVIDIA H100 80GB HBM3"
  // The device's copy rate (read + write bytes), measured when a CUDA model loads; 0 when not
  // measured. Against decode_bytes_per_token it gives the decode rate the memory allows.
  double memory_bandwidth_gbps = 0.0;
  // What loading needed on the device against what was free before it (CUDA; empty otherwise).
  std::string device_memory_plan;
  double decode_floor_tokens_per_second() const {
    return memory_bandwidth_gbps > 0 && decode_bytes_per_token > 0 ? memory_bandwidth_gbps * 1e9 / double(decode_bytes_per_token)
                                                                    : 0.0;
  }
  // Ids that end a turn: config.json's and generation_config.json's eos ids, then the chat
  // template's eos token (tokenizer_config.json) when the vocabulary has it.
  std::vector<TokenId> stop_ids;
};

class Model {
 public:
  // Throws logitscope::Error (or Cancelled) with a message naming the file and field at fault.
  static std::unique_ptr<Model> load(const LoadOptions& options, const ProgressFn& progress = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelInfo& info() const { return info_; }
  const ModelConfig& config() const { return info_.config; }
  Backend& backend() const { return *backend_; }
  // Null when the snapshot has no tokenizer.json / chat template (fixture checkpoints).
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }
  const ChatTemplate* chat_template() const { return chat_template_.get(); }
  std::int64_t max_context() const { return max_context_; }

 private:
  Model() = default;
  ModelInfo info_;
  std::int64_t max_context_ = 0;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ChatTemplate> chat_template_;
};

}  // namespace logitscope
