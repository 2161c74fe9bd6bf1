// SPDX-License-Identifier: GPL-3.0-or-later
// Tokenizer throughput: 1 MB of mixed text (prose, code, CJK, emoji, numbers, random words that
// defeat the word cache) encoded on one core with each real tokenizer, cold cache. Prints numbers;
// asserts nothing about speed.
#include <QtTest/QtTest>

#include <chrono>
#include <cstdlib>
#include <random>

#include "logitscope/tokenizer.h"

using namespace logitscope;

namespace {

std::filesystem::path deps_dir() {
  if (const char* env = std::getenv("LOGITSCOPE_TOKENIZER_DEPS")) return env;
  return LOGITSCOPE_TOKENIZER_DEPS;
}

std::string mixed_text(std::size_t bytes) {
  static const char* words[] = {
      "the", "model", "token", "inference", "attention", "state", "space", "layer", "Mamba", "expert", "router",
      "quickly", "because", "However,", "we", "can't", "it's", "don't", "(see", "above)", "results:", "—", "e.g.",
      "naïve", "café", "Straße", "Привет", "мир", "Γειά", "你好", "世界", "自然语言处理", "日本語", "テキスト", "한국어",
      "مرحبا", "नमस्ते", "🤖", "🎉", "👍🏽", "😀😃", "def", "return", "self.x", "x += 1;", "{\"key\": [1, 2]}",
      "std::vector<int>", "if (a != b)", "\n", "\n\n", "\t", "    ", "  ", "\r\n", "...", "?!", "#", "**bold**"};
  std::mt19937 rng(12345);
  std::uniform_int_distribution<std::size_t> pick(0, std::size(words) - 1);
  std::uniform_int_distribution<int> kind(0, 19), len(3, 12), letter(0, 25), number(0, 999999);
  std::string text;
  text.reserve(bytes + 64);
  while (text.size() < bytes) {
    int k = kind(rng);
    if (k == 0) {
      text += std::to_string(number(rng));
    } else if (k == 1) {
      // a made-up word: forces the BPE merge loop instead of the cache
      int n = len(rng);
      for (int i = 0; i < n; ++i) text.push_back(char('a' + letter(rng)));
    } else {
      text += words[pick(rng)];
    }
    text.push_back(' ');
  }
  // Cut at a character boundary.
  std::size_t end = bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text;
}

}  // namespace

class BenchTokenizer : public QObject {
  Q_OBJECT

 private slots:
  void encode_1mb() {
    const std::string text = mixed_text(1 << 20);
    int found = 0;
    for (const char* name : {"qwen3", "llama3", "gpt4o", "gemma3", "tekken"}) {
      auto file = deps_dir() / "tokenizers" / name / "tokenizer.json";
      if (!std::filesystem::exists(file)) {
        qWarning("%s: %s missing (run install-tokenizers.sh)", name, file.string().c_str());
        continue;
      }
      ++found;
      auto t0 = std::chrono::steady_clock::now();
      auto tok = Tokenizer::from_file(file);
      auto t1 = std::chrono::steady_clock::now();
      auto ids = tok->encode(text);
      auto t2 = std::chrono::steady_clock::now();
      auto ids_warm = tok->encode(text);
      auto t3 = std::chrono::steady_clock::now();
      std::string back = tok->decode(ids);
      auto t4 = std::chrono::steady_clock::now();
      auto s = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
      qInfo("%-7s load %.2f s | encode 1 MB: %.3f s cold, %.3f s warm (%zu tokens, %.1f MB/s cold) | decode %.3f s | "
            "round trip %s",
            name, s(t0, t1), s(t1, t2), s(t2, t3), ids.size(), 1.0 / s(t1, t2), s(t3, t4),
            back == text ? "exact" : "DIFFERS");
      QCOMPARE(ids_warm, ids);
    }
    if (!found) QSKIP("no tokenizers installed");
  }
};

QTEST_GUILESS_MAIN(BenchTokenizer)
#include "bench_tokenizer.moc"
