// SPDX-License-Identifier: GPL-3.0-or-later
// The one exception type the engine throws. Messages are written for the user: they name the file,
// the field and what was expected ("shard model-00003-of-00013.safetensors is truncated: ...").
#pragma once

#include <stdexcept>
#include <string>

namespace logitscope {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Thrown when a caller's stop request ended an operation early (load, prefill, generation).
class Cancelled : public Error {
 public:
  explicit Cancelled(const std::string& message = "cancelled") : Error(message) {}
};

// Thrown when device (or host) memory ran out. The context stays usable: free something (a second
// session, a longer context) and go on. Where memory is only an optimisation (recurrent-state
// checkpoints) the engine absorbs it instead of throwing.
class OutOfMemory : public Error {
 public:
  explicit OutOfMemory(const std::string& message) : Error(message) {}
};

}  // namespace logitscope
