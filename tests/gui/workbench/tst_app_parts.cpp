// SPDX-License-Identifier: GPL-3.0-or-later
// Parts of the app shell that need no loaded model: the thinking switch on the prompt side (the
// per-message toggle reaches the chat template as enable_thinking, and the reply is known to start
// inside <think> exactly when the template opened it; fixtures have no template, so a small one of
// its own and a byte-level stand-in tokenizer), settings persistence, the Open Model summary and
// the demo-model check.
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "logitscope/chat.h"
#include "logitscope/config.h"
#include "logitscope/tokenizer.h"
#include "prompt_builder.h"
#include "model_locator.h"
#include "engine_controller.h"
#include "main_window.h"
#include "open_model_dialog.h"
#include "settings_panel.h"
#include "test_support.h"

#include <QDir>
#include <QFile>

using namespace logitscope;
using namespace logitscope::gui;

namespace {

// One token per byte; enough to see that different text gives different ids.
class ByteTokenizer : public Tokenizer {
 public:
  std::vector<TokenId> encode(std::string_view text, bool) const override {
    std::vector<TokenId> ids;
    for (unsigned char c : text) ids.push_back(TokenId(c));
    return ids;
  }
  std::string decode(std::span<const TokenId> ids, bool) const override {
    std::string out;
    for (TokenId id : ids) out += char(id);
    return out;
  }
  std::string token_bytes(TokenId id) const override { return std::string(1, char(id)); }
  std::string token_string(TokenId id) const override { return token_bytes(id); }
  std::optional<TokenId> token_to_id(std::string_view) const override { return std::nullopt; }
  bool is_special(TokenId) const override { return false; }
  std::size_t vocab_size() const override { return 256; }
};

const char* kTemplate =
    "{%- for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}"
    "{%- if add_generation_prompt %}<|assistant|>"
    "{%- if enable_thinking %}<think>\n{% else %}<think></think>{% endif %}{% endif %}";

std::string text_of(const std::vector<TokenId>& ids) {
  std::string out;
  for (TokenId id : ids) out += char(id);
  return out;
}

}  // namespace

class TestAppParts : public QObject {
  Q_OBJECT
 private slots:
  void thinking_toggle_reaches_the_template() {
    ByteTokenizer tokenizer;
    ChatTemplate chat(kTemplate, "test template");
    ModelConfig config;
    config.vocab_size = 256;
    std::vector<PromptTurn> turns{{"user", "Hi", {}}};
    const BuiltPrompt on = build_prompt(&tokenizer, &chat, config, turns, true);
    const BuiltPrompt off = build_prompt(&tokenizer, &chat, config, turns, false);
    QCOMPARE(text_of(on.ids), std::string("<|user|>Hi\n<|assistant|><think>\n"));
    QCOMPARE(text_of(off.ids), std::string("<|user|>Hi\n<|assistant|><think></think>"));
    QVERIFY(on.starts_in_thinking);
    QVERIFY(!off.starts_in_thinking);
    // The reply's text then splits into reasoning and answer accordingly.
    const ReasoningSplit split = split_reasoning("weighing options</think>The answer.", on.starts_in_thinking);
    QCOMPARE(split.reasoning, std::string("weighing options"));
    QCOMPARE(split.answer, std::string("The answer."));
  }

  void earlier_replies_are_part_of_the_prompt() {
    ByteTokenizer tokenizer;
    ChatTemplate chat(kTemplate, "test template");
    ModelConfig config;
    std::vector<PromptTurn> turns{{"user", "A", {}}, {"assistant", "B", {66}}, {"user", "C", {}}};
    QCOMPARE(text_of(build_prompt(&tokenizer, &chat, config, turns, false).ids),
             std::string("<|user|>A\n<|assistant|>B\n<|user|>C\n<|assistant|><think></think>"));
  }

  void without_tokenizer_ids_are_typed() {
    ModelConfig config;
    config.vocab_size = 256;
    config.bos_token_id = 1;
    // Typed ids are fed exactly (no BOS added), replies by their generated ids.
    std::vector<PromptTurn> turns{{"user", "5 6 7", {}}, {"assistant", "<9>", {9}}, {"user", "255", {}}};
    QCOMPARE(build_prompt(nullptr, nullptr, config, turns, true).ids, (std::vector<TokenId>{5, 6, 7, 9, 255}));
    // Anything else becomes its bytes modulo the vocabulary.
    QCOMPARE(text_to_ids_without_tokenizer("hi", 256), (std::vector<TokenId>{'h', 'i'}));
    QCOMPARE(text_to_ids_without_tokenizer("300", 256), (std::vector<TokenId>{'3', '0', '0'}));
  }

  void settings_persist() {
    // The sampling settings survive a restart through QSettings.
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("settings.ini"));
    GenerationSettings values;
    values.temperature = 0.3;
    values.top_p = 0.8;
    values.top_k = 40;
    values.min_p = 0.05;
    values.seed = 1234;
    values.max_new_tokens = 77;
    values.thinking_budget = 256;
    values.probe_top_k = 12;
    {
      QSettings settings(file, QSettings::IniFormat);
      save_generation_settings(settings, values);
    }
    QSettings settings(file, QSettings::IniFormat);
    const GenerationSettings read = load_generation_settings(settings);
    QCOMPARE(read.temperature, values.temperature);
    QCOMPARE(read.top_p, values.top_p);
    QCOMPARE(read.top_k, values.top_k);
    QCOMPARE(read.min_p, values.min_p);
    QCOMPARE(read.seed, values.seed);
    QCOMPARE(read.max_new_tokens, values.max_new_tokens);
    QCOMPARE(read.thinking_budget, values.thinking_budget);
    QCOMPARE(read.probe_top_k, values.probe_top_k);
    SettingsPanel panel;
    panel.set_values(read);
    QCOMPARE(panel.values().top_k, 40);
    QCOMPARE(panel.values().thinking_budget, 256);
  }

  void open_model_summary() {
    const QString fixture = QString::fromStdString((test::fixtures_dir() / "models" / "tiny-every-kind").string());
    LoadRequest request;
    request.model = fixture;
    bool ok = false;
    QString text = describe_snapshot(request, &ok);
    QVERIFY2(ok, qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("9 layers")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("8 routed, 2 per token")), qPrintable(text));
    QVERIFY(text.contains(QStringLiteral("none (tokens show as")));

    // A hub id in a cache folder, at a revision named by a ref.
    QTemporaryDir cache;
    const QString snapshot = cache.filePath(QStringLiteral("models--acme--tiny/snapshots/0123456789abcdef0123456789abcdef01234567"));
    QVERIFY(QDir().mkpath(snapshot));
    QVERIFY(QDir().mkpath(cache.filePath(QStringLiteral("models--acme--tiny/refs"))));
    QVERIFY(QFile::copy(fixture + QStringLiteral("/config.json"), snapshot + QStringLiteral("/config.json")));
    QFile ref(cache.filePath(QStringLiteral("models--acme--tiny/refs/main")));
    QVERIFY(ref.open(QIODevice::WriteOnly));
    ref.write("0123456789abcdef0123456789abcdef01234567");
    ref.close();
    request.model = QStringLiteral("acme/tiny");
    request.cache_dir = cache.path();
    request.revision = QStringLiteral("main");
    text = describe_snapshot(request, &ok);
    QVERIFY2(ok, qPrintable(text));
    QVERIFY(text.contains(QStringLiteral("0123456789abcdef")));
    // A revision that is not there: the engine's message, not a crash.
    request.revision = QStringLiteral("no-such-branch");
    text = describe_snapshot(request, &ok);
    QVERIFY(!ok);
    QVERIFY(!text.isEmpty());

    // The dialog shows the same summary for what it is given.
    request.model = fixture;
    request.revision = QStringLiteral("main");
    request.cache_dir.clear();
    OpenModelDialog dialog(request);
    QVERIFY(dialog.summary_text().contains(QStringLiteral("9 layers")));
    QCOMPARE(dialog.request().model, fixture);
  }

  // FP8/NVFP4: the summary names the format; quantizing on load is offered for BF16/F32 snapshots
  // only, and the window's title says what was loaded.
  void open_model_quantized() {
    LoadRequest request;
    request.model = QString::fromStdString((test::fixtures_dir() / "quantized" / "tiny-nvfp4").string());
    bool ok = false;
    QString text = describe_snapshot(request, &ok);
    QVERIFY2(ok && text.contains(QStringLiteral("NVFP4 (ModelOpt)")), qPrintable(text));
    request.quantize = QStringLiteral("fp8");
    text = describe_snapshot(request, &ok);
    QVERIFY2(!ok && text.contains(QStringLiteral("already NVFP4")), qPrintable(text));
    request.model = QString::fromStdString((test::fixtures_dir() / "quantized" / "sources" / "tiny-nvfp4").string());
    request.quantize = QStringLiteral("nvfp4");
    text = describe_snapshot(request, &ok);
    QVERIFY2(ok && text.contains(QStringLiteral("quantized to NVFP4")), qPrintable(text));
    OpenModelDialog dialog(request);
    QCOMPARE(dialog.request().quantize, QStringLiteral("nvfp4"));

    WindowOptions options;
    options.telemetry = QStringLiteral("none");
    MainWindow window(options);
    QSignalSpy loaded(window.engine(), &EngineController::loaded);
    window.load_model(request);
    QTRY_VERIFY_WITH_TIMEOUT(loaded.count() == 1, 30000);
    QVERIFY2(window.windowTitle().contains(QStringLiteral("NVFP4, quantized on load")), qPrintable(window.windowTitle()));
    QVERIFY2(window.run_status_text().contains(QStringLiteral("NVFP4, quantized on load")), qPrintable(window.run_status_text()));
  }

  void demo_model_is_recognised() {
    QTemporaryDir dir;
    QFile config(dir.filePath(QStringLiteral("config.json")));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write(R"({"model_type": "nemotron_h", "logitscope_demo": true})");
    config.close();
    QVERIFY(is_demo_model(dir.path()));
    const QString fixture = QString::fromStdString((test::fixtures_dir() / "models" / "tiny-every-kind").string());
    QVERIFY(!is_demo_model(fixture));
  }
};

QTEST_MAIN(TestAppParts)
#include "tst_app_parts.moc"
