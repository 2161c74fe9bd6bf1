// SPDX-License-Identifier: GPL-3.0-or-later
// `logitscope-cli template`: output byte for byte equal to the Python Jinja2 goldens, the
// {"messages": ..., "tools": ...} input form, --set, and template errors on stderr.
#include <QTemporaryDir>
#include <QtTest>

#include <stdexcept>

#include "golden_cases.h"

using namespace logitscope::test;

namespace {

const nlohmann::ordered_json& find_case(const nlohmann::ordered_json& doc, const std::string& name) {
  for (const auto& c : doc["cases"])
    if (c["name"] == name) return c;
  throw std::runtime_error("no golden case " + name);
}

QString write_json(const QTemporaryDir& dir, const QString& name, const nlohmann::ordered_json& j) {
  QString path = dir.filePath(name);
  std::ofstream out(path.toStdString(), std::ios::binary);
  out << j.dump();
  return path;
}

QString template_path(const std::string& name) {
  return QString::fromStdString((chat_fixtures() / "templates" / name).string());
}

}  // namespace

class TestTemplateCli : public QObject {
  Q_OBJECT

 private slots:
  void list_of_messages_with_flags() {
    QTemporaryDir dir;
    const auto doc = load_golden("NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.json");
    const auto& c = find_case(doc, "multi_turn/agp=1/think=0");
    QString messages = write_json(dir, "m.json", c["context"]["messages"]);
    auto r = run_cli({"template", "--template", template_path("NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja"), "--messages",
                      messages, "--add-generation-prompt", "--set", "enable_thinking=false"});
    QCOMPARE(r.exit_code, 0);
    QCOMPARE(r.out.toStdString(), c["output"].get<std::string>());
  }

  void object_with_tools_and_kwargs() {
    QTemporaryDir dir;
    const auto doc = load_golden("Qwen-Qwen3-0.6B.json");
    const auto& c = find_case(doc, "tool_calls_no_system/agp=1/think=unset");
    nlohmann::ordered_json input = c["context"];
    input.erase("add_generation_prompt");
    QString messages = write_json(dir, "m.json", input);
    auto r = run_cli({"template", "--template", template_path("Qwen-Qwen3-0.6B.jinja"), "--messages", messages,
                      "--add-generation-prompt"});
    QCOMPARE(r.exit_code, 0);
    QCOMPARE(r.out.toStdString(), c["output"].get<std::string>());
  }

  void strftime_is_pinned_by_source_date_epoch() {
    QTemporaryDir dir;
    const auto doc = load_golden("ibm-granite-granite-3.3-2B-Instruct.json");
    const auto& c = find_case(doc, "simple_user/agp=1/think=unset");
    QString messages = write_json(dir, "m.json", c["context"]["messages"]);
    qputenv("SOURCE_DATE_EPOCH", "1741944413");  // 2025-03-14 09:26:53 UTC, the goldens' clock
    auto r = run_cli({"template", "--template", template_path("ibm-granite-granite-3.3-2B-Instruct.jinja"), "--messages",
                      messages, "--add-generation-prompt", "--set", "bos_token=\"<|end_of_text|>\"", "--set",
                      "eos_token=\"<|end_of_text|>\""});
    qunsetenv("SOURCE_DATE_EPOCH");
    QCOMPARE(r.exit_code, 0);
    QCOMPARE(r.out.toStdString(), c["output"].get<std::string>());
  }

  void template_raise_exits_nonzero_with_message() {
    QTemporaryDir dir;
    const auto doc = load_golden("meta-llama-Llama-3.1-8B-Instruct.json");
    const auto& c = find_case(doc, "tool_calls_multiple/agp=0/think=unset");
    QString messages = write_json(dir, "m.json", c["context"]);
    auto r = run_cli({"template", "--template", template_path("meta-llama-Llama-3.1-8B-Instruct.jinja"), "--messages", messages});
    QVERIFY(r.exit_code != 0);
    QVERIFY(r.out.isEmpty());
    QVERIFY2(r.err.contains("This model only supports single tool-calls at once!"), r.err.constData());
    QVERIFY2(r.err.contains("meta-llama-Llama-3.1-8B-Instruct.jinja:71"), r.err.constData());
  }

  void bad_inputs_are_errors() {
    QTemporaryDir dir;
    QString messages = write_json(dir, "m.json", nlohmann::ordered_json::array({{{"role", "user"}, {"content", "x"}}}));
    QString tmpl = dir.filePath("t.jinja");
    {
      std::ofstream out(tmpl.toStdString());
      out << "{{ messages[0].content }}{{ x }}";
    }
    auto ok = run_cli({"template", "--template", tmpl, "--messages", messages, "--set", "x=[1, \"é\"]"});
    QCOMPARE(ok.exit_code, 0);
    QCOMPARE(ok.out.toStdString(), std::string("x[1, 'é']"));
    auto bad_set = run_cli({"template", "--template", tmpl, "--messages", messages, "--set", "x=not json"});
    QVERIFY(bad_set.exit_code != 0);
    QVERIFY(bad_set.err.contains("--set x"));
    QString not_messages = write_json(dir, "n.json", {{"foo", 1}});
    auto bad_messages = run_cli({"template", "--template", tmpl, "--messages", not_messages});
    QVERIFY(bad_messages.exit_code != 0);
    QVERIFY(bad_messages.err.contains("messages"));
    {
      std::ofstream out(tmpl.toStdString());
      out << "ok\n{% for x in y %}";
    }
    auto syntax = run_cli({"template", "--template", tmpl, "--messages", messages});
    QVERIFY(syntax.exit_code != 0);
    QVERIFY2(syntax.err.contains("t.jinja:2"), syntax.err.constData());
  }
};

QTEST_GUILESS_MAIN(TestTemplateCli)
#include "test_template_cli.moc"
