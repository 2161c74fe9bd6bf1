// SPDX-License-Identifier: GPL-3.0-or-later
// Resolves --model to a folder with config.json: a plain folder, or a hub id in the local Hugging
// Face cache (models--ORG--NAME/{refs,snapshots}). Never touches the network.
#include "logitscope/snapshot.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "logitscope/errors.h"

namespace logitscope {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// Where the cache folder came from, for messages.
std::string cache_origin(const SnapshotQuery& query) {
  if (!query.cache_dir.empty()) return "--cache-dir";
  if (!env("HF_HUB_CACHE").empty()) return "$HF_HUB_CACHE";
  if (!env("HF_HOME").empty()) return "$HF_HOME/hub";
  return "the default cache";
}

std::vector<std::string> list_names(const fs::path& dir, bool dirs_only, std::size_t limit = 12) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (dirs_only && !entry.is_directory(ec)) continue;
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  if (names.size() > limit) {
    std::size_t more = names.size() - limit;
    names.resize(limit);
    names.push_back("... and " + std::to_string(more) + " more");
  }
  return names;
}

std::string join(const std::vector<std::string>& items) {
  if (items.empty()) return "nothing";
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

bool is_commit_hash(const std::string& s) {
  return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

fs::path require_config(const fs::path& dir, const std::string& what) {
  if (fs::is_regular_file(dir / "config.json")) return dir;
  throw Error(what + " " + dir.string() + " has no config.json (found: " + join(list_names(dir, false)) + ")");
}

// A repo folder of the hub cache (models--ORG--NAME): pick the snapshot for `revision`.
fs::path resolve_in_repo(const fs::path& repo, const std::string& revision) {
  std::string rev = revision.empty() ? "main" : revision;
  if (rev.rfind("refs/", 0) == 0) rev = rev.substr(5);
  std::string commit;
  const fs::path ref_file = repo / "refs" / rev;
  if (fs::is_regular_file(ref_file)) {
    std::ifstream in(ref_file);
    std::getline(in, commit);
    while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back()))) commit.pop_back();
  } else if (is_commit_hash(rev) || fs::is_directory(repo / "snapshots" / rev)) {
    commit = rev;
  } else if (rev.size() >= 7 && std::all_of(rev.begin(), rev.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
    std::vector<std::string> matches;
    for (const auto& name : list_names(repo / "snapshots", true, 1000))
      if (name.rfind(rev, 0) == 0) matches.push_back(name);
    if (matches.size() == 1) commit = matches[0];
  }
  if (commit.empty()) {
    throw Error("revision '" + revision + "' not found in " + repo.string() + " (refs: " +
                join(list_names(repo / "refs", false)) + "; snapshots: " +
                join(list_names(repo / "snapshots", true)) + ")");
  }
  const fs::path snapshot = repo / "snapshots" / commit;
  if (!fs::is_directory(snapshot)) {
    throw Error("revision '" + revision + "' points to commit " + commit + ", but " + snapshot.string() +
                " does not exist (snapshots: " + join(list_names(repo / "snapshots", true)) + ")");
  }
  return require_config(snapshot, "snapshot");
}

}  // namespace

fs::path hub_cache_dir(const SnapshotQuery& query) {
  if (!query.cache_dir.empty()) return query.cache_dir;
  if (auto v = env("HF_HUB_CACHE"); !v.empty()) return v;
  if (auto v = env("HF_HOME"); !v.empty()) return fs::path(v) / "hub";
  const std::string home = env("HOME");
  return fs::path(home.empty() ? "." : home) / ".cache" / "huggingface" / "hub";
}

fs::path resolve_snapshot(const SnapshotQuery& query) {
  if (query.model.empty()) throw Error("no model given (expected a folder or a hub id such as org/name)");
  const fs::path as_path(query.model);
  std::error_code ec;
  if (fs::is_directory(as_path, ec)) {
    // A repo folder of the cache itself (models--ORG--NAME) is accepted too.
    if (!fs::exists(as_path / "config.json") && fs::is_directory(as_path / "snapshots"))
      return resolve_in_repo(as_path, query.revision);
    return require_config(as_path, "model folder");
  }
  if (fs::exists(as_path, ec)) throw Error("--model " + query.model + " is a file; expected a folder or a hub id");

  // A hub id: ORG/NAME (or NAME). Folders in the cache use "--" for "/".
  const bool looks_like_path = query.model.find("./") != std::string::npos || query.model.front() == '/' ||
                               query.model.front() == '~' || std::count(query.model.begin(), query.model.end(), '/') > 1;
  const fs::path cache = hub_cache_dir(query);
  if (looks_like_path) {
    throw Error("model folder " + query.model + " does not exist");
  }
  std::string folder = "models--" + query.model;
  for (std::size_t pos; (pos = folder.find('/')) != std::string::npos;) folder.replace(pos, 1, "--");
  const fs::path repo = cache / folder;
  if (!fs::is_directory(repo)) {
    std::vector<std::string> found;
    for (const auto& name : list_names(cache, true, 1000)) {
      if (name.rfind("models--", 0) != 0) continue;
      std::string id = name.substr(8);
      for (std::size_t pos; (pos = id.find("--")) != std::string::npos;) id.replace(pos, 2, "/");
      found.push_back(id);
    }
    throw Error("model '" + query.model + "' is neither a folder nor in the Hugging Face cache: searched " +
                repo.string() + " (cache from " + cache_origin(query) + "); models in that cache: " +
                join(found) + ". Download it first (e.g. `hf download " + query.model +
                "`) or pass --cache-dir / --model FOLDER");
  }
  return resolve_in_repo(repo, query.revision);
}

}  // namespace logitscope
