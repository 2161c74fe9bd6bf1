// SPDX-License-Identifier: GPL-3.0-or-later
// Real tokenizers (Qwen3, Llama-3, o200k, Gemma-3, Tekken) against goldens from the HF Rust
// tokenizers, plus llama.cpp's cases (ids from Python transformers). The tokenizer.json files are
// installed at test time by tests/reference/tokenizer/install-tokenizers.sh (a CTest fixture).
#include <QtTest/QtTest>

#include <cstdlib>

#include "golden_support.h"
#include "test_support.h"

using namespace logitscope;
using namespace logitscope::test;

namespace {

std::filesystem::path deps_dir() {
  if (const char* env = std::getenv("LOGITSCOPE_TOKENIZER_DEPS")) return env;
  return LOGITSCOPE_TOKENIZER_DEPS;
}

std::filesystem::path tokenizer_file(const std::string& name) { return deps_dir() / "tokenizers" / name / "tokenizer.json"; }

std::vector<std::string> split_cases(const std::string& text, const std::string& separator) {
  std::vector<std::string> out;
  std::size_t pos = 0, next;
  while ((next = text.find(separator, pos)) != std::string::npos) {
    out.push_back(text.substr(pos, next - pos));
    pos = next + separator.size();
  }
  out.push_back(text.substr(pos));
  return out;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

class TokenizerGolden : public QObject {
  Q_OBJECT

 private:
  void run(const std::string& name) {
    auto file = tokenizer_file(name);
    if (!std::filesystem::exists(file))
      QFAIL(qPrintable(QString::fromStdString(file.string() + " is missing: run the tokenizer_install fixture "
                                              "(tests/reference/tokenizer/install-tokenizers.sh)")));
    auto tok = Tokenizer::from_file(file);
    auto golden = read_json(fixtures_dir() / "tokenizer" / "goldens" / (name + ".json"));
    auto r = check_golden(*tok, golden);
    qInfo("%s: %d/%d golden cases pass", name.c_str(), r.passed, r.cases);
    for (const auto& f : r.failures) qWarning("%s", qPrintable(f));
    QCOMPARE(r.passed, r.cases);
  }

  void run_llama_cpp(const std::string& vocab, const std::string& name) {
    auto tok = Tokenizer::from_file(tokenizer_file(name));
    auto dir = fixtures_dir() / "tokenizer" / "llama.cpp";
    auto inputs = split_cases(read_file(dir / ("ggml-vocab-" + vocab + ".gguf.inp")), "\n__ggml_vocab_test__\n");
    std::string out_text = read_file(dir / ("ggml-vocab-" + vocab + ".gguf.out"));
    std::vector<std::string> lines = split_cases(out_text, "\n");
    if (!lines.empty() && lines.back().empty()) lines.pop_back();
    // Every case, the last included, is followed by the separator line.
    if (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
    QCOMPARE(inputs.size(), lines.size());
    int passed = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      std::vector<TokenId> want;
      std::istringstream ls(lines[i]);
      for (TokenId id; ls >> id;) want.push_back(id);
      auto got = tok->encode(inputs[i], false);
      if (got == want) ++passed;
      else qWarning("llama.cpp %s case %zu %s: got %s want %s", vocab.c_str(), i, show(inputs[i]).c_str(),
                    ids_text(got).c_str(), ids_text(want).c_str());
    }
    qInfo("llama.cpp %s (%s): %d/%zu cases pass", vocab.c_str(), name.c_str(), passed, inputs.size());
    QCOMPARE(std::size_t(passed), inputs.size());
  }

 private slots:
  void qwen3() { run("qwen3"); }
  void llama3() { run("llama3"); }
  void gpt4o() { run("gpt4o"); }
  void gemma3() { run("gemma3"); }
  void tekken() { run("tekken"); }
  void llama_cpp_qwen2() { run_llama_cpp("qwen2", "qwen3"); }
  void llama_cpp_llama_bpe() { run_llama_cpp("llama-bpe", "llama3"); }
};

QTEST_GUILESS_MAIN(TokenizerGolden)
#include "test_tokenizer_golden.moc"
