// SPDX-License-Identifier: GPL-3.0-or-later
// split_reasoning: whole texts, thinking off, prompts that opened <think>, and streaming prefixes.
#include <QtTest>

#include "logitscope/chat.h"

using logitscope::split_reasoning;

class TestReasoningSplit : public QObject {
  Q_OBJECT

 private slots:
  void block_then_answer() {
    auto r = split_reasoning("<think>\nLet me add.\n</think>\n\nThe answer is 4.", false);
    QCOMPARE(r.reasoning, std::string("Let me add."));
    QCOMPARE(r.answer, std::string("The answer is 4."));
    QVERIFY(!r.reasoning_open);
  }

  void leading_whitespace_before_open_tag() {
    auto r = split_reasoning("\n <think>x</think>y", false);
    QCOMPARE(r.reasoning, std::string("x"));
    QCOMPARE(r.answer, std::string("y"));
  }

  void empty_block_when_thinking_is_off() {
    auto r = split_reasoning("<think></think>Hello there", false);
    QCOMPARE(r.reasoning, std::string());
    QCOMPARE(r.answer, std::string("Hello there"));
    QVERIFY(!r.reasoning_open);
    // Nemotron with enable_thinking=false: the prompt ends with `<think></think>`, the model writes
    // the answer directly.
    r = split_reasoning("Hello there", false);
    QCOMPARE(r.reasoning, std::string());
    QCOMPARE(r.answer, std::string("Hello there"));
  }

  void prompt_opened_think() {
    auto r = split_reasoning("I should greet.\n</think>\nHi!", true);
    QCOMPARE(r.reasoning, std::string("I should greet."));
    QCOMPARE(r.answer, std::string("Hi!"));
    r = split_reasoning("<think>repeated tag</think>ok", true);
    QCOMPARE(r.reasoning, std::string("repeated tag"));
    QCOMPARE(r.answer, std::string("ok"));
  }

  void still_thinking() {
    auto r = split_reasoning("step one, step two", true);
    QCOMPARE(r.reasoning, std::string("step one, step two"));
    QCOMPARE(r.answer, std::string());
    QVERIFY(r.reasoning_open);
    r = split_reasoning("<think>partial", false);
    QCOMPARE(r.reasoning, std::string("partial"));
    QVERIFY(r.reasoning_open);
  }

  void close_without_open_tag() {
    auto r = split_reasoning("thoughts</think>answer", false);
    QCOMPARE(r.reasoning, std::string("thoughts"));
    QCOMPARE(r.answer, std::string("answer"));
  }

  void no_tags_is_all_answer() {
    auto r = split_reasoning("  plain answer with <b>html</b>", false);
    QCOMPARE(r.reasoning, std::string());
    QCOMPARE(r.answer, std::string("plain answer with <b>html</b>"));
    QVERIFY(!r.reasoning_open);
  }

  void later_think_tags_stay_in_answer() {
    auto r = split_reasoning("<think>a</think>b <think>c</think>", false);
    QCOMPARE(r.reasoning, std::string("a"));
    QCOMPARE(r.answer, std::string("b <think>c</think>"));
  }

  void custom_tags() {
    auto r = split_reasoning("<reasoning>r</reasoning>a", false, "<reasoning>", "</reasoning>");
    QCOMPARE(r.reasoning, std::string("r"));
    QCOMPARE(r.answer, std::string("a"));
  }

  // Feeding every prefix of a stream: no tag fragment is ever shown, both parts end right.
  void streaming_prefixes_never_show_tag_fragments() {
    const std::string texts[] = {"<think>\nplan the reply\n</think>\n\nFinal answer.", "<think></think>Direct.",
                                 "reasoning only</think>Answer"};
    for (const auto& text : texts) {
      bool starts = text.rfind("<think>", 0) != 0;
      for (std::size_t n = 0; n <= text.size(); ++n) {
        auto r = split_reasoning(std::string_view(text).substr(0, n), starts);
        for (const auto* part : {&r.reasoning, &r.answer}) {
          QVERIFY2(part->find("<th") == std::string::npos && part->find("</") == std::string::npos,
                   (text.substr(0, n) + " -> [" + r.reasoning + "|" + r.answer + "]").c_str());
        }
      }
      auto full = split_reasoning(text, starts);
      QVERIFY(!full.reasoning_open);
    }
    auto r = split_reasoning("thinking </thi", true);
    QCOMPARE(r.reasoning, std::string("thinking"));
    QVERIFY(r.reasoning_open);
    r = split_reasoning("<th", false);
    QCOMPARE(r.answer, std::string());
  }
};

QTEST_GUILESS_MAIN(TestReasoningSplit)
#include "test_reasoning_split.moc"
