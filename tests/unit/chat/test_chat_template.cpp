// SPDX-License-Identifier: GPL-3.0-or-later
// The Jinja renderer against Python Jinja2 (goldens), its error reporting, and template loading.
#include <QTemporaryDir>
#include <QtTest>

#include "golden_cases.h"
#include "logitscope/chat.h"
#include "logitscope/errors.h"

using logitscope::ChatTemplate;
using namespace logitscope::test;

Q_DECLARE_METATYPE(std::string)

namespace {

// Renders one golden case; returns "" when it matched, else what differed.
std::string check_case(ChatTemplate& tmpl, const nlohmann::ordered_json& c) {
  tmpl.set_clock(golden_now);
  std::string got, error;
  try {
    got = tmpl.render_with(c["context"]);
  } catch (const logitscope::Error& e) {
    error = e.what();
  }
  if (c.contains("output")) {
    const std::string want = c["output"].get<std::string>();
    if (!error.empty()) return "unexpected error: " + error;
    if (got != want) return "output differs\nwant: " + nlohmann::json(want).dump() + "\ngot:  " + nlohmann::json(got).dump();
    return "";
  }
  const std::string type = c["error"]["type"], message = c["error"]["message"];
  if (error.empty()) return "expected " + type + " (" + message + "), rendered " + nlohmann::json(got).dump();
  // Python's exception text must appear, after the "name:line:" prefix (and the kind, unless it
  // is the template's own raise_exception).
  const std::string expected_tail = type == "TemplateError" ? ": " + message : ": " + type + ": " + message;
  if (error.size() < expected_tail.size() || error.compare(error.size() - expected_tail.size(), expected_tail.size(), expected_tail) != 0)
    return "error differs\nwant: ..." + expected_tail + "\ngot:  " + error;
  return "";
}

std::string render_text(const std::string& source, const nlohmann::ordered_json& context = nlohmann::ordered_json::object()) {
  ChatTemplate tmpl(source, "t.jinja");
  return tmpl.render_with(context);
}

std::string error_of(const std::string& source, const nlohmann::ordered_json& context = nlohmann::ordered_json::object()) {
  try {
    ChatTemplate tmpl(source, "t.jinja");
    tmpl.render_with(context);
  } catch (const logitscope::Error& e) {
    return e.what();
  }
  return "";
}

void write_file(const QString& path, const std::string& text) {
  std::ofstream out(path.toStdString(), std::ios::binary);
  out << text;
}

}  // namespace

class TestChatTemplate : public QObject {
  Q_OBJECT

 private slots:
  void templates_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<int>("index");
    for (const auto& file : golden_template_files()) {
      auto doc = load_golden(file);
      for (std::size_t i = 0; i < doc["cases"].size(); ++i) {
        std::string row = doc["template"].get<std::string>() + ":" + doc["cases"][i]["name"].get<std::string>();
        QTest::newRow(row.c_str()) << QString::fromStdString(file) << static_cast<int>(i);
      }
    }
  }

  void templates() {
    QFETCH(QString, file);
    QFETCH(int, index);
    static std::map<QString, nlohmann::ordered_json> docs;
    if (!docs.count(file)) docs[file] = load_golden(file.toStdString());
    const auto& doc = docs[file];
    const std::string name = doc["template"];
    ChatTemplate tmpl(read_file_bytes(chat_fixtures() / "templates" / name), name);
    std::string problem = check_case(tmpl, doc["cases"][static_cast<std::size_t>(index)]);
    QVERIFY2(problem.empty(), problem.c_str());
  }

  void snippets_data() {
    QTest::addColumn<int>("index");
    auto doc = load_golden("snippets.json");
    for (std::size_t i = 0; i < doc["cases"].size(); ++i)
      QTest::newRow(doc["cases"][i]["name"].get<std::string>().c_str()) << static_cast<int>(i);
  }

  void snippets() {
    QFETCH(int, index);
    static const auto doc = load_golden("snippets.json");
    const auto& c = doc["cases"][static_cast<std::size_t>(index)];
    ChatTemplate tmpl(c["template"].get<std::string>(), c["name"].get<std::string>());
    std::string problem = check_case(tmpl, c);
    QVERIFY2(problem.empty(), problem.c_str());
  }

  void crlf_renders_like_lf() {
    const auto dir = chat_fixtures() / "templates";
    ChatTemplate crlf(read_file_bytes(dir / "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.crlf-orig.jinja"), "crlf");
    ChatTemplate lf(read_file_bytes(dir / "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja"), "lf");
    nlohmann::json messages = nlohmann::json::array({{{"role", "user"}, {"content", "Hello"}}});
    const std::string expected =
        "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think></think>";
    QCOMPARE(lf.render(messages, true, {{"enable_thinking", false}}), expected);
    QCOMPARE(crlf.render(messages, true, {{"enable_thinking", false}}), expected);
  }

  void syntax_errors_name_source_and_line() {
    std::string e = error_of("line one\n{% if true %}\nunclosed");
    QVERIFY2(e.find("t.jinja:3:") != std::string::npos && e.find("'endif'") != std::string::npos, e.c_str());
    e = error_of("ok\n{{ value ");
    QVERIFY2(e.find("t.jinja:2:") != std::string::npos && e.find("syntax error") != std::string::npos, e.c_str());
    e = error_of("a\nb\n{{ x | no_such_filter }}");
    QVERIFY2(e.find("t.jinja:3:") != std::string::npos && e.find("No filter named 'no_such_filter'") != std::string::npos, e.c_str());
    e = error_of("{{ x is no_such_test }}");
    QVERIFY2(e.find("No test named 'no_such_test'") != std::string::npos, e.c_str());
    e = error_of("{% include 'other.jinja' %}");
    QVERIFY2(e.find("Encountered unknown tag 'include'") != std::string::npos, e.c_str());
    e = error_of("{# never closed");
    QVERIFY2(e.find("Missing end of comment tag") != std::string::npos, e.c_str());
    e = error_of("{% for x in y %}{% endif %}");
    QVERIFY2(e.find("Encountered unknown tag 'endif'") != std::string::npos, e.c_str());
    e = error_of("{{ (1 }}");
    QVERIFY2(!e.empty(), "unbalanced parenthesis must fail");
    e = error_of("{% do x %}");  // the `do` extension is not enabled by transformers
    QVERIFY2(e.find("unknown tag 'do'") != std::string::npos, e.c_str());
  }

  // Python integers are unbounded, ours are 64-bit: arithmetic past that range must fail the render
  // with a message (found by fuzz_chat_template: `1118**111` was signed overflow, undefined
  // behaviour), and Python's results must hold right up to the edge.
  void integer_arithmetic_at_64_bits() {
    QCOMPARE(render_text("{{ 2**62 }}|{{ (-2)**63 }}|{{ 3**0 }}|{{ (-1)**999999999999 }}", {}),
             std::string("4611686018427387904|-9223372036854775808|1|-1"));
    QCOMPARE(render_text("{{ -7 % 3 }}|{{ 7 % -3 }}|{{ (-9223372036854775807 - 1) % -1 }}|{{ -7 // 2 }}", {}),
             std::string("2|-2|0|-4"));
    QCOMPARE(render_text("{{ range(9223372036854775800, 9223372036854775807, 4) | list }}", {}),
             std::string("[9223372036854775800, 9223372036854775804]"));
    for (const char* expr : {"{{ 1118**111 }}", "{{ 9223372036854775807 + 1 }}", "{{ -9223372036854775807 - 2 }}",
                             "{{ 4294967296 * 4294967296 }}", "{{ (-9223372036854775807 - 1) // -1 }}",
                             "{{ -(-9223372036854775807 - 1) }}", "{{ (-9223372036854775807 - 1) | abs }}"}) {
      const std::string e = error_of(expr);
      QVERIFY2(e.find("OverflowError") != std::string::npos, (std::string(expr) + " -> " + e).c_str());
    }
    std::string e = error_of("{{ 'ab' * 100000000000 }}");
    QVERIFY2(e.find("MemoryError") != std::string::npos, e.c_str());
    // Digits past 64 bits elsewhere than literals (fuzz_chat_template: `x.888...8` threw
    // std::out_of_range through the renderer).
    e = error_of("{{ messages.99999999999999999999 }}");
    QVERIFY2(e.find("does not fit in 64 bits") != std::string::npos, e.c_str());
    e = error_of("{{ '{99999999999999999999}'.format(1) }}");
    QVERIFY2(e.find("Too many decimal digits") != std::string::npos, e.c_str());
    QCOMPARE(render_text("{{ [[7]] | map(attribute='0') | list }}|{{ [{'99999999999999999999': 5}] | "
                         "map(attribute='99999999999999999999') | list }}"),
             std::string("[7]|[5]"));
  }

  // A namespace can be made to hold itself (found by fuzz_chat_template: `namespace(...)` whose
  // attribute is set to the namespace leaked it, a shared_ptr cycle). Outputs are Python Jinja2's;
  // the leak itself is caught by the sanitizer build (LeakSanitizer) that runs this test, on both
  // the success and the error path.
  void namespace_reference_cycles_render_and_are_freed() {
    QCOMPARE(render_text("{% set ns = namespace(a=1) %}{% set ns.me = ns %}{{ ns.me.me.a }}"), std::string("1"));
    QCOMPARE(render_text("{% set ns = namespace(items=[]) %}{% set ns.items = ns.items + [ns] %}"
                         "{{ ns.items[0].items | length }}"),
             std::string("1"));
    QCOMPARE(render_text("{% set ns = namespace() %}{% set d = {'n': ns} %}{% set ns.get = d.get %}"
                         "{{ ns.get('n').get('x', 'absent') }}"),
             std::string("absent"));
    QCOMPARE(render_text("{% for i in range(3) %}{% set ns = namespace(i=i) %}{% set ns.loop = [ns, loop] %}"
                         "{{ ns.loop[0].i }}{% endfor %}"),
             std::string("012"));
    const std::string e = error_of("{% set ns = namespace() %}{% set ns.me = ns %}{{ raise_exception('stop') }}");
    QVERIFY2(e.find("stop") != std::string::npos, e.c_str());
  }

  void raise_exception_reports_line() {
    std::string e = error_of("first\nsecond\n{%- if true %}{{ raise_exception('Only user and assistant roles!') }}{% endif %}");
    QCOMPARE(e, std::string("chat template t.jinja:3: Only user and assistant roles!"));
    e = error_of("{{ messages[0].content.x.y }}", {{"messages", nlohmann::ordered_json::array({{{"role", "user"}}})}});
    QVERIFY2(e.find("UndefinedError: 'dict object' has no attribute 'content'") != std::string::npos, e.c_str());
  }

  void special_tokens_and_defaults() {
    ChatTemplate tmpl("{{ bos_token }}|{{ eos_token }}|{{ tools }}|{{ documents }}|{{ add_generation_prompt }}", "t");
    tmpl.set_special_tokens("<s>", "</s>");
    QCOMPARE(tmpl.render(nlohmann::json::array(), false), std::string("<s>|</s>|None|None|False"));
    QCOMPARE(tmpl.render_with({{"bos_token", "B"}, {"tools", {1}}, {"add_generation_prompt", true}}),
             std::string("B|</s>|[1]|None|True"));
    ChatTemplate plain("[{{ bos_token }}]{{ bos_token is defined }}", "t");
    QCOMPARE(plain.render(nlohmann::json::array(), false), std::string("[]False"));
  }

  void key_order_is_kept_by_render_with() {
    auto context = nlohmann::ordered_json::parse(R"({"tools": [{"z": 1, "a": 2}]})");
    QCOMPARE(render_text("{{ tools[0] | tojson }}", context), std::string(R"({"z": 1, "a": 2})"));
  }

  void from_snapshot_sources() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::filesystem::path root = dir.path().toStdString();
    QVERIFY(ChatTemplate::from_snapshot(root) == nullptr);

    write_file(dir.filePath("tokenizer_config.json"),
               R"({"bos_token": {"content": "<B>", "lstrip": false}, "eos_token": "<E>", "chat_template": "S:{{ bos_token }}{{ eos_token }}"})");
    auto t = ChatTemplate::from_snapshot(root);
    QVERIFY(t != nullptr);
    QCOMPARE(t->bos_token(), std::string("<B>"));
    QCOMPARE(t->eos_token(), std::string("<E>"));
    QCOMPARE(t->render(nlohmann::json::array(), false), std::string("S:<B><E>"));

    write_file(dir.filePath("tokenizer_config.json"),
               R"({"eos_token": "<E>", "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})");
    t = ChatTemplate::from_snapshot(root);
    QCOMPARE(t->render(nlohmann::json::array(), false), std::string("D"));
    QCOMPARE(t->bos_token(), std::string());

    write_file(dir.filePath("chat_template.jinja"), "J{{ eos_token }}\r\n");
    t = ChatTemplate::from_snapshot(root);
    QCOMPARE(t->render(nlohmann::json::array(), false), std::string("J<E>"));
    QCOMPARE(t->source_name(), std::string("chat_template.jinja"));

    QFile::remove(dir.filePath("chat_template.jinja"));
    write_file(dir.filePath("tokenizer_config.json"), R"({"chat_template": 5})");
    bool threw = false;
    try {
      ChatTemplate::from_snapshot(root);
    } catch (const logitscope::Error& e) {
      threw = std::string(e.what()).find("chat_template") != std::string::npos;
    }
    QVERIFY(threw);
    write_file(dir.filePath("tokenizer_config.json"), "{not json");
    threw = false;
    try {
      ChatTemplate::from_snapshot(root);
    } catch (const logitscope::Error& e) {
      threw = std::string(e.what()).find("tokenizer_config.json") != std::string::npos;
    }
    QVERIFY(threw);
  }
};

QTEST_GUILESS_MAIN(TestChatTemplate)
#include "test_chat_template.moc"
