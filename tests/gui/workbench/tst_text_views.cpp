// SPDX-License-Identifier: GPL-3.0-or-later
// The views that report on a whole text or run rather than on one token: the Surprise view (a
// scored text's colours, totals and alternatives) and the status line's bandwidth floor. Plain data
// in, no engine code.
#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>
#include <QTextBrowser>
#include <QUrl>

#include <cmath>

#include "run_status.h"
#include "scored_text.h"
#include "surprise_view.h"
#include "token_format.h"

using namespace logitscope;

class TestTextViews : public QObject {
  Q_OBJECT
 private slots:
  void surprise_view_colours_sums_and_lists_alternatives() {
    workbench::ScoredText text;
    text.source = QStringLiteral("pasted text");
    text.ids = {5, 7, 9};
    text.bytes = {"The", " cat", " sat"};
    auto entry = [](TokenId id, float p) { return TopKEntry{id, p, std::log(p), 0.0f}; };
    text.scored.push_back({7, std::log(0.9f), 0.3f, 0, {entry(7, 0.9f), entry(8, 0.1f)}});
    text.scored.push_back({9, std::log(0.01f), 2.5f, 3, {entry(11, 0.5f), entry(12, 0.3f), entry(13, 0.1f), entry(9, 0.01f)}});
    text.labels = {{8, " dog"}, {11, " ran"}, {12, " was"}, {13, " is"}};
    text.total_nll = -(std::log(0.9) + std::log(0.01));
    widgets::SurpriseView view;
    view.resize(500, 600);
    view.set_available(true);
    QSignalSpy asked(&view, &widgets::SurpriseView::score_text_requested);
    view.set_input_text(QStringLiteral("The cat sat"));
    for (QPushButton* b : view.findChildren<QPushButton*>())
      if (b->text() == QStringLiteral("Score text")) b->click();
    QCOMPARE(asked.count(), 1);
    QCOMPARE(asked.at(0).at(0).toString(), QStringLiteral("The cat sat"));

    view.show_result(text);
    const QString summary = view.summary_text();
    QVERIFY2(summary.contains(QStringLiteral("2 tokens scored")), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("total NLL %1").arg(text.total_nll, 0, 'f', 2)), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("perplexity %1").arg(std::exp(text.total_nll / 2), 0, 'f', 2)), qPrintable(summary));
    // The likely token is green, the surprising one red (probability_color's scale).
    QCOMPARE(view.token_colour(1), widgets::probability_color(0.9f, false));
    QCOMPARE(view.token_colour(2), widgets::probability_color(0.01f, false));
    QVERIFY(view.token_colour(2).red() > view.token_colour(2).green());
    QVERIFY(view.token_colour(1).green() > view.token_colour(1).red());
    QVERIFY(view.text_view()->toPlainText().contains(QStringLiteral("The cat sat")));
    // A click on a token (its anchor) lists the alternatives there, the scored token among them.
    emit view.text_view()->anchorClicked(QUrl(QStringLiteral("#t2")));
    QCOMPARE(view.selected(), 2);
    QCOMPARE(view.table()->rowCount(), 4);
    QCOMPARE(view.table()->item(0, 0)->text(), widgets::visible_token(" ran", 11));
    QVERIFY2(view.detail_text().contains(QStringLiteral("rank 3")), qPrintable(view.detail_text()));
    view.select_token(99);  // out of range: nothing changes
    QCOMPARE(view.selected(), 2);
  }

  void run_status_names_the_bandwidth_floor() {
    widgets::RunStatus s;
    s.model = QStringLiteral("nano");
    s.format = QStringLiteral("NVFP4 + BF16");
    s.bytes_per_token = 2.977e9;
    s.floor_tokens_per_second = 1018.2;
    // Before a reply: the floor alone; after one: beside the measured rate.
    QString text = widgets::describe_run_status(s);
    QVERIFY2(text.contains(QStringLiteral("floor 1018 tok/s")) && text.contains(QStringLiteral("2.98 GB/token")), qPrintable(text));
    s.tokens_per_second = 487.1;
    text = widgets::describe_run_status(s);
    QVERIFY2(text.contains(QStringLiteral("487.1 tok/s (floor 1018)")), qPrintable(text));
    s.floor_tokens_per_second.reset();  // the CPU backend measures no bandwidth
    text = widgets::describe_run_status(s);
    QVERIFY2(!text.contains(QStringLiteral("floor")) && text.contains(QStringLiteral("487.1 tok/s")), qPrintable(text));
  }

};

QTEST_MAIN(TestTextViews)
#include "tst_text_views.moc"
