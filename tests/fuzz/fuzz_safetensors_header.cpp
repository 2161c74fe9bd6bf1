// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes safetensors headers. The input is read as a whole .safetensors file: 8-byte little-endian
// header length, JSON header, data. The header goes through SafetensorsFile::parse_header (with the
// data size the file implies, and with none), and the bytes as a file through SafetensorsFile, which
// checks the length prefix and maps the file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.h"
#include "logitscope/errors.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using logitscope::SafetensorsFile;
  if (size >= 8) {
    std::uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | data[i];
    const std::size_t available = size - 8;
    const std::size_t n = header_len <= available ? static_cast<std::size_t>(header_len) : available;
    const std::string_view header(reinterpret_cast<const char*>(data) + 8, n);
    const std::uint64_t data_size = available - n;
    for (std::uint64_t ds : {data_size, std::uint64_t(0), std::uint64_t(1) << 62}) {
      try {
        auto tensors = SafetensorsFile::parse_header(header, ds, "fuzz.safetensors", 8 + n, nullptr);
        for (const auto& t : tensors)
          if (t.file_offset < 8 + n || t.nbytes > ds) __builtin_trap();  // validation let a bad span through
      } catch (const logitscope::Error&) {
      }
    }
  }
  const auto path = logitscope::fuzz::write_scratch("fuzz.safetensors", data, size);
  try {
    SafetensorsFile file(path);
    // Touch every tensor's first and last byte: a span past the end would fault here.
    unsigned sum = 0;
    for (const auto& t : file.tensors())
      if (t.data && t.nbytes) sum += unsigned(t.data[0]) + unsigned(t.data[t.nbytes - 1]);
    (void)sum;
  } catch (const logitscope::Error&) {
  }
  return 0;
}
