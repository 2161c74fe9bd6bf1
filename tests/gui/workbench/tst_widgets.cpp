// SPDX-License-Identifier: GPL-3.0-or-later
// The inspection widgets against TokenEvent streams recorded from a fixture model (no engine):
// heatmap cells equal the routing, strip colours follow the probabilities, the top-k chart shows
// the event's candidates, conversations round-trip through JSON, and the event loop never stalls
// while events stream in.
#include <QApplication>
#include <QCheckBox>
#include <QGridLayout>
#include <QLabel>
#include <QElapsedTimer>
#include <QScrollArea>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <QTimer>

#include <ctime>

#include <cmath>
#include <cstring>
#include <limits>

#include <qcustomplot.h>

#include "branch_tree.h"
#include "chat_pane.h"
#include "chunked_text.h"
#include "conversation.h"
#include "entropy_plot.h"
#include "event_store.h"
#include "message_view.h"
#include "plot_style.h"
#include "recorded_stream.h"
#include "routing_heatmap.h"
#include "test_support.h"
#include "token_format.h"
#include "token_strip.h"
#include "event_loop_heartbeat.h"
#include "topk_view.h"

using namespace logitscope;
using namespace logitscope::widgets;
using namespace logitscope::workbench;
using logitscope::test::EventLoopHeartbeat;

namespace {

QString fixture(const char* name) {
  return QString::fromStdString((test::fixtures_dir() / "models" / name).string());
}

// The 1-minute load average, or 0 where /proc/loadavg is absent.
double system_load() {
  QFile file(QStringLiteral("/proc/loadavg"));
  if (!file.open(QIODevice::ReadOnly)) return 0.0;
  return file.readAll().split(' ').value(0).toDouble();
}

bool same_float(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b));
}

// Field-by-field equality, floats bit for bit.
bool same_event(const TokenEvent& a, const TokenEvent& b, QString* why) {
  auto fail = [&](const char* field) {
    *why = QStringLiteral("pos %1: %2 differs").arg(a.pos).arg(QLatin1String(field));
    return false;
  };
  if (a.pos != b.pos) return fail("pos");
  if (a.id != b.id) return fail("id");
  if (a.text != b.text) return fail("text");
  if (a.bytes != b.bytes) return fail("bytes");
  if (a.forced != b.forced) return fail("forced");
  if (!same_float(a.prob, b.prob) || !same_float(a.logprob, b.logprob) || !same_float(a.entropy, b.entropy)) return fail("prob");
  if (a.top_k.size() != b.top_k.size()) return fail("top_k size");
  for (std::size_t k = 0; k < a.top_k.size(); ++k) {
    const auto& x = a.top_k[k];
    const auto& y = b.top_k[k];
    if (x.id != y.id || !same_float(x.prob, y.prob) || !same_float(x.logprob, y.logprob) || !same_float(x.logit, y.logit)) return fail("top_k");
  }
  if (a.routing.size() != b.routing.size()) return fail("routing size");
  for (std::size_t r = 0; r < a.routing.size(); ++r) {
    if (a.routing[r].layer != b.routing[r].layer || a.routing[r].experts != b.routing[r].experts) return fail("routing");
    if (a.routing[r].weights.size() != b.routing[r].weights.size()) return fail("weights");
    for (std::size_t k = 0; k < a.routing[r].weights.size(); ++k) {
      if (!same_float(a.routing[r].weights[k], b.routing[r].weights[k])) return fail("weights");
    }
  }
  if (a.timing.forward_ms != b.timing.forward_ms || a.timing.sample_ms != b.timing.sample_ms) return fail("timing");
  return true;
}

}  // namespace

class TestWidgets : public QObject {
  Q_OBJECT
 private:
  std::vector<TokenEvent> stream_;

 private slots:
  void initTestCase() {
    stream_ = test::load_golden_stream(fixture("tiny-every-kind"));
    QVERIFY2(stream_.size() >= 20, "tests/fixtures/models/tiny-every-kind/golden.json missing or empty");
    QVERIFY(!stream_.front().routing.empty());
  }

  void visible_tokens() {
    QCOMPARE(visible_token(" the", 5), QStringLiteral("\u00B7the"));
    QCOMPARE(visible_token("\n\n", 5), QStringLiteral("\u21B5\u21B5"));
    QCOMPARE(visible_token("\t", 5), QStringLiteral("\u2192"));
    QCOMPARE(visible_token("\xE2\x80", 5), QStringLiteral("<0xE2><0x80>"));
    QCOMPARE(visible_token("\xC3\xA9t\xC3\xA9", 5), QStringLiteral("\u00E9t\u00E9"));
    QCOMPARE(visible_token("", 42), QStringLiteral("<42>"));
    QVERIFY(is_special_looking(" "));
    QVERIFY(is_special_looking("\xE2\x80"));
    QVERIFY(!is_special_looking(" the"));
  }

  void heatmap_equals_routing() {
    EventStore store;
    RoutingHeatmap heatmap(&store);
    heatmap.resize(600, 500);
    store.set_events(stream_);
    const RoutingShape shape = store.routing_shape();
    QCOMPARE(shape.moe_layers, (std::vector<int>{2, 5, 8}));  // pattern M*EM-EM*E
    QCOMPARE(shape.num_experts, 8);
    for (int i = 0; i < int(stream_.size()); ++i) {
      store.select(i);
      heatmap.refresh();
      const RoutingGrid& grid = heatmap.grid();
      QCOMPARE(grid.rows(), 3);
      QCOMPARE(grid.num_experts, 8);
      // Every cell is the event's weight for that (layer, expert), or 0 when not chosen.
      for (int row = 0; row < grid.rows(); ++row) {
        for (int expert = 0; expert < 8; ++expert) {
          double expected = 0.0;
          for (const auto& slice : stream_[i].routing) {
            if (slice.layer != grid.layers[row]) continue;
            for (std::size_t k = 0; k < slice.experts.size(); ++k) {
              if (slice.experts[k] == expert) expected += slice.weights[k];
            }
          }
          QCOMPARE(heatmap.cell_value(row, expert), expected);
        }
      }
    }
    // Whole answer: counts of choices, and the histogram is their column sums.
    heatmap.set_mode(RoutingHeatmap::Mode::WholeAnswer);
    std::vector<double> per_expert(8, 0.0);
    int total = 0;
    for (const auto& event : stream_) {
      for (const auto& slice : event.routing) {
        for (int e : slice.experts) {
          per_expert[e] += 1.0;
          ++total;
        }
      }
    }
    QCOMPARE(heatmap.histogram_values(), per_expert);
    double sum = 0.0;
    for (int r = 0; r < heatmap.grid().rows(); ++r) {
      for (int e = 0; e < 8; ++e) sum += heatmap.cell_value(r, e);
    }
    QCOMPARE(sum, double(total));
    // A span counts only its tokens.
    heatmap.set_mode(RoutingHeatmap::Mode::SelectedSpan);
    store.select_span(3, 7);
    heatmap.refresh();
    QCOMPARE(heatmap.grid().max_value() <= 4.0, true);
    double span_sum = 0.0;
    for (double v : heatmap.histogram_values()) span_sum += v;
    QCOMPARE(span_sum, 4.0 * 3 * 2);  // 4 tokens x 3 MoE layers x 2 experts each
    // Hover read-out names layer, expert and value of the cell under the mouse.
    heatmap.show();
    QVERIFY(QTest::qWaitForWindowExposed(&heatmap));
    heatmap.set_mode(RoutingHeatmap::Mode::SelectedToken);
    store.select(0);
    heatmap.refresh();
    heatmap.map_plot()->replot();
    const auto& slice = stream_[0].routing[0];
    const QPoint pixel(int(heatmap.map_plot()->xAxis->coordToPixel(slice.experts[0])),
                       int(heatmap.map_plot()->yAxis->coordToPixel(0)));
    const QString readout = heatmap.readout_at(pixel);
    QVERIFY2(readout.contains(QStringLiteral("layer %1, expert %2").arg(slice.layer).arg(slice.experts[0])), qPrintable(readout));
    QVERIFY2(readout.contains(QString::number(slice.weights[0], 'f', 4)), qPrintable(readout));
  }

  void heatmap_any_expert_count() {
    // One MoE layer and 160 experts: still one cell per expert, nothing collapses.
    TokenEvent event;
    event.routing.push_back({7, {159, 3}, {0.75f, 0.25f}});
    EventStore store;
    RoutingHeatmap heatmap(&store);
    store.set_events({event});
    heatmap.refresh();
    QCOMPARE(heatmap.grid().num_experts, 160);
    QCOMPARE(heatmap.grid().rows(), 1);
    QCOMPARE(heatmap.cell_value(0, 159), 0.75);
    QCOMPARE(heatmap.cell_value(0, 3), 0.25);
    QCOMPARE(heatmap.cell_value(0, 4), 0.0);
    QCOMPARE(int(heatmap.histogram_values().size()), 160);
  }

  void strip_colours() {
    EventStore store;
    QScrollArea area;
    auto* strip = new TokenStrip(&store);
    area.setWidget(strip);
    area.setWidgetResizable(true);
    area.resize(500, 300);
    std::vector<TokenEvent> events = stream_;
    events[0].bytes = " ";  // whitespace made visible
    events[1].bytes = "\xE2\x80";  // a partial UTF-8 byte token
    store.set_events(events);
    area.show();
    QVERIFY(QTest::qWaitForWindowExposed(&area));
    QCOMPARE(strip->chip_count(), int(events.size()));
    QCOMPARE(strip->chip_text(0), QStringLiteral("\u00B7"));
    QCOMPARE(strip->chip_text(1), QStringLiteral("<0xE2><0x80>"));
    QCOMPARE(strip->chip_text(2), QStringLiteral("<%1>").arg(events[2].id));
    const bool dark = is_dark(strip->palette());
    const QImage image = strip->grab().toImage();
    const qreal ratio = image.devicePixelRatio();
    for (int i = 0; i < strip->chip_count(); ++i) {
      const QColor expected = probability_color(events[i].prob, dark);
      QCOMPARE(strip->chip_color(i), expected);
      // A pixel just inside the chip's top-left corner is painted with that colour.
      const QRect rect = strip->chip_rect(i);
      const QPoint inside = (rect.topLeft() + QPoint(3, 3)) * ratio;
      if (i >= 2) QCOMPARE(image.pixelColor(inside).rgb(), expected.rgb());
    }
    // A dark palette (the system switched schemes) gives dark chips, so light text stays readable.
    QPalette dark_palette = area.palette();
    dark_palette.setColor(QPalette::Window, QColor(30, 30, 30));
    dark_palette.setColor(QPalette::WindowText, QColor(230, 230, 230));
    dark_palette.setColor(QPalette::Base, QColor(20, 20, 20));
    dark_palette.setColor(QPalette::Text, QColor(230, 230, 230));
    area.setPalette(dark_palette);
    QVERIFY(is_dark(strip->palette()));
    QCOMPARE(strip->chip_color(3), probability_color(events[3].prob, true));
    QVERIFY(strip->chip_color(3).lightnessF() < 0.5);
    // Likelier tokens are greener (higher hue), unlikely ones red.
    QVERIFY(probability_color(0.95f, false).hslHueF() > probability_color(0.02f, false).hslHueF());
    // Clicking selects; shift-click selects a span.
    QTest::mouseClick(strip, Qt::LeftButton, {}, strip->chip_rect(4).center());
    QCOMPARE(store.selected(), 4);
    QTest::mouseClick(strip, Qt::LeftButton, Qt::ShiftModifier, strip->chip_rect(9).center());
    QCOMPARE(store.span_begin(), 4);
    QCOMPARE(store.span_end(), 10);
  }

  void topk_chart() {
    EventStore store;
    TopKView view(&store);
    view.resize(500, 500);
    store.set_events(stream_);
    store.add_labels({{stream_[5].top_k[0].id, " hello"}});
    store.select(5);
    view.refresh();
    const auto& top_k = stream_[5].top_k;
    QCOMPARE(view.shown_index(), 5);
    QCOMPARE(int(view.chart_probabilities().size()), int(top_k.size()));
    for (std::size_t k = 0; k < top_k.size(); ++k) {
      QCOMPARE(view.chart_probabilities()[k], double(top_k[k].prob));
      QCOMPARE(view.chart_logprobs()[k], double(top_k[k].logprob));
    }
    // The axis labels what fits (topk_chart_labels_do_not_overlap), always the best candidate.
    QCOMPARE(view.chart_label(0), QStringLiteral("\u00B7hello"));
    for (int rank : view.chart_labelled_ranks())
      if (rank > 0) QCOMPARE(view.chart_label(rank), QStringLiteral("<%1>").arg(top_k[rank].id));
    // Probabilities are sorted and sum to at most 1.
    double sum = 0.0;
    for (std::size_t k = 0; k < top_k.size(); ++k) {
      sum += top_k[k].prob;
      if (k) QVERIFY(top_k[k].prob <= top_k[k - 1].prob);
    }
    QVERIFY(sum <= 1.0 + 1e-5);
    // Hover overrides the selection while the mouse is over a token.
    view.set_hovered(7);
    QCOMPARE(view.shown_index(), 7);
    view.set_hovered(-1);
    QCOMPARE(view.shown_index(), 5);
    // Choosing a candidate of an earlier token asks for a branch at that index.
    QSignalSpy chosen(&view, &TopKView::candidate_chosen);
    view.table()->setCurrentCell(2, 0);
    emit view.table()->cellDoubleClicked(2, 0);
    QCOMPARE(chosen.count(), 1);
    QCOMPARE(chosen.at(0).at(0).toInt(), 5);
    QCOMPARE(chosen.at(0).at(1).value<TokenId>(), top_k[2].id);
    QCOMPARE(chosen.at(0).at(2).toBool(), true);
    // Next-token candidates (listed before a step) show when nothing is selected.
    store.select(-1);
    NextCandidates next;
    next.index = int(stream_.size());
    next.top_k = stream_.back().top_k;
    store.set_next_candidates(next);
    QCOMPARE(view.shown_index(), int(stream_.size()));
    QCOMPARE(view.chart_probabilities().front(), double(stream_.back().top_k.front().prob));
  }

  // Twenty alternatives (the default) at a dock's size: the axis labels what fits without overlap,
  // always the best and the chosen candidate; a tall chart labels them all.
  void topk_chart_labels_do_not_overlap() {
    TokenEvent event = stream_[5];
    event.top_k.clear();
    const int n = 20, chosen = 13;
    for (int k = 0; k < n; ++k) {
      const TokenId id = 100 + k;
      event.top_k.push_back({id, 0.5f / float(k + 1), std::log(0.5f / float(k + 1)), 3.0f - 0.1f * float(k)});
    }
    event.id = event.top_k[chosen].id;
    EventStore store;
    store.set_events({event});
    std::vector<std::pair<TokenId, std::string>> labels;
    for (const auto& entry : event.top_k) labels.emplace_back(entry.id, " token" + std::to_string(entry.id));
    store.add_labels(labels);
    store.select(0);
    TopKView view(&store);
    view.resize(360, 420);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.refresh();
    QTest::qWait(50);  // the resize relabels after a layout
    const double line = QFontMetricsF(view.font()).height();
    auto check = [&](const char* when, std::vector<int>& ranks) {
      ranks = view.chart_labelled_ranks();
      QVERIFY2(!ranks.empty(), when);
      QVERIFY2(std::find(ranks.begin(), ranks.end(), 0) != ranks.end(), when);
      QVERIFY2(std::find(ranks.begin(), ranks.end(), chosen) != ranks.end(), when);
      for (std::size_t i = 1; i < ranks.size(); ++i) {
        const double gap = std::abs(view.chart_rank_pixel(ranks[i]) - view.chart_rank_pixel(ranks[i - 1]));
        QVERIFY2(gap >= line - 0.5, qPrintable(QStringLiteral("%1: labels of ranks %2 and %3 are %4 px apart, a line is %5")
                                                    .arg(when).arg(ranks[i - 1]).arg(ranks[i]).arg(gap).arg(line)));
      }
      for (int r = 0; r < n; ++r) {
        const bool labelled = std::find(ranks.begin(), ranks.end(), r) != ranks.end();
        QCOMPARE(view.chart_label(r).isEmpty(), !labelled);
      }
    };
    std::vector<int> small, tall;
    check("360x420", small);
    if (QTest::currentTestFailed()) return;
    QVERIFY(int(small.size()) < n);  // this height cannot hold 20 lines
    QCOMPARE(view.chart_label(chosen), QStringLiteral("\u00B7token%1").arg(100 + chosen));
    // The chosen candidate's row is in view in the table (nothing is being picked).
    QTableWidget* table = view.table();
    QVERIFY(table->viewport()->rect().contains(table->visualItemRect(table->item(chosen, 0)).center()));
    // A taller dock labels them all.
    TopKView tall_view(&store);
    tall_view.resize(360, 1400);
    tall_view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&tall_view));
    tall_view.refresh();
    QTest::qWait(50);
    tall = tall_view.chart_labelled_ranks();
    QCOMPARE(int(tall.size()), n);
  }

  // Long text is held in chunks so that a streamed reply re-lays out only its end.
  void chunked_text_grows_at_its_end() {
    QString paragraph;
    for (int i = 0; paragraph.size() < 4000; ++i) paragraph += QStringLiteral("word%1 ").arg(i);
    const QString text = QStringLiteral("first line\n\n") + paragraph + QStringLiteral("\nlast");
    const QStringList parts = ChunkedText::split(text, ChunkedText::kChunkChars);
    QCOMPARE(parts.join(QString()), text);
    QCOMPARE(parts.at(0), QStringLiteral("first line\n"));
    QCOMPARE(parts.at(1), QStringLiteral("\n"));
    for (const QString& part : parts) {
      QVERIFY(part.size() <= ChunkedText::kChunkChars);
      QVERIFY(part.endsWith(QLatin1Char('\n')) || part.endsWith(QLatin1Char(' ')) || part == QStringLiteral("last"));
    }
    QVERIFY(parts.size() >= 5);  // 4000 characters need three chunks
    // A word longer than a chunk is cut hard.
    QCOMPARE(ChunkedText::split(QString(10, QLatin1Char('x')), 4), (QStringList{"xxxx", "xxxx", "xx"}));

    ChunkedText view;
    view.set_text(text);
    QCOMPARE(view.text(), text);
    QCOMPARE(view.chunk_count(), int(parts.size()));
    const QList<QLabel*> before = view.findChildren<QLabel*>();
    const QString first_chunk = before.first()->text();
    view.set_text(text + QStringLiteral(" more"));
    const QList<QLabel*> after = view.findChildren<QLabel*>();
    QCOMPARE(after, before);  // the same labels; only the last one's text changed
    QCOMPARE(after.first()->text(), first_chunk);
    QCOMPARE(after.last()->text(), QStringLiteral("last more"));
    view.set_text(QStringLiteral("short"));
    QCOMPARE(view.chunk_count(), 1);
  }

  void entropy_plot() {
    EventStore store;
    EntropyPlot plot(&store);
    store.set_events(stream_);
    plot.refresh();
    QCOMPARE(plot.point_count(), int(stream_.size()));
    QVERIFY(std::isnan(plot.marker_position()));
    store.select(6);
    QCOMPARE(plot.marker_position(), 6.0);
    store.append(stream_.front());
    store.flush();
    plot.refresh();
    QCOMPARE(plot.point_count(), int(stream_.size()) + 1);
  }

  void conversation_round_trip() {
    Conversation conversation;
    conversation.model = QStringLiteral("tests/fixtures/models/tiny-every-kind");
    conversation.sampling = QJsonObject{{"temperature", 0.7}, {"seed", 42}};
    conversation.messages.push_back(ChatMessage::make(QStringLiteral("system"), QStringLiteral("Be brief.")));
    ChatMessage user = ChatMessage::make(QStringLiteral("user"), QStringLiteral("Hi \u00E9\u4E16 \"quoted\"\n"));
    user.thinking = true;
    conversation.messages.push_back(user);
    ChatMessage reply = ChatMessage::make(QStringLiteral("assistant"), QStringLiteral("answer text"));
    reply.reasoning = QStringLiteral("some reasoning");
    reply.thinking = true;
    reply.starts_in_thinking = true;
    Branch root;
    root.events = std::vector<TokenEvent>(stream_.begin(), stream_.begin() + 12);
    root.events[0].bytes = "\xE2\x80";  // partial UTF-8 must survive
    root.events[1].text = "caf\u00E9";
    root.events[2].forced = true;
    root.events[2].logprob = -std::numeric_limits<float>::infinity();
    root.events[2].prob = 0.0f;
    root.stop_reason = QStringLiteral("max_tokens");
    Branch fork;
    fork.parent = 0;
    fork.fork_at = 5;
    fork.events = std::vector<TokenEvent>(stream_.begin() + 12, stream_.begin() + 18);
    fork.events[0].forced = true;
    fork.interventions.from_position = 5;
    fork.interventions.masked = {{4, 17}, {kEveryMoeLayer, 3}};
    fork.interventions.forced = {{6, {1, 2}}};
    fork.interventions.scaled = {{9, MoePart::Shared, 0.1}};
    fork.interventions.skipped = {3};
    reply.branches = {root, fork};
    reply.current_branch = 1;
    conversation.messages.push_back(reply);
    conversation.labels.insert(7, std::string("\xE2\x80", 2));
    conversation.labels.insert(9, " world");

    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("chat.json"));
    QString error;
    QVERIFY2(save_conversation(path, conversation, &error), qPrintable(error));
    Conversation loaded;
    QVERIFY2(load_conversation(path, &loaded, &error), qPrintable(error));

    QCOMPARE(loaded.model, conversation.model);
    QCOMPARE(loaded.sampling, conversation.sampling);
    QCOMPARE(loaded.labels, conversation.labels);
    QCOMPARE(loaded.messages.size(), conversation.messages.size());
    for (std::size_t m = 0; m < loaded.messages.size(); ++m) {
      const auto& a = conversation.messages[m];
      const auto& b = loaded.messages[m];
      QCOMPARE(b.role, a.role);
      QCOMPARE(b.content, a.content);
      QCOMPARE(b.reasoning, a.reasoning);
      QCOMPARE(b.thinking, a.thinking);
      QCOMPARE(b.starts_in_thinking, a.starts_in_thinking);
      QCOMPARE(b.current_branch, a.current_branch);
      QCOMPARE(b.branches.size(), a.branches.size());
      for (std::size_t k = 0; k < a.branches.size(); ++k) {
        QCOMPARE(b.branches[k].parent, a.branches[k].parent);
        QCOMPARE(b.branches[k].fork_at, a.branches[k].fork_at);
        QCOMPARE(b.branches[k].stop_reason, a.branches[k].stop_reason);
        QVERIFY2(b.branches[k].interventions == a.branches[k].interventions, describe(b.branches[k].interventions).c_str());
        QCOMPARE(b.branches[k].events.size(), a.branches[k].events.size());
        for (std::size_t e = 0; e < a.branches[k].events.size(); ++e) {
          QString why;
          QVERIFY2(same_event(a.branches[k].events[e], b.branches[k].events[e], &why), qPrintable(why));
        }
      }
    }
    // The current branch is the fork: 5 tokens of the root, then its own 6.
    const auto current = loaded.current_events(2);
    QCOMPARE(int(current.size()), 11);
    QCOMPARE(current[4].id, root.events[4].id);
    QCOMPARE(current[5].id, fork.events[0].id);
    // Saving the reopened conversation gives the same bytes.
    const QString again = dir.filePath(QStringLiteral("again.json"));
    QVERIFY(save_conversation(again, loaded, &error));
    QFile f1(path), f2(again);
    QVERIFY(f1.open(QIODevice::ReadOnly) && f2.open(QIODevice::ReadOnly));
    QCOMPARE(f1.readAll(), f2.readAll());
    // A newer version is refused with a message, not misread.
    QJsonObject newer = conversation_to_json(conversation);
    newer["version"] = kConversationFormatVersion + 1;
    QVERIFY(!conversation_from_json(newer, &loaded, &error));
    QVERIFY(error.contains(QLatin1String("version")));
    // A malformed intervention is refused naming the branch and the entry.
    QJsonObject bad = conversation_to_json(conversation);
    QJsonArray messages = bad["messages"].toArray();
    QJsonObject reply_json = messages[2].toObject();
    QJsonArray branches = reply_json["branches"].toArray();
    QJsonObject fork_json = branches[1].toObject();
    fork_json["interventions"] = QJsonObject{{"from", 5}, {"mask", QJsonArray{QStringLiteral("4:x")}}};
    branches[1] = fork_json;
    reply_json["branches"] = branches;
    messages[2] = reply_json;
    bad["messages"] = messages;
    QVERIFY(!conversation_from_json(bad, &loaded, &error));
    QVERIFY2(error.contains(QLatin1String("message 2, branch 1: interventions: --mask-expert '4:x'")), qPrintable(error));
    // A branch made from the fork inherits its interventions.
    Conversation copy = conversation;
    const int child = copy.add_branch(2, 1, 7);
    QVERIFY(copy.messages[2].branches[std::size_t(child)].interventions == fork.interventions);

    // The chat pane shows it: reasoning apart from the answer, collapsed until opened.
    ChatPane pane;
    pane.set_conversation(conversation);
    QCOMPARE(pane.message_count(), 3);
    MessageView* view = pane.message_view(2);
    QCOMPARE(view->answer_text(), QStringLiteral("answer text"));
    QCOMPARE(view->reasoning_text(), QStringLiteral("some reasoning"));
    QVERIFY(!view->reasoning_expanded());
    view->set_reasoning_expanded(true);
    QVERIFY(view->reasoning_expanded());
    QVERIFY(pane.message_view(1)->thinking_box()->isChecked());
    // The branch tree lists both branches, the fork under the root.
    BranchTree tree;
    tree.show_message(conversation, 2);
    QCOMPARE(tree.topLevelItemCount(), 1);
    QCOMPARE(tree.topLevelItem(0)->childCount(), 1);
    QVERIFY(tree.branch_label(1).startsWith(QStringLiteral("#5:")));
  }

  void chat_pane_requests() {
    ChatPane pane;
    Conversation conversation;
    conversation.messages.push_back(ChatMessage::make(QStringLiteral("user"), QStringLiteral("first")));
    conversation.messages.push_back(ChatMessage::make(QStringLiteral("assistant"), QStringLiteral("reply")));
    pane.set_conversation(conversation);
    QSignalSpy sent(&pane, &ChatPane::send_requested);
    QSignalSpy edited(&pane, &ChatPane::edit_resend_requested);
    pane.set_input_text(QStringLiteral("hello"));
    pane.set_thinking_enabled(true);
    pane.send();
    QCOMPARE(sent.count(), 1);
    QCOMPARE(sent.at(0).at(0).toString(), QStringLiteral("hello"));
    QCOMPARE(sent.at(0).at(1).toBool(), true);
    QVERIFY(pane.input_text().isEmpty());
    pane.begin_edit(0);
    QCOMPARE(pane.input_text(), QStringLiteral("first"));
    pane.set_input_text(QStringLiteral("first, edited"));
    pane.send();
    QCOMPARE(edited.count(), 1);
    QCOMPARE(edited.at(0).at(0).toInt(), 0);
    QCOMPARE(edited.at(0).at(1).toString(), QStringLiteral("first, edited"));
    QCOMPARE(pane.editing_index(), -1);
    // While busy, send does nothing (stop is the only way out).
    pane.set_busy(true);
    pane.set_input_text(QStringLiteral("again"));
    pane.send();
    QCOMPARE(sent.count(), 1);
  }

  void no_stall_while_streaming() {
    // Everything that redraws from the store is on screen while ~400 tokens/s stream in.
    EventStore store;
    QWidget window;
    auto* strip_area = new QScrollArea(&window);
    auto* strip = new TokenStrip(&store);
    strip_area->setWidget(strip);
    strip_area->setWidgetResizable(true);
    auto* topk = new TopKView(&store, &window);
    auto* entropy = new EntropyPlot(&store, &window);
    auto* heatmap = new RoutingHeatmap(&store, &window);
    auto* chat = new ChatPane(&window);
    auto* layout = new QGridLayout(&window);
    layout->addWidget(chat, 0, 0, 2, 1);
    layout->addWidget(strip_area, 0, 1);
    layout->addWidget(topk, 0, 2);
    layout->addWidget(entropy, 1, 1);
    layout->addWidget(heatmap, 1, 2);
    window.resize(1400, 900);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    heatmap->set_mode(RoutingHeatmap::Mode::WholeAnswer);

    const std::vector<TokenEvent> events = test::repeat_stream(stream_, 1200);
    Conversation conversation;
    conversation.messages.push_back(ChatMessage::make(QStringLiteral("user"), QStringLiteral("stream please")));
    conversation.messages.push_back(ChatMessage::make(QStringLiteral("assistant")));
    chat->set_conversation(conversation);
    QString answer;
    connect(&store, &EventStore::changed, &window, [&] {
      conversation.messages[1].content = answer;
      chat->update_message(1, conversation.messages[1]);
    });

    // The heartbeat (event_loop_heartbeat.h): wall and this thread's CPU time of the longest stall.
    QElapsedTimer clock;
    EventLoopHeartbeat heartbeat;
    // The feeder: as the engine's queued signals would, two tokens every 5 ms.
    std::size_t next = 0;
    QTimer feeder;
    feeder.setTimerType(Qt::PreciseTimer);
    feeder.setInterval(5);
    connect(&feeder, &QTimer::timeout, [&] {
      for (int k = 0; k < 2 && next < events.size(); ++k, ++next) {
        store.append(events[next]);
        answer += visible_token(events[next]);
      }
    });
    clock.start();
    heartbeat.start();
    feeder.start();
    QTRY_VERIFY_WITH_TIMEOUT(next == events.size(), 20000);
    QTest::qWait(100);
    heartbeat.stop();
    feeder.stop();
    qInfo("streamed %zu events in %lld ms; longest event-loop gap %lld ms wall, %.1f ms without the time spent "
          "waiting for a CPU, %.1f ms of this thread's CPU; load average %.1f on %d cores",
          events.size(), clock.elapsed(), heartbeat.worst_wall_ms(), heartbeat.worst_own_ms(), heartbeat.worst_cpu_ms(),
          system_load(), QThread::idealThreadCount());
    QCOMPARE(strip->chip_count(), int(events.size()));
    QCOMPARE(entropy->point_count(), int(events.size()));
    QVERIFY2(heartbeat.worst_cpu_ms() <= 50.0,
             qPrintable(QStringLiteral("the GUI thread worked %1 ms without returning to the event loop")
                            .arg(heartbeat.worst_cpu_ms())));
    // Wall gaps less the scheduler's share: a parallel test run on 2 cores alone made 55-108 ms wall
    // gaps with 32-40 ms of this thread's CPU; blocking on a lock would still count here.
    QVERIFY2(heartbeat.worst_own_ms() <= 50.0,
             qPrintable(QStringLiteral("event loop stalled for %1 ms (not counting time waiting for a CPU)")
                            .arg(heartbeat.worst_own_ms())));
  }
};

QTEST_MAIN(TestWidgets)
#include "tst_widgets.moc"
