// SPDX-License-Identifier: GPL-3.0-or-later
#include "lens_capture.h"

namespace logitscope::workbench {

char LensCapture::kind_letter(int layer) const {
  return layer >= 0 && layer < int(pattern.size()) ? pattern[std::size_t(layer)] : '?';
}

std::string LensCapture::bytes_of(TokenId id) const {
  const auto it = labels.find(id);
  return it != labels.end() ? it->second : std::string();
}

TokenId LensCapture::final_top1() const {
  if (layers.empty() || layers.back().top_k.empty()) return -1;
  return layers.back().top_k.front().id;
}

int LensCapture::settled_from() const {
  const TokenId best = final_top1();
  if (best < 0) return -1;
  int from = -1;
  for (int i = int(layers.size()) - 1; i >= 0; --i) {
    if (layers[std::size_t(i)].final_top1_rank != 0) break;
    from = i;
  }
  return from;
}

}  // namespace logitscope::workbench
