// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes the intervention text forms (what a person types in Generate > Intervene and what a
// conversation file stores): parse_interventions either reads the text or throws logitscope::Error
// (anything else aborts here), and what it reads survives describe() -> parse_interventions()
// unchanged, so a saved branch comes back with exactly its interventions.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "logitscope/errors.h"
#include "logitscope/interventions.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  logitscope::Interventions parsed;
  try {
    parsed = logitscope::parse_interventions(text);
  } catch (const logitscope::Error&) {
    return 0;
  }
  const std::string line = logitscope::describe(parsed);
  logitscope::Interventions again;
  try {
    again = logitscope::parse_interventions(line);
  } catch (const logitscope::Error&) {
    std::abort();  // describe() wrote a line its own parser refuses
  }
  // An empty set describes as "" (from_position is not kept then).
  if (parsed.empty() ? !again.empty() : !(again == parsed)) std::abort();
  return 0;
}
