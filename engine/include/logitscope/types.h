// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>

namespace logitscope {

using TokenId = std::int32_t;

enum class BackendKind { Cpu, Cuda };

const char* to_string(BackendKind kind);
// Parses "cpu" or "cuda"; throws logitscope::Error naming the accepted values otherwise.
BackendKind parse_backend_kind(const char* text);

}  // namespace logitscope
