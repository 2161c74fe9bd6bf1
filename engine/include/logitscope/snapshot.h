// SPDX-License-Identifier: GPL-3.0-or-later
// Finding a model on disk: a folder, or a Hugging Face hub id in the local cache. Never the network.
#pragma once

#include <filesystem>
#include <string>

namespace logitscope {

struct SnapshotQuery {
  std::string model;                  // a folder, or a hub id such as "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16"
  std::string revision = "main";      // commit hash or a ref under refs/
  std::filesystem::path cache_dir;    // empty: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub
};

// The folder holding config.json. Throws logitscope::Error listing the folders searched and what
// was found instead.
std::filesystem::path resolve_snapshot(const SnapshotQuery& query);

// The hub cache folder that would be searched for `query` (for messages and the Open dialog).
std::filesystem::path hub_cache_dir(const SnapshotQuery& query);

}  // namespace logitscope
