// SPDX-License-Identifier: GPL-3.0-or-later
// The real window on the bundled demo model (trained, with a tokenizer and a chat template; CPU
// backend): the end-of-turn token is a token in the strip but never part of the reply's text, its
// copy or the saved file (nor of the next turn's prompt); a candidate can be chosen in an earlier
// reply, and the messages that followed it stay with the branch they answered; the status line
// reports the last reply.
#include <QApplication>
#include <QClipboard>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTableWidget>
#include <QTest>
#include <QTextBrowser>

#include "branch_tree.h"
#include "chat_pane.h"
#include "conversation_driver.h"
#include "engine_controller.h"
#include "event_store.h"
#include "logitscope/evaluate.h"
#include "logitscope/interventions.h"
#include "logitscope/session.h"
#include "logitscope/model.h"
#include "logitscope/tokenizer.h"
#include "main_window.h"
#include "model_locator.h"
#include "prompt_builder.h"
#include "settings_panel.h"
#include "shown_window.h"
#include "surprise_view.h"

using namespace logitscope;
using namespace logitscope::gui;

namespace {

const QString kEndOfTurn = QStringLiteral("<|im_end|>");
constexpr TokenId kEndOfTurnId = 11;  // <|im_end|> in the demo vocabulary (resources/demo-model/README.md)

bool ends_in_end_of_turn(const std::vector<TokenEvent>& events) {
  return !events.empty() && events.back().id == kEndOfTurnId && events.back().end_of_turn;
}

}  // namespace

class TestDemoChat : public QObject {
  Q_OBJECT
 private:
  std::unique_ptr<MainWindow> window_;

  bool wait_idle() { return testing::wait_idle(window_.get()); }

  const workbench::Conversation& conversation() const { return window_->driver()->conversation(); }

  void send(const QString& text) {
    window_->chat()->set_input_text(text);
    window_->send_or_step(-1);
    QVERIFY(wait_idle());
    QVERIFY2(window_->banner_text().isEmpty(), qPrintable(window_->banner_text()));
  }

 private slots:
  void initTestCase() {
    if (!testing::demo_model_present()) QSKIP("resources/demo-model is not there");
    window_ = testing::shown_window(testing::greedy(200));
    QVERIFY(window_);
    window_->chat()->set_thinking_enabled(true);
    QVERIFY(testing::load_demo_model(window_.get()));
    QVERIFY(window_->model()->has_template);
  }

  void reply_text_has_no_end_of_turn_token() {
    send(QStringLiteral("What does serendipity mean?"));
    const auto& messages = conversation().messages;
    QCOMPARE(int(messages.size()), 2);
    const auto& reply = messages[1];
    QCOMPARE(reply.branches[reply.current_branch].stop_reason, QStringLiteral("stop_token"));
    const auto events = conversation().current_events(1);
    // The token strip shows the end-of-turn token...
    QVERIFY(ends_in_end_of_turn(events));
    QCOMPARE(int(window_->store()->size()), int(events.size()));
    QCOMPARE(window_->store()->events().back().id, kEndOfTurnId);
    // ...the reply's text does not (the demo model reasons first, then answers).
    QVERIFY(!reply.content.isEmpty());
    QVERIFY(!reply.reasoning.isEmpty());
    QVERIFY2(!reply.content.contains(kEndOfTurn), qPrintable(reply.content));
    QVERIFY2(!reply.reasoning.contains(kEndOfTurn), qPrintable(reply.reasoning));
    QVERIFY2(!window_->driver()->message_text(1).contains(kEndOfTurn), "message_text");
    emit window_->chat()->copy_requested(1);
    QVERIFY2(!QApplication::clipboard()->text().contains(kEndOfTurn), qPrintable(QApplication::clipboard()->text()));

    // The status line: the numbers of this reply.
    const QString status = window_->run_status_text();
    qInfo().noquote() << "status line:" << status;
    QVERIFY2(status.contains(QStringLiteral("reply %1 tokens").arg(events.size())), qPrintable(status));
    QVERIFY2(status.contains(QStringLiteral("BF16")) && status.contains(QStringLiteral("cpu on")), qPrintable(status));
    QVERIFY2(status.contains(QStringLiteral("tok/s")) && status.contains(QStringLiteral("first token")), qPrintable(status));
    const QRegularExpression prompt_re(QStringLiteral("prompt (\\d+), reply"));
    const auto prompt_match = prompt_re.match(status);
    QVERIFY(prompt_match.hasMatch());
    const int prompt_tokens = prompt_match.captured(1).toInt();
    QVERIFY2(status.contains(QStringLiteral("context %1 / %2").arg(prompt_tokens + int(events.size())).arg(window_->model()->max_context)),
             qPrintable(status));

    // Regenerates data/demo_conversation.json (the README picture's content) on request.
    if (qEnvironmentVariableIsSet("LOGITSCOPE_SAVE_SAMPLE")) {
      QString error;
      QVERIFY2(window_->driver()->save(qEnvironmentVariable("LOGITSCOPE_SAVE_SAMPLE"), &error), qPrintable(error));
    }
    // The next turn's prompt holds one end-of-turn token per finished turn, never two in a row.
    std::vector<PromptTurn> turns;
    for (const auto& m : messages) turns.push_back({m.role.toStdString(), m.content.toStdString(), {}});
    turns.push_back({"user", "And what does luck mean?", {}});
    LoadOptions load;
    load.snapshot.model = demo_model_dir().toStdString();
    const auto model = Model::load(load);
    const BuiltPrompt next = build_prompt(*model, turns, true);
    for (std::size_t i = 1; i < next.ids.size(); ++i)
      QVERIFY2(!(next.ids[i] == kEndOfTurnId && next.ids[i - 1] == kEndOfTurnId), "two end-of-turn tokens in a row");
  }

  void saved_and_reopened_without_end_of_turn_text() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("demo.json"));
    QString error;
    QVERIFY2(window_->driver()->save(path, &error), qPrintable(error));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray bytes = file.readAll();
    QJsonObject saved = QJsonDocument::fromJson(bytes).object();
    QJsonObject reply = saved["messages"].toArray().at(1).toObject();
    QVERIFY(!reply["content"].toString().contains(kEndOfTurn));
    const QJsonArray events = reply["branches"].toArray().at(0).toObject()["events"].toArray();
    QVERIFY(events.last().toObject()["end_of_turn"].toBool());
    file.close();

    // A file written before "end_of_turn" existed (version 1, the token's text in the content)
    // opens with the text derived from the tokens again.
    saved["version"] = 1;
    reply["content"] = reply["content"].toString() + kEndOfTurn;
    QJsonArray branches = reply["branches"].toArray();
    QJsonObject branch = branches.at(0).toObject();
    QJsonArray old_events = branch["events"].toArray();
    QJsonObject last = old_events.last().toObject();
    last.remove(QStringLiteral("end_of_turn"));
    old_events.replace(old_events.size() - 1, last);
    branch["events"] = old_events;
    branches.replace(0, branch);
    reply["branches"] = branches;
    QJsonArray messages = saved["messages"].toArray();
    messages.replace(1, reply);
    saved["messages"] = messages;
    const QString old_path = dir.filePath(QStringLiteral("old.json"));
    QFile old(old_path);
    QVERIFY(old.open(QIODevice::WriteOnly));
    old.write(QJsonDocument(saved).toJson());
    old.close();
    WindowOptions options;
    options.telemetry = QStringLiteral("none");
    MainWindow reopened(options);
    QVERIFY(reopened.open_conversation(old_path));
    const auto& back = reopened.driver()->conversation().messages.at(1);
    QCOMPARE(back.content, conversation().messages.at(1).content);
    QVERIFY(ends_in_end_of_turn(reopened.driver()->conversation().current_events(1)));
  }

  void choose_in_an_earlier_reply_keeps_the_later_messages() {
    send(QStringLiteral("What does luck mean?"));
    QCOMPARE(int(conversation().messages.size()), 4);
    const QString first_reply = conversation().messages[1].content;
    const QString later_question = conversation().messages[2].content;
    const QString later_reply = conversation().messages[3].content;
    const auto original = conversation().current_events(1);

    // An alternative for token #3 of the first reply (not the last reply).
    const int fork = 3;
    TokenId alternative = -1;
    for (const auto& entry : original[fork].top_k)
      if (entry.id != original[fork].id && entry.id != kEndOfTurnId) {
        alternative = entry.id;
        break;
      }
    QVERIFY(alternative >= 0);
    window_->driver()->inspect(1);
    window_->driver()->choose(fork, alternative, true);
    QVERIFY(wait_idle());
    QVERIFY2(window_->banner_text().isEmpty(), qPrintable(window_->banner_text()));

    // The first reply has a second branch that shares its first tokens; it is now the last message.
    const auto& after = conversation();
    QCOMPARE(int(after.messages.size()), 2);
    QCOMPARE(int(after.messages[1].branches.size()), 2);
    QCOMPARE(after.messages[1].current_branch, 1);
    const auto branched = after.current_events(1);
    for (int i = 0; i < fork; ++i) QCOMPARE(branched[i].id, original[i].id);
    QCOMPARE(branched[fork].id, alternative);
    QVERIFY(int(branched.size()) > fork + 1);
    // The later turn waits with the branch it answered...
    QCOMPARE(int(after.messages[1].branches[0].followers.size()), 2);
    // ...and comes back with it.
    window_->driver()->switch_branch(1, 0);
    const auto& back = conversation();
    QCOMPARE(int(back.messages.size()), 4);
    QCOMPARE(back.messages[1].content, first_reply);
    QCOMPARE(back.messages[2].content, later_question);
    QCOMPARE(back.messages[3].content, later_reply);
    QCOMPARE(int(back.messages[1].branches[1].followers.size()), 0);  // it had none

    // Saved and reopened, the stashed turn is still there.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("branches.json"));
    QString error;
    window_->driver()->switch_branch(1, 1);
    QVERIFY2(window_->driver()->save(path, &error), qPrintable(error));
    WindowOptions options;
    options.telemetry = QStringLiteral("none");
    MainWindow reopened(options);
    QVERIFY(reopened.open_conversation(path));
    reopened.driver()->switch_branch(1, 0);
    QCOMPARE(int(reopened.driver()->conversation().messages.size()), 4);
    QCOMPARE(reopened.driver()->conversation().messages[3].content, later_reply);
  }

  // The Surprise dock scores a pasted text and the conversation on the engine thread; its numbers are
  // evaluate_text's on the same tokens (a model loaded here, apart from the window's).
  void surprise_dock_scores_a_text_and_the_conversation() {
    const QString text = QStringLiteral("Serendipity means finding something good without looking for it.");
    widgets::SurpriseView* view = window_->surprise();
    QSignalSpy evaluated(window_->engine(), &EngineController::evaluated);
    view->set_input_text(text);
    emit view->score_text_requested(text);
    QTRY_VERIFY_WITH_TIMEOUT(evaluated.count() == 1, 60000);
    const workbench::ScoredText& shown = view->result();

    LoadOptions options;
    options.snapshot.model = demo_model_dir().toStdString();
    options.backend = BackendKind::Cpu;
    options.threads = 1;
    const auto model = Model::load(options);
    const std::vector<TokenId> ids = model->tokenizer()->encode(text.toStdString(), false);
    const TextScore score = evaluate_text(*model, ids, 10, {});
    QCOMPARE(shown.ids, ids);
    QCOMPARE(shown.tokens(), std::int64_t(ids.size() - 1));
    QVERIFY2(std::abs(shown.total_nll - score.total_nll) < 1e-3,
             qPrintable(QStringLiteral("%1 vs %2").arg(shown.total_nll).arg(score.total_nll)));
    QVERIFY2(view->summary_text().contains(QStringLiteral("%1 tokens scored").arg(ids.size() - 1)), qPrintable(view->summary_text()));
    QVERIFY(view->text_view()->toPlainText().contains(QStringLiteral("Serendipity")));
    view->select_token(1);
    QCOMPARE(view->table()->rowCount(), 10);

    // The conversation through the chat template: the prompt builder's tokens, every one scored.
    emit view->score_conversation_requested();
    QTRY_VERIFY_WITH_TIMEOUT(evaluated.count() == 2, 60000);
    const auto turns = window_->driver()->turns_before();
    const auto& messages = conversation().messages;
    const BuiltPrompt prompt = build_prompt(*model, turns, !messages.empty() && messages.back().thinking);
    QCOMPARE(view->result().ids, prompt.ids);
    QCOMPARE(view->result().source, QStringLiteral("conversation"));
    QVERIFY(view->result().total_nll > 0.0);
  }

  // Generate > Intervene: a branch from reply token #2 on with an expert masked everywhere. The
  // engine applies it (no later token routes to the expert; every token is the greedy choice of a
  // session with the same intervention), the branch tree names it, it is saved and read back, and
  // text that does not read is refused in the banner.
  void intervening_branches_the_reply_under_the_intervention() {
    window_->driver()->new_conversation();
    send(QStringLiteral("What is the sea?"));
    const int reply = int(conversation().messages.size()) - 1;
    const auto original = conversation().current_events(reply);
    QVERIFY(original.size() > 4);
    const int fork = 2;
    const int expert = original[fork + 1].routing.front().experts.front();  // one the plain model uses
    window_->driver()->inspect(reply);
    QVERIFY(window_->intervene(fork, QStringLiteral("mask *:%1").arg(expert)));
    QVERIFY(wait_idle());
    QVERIFY2(window_->banner_text().isEmpty(), qPrintable(window_->banner_text()));

    const auto& message = conversation().messages[std::size_t(reply)];
    QCOMPARE(int(message.branches.size()), 2);
    QCOMPARE(message.current_branch, 1);
    const Interventions& applied = message.branches[1].interventions;
    QCOMPARE(applied.from_position, std::int64_t(fork));
    QCOMPARE(applied.masked, (std::vector<ExpertMask>{{kEveryMoeLayer, expert}}));
    const auto events = conversation().current_events(reply);
    QVERIFY(int(events.size()) > fork + 1);
    for (int i = 0; i < fork; ++i) QCOMPARE(events[std::size_t(i)].id, original[std::size_t(i)].id);
    for (std::size_t i = fork + 1; i < events.size(); ++i)
      for (const RoutingSlice& slice : events[i].routing)
        QVERIFY2(std::find(slice.experts.begin(), slice.experts.end(), expert) == slice.experts.end(),
                 qPrintable(QStringLiteral("token %1 routed to masked expert %2 in layer %3").arg(i).arg(expert).arg(slice.layer)));
    QVERIFY2(window_->branches()->branch_label(1).contains(QStringLiteral("mask *:%1").arg(expert)),
             qPrintable(window_->branches()->branch_label(1)));

    // The engine's own greedy choices under the same intervention, token by token.
    LoadOptions options;
    options.snapshot.model = demo_model_dir().toStdString();
    options.backend = BackendKind::Cpu;
    options.threads = 1;
    const auto model = Model::load(options);
    const auto turns = window_->driver()->turns_before(reply);
    const BuiltPrompt prompt = build_prompt(*model, turns, conversation().messages[std::size_t(reply - 1)].thinking);
    Interventions absolute = applied;
    absolute.from_position += std::int64_t(prompt.ids.size());
    Session session(*model);
    session.set_interventions(absolute);
    session.prefill(prompt.ids);
    for (int i = 0; i < fork; ++i) session.prefill(std::vector<TokenId>{events[std::size_t(i)].id});
    const int checked = std::min<int>(int(events.size()), fork + 8);
    for (int i = fork; i < checked; ++i) {
      const std::vector<float> logits = session.last_logits();
      const auto best = TokenId(std::max_element(logits.begin(), logits.end()) - logits.begin());
      QCOMPARE(events[std::size_t(i)].id, best);
      session.prefill(std::vector<TokenId>{events[std::size_t(i)].id});
    }

    // Saved and reopened with the branch's intervention.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("intervened.json"));
    QString error;
    QVERIFY2(window_->driver()->save(path, &error), qPrintable(error));
    WindowOptions reopened_options;
    reopened_options.telemetry = QStringLiteral("none");
    MainWindow reopened(reopened_options);
    QVERIFY(reopened.open_conversation(path));
    QVERIFY(reopened.driver()->conversation().messages[std::size_t(reply)].branches[1].interventions == applied);

    // Text that does not read makes no branch and says why.
    QVERIFY(!window_->intervene(fork, QStringLiteral("mask 1:")));
    QVERIFY2(window_->banner_text().contains(QStringLiteral("--mask-expert '1:'")), qPrintable(window_->banner_text()));
    QCOMPARE(int(conversation().messages[std::size_t(reply)].branches.size()), 2);
  }

  void cleanupTestCase() { window_.reset(); }
};

QTEST_MAIN(TestDemoChat)
#include "tst_demo_chat.moc"
