// SPDX-License-Identifier: GPL-3.0-or-later
#include "scored_text.h"

namespace logitscope::workbench {

std::string ScoredText::bytes_of(TokenId id) const {
  if (auto it = labels.find(id); it != labels.end()) return it->second;
  for (std::size_t i = 0; i < ids.size() && i < bytes.size(); ++i)
    if (ids[i] == id) return bytes[i];
  return {};
}

}  // namespace logitscope::workbench
