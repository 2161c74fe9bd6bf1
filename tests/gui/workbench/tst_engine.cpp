// SPDX-License-Identifier: GPL-3.0-or-later
// The real window on the real engine (CPU backend) with a fixture checkpoint: send a message and see
// tokens stream, step, choose an alternative and see the continuation change, rewind to an earlier
// token, switch branches, save and reopen, keep the conversation through an error, and close the
// window in the middle of a reply.
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <ctime>

#include "branch_tree.h"
#include "chat_pane.h"
#include "conversation_driver.h"
#include "engine_controller.h"
#include "event_store.h"
#include "main_window.h"
#include "message_view.h"
#include "settings_panel.h"
#include "shown_window.h"
#include "event_loop_heartbeat.h"
#include "test_support.h"

using namespace logitscope;
using namespace logitscope::gui;
using logitscope::test::EventLoopHeartbeat;

namespace {

QString fixture(const char* name) {
  return QString::fromStdString((test::fixtures_dir() / "models" / name).string());
}

std::vector<int> json_ints(const QJsonArray& array) {
  std::vector<int> out;
  for (const auto& v : array) out.push_back(v.toInt());
  return out;
}

std::vector<int> ids_of(const std::vector<TokenEvent>& events) {
  std::vector<int> out;
  for (const auto& e : events) out.push_back(e.id);
  return out;
}

QString ids_text(const std::vector<int>& ids) {
  QStringList words;
  for (int id : ids) words << QString::number(id);
  return words.join(QLatin1Char(' '));
}

}  // namespace

class TestEngineWindow : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir model_copy_;
  std::unique_ptr<MainWindow> window_;
  QJsonObject golden_;
  std::vector<int> prompt_;

  bool wait_idle(int timeout_ms = 120000) {
    QElapsedTimer timer;
    timer.start();
    while (window_->engine()->busy() && timer.elapsed() < timeout_ms) QTest::qWait(10);
    QTest::qWait(60);  // coalesced views catch up
    return !window_->engine()->busy();
  }

  // Loads the eos-free fixture copy on the CPU backend; false with the reason on failure.
  bool load_fixture(QString* error) {
    QSignalSpy loaded(window_->engine(), &EngineController::loaded);
    QSignalSpy failed(window_->engine(), &EngineController::load_failed);
    LoadRequest request;
    request.model = model_copy_.path();
    request.backend = QStringLiteral("cpu");
    request.threads = 2;
    window_->load_model(request);
    QElapsedTimer timer;
    timer.start();
    while (loaded.count() + failed.count() == 0 && timer.elapsed() < 60000) QTest::qWait(20);
    if (!failed.isEmpty()) *error = failed.first().first().toString();
    else if (loaded.isEmpty()) *error = QStringLiteral("the model did not load within 60 s");
    else if (!window_->model()) *error = QStringLiteral("loaded, but the window has no model");
    return error->isEmpty();
  }

  std::vector<TokenEvent> current_events() const {
    const auto* driver = window_->driver();
    return driver->conversation().current_events(int(driver->conversation().messages.size()) - 1);
  }

 private slots:
  void initTestCase() {
    const QString fixture_dir = fixture("tiny-every-kind");
    // A copy without end-of-sequence ids: the greedy path of this random model reaches its eos id
    // after a few hundred tokens, and the stop test must be able to stream past that before Esc.
    QVERIFY(model_copy_.isValid());
    const QString model = model_copy_.path();
    for (const char* name : {"config.json", "generation_config.json", "model.safetensors", "golden.json"}) {
      QVERIFY(QFile::copy(fixture_dir + '/' + name, model + '/' + name));
    }
    for (const char* name : {"config.json", "generation_config.json"}) {
      QFile file(model + '/' + name);
      QVERIFY(file.open(QIODevice::ReadOnly));
      QJsonObject object = QJsonDocument::fromJson(file.readAll()).object();
      file.close();
      object.remove(QStringLiteral("eos_token_id"));
      QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
      file.write(QJsonDocument(object).toJson());
    }
    QFile golden(model + QStringLiteral("/golden.json"));
    if (!golden.open(QIODevice::ReadOnly)) QSKIP("fixture model tiny-every-kind is missing");
    golden_ = QJsonDocument::fromJson(golden.readAll()).object();
    prompt_ = json_ints(golden_["prompt_ids"].toArray());

    GenerationSettings settings;
    settings.temperature = 0.0;  // greedy: comparable with the reference continuation
    settings.max_new_tokens = 8;
    settings.probe_top_k = 10;
    window_ = testing::shown_window(settings);
    QVERIFY(window_);

    QString error;
    QVERIFY2(load_fixture(&error), qPrintable(error));
    QCOMPARE(window_->model()->num_experts, 8);
    QCOMPARE(window_->model()->moe_layers, (std::vector<int>{2, 5, 8}));
    QVERIFY(!window_->model()->has_tokenizer);
  }

  void send_streams_tokens() {
    QSignalSpy batches(window_->engine(), &EngineController::tokens);
    // The window must keep answering while the engine works: a 5 ms heartbeat records the gaps.
    EventLoopHeartbeat heartbeat;
    heartbeat.start();
    window_->chat()->set_input_text(ids_text(prompt_));
    window_->send_or_step(-1);
    QVERIFY(window_->engine()->busy());
    QVERIFY(wait_idle());
    heartbeat.stop();
    qInfo("longest event-loop gap while generating: %lld ms", heartbeat.worst_wall_ms());
    QVERIFY(batches.count() >= 1);
    // The reply is the reference greedy continuation (HF transformers, golden.json).
    const auto events = current_events();
    const std::vector<int> expected = json_ints(golden_["greedy_ids"].toArray());
    QCOMPARE(ids_of(events), expected);
    QCOMPARE(int(window_->store()->size()), int(expected.size()));
    // Every event carries top-k and the routing of the 3 MoE layers.
    for (const auto& event : events) {
      QCOMPARE(int(event.top_k.size()), 10);
      QCOMPARE(int(event.routing.size()), 3);
      QCOMPARE(event.top_k.front().id, event.id);  // greedy takes the best
    }
    // The chat shows the tokens as <id> (no tokenizer).
    const auto* view = window_->chat()->message_view(1);
    QVERIFY(view);
    QVERIFY2(view->answer_text().startsWith(QStringLiteral("<%1>").arg(expected.front())), qPrintable(view->answer_text()));
    QVERIFY(window_->banner_text().isEmpty());
  }

  void step_lists_candidates() {
    const int before = int(window_->store()->size());
    window_->send_or_step(1);  // empty input: continue the reply by one token
    QVERIFY(wait_idle());
    QCOMPARE(int(window_->store()->size()), before + 1);
    // Candidates for the next token are listed before the next step.
    const auto& next = window_->store()->next_candidates();
    QVERIFY(next.has_value());
    QCOMPARE(int(next->index), before + 1);
    QCOMPARE(int(next->top_k.size()), 10);
    for (std::size_t k = 1; k < next->top_k.size(); ++k) QVERIFY(next->top_k[k].prob <= next->top_k[k - 1].prob);

    // Choosing the second candidate forces it as the next token.
    const TokenId alternative = next->top_k[1].id;
    window_->driver()->choose(before + 1, alternative, false);
    QVERIFY(wait_idle());
    const auto events = current_events();
    QCOMPARE(int(events.size()), before + 2);
    QCOMPARE(events.back().id, alternative);
    QVERIFY(events.back().forced);
  }

  void choose_earlier_token_branches_and_rewinds() {
    const auto original = current_events();
    const int fork = 2;
    // An alternative for token #2 that is not the one taken.
    TokenId alternative = -1;
    for (const auto& entry : original[fork].top_k) {
      if (entry.id != original[fork].id) {
        alternative = entry.id;
        break;
      }
    }
    QVERIFY(alternative >= 0);
    window_->store()->select(fork);
    window_->driver()->choose(fork, alternative, true);  // force and run
    QVERIFY(wait_idle());
    const auto branched = current_events();
    // Tokens before the fork are shared, the forced one differs, and it kept generating.
    const std::vector<int> branched_ids = ids_of(branched), original_ids = ids_of(original);
    QCOMPARE(std::vector<int>(branched_ids.begin(), branched_ids.begin() + fork),
             std::vector<int>(original_ids.begin(), original_ids.begin() + fork));
    QCOMPARE(branched[fork].id, alternative);
    QVERIFY(int(branched.size()) > fork + 1);
    const auto& reply = window_->driver()->conversation().messages.back();
    QCOMPARE(int(reply.branches.size()), 2);
    QCOMPARE(reply.current_branch, 1);
    QCOMPARE(window_->branches()->topLevelItemCount(), 1);
    QCOMPARE(window_->branches()->topLevelItem(0)->childCount(), 1);

    // The rewind was exact: a fresh prompt of the same tokens continues the same way.
    std::vector<int> fresh_prompt = prompt_;
    for (int i = 0; i <= fork; ++i) fresh_prompt.push_back(branched[i].id);
    window_->driver()->new_conversation();
    window_->chat()->set_input_text(ids_text(fresh_prompt));
    window_->send_or_step(int(branched.size()) - fork - 1);
    QVERIFY(wait_idle());
    const auto fresh = current_events();
    QCOMPARE(ids_of(fresh), std::vector<int>(branched_ids.begin() + fork + 1, branched_ids.end()));
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      QCOMPARE(fresh[i].top_k.front().id, branched[fork + 1 + i].top_k.front().id);
      QVERIFY(std::abs(fresh[i].prob - branched[fork + 1 + i].prob) < 1e-4f);
    }
  }

  void switch_branches_and_save() {
    // Build a two-branch reply again, switch back to the first and continue from it.
    window_->driver()->new_conversation();
    window_->chat()->set_input_text(ids_text(prompt_));
    window_->send_or_step(-1);
    QVERIFY(wait_idle());
    const auto first = current_events();
    window_->driver()->choose(1, first[1].top_k[1].id, true);
    QVERIFY(wait_idle());
    const auto second = current_events();
    QVERIFY(ids_of(first) != ids_of(second));
    window_->driver()->switch_branch(1, 0);
    QCOMPARE(ids_of(current_events()), ids_of(first));
    QCOMPARE(ids_of(window_->store()->events()), ids_of(first));
    window_->send_or_step(1);  // the session rewinds to the first branch and continues it
    QVERIFY(wait_idle());
    const auto continued = current_events();
    QCOMPARE(int(continued.size()), int(first.size()) + 1);
    const std::vector<int> continued_ids = ids_of(continued);
    QCOMPARE(std::vector<int>(continued_ids.begin(), continued_ids.end() - 1), ids_of(first));

    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("conversation.json"));
    QString error;
    QVERIFY2(window_->driver()->save(path, &error), qPrintable(error));
    // Regenerates data/fixture_conversation.json (the screenshot test's content) on request.
    if (qEnvironmentVariableIsSet("LOGITSCOPE_SAVE_SAMPLE")) {
      QVERIFY(window_->driver()->save(qEnvironmentVariable("LOGITSCOPE_SAVE_SAMPLE"), &error));
    }
    WindowOptions options;
    options.telemetry = QStringLiteral("none");
    MainWindow reopened(options);
    QVERIFY(reopened.open_conversation(path));
    const auto& a = window_->driver()->conversation();
    const auto& b = reopened.driver()->conversation();
    QCOMPARE(b.messages.size(), a.messages.size());
    QCOMPARE(b.messages.back().branches.size(), a.messages.back().branches.size());
    QCOMPARE(ids_of(b.current_events(1)), ids_of(a.current_events(1)));
    QCOMPARE(b.messages.back().content, a.messages.back().content);
    QCOMPARE(int(reopened.store()->size()), int(continued.size()));
  }

  void shortcuts_send_and_stop() {
    // Ctrl+Return in the input box sends; Esc stops at once, keeping what was generated.
    GenerationSettings settings = window_->settings_panel()->values();
    settings.max_new_tokens = 3000;  // greedy (from initTestCase): this prompt never reaches eos
    window_->settings_panel()->set_values(settings);
    window_->driver()->new_conversation();
    window_->activateWindow();
    QWidget* input = window_->findChild<QWidget*>(QStringLiteral("chatInput"));
    QVERIFY(input);
    input->setFocus();
    window_->chat()->set_input_text(ids_text(prompt_));
    // While tokens stream, a 5 ms heartbeat on the GUI thread records how long the event loop was
    // away: wall time, and this thread's own CPU time (the wall figure also counts time the OS
    // gave the engine thread and other processes on a small machine).
    EventLoopHeartbeat heartbeat;
    heartbeat.start();
    QTest::keyClick(input, Qt::Key_Return, Qt::ControlModifier);
    QVERIFY(window_->engine()->busy());
    QTRY_VERIFY_WITH_TIMEOUT(window_->store()->size() >= 200, 60000);
    heartbeat.stop();
    qInfo("%zu tokens streamed; longest event-loop gap %lld ms wall, %.1f ms GUI-thread CPU",
          window_->store()->size(), heartbeat.worst_wall_ms(), heartbeat.worst_cpu_ms());
    QVERIFY2(heartbeat.worst_cpu_ms() <= 50.0,
             qPrintable(QStringLiteral("GUI thread busy for %1 ms at a stretch").arg(heartbeat.worst_cpu_ms())));
    QElapsedTimer stop_clock;
    stop_clock.start();
    QTest::keyClick(input, Qt::Key_Escape);
    QVERIFY(wait_idle(10000));
    qInfo("stopped %lld ms after Esc", stop_clock.elapsed());
    const auto& reply = window_->driver()->conversation().messages.back();
    QCOMPARE(reply.branches[reply.current_branch].stop_reason, QStringLiteral("cancelled"));
    const int kept = int(current_events().size());
    QVERIFY(kept >= 200 && kept < 3000);
    QCOMPARE(int(window_->store()->size()), kept);
    settings.max_new_tokens = 8;
    window_->settings_panel()->set_values(settings);
  }

  void errors_keep_the_conversation() {
    const auto messages = window_->driver()->conversation().messages.size();
    // Too long for the context: the engine's message shows, nothing is lost.
    std::vector<int> huge(9000, 5);
    window_->chat()->set_input_text(ids_text(huge));
    window_->send_or_step(-1);
    QVERIFY(wait_idle());
    QVERIFY2(!window_->banner_text().isEmpty(), "no error shown for a prompt past the context");
    QVERIFY(window_->driver()->conversation().messages.size() >= messages);
    // A model that does not exist: the error names it, the conversation stays.
    QSignalSpy failed(window_->engine(), &EngineController::load_failed);
    LoadRequest request;
    request.model = QStringLiteral("/nonexistent/model-folder");
    window_->load_model(request);
    QTRY_VERIFY_WITH_TIMEOUT(failed.count() == 1, 20000);
    QVERIFY2(window_->banner_text().contains(QStringLiteral("nonexistent")), qPrintable(window_->banner_text()));
    QVERIFY(window_->driver()->conversation().messages.size() >= messages);
  }

  // Last: closing the window while a long reply streams stops the engine and tears everything down
  // promptly (no hang waiting for the reply to finish, no crash from a late token batch).
  void closing_the_window_during_generation() {
    if (!window_->model()) {  // the previous test's failed load left none
      QString error;
      QVERIFY2(load_fixture(&error), qPrintable(error));
    }
    GenerationSettings settings = window_->settings_panel()->values();
    settings.max_new_tokens = 1000000;
    window_->settings_panel()->set_values(settings);
    // A fresh conversation: the previous test left a prompt longer than the context in this one.
    window_->driver()->new_conversation();
    QSignalSpy batches(window_->engine(), &EngineController::tokens);
    window_->chat()->set_input_text(ids_text(prompt_));
    window_->send_or_step(-1);
    QTRY_VERIFY_WITH_TIMEOUT(batches.count() >= 2, 60000);
    QVERIFY(window_->engine()->busy());
    QElapsedTimer timer;
    timer.start();
    QVERIFY(window_->close());  // LOGITSCOPE_NO_CLOSE_PROMPT is set for this test: no dialog
    window_.reset();            // joins the engine thread
    const qint64 ms = timer.elapsed();
    qInfo("closed during generation in %lld ms", ms);
    QVERIFY2(ms < 10000, qPrintable(QStringLiteral("closing took %1 ms").arg(ms)));
    QTest::qWait(100);  // a queued batch from the stopped worker must find nothing to crash on
  }

  void cleanupTestCase() { window_.reset(); }
};

QTEST_MAIN(TestEngineWindow)
#include "tst_engine.moc"
