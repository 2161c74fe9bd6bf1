// SPDX-License-Identifier: GPL-3.0-or-later
// tegrastats line parser. The grammar varies by board, release and privilege (see the tegrastats
// reference in the design notes), so each token is recognised by its keyword and the shape of its
// value; nothing depends on a token's position. Whatever is not recognised is kept in `extras`.
#include "logitscope/telemetry/tegrastats_parser.h"

#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include "numbers.h"

namespace logitscope::telemetry {

using detail::leading_number;
using detail::starts_with;
using detail::to_number;
using detail::trim;

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_alpha(char c) { return is_upper(c) || (c >= 'a' && c <= 'z'); }

class Tokens {
 public:
  // Splits on any whitespace (r36 lines carry runs of spaces). Two repairs keep values whole:
  // a `[...]` group with spaces inside (NVIDIA's documented `CPU [X%@Z, Y%@Z]`) is glued back,
  // and a '(' glued to a value (`IRAM 0/252kB(lfb 252kB)`) starts a token of its own.
  explicit Tokens(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && is_space(line[i])) ++i;
      std::size_t b = i;
      while (i < line.size() && !is_space(line[i])) ++i;
      if (i > b) push(line.substr(b, i - b));
    }
    glue_brackets();
  }
  std::size_t size() const { return tokens_.size(); }
  std::string_view operator[](std::size_t i) const { return i < tokens_.size() ? tokens_[i] : std::string_view{}; }

 private:
  void push(std::string_view token) {
    auto paren = token.find('(');
    if (paren != std::string_view::npos && paren > 0) {
      tokens_.push_back(token.substr(0, paren));
      tokens_.push_back(token.substr(paren));
    } else {
      tokens_.push_back(token);
    }
  }
  void glue_brackets() {
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      auto open = std::count(tokens_[i].begin(), tokens_[i].end(), '[');
      auto close = std::count(tokens_[i].begin(), tokens_[i].end(), ']');
      if (open <= close) continue;
      std::string joined(tokens_[i]);
      std::size_t j = i + 1;
      for (; j < tokens_.size() && open > close; ++j) {
        open += std::count(tokens_[j].begin(), tokens_[j].end(), '[');
        close += std::count(tokens_[j].begin(), tokens_[j].end(), ']');
        joined += tokens_[j];
      }
      storage_.push_back(std::move(joined));
      tokens_[i] = storage_.back();
      tokens_.erase(tokens_.begin() + static_cast<std::ptrdiff_t>(i + 1), tokens_.begin() + static_cast<std::ptrdiff_t>(j));
    }
  }
  std::vector<std::string_view> tokens_;
  std::deque<std::string> storage_;  // deque: references stay valid as it grows
};

// "MM-DD-YYYY" and "HH:MM:SS"; digits checked, values not (the log is what it is).
bool is_date(std::string_view t) {
  if (t.size() != 10 || t[2] != '-' || t[5] != '-') return false;
  for (std::size_t i : {0u, 1u, 3u, 4u, 6u, 7u, 8u, 9u})
    if (!is_digit(t[i])) return false;
  return true;
}
bool is_time(std::string_view t) {
  if (t.size() != 8 || t[2] != ':' || t[5] != ':') return false;
  for (std::size_t i : {0u, 1u, 3u, 4u, 6u, 7u})
    if (!is_digit(t[i])) return false;
  return true;
}

// Scale to MiB: tegrastats prints MB (MiB) for RAM and SWAP; kB for IRAM and small lfb blocks.
std::optional<double> unit_factor_mb(std::string_view unit) {
  if (unit.empty() || unit == "MB" || unit == "M") return 1.0;
  if (unit == "kB" || unit == "KB" || unit == "K") return 1.0 / 1024.0;
  if (unit == "GB" || unit == "G") return 1024.0;
  return std::nullopt;
}

struct Amount {
  double value = 0;
  std::string_view unit;
};

// "0MB", "252kB", "4" (with an optional trailing ')').
std::optional<Amount> parse_amount(std::string_view t) {
  if (!t.empty() && t.back() == ')') t.remove_suffix(1);
  std::string_view rest;
  auto v = leading_number(t, rest);
  if (!v || !unit_factor_mb(rest)) return std::nullopt;
  return Amount{*v, rest};
}

struct Pair {
  double used = 0, total = 0;
  std::string_view unit;
};

// "534/3964MB": the unit follows the total and applies to both.
std::optional<Pair> parse_pair(std::string_view t) {
  auto slash = t.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto used = to_number(t.substr(0, slash));
  std::string_view rest;
  auto total = leading_number(t.substr(slash + 1), rest);
  if (!used || !total || !unit_factor_mb(rest)) return std::nullopt;
  return Pair{*used, *total, rest};
}

// "98x4MB)" -> 98 blocks of 4 MB.
bool parse_lfb_blocks(std::string_view t, RamInfo& ram) {
  if (!t.empty() && t.back() == ')') t.remove_suffix(1);
  auto x = t.find('x');
  if (x == std::string_view::npos) return false;
  auto count = to_number(t.substr(0, x));
  auto size = parse_amount(t.substr(x + 1));
  if (!count || !size) return false;
  ram.lfb_count = *count;
  ram.lfb_size = size->value;
  ram.lfb_unit = std::string(size->unit);
  return true;
}

// "16%" -> 16; "16" -> 16 (a load without its '%' still reads as a load where one is expected).
std::optional<double> parse_percent(std::string_view t) {
  if (!t.empty() && t.back() == '%') t.remove_suffix(1);
  return to_number(t);
}

// "[305,305]" or "305" -> list of clocks.
std::optional<std::vector<double>> parse_freq_list(std::string_view t) {
  std::vector<double> out;
  if (!t.empty() && t.front() == '[') {
    if (t.back() != ']') return std::nullopt;
    t = t.substr(1, t.size() - 2);
    if (trim(t).empty()) return out;
    while (true) {
      auto comma = t.find(',');
      auto v = to_number(trim(t.substr(0, comma)));
      if (!v) return std::nullopt;
      out.push_back(*v);
      if (comma == std::string_view::npos) break;
      t = t.substr(comma + 1);
    }
    return out;
  }
  auto v = to_number(t);
  if (!v) return std::nullopt;
  out.push_back(*v);
  return out;
}

struct Value {
  bool off = false;
  std::optional<double> load;
  std::optional<std::vector<double>> freqs;
};

// The value of EMC, GR3D and engine tokens: `off`, `X%@F`, `X%@[F,F]`, `@F`, `@[F,F,F]`, `X%`,
// a bare `F` (a clock) or the documented `[X%,X%]@F` (the highest load is kept).
std::optional<Value> parse_value(std::string_view t) {
  Value v;
  if (t == "off" || t == "OFF") {
    v.off = true;
    return v;
  }
  if (t.empty()) return std::nullopt;
  auto at = t.find('@');
  std::string_view left = at == std::string_view::npos ? t : t.substr(0, at);
  if (at != std::string_view::npos) {
    auto freqs = parse_freq_list(t.substr(at + 1));
    if (!freqs) return std::nullopt;
    v.freqs = std::move(freqs);
  }
  if (left.empty()) return at == std::string_view::npos ? std::nullopt : std::optional<Value>(v);
  if (left.front() == '[') {
    if (left.back() != ']') return std::nullopt;
    std::string_view inner = left.substr(1, left.size() - 2);
    std::optional<double> best;
    while (!inner.empty()) {
      auto comma = inner.find(',');
      auto p = parse_percent(trim(inner.substr(0, comma)));
      if (!p) return std::nullopt;
      best = best ? std::max(*best, *p) : *p;
      if (comma == std::string_view::npos) break;
      inner = inner.substr(comma + 1);
    }
    v.load = best;
    return v;
  }
  if (left.back() == '%') {
    auto p = to_number(left.substr(0, left.size() - 1));
    if (!p) return std::nullopt;
    v.load = p;
    return v;
  }
  if (at != std::string_view::npos) {
    // "5@204": a load printed without its '%'.
    auto p = to_number(left);
    if (!p) return std::nullopt;
    v.load = p;
    return v;
  }
  auto bare = to_number(left);  // "NVENC 716", "VIC_FREQ 729": a clock
  if (!bare) return std::nullopt;
  v.freqs = std::vector<double>{*bare};
  return v;
}

std::optional<double> max_of(const std::optional<std::vector<double>>& v) {
  if (!v || v->empty()) return std::nullopt;
  return *std::max_element(v->begin(), v->end());
}

// "[1%@1160,off,...]" or the legacy "[17%,13%]@408".
std::optional<CpuInfo> parse_cpu(std::string_view t) {
  if (t.empty() || t.front() != '[') return std::nullopt;
  auto close = t.rfind(']');
  if (close == std::string_view::npos) return std::nullopt;
  std::optional<double> shared_freq;
  std::string_view tail = t.substr(close + 1);
  if (!tail.empty()) {
    if (tail.front() != '@') return std::nullopt;
    shared_freq = to_number(tail.substr(1));
  }
  CpuInfo cpu;
  std::string_view inner = t.substr(1, close - 1);
  if (trim(inner).empty()) return cpu;
  while (true) {
    auto comma = inner.find(',');
    std::string_view entry = trim(inner.substr(0, comma));
    if (entry.empty() || entry == "off" || entry == "OFF") {
      cpu.load_pct.push_back(std::nullopt);
      cpu.freq_mhz.push_back(std::nullopt);
      cpu.online.push_back(false);
    } else {
      std::optional<double> load, freq = shared_freq;
      auto at = entry.find('@');
      std::string_view left = entry.substr(0, at);
      if (!left.empty()) load = parse_percent(left);
      if (at != std::string_view::npos) freq = to_number(entry.substr(at + 1));
      cpu.load_pct.push_back(load);
      cpu.freq_mhz.push_back(freq);
      cpu.online.push_back(true);
    }
    if (comma == std::string_view::npos) break;
    inner = inner.substr(comma + 1);
  }
  return cpu;
}

// "cpu@47.687C", "CV0@-256C", "cpu@34.312C/34.843C" (JetPack 7.2: current / running maximum).
std::optional<Temperature> parse_temperature(std::string_view t) {
  auto at = t.find('@');
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  std::string_view name = t.substr(0, at);
  for (char c : name)
    if (!(is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.')) return std::nullopt;
  auto degrees = [](std::string_view part) -> std::optional<double> {
    if (part.empty() || (part.back() != 'C' && part.back() != 'c')) return std::nullopt;
    return to_number(part.substr(0, part.size() - 1));
  };
  std::string_view value = t.substr(at + 1);
  auto slash = value.find('/');
  auto cur = degrees(value.substr(0, slash));
  if (!cur) return std::nullopt;
  Temperature temp{std::string(name), *cur, std::nullopt};
  if (slash != std::string_view::npos) {
    auto max = degrees(value.substr(slash + 1));
    if (!max) return std::nullopt;
    temp.max_celsius = max;
  }
  return temp;
}

bool is_rail_name(std::string_view t) {
  bool letter = false;
  for (char c : t) {
    if (is_alpha(c)) letter = true;
    else if (!is_digit(c) && c != '_') return false;
  }
  return letter;
}

bool is_engine_name(std::string_view t) {
  if (t.empty() || !is_upper(t.front())) return false;
  for (char c : t)
    if (!is_upper(c) && !is_digit(c) && c != '_') return false;
  return true;
}

// "2412mW/2412mW", "1022/1022" (r32: mW implied), "7953mW/8332mW/8710mW" (r39.2: cur/avg/max).
std::optional<PowerRail> parse_rail_value(std::string_view t) {
  std::optional<double> parts[3];
  int n = 0;
  while (true) {
    if (n == 3) return std::nullopt;
    auto slash = t.find('/');
    std::string_view part = t.substr(0, slash);
    std::string_view unit;
    auto v = leading_number(part, unit);
    if (!v) return std::nullopt;
    if (unit == "mW" || unit == "mw" || unit.empty()) parts[n] = *v;
    else if (unit == "W") parts[n] = *v * 1000.0;
    else return std::nullopt;
    ++n;
    if (slash == std::string_view::npos) break;
    t = t.substr(slash + 1);
  }
  if (n < 2) return std::nullopt;
  PowerRail rail;
  rail.cur_mw = parts[0];
  rail.avg_mw = parts[1];
  if (n == 3) rail.max_mw = parts[2];
  return rail;
}

}  // namespace

std::optional<Sample> parse_tegrastats_line(std::string_view line) {
  Tokens tok(line);
  if (tok.size() == 0) return std::nullopt;

  Sample s;
  s.source = "tegrastats";
  s.unified_memory = true;
  bool recognised_cpu = false;

  for (std::size_t i = 0; i < tok.size(); ++i) {
    std::string_view t = tok[i];
    std::string_view next = tok[i + 1];

    if (!s.timestamp && is_date(t) && is_time(next)) {
      s.timestamp = std::string(t) + " " + std::string(next);
      ++i;
      continue;
    }
    if (t == "RAM" && !s.ram) {
      if (auto p = parse_pair(next)) {
        double f = *unit_factor_mb(p->unit);
        RamInfo ram;
        ram.used_mb = p->used * f;
        ram.total_mb = p->total * f;
        ++i;
        if (tok[i + 1] == "(lfb" && parse_lfb_blocks(tok[i + 2], ram)) i += 2;
        s.ram = std::move(ram);
        continue;
      }
    }
    if (t == "SWAP" && !s.swap) {
      if (auto p = parse_pair(next)) {
        double f = *unit_factor_mb(p->unit);
        SwapInfo swap{p->used * f, p->total * f, std::nullopt};
        ++i;
        if (tok[i + 1] == "(cached") {
          if (auto c = parse_amount(tok[i + 2])) {
            swap.cached_mb = c->value * *unit_factor_mb(c->unit.empty() ? p->unit : c->unit);
            i += 2;
          }
        }
        s.swap = swap;
        continue;
      }
    }
    if (t == "IRAM" && !s.iram) {
      if (auto p = parse_pair(next)) {
        // IRAM is printed in kB; convert anything else to kB.
        double f = p->unit.empty() ? 1.0 : *unit_factor_mb(p->unit) * 1024.0;
        IramInfo iram{p->used * f, p->total * f, std::nullopt};
        ++i;
        if (tok[i + 1] == "(lfb") {
          if (auto c = parse_amount(tok[i + 2])) {
            iram.lfb_kb = c->value * (c->unit.empty() ? 1.0 : *unit_factor_mb(c->unit) * 1024.0);
            i += 2;
          }
        }
        s.iram = iram;
        continue;
      }
    }
    if ((t == "CPU" || t == "cpu") && !s.cpu && starts_with(next, "[")) {
      if (auto cpu = parse_cpu(next)) {
        s.cpu = std::move(cpu);
        recognised_cpu = true;
        ++i;
        continue;
      }
    }
    if ((t == "EMC_FREQ" || t == "EMC") && !s.emc) {
      if (auto v = parse_value(next)) {
        s.emc = LoadFreq{v->load, max_of(v->freqs)};
        ++i;
        continue;
      }
    }
    if (((t == "GR3D_FREQ" || t == "GR3D") && !s.gpu) || (t == "GR3D2_FREQ" && !s.gpu2)) {
      if (auto v = parse_value(next)) {
        GpuInfo gpu{v->load, std::move(v->freqs)};
        (t == "GR3D2_FREQ" ? s.gpu2 : s.gpu) = std::move(gpu);
        ++i;
        continue;
      }
    }
    if (t == "APE" && !s.ape_mhz) {
      if (auto v = to_number(next)) {
        s.ape_mhz = v;
        ++i;
        continue;
      }
    }
    if (t == "MTS" && (next == "fg" || next == "bg")) {
      // "MTS fg 0% bg 0%": Denver/Carmel foreground and background load (TX2, Xavier).
      MtsInfo mts;
      std::size_t j = i + 1;
      while ((tok[j] == "fg" || tok[j] == "bg") && parse_percent(tok[j + 1])) {
        (tok[j] == "fg" ? mts.fg_pct : mts.bg_pct) = parse_percent(tok[j + 1]);
        j += 2;
      }
      s.mts = mts;
      i = j - 1;
      continue;
    }
    if (t.find('@') != std::string_view::npos) {
      if (auto temp = parse_temperature(t)) {
        s.temps.push_back(std::move(*temp));
        continue;
      }
    }
    if (is_rail_name(t) && next.find('/') != std::string_view::npos) {
      if (auto rail = parse_rail_value(next)) {
        rail->name = std::string(t);
        s.rails.push_back(std::move(*rail));
        ++i;
        continue;
      }
    }
    if (is_engine_name(t)) {
      if (auto v = parse_value(next)) {
        EngineInfo e;
        e.name = std::string(t);
        e.off = v->off;
        e.load_pct = v->load;
        e.freq_mhz = max_of(v->freqs);
        s.engines.push_back(std::move(e));
        ++i;
        continue;
      }
    }
    s.extras.emplace_back(t);
  }

  // Not tegrastats output (a `date` banner, a shell prompt, garbage): nothing to show.
  if (!s.timestamp && !s.ram && !recognised_cpu) return std::nullopt;
  return s;
}

}  // namespace logitscope::telemetry
