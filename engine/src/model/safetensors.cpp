// SPDX-License-Identifier: GPL-3.0-or-later
#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "logitscope/errors.h"
#include "model/mapped_file_guard.h"

namespace logitscope {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;  // the format's own limit is 100 MB

// Element size of every safetensors dtype (the engine reads the ones in `readable` below).
std::optional<std::size_t> element_size(const std::string& dtype) {
  static const std::map<std::string, std::size_t> sizes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
      {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  auto it = sizes.find(dtype);
  if (it == sizes.end()) return std::nullopt;
  return it->second;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

std::vector<TensorView> SafetensorsFile::parse_header(std::string_view header_json, std::uint64_t data_size,
                                                      const std::string& file_name, std::uint64_t data_start,
                                                      const std::byte* data_base) {
  json header;
  try {
    header = json::parse(header_json);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for numbers like 1e400
    throw Error(file_name + ": header is not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!header.is_object()) throw Error(file_name + ": header must be a JSON object");
  std::vector<TensorView> tensors;
  struct Span {
    std::uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const std::string where = file_name + ": tensor '" + it.key() + "'";
    const json& entry = it.value();
    if (!entry.is_object()) throw Error(where + " is not an object");
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) throw Error(where + " has no dtype");
    if (!entry.contains("shape") || !entry["shape"].is_array()) throw Error(where + " has no shape");
    if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
      throw Error(where + " has no data_offsets [begin, end]");
    const std::string dtype = entry["dtype"].get<std::string>();
    auto size = element_size(dtype);
    if (!size) throw Error(where + " has unknown dtype '" + dtype + "'");
    std::uint64_t count = 1;
    std::vector<std::int64_t> shape;
    for (const json& d : entry["shape"]) {
      if (!d.is_number_unsigned()) throw Error(where + " has a shape entry that is not a non-negative integer");
      const std::uint64_t dim = d.get<std::uint64_t>();
      if (dim > (1ull << 40) || (dim && count > (1ull << 50) / dim)) throw Error(where + " has an impossible shape");
      count *= dim;
      shape.push_back(static_cast<std::int64_t>(dim));
    }
    const json& offsets = entry["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      throw Error(where + " has data_offsets that are not non-negative integers");
    const std::uint64_t begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
    if (begin > end) throw Error(where + " has data_offsets with begin > end");
    if (end > data_size)
      throw Error(where + " ends at byte " + std::to_string(end) + " of the data section, but the file holds only " +
                  std::to_string(data_size) + " bytes of data (truncated file?)");
    if (end - begin != count * *size)
      throw Error(where + ": " + dtype + " x " + std::to_string(count) + " elements needs " +
                  std::to_string(count * *size) + " bytes, but data_offsets span " + std::to_string(end - begin));
    spans.push_back({begin, end, it.key()});
    TensorView view;
    view.name = it.key();
    view.file = file_name;
    view.shape = std::move(shape);
    view.nbytes = static_cast<std::size_t>(end - begin);
    view.file_offset = data_start + begin;
    view.dtype_name = dtype;
    // The dtypes the engine reads: F32/F16/BF16 values, FP8 weights and scales, U8 packed NVFP4.
    static const std::map<std::string, DType> readable = {
        {"F32", DType::F32},         {"F16", DType::F16},         {"BF16", DType::BF16},
        {"F8_E4M3", DType::F8_E4M3}, {"F8_E5M2", DType::F8_E5M2}, {"U8", DType::U8}};
    const auto known = readable.find(dtype);
    view.dtype = known != readable.end() ? known->second : DType::F32;
    view.data = (known != readable.end() && data_base) ? data_base + begin : nullptr;
    tensors.push_back(std::move(view));
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].begin < spans[i - 1].end && spans[i].end > spans[i].begin)
      throw Error(file_name + ": tensors '" + spans[i - 1].name + "' and '" + spans[i].name + "' overlap");
  }
  return tensors;
}

namespace {
// Closes the descriptor on every way out of the constructor (a header that fails validation
// throws: v1-v3 leaked the descriptor then, found by fuzz_safetensors_header running out of files).
struct FileDescriptor {
  int fd = -1;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

SafetensorsFile::SafetensorsFile(const fs::path& path) : name_(path.filename().string()) {
  FileDescriptor file;
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const int fd = file.fd;
  if (fd < 0) throw Error(path.string() + ": cannot open (" + errno_text() + ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error(path.string() + ": cannot stat (" + errno_text() + ")");
  size_ = static_cast<std::uint64_t>(st.st_size);
  auto fail = [&](const std::string& message) { throw Error(name_ + ": " + message); };
  if (size_ < 8) fail("file is " + std::to_string(size_) + " bytes, too short for a safetensors header");
  std::uint64_t header_len = 0;
  unsigned char len_bytes[8];
  if (::pread(fd, len_bytes, 8, 0) != 8) fail("cannot read the header length");
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];  // little endian
  if (header_len > kMaxHeaderBytes) fail("header length " + std::to_string(header_len) + " exceeds 100 MB (corrupt file?)");
  if (8 + header_len > size_)
    fail("header says " + std::to_string(header_len) + " bytes but the file has only " + std::to_string(size_ - 8) +
         " after the length (truncated file?)");
  std::string header(static_cast<std::size_t>(header_len), '\0');
  if (header_len && ::pread(fd, header.data(), header.size(), 8) != static_cast<ssize_t>(header.size()))
    fail("cannot read the header");
  const std::uint64_t data_start = 8 + header_len;
  const std::uint64_t data_size = size_ - data_start;
  // Validate before mapping: a file whose tensors extend past its end is rejected here.
  parse_header(header, data_size, name_, data_start, nullptr);
  mapping_ = ::mmap(nullptr, static_cast<std::size_t>(size_), PROT_READ, MAP_SHARED, fd, 0);
  if (mapping_ == MAP_FAILED) {
    mapping_ = nullptr;
    throw Error(name_ + ": cannot map into memory (" + errno_text() + ")");
  }
  register_guarded_mapping(mapping_, static_cast<std::size_t>(size_), name_);  // SIGBUS -> Error
  try {
    tensors_ = parse_header(header, data_size, name_, data_start,
                            static_cast<const std::byte*>(mapping_) + data_start);
  } catch (...) {
    // The destructor does not run for a constructor that throws: give the mapping back here.
    unregister_guarded_mapping(mapping_);
    ::munmap(mapping_, static_cast<std::size_t>(size_));
    mapping_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_) {
    unregister_guarded_mapping(mapping_);
    ::munmap(mapping_, static_cast<std::size_t>(size_));
  }
}

std::shared_ptr<SafetensorsSet> SafetensorsSet::open(const fs::path& dir) {
  auto set = std::make_shared<SafetensorsSet>();
  std::vector<fs::path> files;
  const fs::path index_path = dir / "model.safetensors.index.json";
  std::map<std::string, std::string> weight_map;
  if (fs::exists(index_path)) {
    std::ifstream in(index_path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    json index;
    try {
      index = json::parse(text.str());
    } catch (const json::exception& e) {  // parse_error, or out_of_range for numbers like 1e400
      throw Error(index_path.filename().string() + ": not valid JSON (" + std::string(e.what()) + ")");
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      throw Error(index_path.filename().string() + ": field 'weight_map' is missing (expected an object name -> shard)");
    std::set<std::string> shard_names;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
      if (!it.value().is_string())
        throw Error(index_path.filename().string() + ": weight_map entry '" + it.key() + "' is not a file name");
      const std::string shard = it.value().get<std::string>();
      if (shard.find('/') != std::string::npos || shard == "..")
        throw Error(index_path.filename().string() + ": weight_map entry '" + it.key() + "' names a path outside the snapshot");
      weight_map[it.key()] = shard;
      shard_names.insert(shard);
    }
    for (const auto& shard : shard_names) {
      if (!fs::exists(dir / shard))
        throw Error("shard " + shard + " is missing from " + dir.string() + " (listed in model.safetensors.index.json)");
      files.push_back(dir / shard);
    }
  } else if (fs::exists(dir / "model.safetensors")) {
    files.push_back(dir / "model.safetensors");
  } else {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".safetensors") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    if (files.empty())
      throw Error(dir.string() + " has no model.safetensors, model.safetensors.index.json or *.safetensors file");
  }
  for (const auto& path : files) {
    set->files_.push_back(std::make_unique<SafetensorsFile>(path));
    for (const TensorView& view : set->files_.back()->tensors()) {
      if (!weight_map.empty()) {
        auto it = weight_map.find(view.name);
        if (it == weight_map.end() || it->second != set->files_.back()->name()) continue;  // index is authoritative
      }
      if (set->tensors_.count(view.name))
        throw Error("tensor '" + view.name + "' appears in both " + set->tensors_[view.name].file + " and " + view.file);
      set->tensors_[view.name] = view;
    }
  }
  for (const auto& [name, shard] : weight_map) {
    if (!set->tensors_.count(name))
      throw Error("shard " + shard + " does not contain tensor '" + name + "' (model.safetensors.index.json says it does)");
  }
  return set;
}

const TensorView* SafetensorsSet::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::uint64_t SafetensorsSet::total_bytes() const {
  std::uint64_t total = 0;
  for (const auto& [name, view] : tensors_) total += view.nbytes;
  return total;
}

}  // namespace logitscope
