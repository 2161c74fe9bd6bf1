// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/types.h"

#include <cstring>
#include <string>

#include "logitscope/errors.h"

namespace logitscope {

const char* to_string(BackendKind kind) { return kind == BackendKind::Cuda ? "cuda" : "cpu"; }

BackendKind parse_backend_kind(const char* text) {
  if (std::strcmp(text, "cpu") == 0) return BackendKind::Cpu;
  if (std::strcmp(text, "cuda") == 0) return BackendKind::Cuda;
  throw Error(std::string("unknown backend '") + text + "' (expected cpu or cuda)");
}

}  // namespace logitscope
