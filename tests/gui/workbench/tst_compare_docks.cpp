// SPDX-License-Identifier: GPL-3.0-or-later
// "Change it and compare" in the real window on the bundled demo model (CPU backend): the Effect dock
// on intervention branches (its numbers are compare_models' on the same ids, zero before the
// intervened forwards and not after), the Compare dock with the demo model loaded a second time
// (KL 0 and full agreement; side B's interventions; a second model of another vocabulary refused),
// and File > Export Trace (byte for byte the files `logitscope-cli trace --ids` writes for the same
// ids, and those of trace_tokens + write_trace called here). Every number is checked against the
// engine's own, computed here by a model loaded apart from the window's.
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QStatusBar>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include <qcustomplot.h>

#include <cmath>
#include <functional>

#include "chat_pane.h"
#include "compare_driver.h"
#include "comparison_view.h"
#include "conversation_driver.h"
#include "engine_controller.h"
#include "event_store.h"
#include "logitscope/compare.h"
#include "logitscope/model.h"
#include "logitscope/tokenizer.h"
#include "logitscope/trace.h"
#include "main_window.h"
#include "model_locator.h"
#include "prompt_builder.h"
#include "shown_window.h"
#include "test_support.h"
#include "token_format.h"

using namespace logitscope;
using namespace logitscope::gui;

namespace {

constexpr int kReply = 1;  // the message index of the reply
constexpr int kTopK = 10;  // what the docks ask for

QString percent(double fraction) { return QString::number(100.0 * fraction, 'f', 1) + QLatin1Char('%'); }

QByteArray file_bytes(const QString& path) {
  QFile file(path);
  return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

}  // namespace

class TestCompareDocks : public QObject {
  Q_OBJECT
 private:
  std::unique_ptr<MainWindow> window_;
  std::unique_ptr<Model> model_;  // the engine's numbers, apart from the window's model
  std::int64_t prompt_length_ = 0;
  std::vector<TokenId> prompt_;

  const workbench::Conversation& conversation() const { return window_->driver()->conversation(); }
  QDockWidget* dock(const char* name) const { return window_->findChild<QDockWidget*>(QLatin1String(name)); }

  void bring_forward(const char* name) { QVERIFY(testing::bring_forward(window_.get(), name)); }

  void picture(const char* name) const { testing::save_dock_picture(window_.get(), name, "LOGITSCOPE_COMPARE_SHOTS"); }

  // The conversation's ids: the prompt, then the inspected reply's current branch.
  std::vector<TokenId> current_ids() const {
    std::vector<TokenId> ids = prompt_;
    for (TokenId id : conversation().current_ids(kReply)) ids.push_back(id);
    return ids;
  }

  // Reply-indexed interventions at the conversation's positions, as the engine applies them.
  Interventions absolute(Interventions interventions) const {
    if (!interventions.empty()) interventions.from_position += prompt_length_;
    return interventions;
  }

  // Waits until `view` shows a comparison of `ids`.
  static bool wait_for(const widgets::ComparisonView* view, const std::vector<TokenId>& ids) {
    QElapsedTimer timer;
    timer.start();
    while (view->comparison().ids != ids && timer.elapsed() < 60000) QTest::qWait(20);
    return view->comparison().ids == ids;
  }

  // What the view shows equals compare_models on the same ids, summaries included.
  void check_numbers(const widgets::ComparisonView* view, const std::vector<TokenComparison>& expected) {
    const workbench::ModelComparison& shown = view->comparison();
    QCOMPARE(shown.prompt_length, prompt_length_);
    QCOMPARE(shown.tokens.size(), expected.size());
    for (std::size_t k = 0; k < expected.size(); ++k) {
      const TokenComparison& want = expected[k];
      const TokenComparison& got = shown.tokens[k];
      QCOMPARE(got.pos, want.pos);
      QCOMPARE(got.id, want.id);
      QVERIFY2(std::abs(got.kl - want.kl) <= 1e-12, qPrintable(QStringLiteral("KL at %1: %2 vs %3").arg(k).arg(got.kl).arg(want.kl)));
      QCOMPARE(got.top1_agree, want.top1_agree);
      QCOMPARE(got.logprob_a, want.logprob_a);
      QCOMPARE(got.logprob_b, want.logprob_b);
      QCOMPARE(got.top_k_a.size(), want.top_k_a.size());
      for (std::size_t r = 0; r < want.top_k_a.size(); ++r) {
        QCOMPARE(got.top_k_a[r].id, want.top_k_a[r].id);
        QCOMPARE(got.top_k_b[r].id, want.top_k_b[r].id);
      }
      QCOMPARE(got.expert_overlap.size(), want.expert_overlap.size());
      for (std::size_t l = 0; l < want.expert_overlap.size(); ++l) {
        QCOMPARE(got.expert_overlap[l].layer, want.expert_overlap[l].layer);
        QCOMPARE(got.expert_overlap[l].jaccard, want.expert_overlap[l].jaccard);
      }
    }
    // The reply's summary (what the plot, the text and the layer table show) and the whole one.
    const ComparisonSummary reply =
        summarize(std::vector<TokenComparison>(expected.begin() + (prompt_length_ - 1), expected.end()));
    const ComparisonSummary whole = summarize(expected);
    QCOMPARE(shown.reply.positions, reply.positions);
    QCOMPARE(shown.reply.mean_kl, reply.mean_kl);
    QCOMPARE(shown.reply.top1_agreement, reply.top1_agreement);
    QCOMPARE(shown.reply.first_disagreement, reply.first_disagreement);
    QCOMPARE(shown.whole.mean_kl, whole.mean_kl);
    QCOMPARE(shown.whole.top1_agreement, whole.top1_agreement);
    const QString summary = view->summary_text();
    QVERIFY2(summary.contains(QStringLiteral("top-1 agreement %1").arg(percent(reply.top1_agreement))), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("mean KL %1 nats").arg(reply.mean_kl, 0, 'f', 4)), qPrintable(summary));
    if (reply.first_disagreement >= 0)
      QVERIFY2(summary.contains(QRegularExpression(QStringLiteral("first differ at #%1(?!\\d)").arg(reply.first_disagreement - prompt_length_))), qPrintable(summary));
    else
      QVERIFY2(summary.contains(QStringLiteral("agree everywhere")), qPrintable(summary));

    // The plot: one point per reply token, and the disagreements marked.
    std::vector<double> kl;
    std::vector<int> disagree;
    for (std::size_t k = std::size_t(prompt_length_ - 1); k < expected.size(); ++k) {
      kl.push_back(expected[k].kl);
      if (!expected[k].top1_agree) disagree.push_back(int(expected[k].pos - prompt_length_));
    }
    QCOMPARE(view->plotted_kl(), kl);
    QCOMPARE(view->marked_disagreements(), disagree);

    // The layer table: the share of reply positions whose set changed and the mean Jaccard.
    QTableWidget* layers = view->layers_table();
    QCOMPARE(layers->rowCount(), int(reply.layers.size()));
    QVERIFY(!reply.layers.empty());
    for (int row = 0; row < layers->rowCount(); ++row) {
      QCOMPARE(layers->item(row, widgets::ComparisonView::kLayer)->text(), QString::number(reply.layers[std::size_t(row)]));
      QCOMPARE(layers->item(row, widgets::ComparisonView::kSetChanged)->text(), percent(reply.expert_set_changed[std::size_t(row)]));
      QCOMPARE(layers->item(row, widgets::ComparisonView::kMeanJaccard)->text(),
               QString::number(reply.mean_jaccard[std::size_t(row)], 'f', 3));
    }
  }

  // Clicking the plot over reply token `index` selects it; both top-k lists show for it.
  void click_selects(widgets::ComparisonView* view, int index) {
    QCustomPlot* plot = view->plot();
    plot->replot();
    const QPoint at(int(plot->xAxis->coordToPixel(index)), plot->axisRect()->center().y());
    QTest::mouseClick(plot, Qt::LeftButton, {}, at);
    QCOMPARE(window_->store()->selected(), index);
    QCOMPARE(view->shown_index(), index);
    QCOMPARE(view->marker_position(), double(index));
    const TokenComparison* t = view->comparison().at_reply(index);
    QVERIFY(t);
    QTableWidget* top = view->top_table();
    QCOMPARE(top->rowCount(), int(t->top_k_a.size()));
    for (int r = 0; r < top->rowCount(); ++r) {
      const TopKEntry& a = t->top_k_a[std::size_t(r)];
      const TopKEntry& b = t->top_k_b[std::size_t(r)];
      QCOMPARE(top->item(r, widgets::ComparisonView::kTokenA)->text(),
               widgets::visible_token(model_->tokenizer()->token_bytes(a.id), a.id));
      QCOMPARE(top->item(r, widgets::ComparisonView::kProbA)->text(), widgets::format_percent(a.prob));
      QCOMPARE(top->item(r, widgets::ComparisonView::kTokenB)->text(),
               widgets::visible_token(model_->tokenizer()->token_bytes(b.id), b.id));
      QCOMPARE(top->item(r, widgets::ComparisonView::kProbB)->text(), widgets::format_percent(b.prob));
    }
    QVERIFY2(view->token_text().startsWith(QStringLiteral("#%1 ").arg(index)), qPrintable(view->token_text()));
  }

  // Intervenes on the plain branch (0) from reply token `fork`; returns the new branch's interventions.
  Interventions intervene_on_plain(int fork, const QString& text) {
    window_->driver()->switch_branch(kReply, 0);
    window_->driver()->inspect(kReply);
    if (!window_->intervene(fork, text)) return {};
    if (!testing::wait_idle(window_.get())) return {};
    const auto& message = conversation().messages[std::size_t(kReply)];
    return message.branches[std::size_t(message.current_branch)].interventions;
  }

  bool wait_for_trace(std::uint64_t request, QSignalSpy& spy) {
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 60000) {
      for (const QList<QVariant>& args : spy)
        if (args.at(0).value<TraceExported>().request == request) return true;
      QTest::qWait(20);
    }
    return false;
  }

  // A copy of the demo model in `dir` whose JSON file `name` went through `edit`.
  static bool edited_demo_copy(const QTemporaryDir& dir, const QString& name, const std::function<void(QJsonObject&)>& edit) {
    const QDir demo(demo_model_dir());
    for (const QString& file : demo.entryList(QDir::Files))
      if (!QFile::copy(demo.filePath(file), dir.filePath(file))) return false;
    QFile file(dir.filePath(name));
    if (!file.open(QIODevice::ReadOnly)) return false;
    QJsonObject json = QJsonDocument::fromJson(file.readAll()).object();
    file.close();
    edit(json);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
    return file.write(QJsonDocument(json).toJson()) > 0;
  }

  // Asks the window to load `dir` (CPU) as the second model and waits for the refusal: its message
  // (empty when none came within 30 s); `loaded` counts second_loaded signals meanwhile.
  QString second_load_refusal(const QString& dir, int* loaded) {
    QSignalSpy failed(window_->engine(), &EngineController::second_load_failed);
    QSignalSpy loaded_spy(window_->engine(), &EngineController::second_loaded);
    LoadRequest request;
    request.model = dir;
    request.backend = QStringLiteral("cpu");
    window_->compare()->load_second(request);
    if (failed.isEmpty()) failed.wait(30000);
    *loaded = int(loaded_spy.count());
    return failed.isEmpty() ? QString() : failed.front().front().toString();
  }

 private slots:
  void initTestCase() {
    if (!testing::demo_model_present()) QSKIP("resources/demo-model is not there");
    window_ = testing::shown_window(testing::greedy(20));
    QVERIFY(window_);
    QVERIFY(testing::load_demo_model(window_.get()));
    window_->chat()->set_input_text(QStringLiteral("Tell me about the ocean."));
    window_->send_or_step(-1);
    QVERIFY(testing::wait_idle(window_.get()));
    QVERIFY2(window_->banner_text().isEmpty(), qPrintable(window_->banner_text()));
    QVERIFY(window_->store()->size() >= 10);

    LoadOptions load;
    load.snapshot.model = demo_model_dir().toStdString();
    load.backend = BackendKind::Cpu;
    load.threads = 2;  // as the window's: the trace's meta.json names the device
    model_ = Model::load(load);
    prompt_ = build_prompt(*model_, window_->driver()->turns_before(kReply), conversation().messages[0].thinking).ids;
    prompt_length_ = std::int64_t(prompt_.size());
    QVERIFY(prompt_length_ > 1);
  }

  void effect_dock_explains_a_branch_without_interventions() {
    bring_forward("effectDock");
    window_->driver()->inspect(kReply);
    window_->compare()->refresh();
    QTRY_VERIFY_WITH_TIMEOUT(window_->effect()->caption_text().startsWith(QStringLiteral("This branch has no interventions")), 10000);
    QVERIFY(window_->effect()->comparison().empty());
    QVERIFY(window_->effect()->plotted_kl().empty());
    QCOMPARE(window_->effect()->layers_table()->rowCount(), 0);
  }

  // Skipping a Mamba layer changes every forward it touches: zero KL before them, not after.
  void effect_dock_shows_a_skipped_layers_effect_as_compare_models_computes_it() {
    bring_forward("effectDock");
    const int fork = 3;
    const std::vector<TokenId> plain = current_ids();
    const Interventions applied = intervene_on_plain(fork, QStringLiteral("skip 0"));
    QCOMPARE(applied.skipped, std::vector<int>{0});
    QCOMPARE(applied.from_position, std::int64_t(fork));
    const std::vector<TokenId> ids = current_ids();
    QVERIFY(int(ids.size()) > prompt_length_ + fork + 3);
    widgets::ComparisonView* view = window_->effect();
    QVERIFY2(wait_for(view, ids), qPrintable(view->caption_text()));

    const auto expected = compare_models(*model_, *model_, ids, kTopK, {}, absolute(applied));
    check_numbers(view, expected);
    // The forward that chose reply token i read token i - 1: the intervened forwards choose fork + 1 on.
    const std::vector<double> kl = view->comparison().reply_kl();
    for (int i = 0; i < int(kl.size()); ++i) {
      if (i <= fork) QVERIFY2(kl[std::size_t(i)] == 0.0, qPrintable(QStringLiteral("KL %1 at #%2").arg(kl[std::size_t(i)]).arg(i)));
      else QVERIFY2(kl[std::size_t(i)] > 1e-6, qPrintable(QStringLiteral("KL %1 at #%2").arg(kl[std::size_t(i)]).arg(i)));
    }
    const workbench::ModelComparison& shown = view->comparison();
    QCOMPARE(shown.intervened_from, std::int64_t(fork));
    QVERIFY(shown.interventions_a.empty());
    QCOMPARE(shown.interventions_b, describe(applied));
    // Where the texts part: against the plain branch's tokens.
    const std::vector<TokenId> plain_reply(plain.begin() + prompt_length_, plain.end());
    const std::int64_t diverge = workbench::first_divergence(conversation().current_ids(kReply), plain_reply);
    QCOMPARE(shown.texts_diverge, diverge < std::int64_t(ids.size()) - prompt_length_ ? diverge : std::int64_t(-1));
    QVERIFY(shown.texts_diverge >= fork);
    QVERIFY2(view->summary_text().contains(QRegularExpression(QStringLiteral("the texts diverge at #%1(?!\\d)").arg(shown.texts_diverge))),
             qPrintable(view->summary_text()));
    QVERIFY2(view->caption_text().contains(QStringLiteral("A: the plain model · B: this branch (%1)")
                                               .arg(QString::fromStdString(describe(applied)))),
             qPrintable(view->caption_text()));
    click_selects(view, fork + 2);
    picture("effectDock");
  }

  void effect_dock_shows_a_masked_experts_effect() {
    bring_forward("effectDock");
    const int fork = 2;
    window_->driver()->switch_branch(kReply, 0);
    const auto plain_events = conversation().current_events(kReply);
    const int expert = plain_events[std::size_t(fork + 1)].routing.front().experts.front();  // one the plain model uses
    const Interventions applied = intervene_on_plain(fork, QStringLiteral("mask *:%1").arg(expert));
    QCOMPARE(applied.masked, (std::vector<ExpertMask>{{kEveryMoeLayer, expert}}));
    const std::vector<TokenId> ids = current_ids();
    widgets::ComparisonView* view = window_->effect();
    QVERIFY2(wait_for(view, ids), qPrintable(view->caption_text()));
    const auto expected = compare_models(*model_, *model_, ids, kTopK, {}, absolute(applied));
    check_numbers(view, expected);
    const std::vector<double> kl = view->comparison().reply_kl();
    for (int i = 0; i <= fork; ++i) QCOMPARE(kl[std::size_t(i)], 0.0);
    // The first intervened forward routed to the masked expert before: it chooses differently now.
    QVERIFY2(kl[std::size_t(fork + 1)] > 1e-6, qPrintable(QString::number(kl[std::size_t(fork + 1)])));
    // Its expert sets changed where the expert had been chosen.
    bool changed = false;
    for (int row = 0; row < view->layers_table()->rowCount(); ++row)
      changed |= view->layers_table()->item(row, widgets::ComparisonView::kSetChanged)->text() != percent(0.0);
    QVERIFY(changed);

    // Back on the plain branch the dock says why there is nothing to show.
    window_->driver()->switch_branch(kReply, 0);
    QTRY_VERIFY_WITH_TIMEOUT(view->caption_text().startsWith(QStringLiteral("This branch has no interventions")), 10000);
  }

  void compare_dock_with_the_same_model_twice_finds_no_difference() {
    bring_forward("compareDock");
    widgets::ComparisonView* view = window_->comparison();
    QTRY_VERIFY_WITH_TIMEOUT(view->caption_text().startsWith(QStringLiteral("No second model is loaded")), 10000);
    QSignalSpy loaded(window_->engine(), &EngineController::second_loaded);
    LoadRequest request;
    request.model = demo_model_dir();
    request.backend = QStringLiteral("cpu");
    request.threads = 2;
    window_->compare()->load_second(request);
    QVERIFY(loaded.count() == 1 || loaded.wait(60000));
    QVERIFY(window_->compare()->second_model().has_value());
    QVERIFY2(window_->banner_text().isEmpty(), qPrintable(window_->banner_text()));

    window_->driver()->switch_branch(kReply, 0);
    const std::vector<TokenId> ids = current_ids();
    QVERIFY2(wait_for(view, ids), qPrintable(view->caption_text()));
    const auto expected = compare_models(*model_, *model_, ids, kTopK);
    check_numbers(view, expected);
    for (const TokenComparison& t : view->comparison().tokens) {
      QCOMPARE(t.kl, 0.0);
      QVERIFY(t.top1_agree);
      QCOMPARE(t.logprob_a, t.logprob_b);
      for (const LayerOverlap& o : t.expert_overlap) QCOMPARE(o.jaccard, 1.0);
    }
    QCOMPARE(view->comparison().reply.top1_agreement, 1.0);
    QVERIFY(view->marked_disagreements().empty());
    QVERIFY(view->summary_text().contains(QStringLiteral("top-1 agreement 100.0%")));
    QVERIFY(view->summary_text().contains(QStringLiteral("best guesses agree everywhere")));
    for (int row = 0; row < view->layers_table()->rowCount(); ++row) {
      QCOMPARE(view->layers_table()->item(row, widgets::ComparisonView::kSetChanged)->text(), percent(0.0));
      QCOMPARE(view->layers_table()->item(row, widgets::ComparisonView::kMeanJaccard)->text(), QStringLiteral("1.000"));
    }
    click_selects(view, 4);
    picture("compareDock");
  }

  // Side A is the model the branch was generated with; side B takes typed interventions.
  void compare_dock_applies_the_branchs_interventions_to_a_and_typed_ones_to_b() {
    bring_forward("compareDock");
    widgets::ComparisonView* view = window_->comparison();
    QVERIFY(window_->compare()->second_model().has_value());
    // On the plain branch, B under a skipped layer: the same numbers as the Effect of that skip.
    window_->driver()->switch_branch(kReply, 0);
    QVERIFY(window_->compare()->set_interventions_b(QStringLiteral("from 3: skip 0")));
    const std::vector<TokenId> plain = current_ids();
    QTRY_VERIFY_WITH_TIMEOUT(view->comparison().interventions_b == "from 3: skip 0" && view->comparison().ids == plain, 60000);
    check_numbers(view, compare_models(*model_, *model_, plain, kTopK, {}, absolute(parse_interventions("from 3: skip 0"))));
    QVERIFY(view->comparison().reply.max_kl > 1e-6);

    // On the skip branch (1), B with the same skip reads what A reads.
    window_->driver()->switch_branch(kReply, 1);
    const std::vector<TokenId> skipped = current_ids();
    QVERIFY(wait_for(view, skipped));
    QCOMPARE(view->comparison().interventions_a, std::string("from 3: skip 0"));
    for (const TokenComparison& t : view->comparison().tokens) QCOMPARE(t.kl, 0.0);
    QCOMPARE(view->comparison().reply.top1_agreement, 1.0);

    // Text that does not read is refused in the dock; none again gives the plain second model.
    QVERIFY(!window_->compare()->set_interventions_b(QStringLiteral("mask 1:")));
    QVERIFY2(view->caption_text().contains(QStringLiteral("not understood")), qPrintable(view->caption_text()));
    QVERIFY(window_->compare()->set_interventions_b(QString()));
    QTRY_VERIFY_WITH_TIMEOUT(view->comparison().interventions_b.empty() && view->comparison().ids == skipped, 60000);
    check_numbers(view, compare_models(*model_, *model_, skipped, kTopK, absolute(parse_interventions("from 3: skip 0")), {}));
  }

  void unloading_the_second_model_says_so() {
    QSignalSpy unloaded(window_->engine(), &EngineController::second_unloaded);
    window_->compare()->unload_second();
    QVERIFY(unloaded.count() == 1 || unloaded.wait(10000));
    QVERIFY(!window_->compare()->second_model().has_value());
    QVERIFY(window_->comparison()->caption_text().startsWith(QStringLiteral("No second model is loaded")));
    QVERIFY(window_->comparison()->comparison().empty());
  }

  // A copy of the demo model whose config.json names another vocabulary size: refused before any
  // weight is read, with both sizes in the message.
  void a_second_model_with_another_vocabulary_is_refused() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    qint64 vocab = 0;
    QVERIFY(edited_demo_copy(dir, QStringLiteral("config.json"), [&vocab](QJsonObject& json) {
      vocab = qint64(json.value(QStringLiteral("vocab_size")).toDouble());
      json[QStringLiteral("vocab_size")] = double(vocab + 64);
    }));
    QCOMPARE(vocab, qint64(model_->config().vocab_size));

    int loaded = 0;
    const QString message = second_load_refusal(dir.path(), &loaded);
    QVERIFY(!message.isEmpty());
    QVERIFY2(message.contains(QStringLiteral("vocabulary has %1 tokens and this one's %2").arg(vocab + 64).arg(vocab)), qPrintable(message));
    QVERIFY2(window_->banner_text().contains(message), qPrintable(window_->banner_text()));
    QVERIFY(!window_->compare()->second_model().has_value());
    QVERIFY2(window_->comparison()->caption_text().contains(message), qPrintable(window_->comparison()->caption_text()));
  }

  // A copy of the demo model whose tokenizer gives two ids each other's tokens (same vocabulary size):
  // refused before any weight is read, naming the first id that differs.
  void a_second_model_with_another_tokenizer_of_the_same_size_is_refused() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QString first, second;  // the tokens of ids 300 and 301, swapped in the copy
    QVERIFY(edited_demo_copy(dir, QStringLiteral("tokenizer.json"), [&](QJsonObject& json) {
      QJsonObject model = json.value(QStringLiteral("model")).toObject();
      QJsonObject vocab = model.value(QStringLiteral("vocab")).toObject();
      for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (it.value().toInt() == 300) first = it.key();
        if (it.value().toInt() == 301) second = it.key();
      }
      vocab[first] = 301;
      vocab[second] = 300;
      model[QStringLiteral("vocab")] = vocab;
      json[QStringLiteral("model")] = model;
    }));
    QVERIFY(!first.isEmpty() && !second.isEmpty());

    int loaded = 0;
    const QString message = second_load_refusal(dir.path(), &loaded);
    QVERIFY(!message.isEmpty());
    QCOMPARE(loaded, 0);
    QVERIFY2(message.contains(QStringLiteral("The two tokenizers differ: token id 300 is ")), qPrintable(message));
    QVERIFY(!window_->compare()->second_model().has_value());
  }

  void hidden_docks_ask_the_engine_for_nothing() {
    for (const char* name : {"effectDock", "compareDock"}) dock(name)->hide();
    const std::uint64_t effect_before = window_->compare()->effect_request();
    QSignalSpy compared(window_->engine(), &EngineController::compared);
    window_->driver()->switch_branch(kReply, 2);  // the masked expert's branch
    window_->store()->select(3);
    window_->compare()->refresh();
    QTest::qWait(300);
    QCOMPARE(window_->compare()->effect_request(), effect_before);
    QCOMPARE(compared.count(), 0);
    // Shown again, the Effect dock follows the branch chosen while it was hidden.
    bring_forward("effectDock");
    QVERIFY(wait_for(window_->effect(), current_ids()));
    QCOMPARE(compared.count(), 1);
  }

  // The window's trace of the skip branch: the files the engine's trace functions write for the same
  // ids under the same interventions, byte for byte, with and without the internals.
  void export_trace_writes_the_files_the_cli_writes() {
    window_->driver()->switch_branch(kReply, 1);
    window_->driver()->inspect(kReply);
    const auto& message = conversation().messages[std::size_t(kReply)];
    const Interventions applied = message.branches[std::size_t(message.current_branch)].interventions;
    QVERIFY(!applied.empty());
    const std::vector<TokenId> ids = current_ids();
    QSignalSpy exported(window_->engine(), &EngineController::trace_exported);
    for (bool internals : {false, true}) {
      QTemporaryDir dir;
      QVERIFY(dir.isValid());
      const QString from_window = dir.filePath(QStringLiteral("window"));
      const std::uint64_t request = window_->compare()->export_trace(from_window, 5, internals);
      QVERIFY(wait_for_trace(request, exported));
      // The status bar says how many tokens went where.
      const QString said = QStringLiteral("Wrote the trace of %1 tokens under %2 to %3")
                               .arg(ids.size()).arg(QString::fromStdString(describe(absolute(applied))), QDir::toNativeSeparators(from_window));
      bool found = false;
      for (const QLabel* label : window_->statusBar()->findChildren<QLabel*>()) found |= label->text().startsWith(said);
      QVERIFY2(found, qPrintable(said));

      // `logitscope-cli trace` on the same ids, under the same interventions, on as many threads.
      QStringList id_list;
      for (TokenId id : ids) id_list << QString::number(id);
      const QString from_cli = dir.filePath(QStringLiteral("cli"));
      QStringList args{QStringLiteral("trace"), QStringLiteral("--model"), demo_model_dir(), QStringLiteral("--backend"),
                       QStringLiteral("cpu"), QStringLiteral("--threads"), QStringLiteral("2"), QStringLiteral("--ids"),
                       id_list.join(QLatin1Char(',')), QStringLiteral("--top-k"), QStringLiteral("5"),
                       QStringLiteral("--skip-layer"), QStringLiteral("0"), QStringLiteral("--intervene-from"),
                       QString::number(absolute(applied).from_position), QStringLiteral("--out"), from_cli};
      if (internals) args << QStringLiteral("--internals");
      const logitscope::test::CliResult cli = logitscope::test::run_cli(args);
      QVERIFY2(cli.exit_code == 0, cli.err.constData());
      TraceOptions options;
      options.top_k = 5;
      options.internals = internals;
      options.interventions = absolute(applied);
      const Trace trace = trace_tokens(*model_, ids, options);
      const QString from_engine = dir.filePath(QStringLiteral("engine"));
      write_trace(trace, from_engine.toStdString());

      const QStringList files = QDir(from_engine).entryList(QDir::Files, QDir::Name);
      QCOMPARE(QDir(from_window).entryList(QDir::Files, QDir::Name), files);
      QCOMPARE(QDir(from_cli).entryList(QDir::Files, QDir::Name), files);
      QVERIFY(files.contains(QStringLiteral("trace.jsonl")) && files.contains(QStringLiteral("meta.json")) &&
              files.contains(QStringLiteral("logprob.npy")) && files.contains(QStringLiteral("routing_experts.npy")));
      QCOMPARE(files.contains(QStringLiteral("router_scores.npy")), internals);
      for (const QString& name : files) {
        const QByteArray window_file = file_bytes(QDir(from_window).filePath(name));
        QVERIFY2(!window_file.isEmpty() && window_file == file_bytes(QDir(from_engine).filePath(name)), qPrintable(name));
        QVERIFY2(window_file == file_bytes(QDir(from_cli).filePath(name)), qPrintable(name));
      }

      const QJsonObject meta = QJsonDocument::fromJson(file_bytes(QDir(from_window).filePath(QStringLiteral("meta.json")))).object();
      QCOMPARE(meta.value(QStringLiteral("tokens")).toInteger(), qint64(ids.size()));
      QCOMPARE(meta.value(QStringLiteral("interventions")).toString(), QString::fromStdString(describe(absolute(applied))));
      // One line per token; the log-probabilities are the compared side's (B: the branch's model).
      const QList<QByteArray> lines = file_bytes(QDir(from_window).filePath(QStringLiteral("trace.jsonl"))).trimmed().split('\n');
      QCOMPARE(qsizetype(lines.size()), qsizetype(ids.size()));
      const auto compared = compare_models(*model_, *model_, ids, 1, {}, absolute(applied));
      for (const TokenComparison& t : compared) {
        const QJsonObject line = QJsonDocument::fromJson(lines[qsizetype(t.pos)]).object();
        QCOMPARE(line.value(QStringLiteral("id")).toInteger(), qint64(t.id));
        QVERIFY(std::abs(line.value(QStringLiteral("logprob")).toDouble() - t.logprob_b) < 1e-5);
      }
    }
    QVERIFY2(!window_->banner_text().contains(QStringLiteral("trace")), qPrintable(window_->banner_text()));

    // A folder that cannot be made is an error in the banner, not a crash.
    QTemporaryDir dir;
    QFile blocker(dir.filePath(QStringLiteral("file")));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    window_->compare()->export_trace(dir.filePath(QStringLiteral("file/trace")));
    QTRY_VERIFY_WITH_TIMEOUT(window_->banner_text().startsWith(QStringLiteral("Could not export the trace: ")), 30000);
  }

  void cleanupTestCase() { window_.reset(); }
};

QTEST_MAIN(TestCompareDocks)
#include "tst_compare_docks.moc"
