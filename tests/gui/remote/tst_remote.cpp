// SPDX-License-Identifier: GPL-3.0-or-later
// The workbench's remote backend (app/gui/remote_*) against `logitscope-cli serve` on loopback with
// the demo model: connect (dialog + model list), streamed chat with top-k and routing, the thinking
// toggle, stepping through /v1/completions with a chosen alternative, stop, and errors (a wrong API
// key) shown without losing the conversation.
#include <QApplication>
#include <QDir>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>

#include <cmath>
#include <cstdio>

#include "chat_pane.h"
#include "conversation_driver.h"
#include "engine_controller.h"
#include "event_store.h"
#include "main_window.h"
#include "remote_connect_dialog.h"
#include "remote_events.h"
#include "remote_notice.h"
#include "remote_sse_parser.h"
#include "remote_worker.h"
#include "routing_heatmap.h"
#include "settings_panel.h"
#include "topk_view.h"

using namespace logitscope;
using namespace logitscope::gui;

namespace {

constexpr int kWaitMs = 60000;  // every wait is bounded; the demo model answers in well under this
const QString kKey = QStringLiteral("test-key-123");

QString demo_model_dir() {
  return QDir(QStringLiteral(LOGITSCOPE_TEST_DATA_DIR "/../resources/demo-model")).absolutePath();
}

// True when this logitscope-cli has `serve` (it is left out without cpp-httplib).
bool cli_has_serve() {
  QProcess p;
  p.start(QStringLiteral(LOGITSCOPE_CLI_PATH), {QStringLiteral("serve"), QStringLiteral("--help")});
  if (!p.waitForFinished(20000)) {
    p.kill();
    p.waitForFinished(2000);
    return false;
  }
  const QByteArray all = p.readAllStandardOutput() + p.readAllStandardError();
  return p.exitCode() == 0 && !all.contains("unknown command");
}

}  // namespace

class RemoteTest : public QObject {
  Q_OBJECT

 private:
  QProcess server_;
  QString url_;
  MainWindow* window_ = nullptr;

  void wait_idle() {
    QTRY_VERIFY_WITH_TIMEOUT(!window_->engine()->busy(), kWaitMs);
    window_->store()->flush();
    QCoreApplication::processEvents();
  }
  const workbench::ChatMessage& last() const { return window_->driver()->conversation().messages.back(); }

 private slots:
  void initTestCase() {
    QVERIFY2(QDir(demo_model_dir()).exists(QStringLiteral("tokenizer.json")), qPrintable(demo_model_dir()));
    server_.setProcessChannelMode(QProcess::SeparateChannels);
    // --port 0: the server picks a free port and prints it. The delay keeps a reply busy long
    // enough for the stop test.
    server_.start(QStringLiteral(LOGITSCOPE_CLI_PATH),
                  {QStringLiteral("serve"), QStringLiteral("--model"), demo_model_dir(), QStringLiteral("--host"),
                   QStringLiteral("127.0.0.1"), QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--api-key"),
                   kKey, QStringLiteral("--debug-token-delay-ms"), QStringLiteral("5")});
    QVERIFY2(server_.waitForStarted(10000), qPrintable(server_.errorString()));
    QRegularExpression listening(QStringLiteral("listening on (http://[^\\s]+)"));
    QByteArray out;
    QElapsedTimer clock;
    clock.start();
    while (url_.isEmpty() && clock.elapsed() < kWaitMs && server_.state() == QProcess::Running) {
      server_.waitForReadyRead(500);
      out += server_.readAllStandardOutput();
      const auto match = listening.match(QString::fromUtf8(out));
      if (match.hasMatch()) url_ = match.captured(1);
    }
    QVERIFY2(!url_.isEmpty(), qPrintable(QStringLiteral("the server did not start: ") + QString::fromUtf8(out + server_.readAllStandardError())));

    WindowOptions options;
    options.telemetry = QStringLiteral("none");
    window_ = new MainWindow(options);
    window_->resize(1400, 900);
    window_->show();
    GenerationSettings s = window_->settings_panel()->values();
    s.temperature = 0.8;
    s.seed = 7;
    s.max_new_tokens = 24;
    s.probe_top_k = 10;
    window_->settings_panel()->set_values(s);
  }

  void cleanupTestCase() {
    delete window_;
    if (server_.state() == QProcess::Running) {
      server_.terminate();
      if (!server_.waitForFinished(10000)) {
        server_.kill();
        server_.waitForFinished(5000);
      }
    }
  }

  void sse_parser_splits_events() {
    SseParser parser;
    QList<QByteArray> events = parser.feed(": keep-alive\n\ndata: {\"a\"");
    QVERIFY(events.isEmpty());
    events = parser.feed(":1}\r\n\r\ndata: x\ndata: y\n\ndata: [DONE]\n");
    QCOMPARE(events.size(), 2);
    QCOMPARE(events[0], QByteArray("{\"a\":1}"));
    QCOMPARE(events[1], QByteArray("x\ny"));
    events = parser.finish();
    QCOMPARE(events, QList<QByteArray>{QByteArray("[DONE]")});
    Utf8Assembler text;
    QCOMPARE(QString::fromStdString(text.push("a\xC3")), QStringLiteral("a"));
    QCOMPARE(QString::fromStdString(text.push("\xA9")), QString::fromUtf8("\xC3\xA9"));
  }

  void connect_dialog_lists_models() {
    ConnectDialog dialog;
    RemoteConfig c;
    c.url = url_;
    c.api_key = kKey;
    dialog.set_config(c);
    QSignalSpy fetched(&dialog, &ConnectDialog::models_fetched);
    dialog.fetch_models();
    QTRY_VERIFY_WITH_TIMEOUT(!fetched.isEmpty(), kWaitMs);
    QVERIFY2(fetched.last().first().toBool(), qPrintable(dialog.status_text()));
    QVERIFY2(dialog.model_ids().contains(demo_model_dir()), qPrintable(dialog.model_ids().join(',')));
    // The key is stored only when asked.
    dialog.set_remember_key(false);
    dialog.save_settings();
    QVERIFY(ConnectDialog::load_settings().api_key.isEmpty());
    QCOMPARE(ConnectDialog::load_settings().url, url_);
    dialog.set_remember_key(true);
    dialog.save_settings();
    QCOMPARE(ConnectDialog::load_settings().api_key, kKey);
    dialog.set_remember_key(false);
    dialog.save_settings();

    // A wrong key: the dialog says why.
    c.api_key = QStringLiteral("wrong");
    dialog.set_config(c);
    fetched.clear();
    dialog.fetch_models();
    QTRY_VERIFY_WITH_TIMEOUT(!fetched.isEmpty(), kWaitMs);
    QVERIFY(!fetched.last().first().toBool());
    QVERIFY2(dialog.status_text().contains(QStringLiteral("401")), qPrintable(dialog.status_text()));
  }

  void connects_to_the_server() {
    RemoteConfig c;
    c.url = url_;
    c.api_key = kKey;
    window_->connect_remote(c);
    QTRY_VERIFY_WITH_TIMEOUT(window_->model().has_value() && !window_->engine()->busy(), kWaitMs);
    QVERIFY(window_->engine()->remote());
    const ModelSummary& m = *window_->model();
    QVERIFY(!m.remote_url.isEmpty());
    QVERIFY(m.provides_routing);
    QVERIFY(m.exact_entropy);
    QVERIFY(!m.moe_layers.empty());
    QVERIFY(m.num_experts > 0);
    QVERIFY2(window_->banner_text().isEmpty(), qPrintable(window_->banner_text()));
    // Our server gives routing: no "not provided" note over the heatmap.
    auto* note = window_->heatmap()->findChild<RemoteNotice*>(QStringLiteral("remoteNotice"));
    QVERIFY(!note || !note->isVisible());
  }

  void chat_streams_tokens_with_top_k_and_routing() {
    QSignalSpy batches(window_->engine(), &EngineController::tokens);
    window_->driver()->send(QStringLiteral("What is a dictionary?"), false);
    QVERIFY(window_->engine()->busy());
    wait_idle();
    QVERIFY2(window_->banner_text().isEmpty(), qPrintable(window_->banner_text()));
    QVERIFY2(batches.size() >= 2, "tokens arrive as a stream, not in one piece");
    const auto& events = window_->store()->events();
    QVERIFY(events.size() >= 2);
    for (const TokenEvent& e : events) {
      QVERIFY(!e.top_k.empty());
      QVERIFY(e.prob > 0.0f && e.prob <= 1.0f);
      QVERIFY(e.top_k.front().prob >= e.top_k.back().prob);
      QVERIFY(e.entropy >= 0.0f);
      QVERIFY(!e.routing.empty());
    }
    // Labels (token text) came with the top-k.
    QVERIFY(!window_->store()->label_bytes(events[0].top_k[0].id).empty());
    QVERIFY(!last().content.isEmpty() || !last().reasoning.isEmpty());
    QVERIFY(last().reasoning.isEmpty());  // thinking off
    // The top-k viewer shows the selected token's candidates.
    window_->store()->select(0);
    window_->topk()->refresh();
    QCOMPARE(window_->topk()->shown_index(), 0);
    QCOMPARE(window_->topk()->shown_entries().size(), events[0].top_k.size());
    QVERIFY(window_->topk()->table()->rowCount() > 0);
    // The routing heatmap is filled from the server's extension.
    window_->heatmap()->refresh();
    const widgets::RoutingGrid& grid = window_->heatmap()->grid();
    QVERIFY(grid.rows() > 0);
    QVERIFY(grid.max_value() > 0.0);
  }

  void thinking_toggle_sends_enable_thinking() {
    window_->driver()->send(QStringLiteral("Define the word tree."), true);
    wait_idle();
    QVERIFY2(window_->banner_text().isEmpty(), qPrintable(window_->banner_text()));
    QVERIFY(last().thinking);
    // The template opened <think>: what came is reasoning (the server's reasoning_content), kept
    // apart from the answer.
    QVERIFY(last().starts_in_thinking);
    QVERIFY2(!last().reasoning.isEmpty(), qPrintable(last().content));
  }

  void steps_one_token_and_picks_an_alternative() {
    window_->driver()->send(QStringLiteral("Step through this."), false, 1);
    wait_idle();
    QVERIFY2(window_->banner_text().isEmpty(), qPrintable(window_->banner_text()));
    QCOMPARE(window_->store()->size(), std::size_t(1));
    QVERIFY(window_->store()->next_candidates().has_value());
    const workbench::NextCandidates next = *window_->store()->next_candidates();
    QCOMPARE(next.index, std::int64_t(1));
    QVERIFY(next.top_k.size() >= 2);
    // Pick the second most likely candidate: appended as token 1, then the next candidates come.
    const TokenId alternative = next.top_k[1].id;
    window_->driver()->choose(1, alternative, false);
    wait_idle();
    QVERIFY2(window_->banner_text().isEmpty(), qPrintable(window_->banner_text()));
    QCOMPARE(window_->store()->size(), std::size_t(2));
    const TokenEvent& chosen = window_->store()->events()[1];
    QCOMPARE(chosen.id, alternative);
    QVERIFY(chosen.forced);
    QCOMPARE(chosen.prob, next.top_k[1].prob);
    QVERIFY(window_->store()->next_candidates().has_value());
    // One more step continues from the chosen token.
    window_->driver()->step(1);
    wait_idle();
    QCOMPARE(window_->store()->size(), std::size_t(3));
    QVERIFY(!window_->store()->events()[2].routing.empty());
    // An alternative for an earlier token: a new branch (its distribution is asked for anew).
    const TokenEvent first = window_->store()->events()[0];
    QVERIFY(first.top_k.size() >= 2);
    const TokenId other = first.top_k[1].id == first.id ? first.top_k[0].id : first.top_k[1].id;
    window_->driver()->choose(0, other, false);
    wait_idle();
    QVERIFY2(window_->banner_text().isEmpty(), qPrintable(window_->banner_text()));
    QCOMPARE(window_->store()->size(), std::size_t(1));
    QCOMPARE(window_->store()->events()[0].id, other);
    QVERIFY(window_->store()->events()[0].forced);
    QVERIFY(window_->store()->events()[0].prob > 0.0f);
    QCOMPARE(int(last().branches.size()), 2);
    // Run continues the stepped reply to its end through completions.
    window_->driver()->run();
    wait_idle();
    QVERIFY(window_->store()->size() > 1);
  }

  void stop_cancels_the_reply() {
    GenerationSettings s = window_->settings_panel()->values();
    s.max_new_tokens = 400;
    window_->settings_panel()->set_values(s);
    QSignalSpy finished(window_->engine(), &EngineController::finished);
    window_->driver()->send(QStringLiteral("Tell me a long story."), false);
    QTRY_VERIFY_WITH_TIMEOUT(window_->store()->size() >= 2, kWaitMs);
    window_->driver()->pause();
    wait_idle();
    QVERIFY(!finished.isEmpty());
    const auto stats = finished.last().first().value<GenerationStats>();
    QCOMPARE(stats.stop_reason, QStringLiteral("cancelled"));
    QVERIFY(stats.tokens < 400);
    s.max_new_tokens = 24;
    window_->settings_panel()->set_values(s);
  }

  void wrong_key_error_keeps_the_conversation() {
    const int before = int(window_->driver()->conversation().messages.size());
    const QString first = window_->driver()->conversation().messages.front().content;
    window_->engine()->remote_worker()->set_api_key(QStringLiteral("not-the-key"));
    window_->driver()->send(QStringLiteral("Are you there?"), false);
    wait_idle();
    QVERIFY2(window_->banner_text().contains(QStringLiteral("401")), qPrintable(window_->banner_text()));
    const auto& messages = window_->driver()->conversation().messages;
    QCOMPARE(int(messages.size()), before + 2);
    QCOMPARE(messages.front().content, first);
    QCOMPARE(messages.back().branches[messages.back().current_branch].stop_reason, QStringLiteral("error"));
    // Connecting with a wrong key says so too, and the conversation stays.
    RemoteConfig c;
    c.url = url_;
    c.api_key = QStringLiteral("still-wrong");
    window_->connect_remote(c);
    wait_idle();
    QVERIFY2(window_->banner_text().contains(QStringLiteral("401")), qPrintable(window_->banner_text()));
    QCOMPARE(int(window_->driver()->conversation().messages.size()), before + 2);
    // And the right key works again.
    c.api_key = kKey;
    window_->connect_remote(c);
    QTRY_VERIFY_WITH_TIMEOUT(window_->model().has_value() && !window_->engine()->busy(), kWaitMs);
    window_->driver()->send(QStringLiteral("Hello again."), false);
    wait_idle();
    QVERIFY2(window_->banner_text().isEmpty(), qPrintable(window_->banner_text()));
    QVERIFY(window_->store()->size() > 0);
  }

  void views_say_what_a_server_does_not_provide() {
    // What a server without our extension (vLLM) gives: no routing, no exact entropy.
    ModelSummary plain = *window_->model();
    plain.provides_routing = false;
    plain.exact_entropy = false;
    QWidget entropy_stand_in;
    apply_remote_notices(plain, window_->heatmap(), &entropy_stand_in, window_->topk());
    auto* estimate = entropy_stand_in.findChild<RemoteNotice*>(QStringLiteral("remoteNotice"));
    QVERIFY(estimate && !estimate->isHidden());
    QVERIFY(estimate->text().contains(QStringLiteral("Estimated")));
    auto* note = window_->heatmap()->findChild<RemoteNotice*>(QStringLiteral("remoteNotice"));
    QVERIFY(note && note->isVisible());
    QVERIFY(note->text().contains(QStringLiteral("not provided by this server")));
    apply_remote_notices(*window_->model(), window_->heatmap(), &entropy_stand_in, window_->topk());
    QVERIFY(!note->isVisible());
    // The entropy estimate from a top-k: a lower bound, exact when the list holds all the mass.
    std::vector<TopKEntry> top(2);
    top[0].prob = 0.5f;
    top[1].prob = 0.5f;
    QCOMPARE(entropy_from_top_k(top), float(std::log(2.0)));
  }
};

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  app.setOrganizationName(QStringLiteral("logitscope-test"));
  app.setApplicationName(QStringLiteral("tst_workbench_remote"));
  if (!cli_has_serve()) {
    std::printf("SKIP: %s was built without `serve` (cpp-httplib not found): nothing to connect to\n", LOGITSCOPE_CLI_PATH);
    return 77;
  }
  RemoteTest test;
  return QTest::qExec(&test, argc, argv);
}

#include "tst_remote.moc"
