// SPDX-License-Identifier: GPL-3.0-or-later
#include "token_format.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace logitscope::widgets {
namespace {

// Length of the UTF-8 sequence that starts at bytes[i], or 0 when it is not a complete, valid one.
std::size_t utf8_sequence_length(const std::string& bytes, std::size_t i) {
  const auto lead = static_cast<unsigned char>(bytes[i]);
  std::size_t length = 0;
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0 && lead >= 0xC2) length = 2;
  else if ((lead & 0xF0) == 0xE0) length = 3;
  else if ((lead & 0xF8) == 0xF0 && lead <= 0xF4) length = 4;
  else return 0;
  if (i + length > bytes.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(bytes[i + k]) & 0xC0) != 0x80) return 0;
  }
  return length;
}

QString hex_byte(unsigned char byte) {
  return QStringLiteral("<0x%1>").arg(QString::number(byte, 16).toUpper().rightJustified(2, QLatin1Char('0')));
}

}  // namespace

QString visible_token(const std::string& bytes, TokenId id) {
  if (bytes.empty()) return QStringLiteral("<%1>").arg(id);
  QString out;
  for (std::size_t i = 0; i < bytes.size();) {
    const auto byte = static_cast<unsigned char>(bytes[i]);
    const std::size_t length = utf8_sequence_length(bytes, i);
    if (length == 0) {
      out += hex_byte(byte);
      ++i;
      continue;
    }
    if (length == 1) {
      if (byte == ' ') out += QChar(0x00B7);          // middle dot
      else if (byte == '\n') out += QChar(0x21B5);    // downwards arrow with corner
      else if (byte == '\t') out += QChar(0x2192);    // rightwards arrow
      else if (byte == '\r') out += QStringLiteral("\\r");
      else if (byte < 0x20 || byte == 0x7F) out += hex_byte(byte);
      else out += QChar(byte);
    } else {
      out += QString::fromUtf8(bytes.data() + i, qsizetype(length));
    }
    i += length;
  }
  return out;
}

bool is_special_looking(const std::string& bytes) {
  if (bytes.empty()) return false;
  bool all_space = true;
  for (std::size_t i = 0; i < bytes.size();) {
    const std::size_t length = utf8_sequence_length(bytes, i);
    if (length == 0) return true;
    if (length > 1 || !std::isspace(static_cast<unsigned char>(bytes[i]))) all_space = false;
    i += length;
  }
  return all_space;
}

QColor probability_color(float prob, bool dark) {
  const double p = std::clamp(double(prob), 0.0, 1.0);
  // Perceived difference between 0.01 and 0.1 matters more than between 0.8 and 0.9, so the hue
  // follows a square root.
  const double hue = 120.0 * std::sqrt(p) / 360.0;
  return QColor::fromHslF(float(hue), dark ? 0.55f : 0.70f, dark ? 0.30f : 0.80f);
}

QString format_percent(double prob) {
  const double percent = prob * 100.0;
  if (percent >= 10.0) return QStringLiteral("%1%").arg(percent, 0, 'f', 1);
  if (percent >= 0.01) return QStringLiteral("%1%").arg(percent, 0, 'f', 2);
  return QStringLiteral("<0.01%");
}

}  // namespace logitscope::widgets
