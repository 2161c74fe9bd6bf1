// SPDX-License-Identifier: GPL-3.0-or-later
// Interventions as data: lookups and the command-line text forms (parse, print, describe). No model
// needed, so the workbench's conversation files read and write them without the engine library;
// validation against a model is engine/src/session/interventions.cpp.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "logitscope/errors.h"
#include "logitscope/interventions.h"

namespace logitscope {

const char* to_string(MoePart part) { return part == MoePart::Routed ? "routed" : "shared"; }

bool Interventions::skips(int layer) const { return std::find(skipped.begin(), skipped.end(), layer) != skipped.end(); }

bool Interventions::masks(int layer, int expert) const {
  return std::any_of(masked.begin(), masked.end(), [&](const ExpertMask& m) {
    return m.expert == expert && (m.layer == layer || m.layer == kEveryMoeLayer);
  });
}

const ForcedExperts* Interventions::forced_in(int layer) const {
  for (const ForcedExperts& f : forced)
    if (f.layer == layer) return &f;
  return nullptr;
}

double Interventions::scale(int layer, MoePart part) const {
  double factor = 1.0;
  for (const PartScale& s : scaled)
    if (s.layer == layer && s.part == part) factor *= s.factor;
  return factor;
}
namespace {

std::string number_text(double x) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, x);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(x);
}

// `option` '`whole`': the text it came from, for the message.
int parse_int(const std::string& field, const std::string& option, const std::string& whole, const std::string& form) {
  int value = 0;
  const char* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, value);
  if (field.empty() || ec != std::errc() || ptr != end)
    throw Error(option + " '" + whole + "': '" + field + "' is not a whole number (expected " + form + ")");
  return value;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!text.empty() && text.back() == sep) parts.emplace_back();
  return parts;
}

}  // namespace

std::string to_text(const ExpertMask& m) {
  return (m.layer == kEveryMoeLayer ? std::string("*") : std::to_string(m.layer)) + ":" + std::to_string(m.expert);
}

std::string to_text(const ForcedExperts& f) {
  std::string out = std::to_string(f.layer) + ":";
  for (std::size_t i = 0; i < f.experts.size(); ++i) out += (i ? "," : "") + std::to_string(f.experts[i]);
  return out;
}

std::string to_text(const PartScale& s) { return std::to_string(s.layer) + ":" + to_string(s.part) + ":" + number_text(s.factor); }

ExpertMask parse_expert_mask(const std::string& text) {
  const std::string form = "L:E or *:E, e.g. 4:17";
  const auto parts = split(text, ':');
  if (parts.size() != 2) throw Error("--mask-expert '" + text + "': expected " + form);
  ExpertMask m;
  m.layer = parts[0] == "*" ? kEveryMoeLayer : parse_int(parts[0], "--mask-expert", text, form);
  m.expert = parse_int(parts[1], "--mask-expert", text, form);
  return m;
}

ForcedExperts parse_forced_experts(const std::string& text) {
  const std::string form = "L:E1,E2,..., e.g. 4:1,5,9";
  const auto parts = split(text, ':');
  if (parts.size() != 2 || parts[1].empty()) throw Error("--force-experts '" + text + "': expected " + form);
  ForcedExperts f;
  f.layer = parse_int(parts[0], "--force-experts", text, form);
  for (const std::string& e : split(parts[1], ',')) f.experts.push_back(parse_int(e, "--force-experts", text, form));
  return f;
}

PartScale parse_part_scale(const std::string& text) {
  const std::string form = "L:routed:X or L:shared:X, e.g. 4:shared:0.5";
  const auto parts = split(text, ':');
  if (parts.size() != 3) throw Error("--scale '" + text + "': expected " + form);
  PartScale s;
  s.layer = parse_int(parts[0], "--scale", text, form);
  if (parts[1] == "routed") s.part = MoePart::Routed;
  else if (parts[1] == "shared") s.part = MoePart::Shared;
  else throw Error("--scale '" + text + "': the part is '" + parts[1] + "', expected routed or shared");
  std::size_t used = 0;
  try {
    s.factor = std::stod(parts[2], &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (parts[2].empty() || used != parts[2].size() || !std::isfinite(s.factor))
    throw Error("--scale '" + text + "': the factor '" + parts[2] + "' is not a finite number (expected " + form + ")");
  return s;
}

int parse_skipped_layer(const std::string& text) { return parse_int(text, "--skip-layer", text, "a layer number, e.g. 7"); }

std::string describe(const Interventions& iv) {
  if (iv.empty()) return "";
  std::vector<std::string> items;
  for (const ExpertMask& m : iv.masked) items.push_back("mask " + to_text(m));
  for (const ForcedExperts& f : iv.forced) items.push_back("force " + to_text(f));
  for (const PartScale& s : iv.scaled) items.push_back("scale " + to_text(s));
  for (int l : iv.skipped) items.push_back("skip " + std::to_string(l));
  std::string out = "from " + std::to_string(iv.from_position) + ":";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : " ") + items[i];
  return out;
}

Interventions parse_interventions(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char ch : text + " ") {
    if (ch == ' ' || ch == ';' || ch == '\t' || ch == '\n') {
      if (!word.empty()) words.push_back(word);
      word.clear();
    } else {
      word += ch;
    }
  }
  Interventions iv;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& verb = words[i];
    if (verb == ",") continue;
    if (i + 1 >= words.size())
      throw Error("'" + verb + "' has nothing after it (expected e.g. \"mask 4:17; force 6:1,2; scale 9:shared:0.5; skip 3\")");
    std::string arg = words[++i];
    while (!arg.empty() && arg.back() == ',') arg.pop_back();  // describe() separates items by ", "
    if (verb == "from") {
      if (!arg.empty() && arg.back() == ':') arg.pop_back();
      iv.from_position = parse_int(arg, "from", arg, "a token position, e.g. from 12:");
      if (iv.from_position < 0) throw Error("from " + arg + ": the position is negative");
    } else if (verb == "mask") {
      iv.masked.push_back(parse_expert_mask(arg));
    } else if (verb == "force") {
      iv.forced.push_back(parse_forced_experts(arg));
    } else if (verb == "scale") {
      iv.scaled.push_back(parse_part_scale(arg));
    } else if (verb == "skip") {
      iv.skipped.push_back(parse_skipped_layer(arg));
    } else {
      throw Error("'" + verb + "' is not an intervention (expected mask, force, scale or skip)");
    }
  }
  return iv;
}

}  // namespace logitscope
