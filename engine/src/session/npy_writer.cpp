// SPDX-License-Identifier: GPL-3.0-or-later
// The header is the magic "\x93NUMPY", version 1.0, a little-endian u16 length and a Python dict
// literal padded with spaces to a multiple of 64 bytes including the final newline; the data follows
// as is (this machine and every target are little-endian, checked below).
#include "session/npy_writer.h"

#include <bit>
#include <fstream>
#include <string>

#include "logitscope/errors.h"

namespace logitscope {
namespace {

static_assert(std::endian::native == std::endian::little, "the .npy writer assumes a little-endian machine");

void write(const std::filesystem::path& path, const char* descr, const void* data, std::size_t bytes,
           std::size_t count, const std::vector<std::int64_t>& shape) {
  std::int64_t elements = 1;
  for (std::int64_t d : shape) elements *= d;
  if (elements != std::int64_t(count))
    throw Error(path.string() + ": " + std::to_string(count) + " values do not fill the shape given");
  std::string dims;  // Python's tuple: "()", "(3,)", "(3, 4)"
  for (std::size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const std::uint16_t length = std::uint16_t(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.put(char(length & 0xff)).put(char(length >> 8));
  out.write(header.data(), std::streamsize(header.size()));
  out.write(static_cast<const char*>(data), std::streamsize(bytes));
  if (!out.flush()) throw Error("cannot write " + path.string());
}

}  // namespace

void write_npy(const std::filesystem::path& path, std::span<const float> values, const std::vector<std::int64_t>& shape) {
  write(path, "<f4", values.data(), values.size_bytes(), values.size(), shape);
}

void write_npy(const std::filesystem::path& path, std::span<const std::int32_t> values,
               const std::vector<std::int64_t>& shape) {
  write(path, "<i4", values.data(), values.size_bytes(), values.size(), shape);
}

}  // namespace logitscope
