// SPDX-License-Identifier: GPL-3.0-or-later
// Survives a memory-mapped shard that shrinks underneath us. Reading a page of a MAP_SHARED file
// mapping past the file's current end raises SIGBUS, which would kill the process: a user who
// re-downloads or truncates a shard while the model is loaded must get an error instead.
//
// A SIGBUS handler (installed once, on the first registration) looks the faulting address up in the
// registered mappings. When it lies in one, the handler maps anonymous zero pages over the rest of
// that mapping with MAP_FIXED (every page past the new end would fault too), records which file
// faulted and returns, so the interrupted read sees zeros and finishes. The engine then calls
// throw_if_mapping_faulted() after loading and after each forward pass, which turns the record into
// a logitscope::Error; the model stays poisoned (its weights are partly zeros) until it is unloaded.
// A SIGBUS anywhere else is passed on to the handler that was there before (or the default action).
#pragma once

#include <cstddef>
#include <string>

namespace logitscope {

// Registers [base, base + length) as a mapping of `file_name`. At most 4096 mappings at once; past
// that the mapping is simply not guarded. Async-signal-safe readers, so registration may race with
// faults on other threads.
void register_guarded_mapping(const void* base, std::size_t length, const std::string& file_name);
// Forgets the mapping (and any fault recorded for it). Call before munmap.
void unregister_guarded_mapping(const void* base);

// Throws logitscope::Error naming the file when any registered mapping has faulted since it was
// registered. Cheap (one atomic load) when nothing faulted.
void throw_if_mapping_faulted();

// For tests: how many SIGBUS faults the guard has absorbed since the process started.
std::size_t guarded_mapping_fault_count();

}  // namespace logitscope
