// SPDX-License-Identifier: GPL-3.0-or-later
// The "see inside" docks of the real window on the bundled demo model (CPU backend): the Lens dock
// shows logit_lens at the forward that chose the selected reply token (or at the last position),
// the Router dock shows inspect_prompt's router scores, choices, margins and expert load over the
// conversation, the Attention/Mamba dock its attention weights and Mamba time steps; a hidden dock
// asks the engine for nothing; a token picked in the Surprise dock moves them to that text; an error
// from the engine worker is shown in the dock.
// Every number is checked against the engine's own, computed here on the same ids by a model loaded
// apart from the window's.
#include <QComboBox>
#include <QPushButton>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>

#include <algorithm>
#include <cmath>

#include "chat_pane.h"
#include "conversation_driver.h"
#include "engine_controller.h"
#include "event_store.h"
#include "attention_mamba_view.h"
#include "inside_driver.h"
#include "lens_view.h"
#include "logitscope/inspect.h"
#include "logitscope/lens.h"
#include "logitscope/model.h"
#include "logitscope/tokenizer.h"
#include "main_window.h"
#include "model_locator.h"
#include "prompt_builder.h"
#include "router_view.h"
#include "settings_panel.h"
#include "surprise_view.h"
#include "shown_window.h"
#include "token_format.h"

using namespace logitscope;
using namespace logitscope::gui;

class TestInsideDocks : public QObject {
  Q_OBJECT
 private:
  std::unique_ptr<MainWindow> window_;
  std::unique_ptr<Model> model_;  // the engine's numbers, apart from the window's model
  std::vector<TokenId> ids_;      // the conversation: prompt, then the reply
  std::int64_t prompt_length_ = 0;

  QDockWidget* dock(const char* name) const { return window_->findChild<QDockWidget*>(QLatin1String(name)); }

  void bring_forward(const char* name) { QVERIFY(testing::bring_forward(window_.get(), name)); }

  void picture(const char* name) const { testing::save_dock_picture(window_.get(), name, "LOGITSCOPE_INSIDE_SHOTS"); }

  // Waits until the engine answered the newest lens request and the view shows it.
  bool wait_for_lens(std::int64_t pos) {
    QElapsedTimer timer;
    timer.start();
    while (window_->lens()->capture().pos != pos && timer.elapsed() < 60000) QTest::qWait(20);
    return window_->lens()->capture().pos == pos;
  }

 private slots:
  void initTestCase() {
    if (!testing::demo_model_present()) QSKIP("resources/demo-model is not there");
    window_ = testing::shown_window(testing::greedy(24));
    QVERIFY(window_);
    QVERIFY(testing::load_demo_model(window_.get()));

    window_->chat()->set_input_text(QStringLiteral("What does serendipity mean?"));
    window_->send_or_step(-1);
    QVERIFY(testing::wait_idle(window_.get()));
    QVERIFY2(window_->banner_text().isEmpty(), qPrintable(window_->banner_text()));
    QVERIFY(window_->store()->size() >= 6);

    LoadOptions load;
    load.snapshot.model = demo_model_dir().toStdString();
    load.backend = BackendKind::Cpu;
    load.threads = 1;
    model_ = Model::load(load);
    const auto& messages = window_->driver()->conversation().messages;
    ids_ = build_prompt(*model_, window_->driver()->turns_before(1), messages[0].thinking).ids;
    prompt_length_ = std::int64_t(ids_.size());
    for (const TokenEvent& event : window_->store()->events()) ids_.push_back(event.id);
  }

  void lens_dock_shows_the_engine_lens_at_the_forward_that_chose_the_selected_token() {
    bring_forward("lensDock");
    const int index = 3;
    window_->store()->select(index);
    const std::int64_t pos = prompt_length_ + index - 1;
    QVERIFY2(wait_for_lens(pos), qPrintable(window_->lens()->header_text()));
    widgets::LensView* view = window_->lens();
    const std::vector<LayerLens> expected = logit_lens(*model_, ids_, pos, 10);
    const std::string pattern = model_->config().pattern();
    const workbench::LensCapture& shown = view->capture();
    QCOMPARE(shown.chosen, ids_[std::size_t(pos + 1)]);
    QCOMPARE(shown.input, ids_[std::size_t(pos)]);
    QCOMPARE(view->table()->rowCount(), int(expected.size()));
    QCOMPARE(int(expected.size()), int(pattern.size()));
    for (int layer = 0; layer < int(expected.size()); ++layer) {
      const LayerLens& want = expected[std::size_t(layer)];
      QCOMPARE(view->table()->item(layer, 0)->text(), QStringLiteral("%1 %2").arg(layer).arg(QChar(pattern[std::size_t(layer)])));
      QCOMPARE(view->kl_text(layer), QString::number(want.kl_to_final, 'f', 3));
      QVERIFY2(view->final_rank_text(layer).startsWith(QStringLiteral("rank %1 ").arg(want.final_top1_rank + 1)),
               qPrintable(view->final_rank_text(layer)));
      QCOMPARE(int(shown.layers[std::size_t(layer)].top_k.size()), int(want.top_k.size()));
      for (int rank = 0; rank < int(want.top_k.size()); ++rank) {
        const TopKEntry& entry = want.top_k[std::size_t(rank)];
        QCOMPARE(shown.layers[std::size_t(layer)].top_k[std::size_t(rank)].id, entry.id);
        const QString label = widgets::visible_token(model_->tokenizer()->token_bytes(entry.id), entry.id);
        QCOMPARE(view->cell_text(layer, rank), QStringLiteral("%1  %2").arg(label, widgets::format_percent(entry.prob)));
        QCOMPARE(view->cell_colour(layer, rank), widgets::probability_color(entry.prob, false));
        QVERIFY(view->readout_at(layer, widgets::LensView::kFirstRankColumn + rank).contains(label));
      }
    }
    // The last row is the model's own distribution: the one the Top-k dock shows for this token.
    const TokenEvent& event = window_->store()->events()[index];
    const auto& output = shown.layers.back().top_k;
    for (std::size_t r = 0; r < std::min(output.size(), event.top_k.size()); ++r) {
      QCOMPARE(output[r].id, event.top_k[r].id);
      QVERIFY(std::abs(output[r].prob - event.top_k[r].prob) < 1e-4f);
    }
    QCOMPARE(expected.back().kl_to_final, 0.0);
    picture("lensDock");

    // No selection: the last position (what the model would say after the reply).
    window_->store()->select(-1);
    QVERIFY(wait_for_lens(std::int64_t(ids_.size()) - 1));
    QCOMPARE(view->capture().chosen, TokenId(-1));
    QCOMPARE(view->capture().layers.back().top_k.front().id,
             logit_lens(*model_, ids_, std::int64_t(ids_.size()) - 1, 1).back().top_k.front().id);
  }

  void router_dock_shows_the_engine_router_scores_choices_margins_and_load() {
    bring_forward("routerDock");
    const int index = 2;
    window_->store()->select(index);
    widgets::RouterView* view = window_->router();
    QTRY_VERIFY_WITH_TIMEOUT(view->inside().positions() == std::int64_t(ids_.size()), 60000);
    QTRY_COMPARE(view->shown_position(), prompt_length_ + index - 1);
    const std::int64_t pos = view->shown_position();
    const PromptInternals expected = inspect_prompt(*model_, ids_);
    QCOMPARE(view->inside().ids, ids_);
    const int experts = expected.experts;
    QVERIFY(experts > 0);
    QCOMPARE(view->layer_box()->count(), int(expected.routers.size()));
    for (int m = 0; m < int(expected.routers.size()); ++m) {
      view->set_moe(m);
      const RouterInternals& router = expected.routers[std::size_t(m)];
      const std::vector<double> scores = view->score_values();
      const std::vector<double> selection = view->selection_values();
      QCOMPARE(int(scores.size()), experts);
      QCOMPARE(int(selection.size()), experts);
      for (int e = 0; e < experts; ++e) {
        QVERIFY(std::abs(scores[std::size_t(e)] - router.scores[std::size_t(pos * experts + e)]) < 1e-6);
        QVERIFY(std::abs(selection[std::size_t(e)] - router.selection[std::size_t(pos * experts + e)]) < 1e-6);
      }
      const RoutingSlice& slice = expected.routing[std::size_t(pos)][std::size_t(m)];
      std::vector<std::pair<int, float>> chosen;
      for (std::size_t i = 0; i < slice.experts.size(); ++i) chosen.emplace_back(slice.experts[i], slice.weights[i]);
      std::sort(chosen.begin(), chosen.end());
      std::vector<int> chosen_experts;
      for (const auto& [expert, weight] : chosen) chosen_experts.push_back(expert);
      QCOMPARE(view->highlighted_experts(), chosen_experts);
      const std::vector<QString> labels = view->weight_labels();
      QCOMPARE(labels.size(), chosen.size());
      for (std::size_t i = 0; i < chosen.size(); ++i) QCOMPARE(labels[i], QString::number(double(chosen[i].second), 'f', 2));
      const QString summary = view->summary_text();
      QVERIFY2(summary.contains(QStringLiteral("margin %1").arg(double(slice.margin), 0, 'g', 4)), qPrintable(summary));
      QVERIFY2(summary.contains(QStringLiteral("entropy %1 nats").arg(router_entropy(router, experts, pos), 0, 'f', 3)),
               qPrintable(summary));
      // The reply was generated step by step; its recorded routing is the same choice.
      if (slice.margin > 1e-3f) {
        std::vector<int> generated = window_->store()->events()[index].routing[std::size_t(m)].experts;
        std::sort(generated.begin(), generated.end());
        QCOMPARE(generated, chosen_experts);
      }

      // Over the whole conversation: every margin, and how often each expert fired (never: NaN).
      std::vector<int> load(std::size_t(experts), 0);
      for (std::int64_t p = 0; p < expected.positions; ++p) {
        const RoutingSlice& at = expected.routing[std::size_t(p)][std::size_t(m)];
        QVERIFY(std::abs(view->margin_cell(p, m) - double(at.margin)) < 1e-6);
        for (int e : at.experts) ++load[std::size_t(e)];
      }
      for (int e = 0; e < experts; ++e) {
        const int count = load[std::size_t(e)];
        if (count == 0) {
          QVERIFY(std::isnan(view->load_cell(m, e)));
          QVERIFY(view->load_readout(m, e).contains(QStringLiteral("never chosen")));
        } else {
          QCOMPARE(view->load_cell(m, e), double(count));
        }
      }
      QVERIFY(view->expert_readout(chosen_experts.front()).contains(QStringLiteral("chosen #")));
    }
    view->set_moe(0);
    picture("routerDock");
  }

  void attention_mamba_dock_shows_the_engine_attention_weights_and_time_steps() {
    bring_forward("insideDock");
    const int index = 4;
    window_->store()->select(index);
    widgets::AttentionMambaView* view = window_->attention_mamba();
    QTRY_VERIFY_WITH_TIMEOUT(!view->inside().internals.attentions.empty(), 60000);
    QTRY_COMPARE(view->shown_position(), prompt_length_ + index - 1);
    const std::int64_t pos = view->shown_position();
    const PromptInternals expected = inspect_prompt(*model_, ids_);
    const std::size_t n = std::size_t(expected.positions);
    QCOMPARE(view->inside().positions(), expected.positions);
    QCOMPARE(view->inside().internals.attentions.size(), expected.attentions.size());
    const int heads = expected.attention_heads;
    for (int a = 0; a < int(expected.attentions.size()); ++a) {
      const std::vector<float>& weights = expected.attentions[std::size_t(a)].weights;  // [heads, positions, positions]
      for (int head = -1; head < heads; ++head) {
        view->set_attention(a, head);
        const std::vector<double> shown = view->attention_values();
        QCOMPARE(std::int64_t(shown.size()), pos + 1);
        double total = 0.0;
        for (std::int64_t k = 0; k <= pos; ++k) {
          double want = 0.0;
          for (int h = head < 0 ? 0 : head; h <= (head < 0 ? heads - 1 : head); ++h)
            want += double(weights[(std::size_t(h) * n + std::size_t(pos)) * n + std::size_t(k)]);
          if (head < 0) want /= double(heads);
          QVERIFY(std::abs(shown[std::size_t(k)] - want) < 1e-6);
          total += shown[std::size_t(k)];
        }
        QVERIFY(std::abs(total - 1.0) < 1e-4);  // a softmax over the earlier tokens
      }
    }
    // KV groups: heads h with h / (heads / kv_heads) == g read the same keys and values.
    const int kv_heads = expected.attention_kv_heads;
    QVERIFY2(kv_heads > 1 && kv_heads < heads, "the demo model shares KV between heads");
    QCOMPARE(view->inside().attention_kv_groups(), kv_heads);
    const int per_group = heads / kv_heads;
    for (int a = 0; a < int(expected.attentions.size()); ++a) {
      const std::vector<float>& weights = expected.attentions[std::size_t(a)].weights;  // [heads, positions, positions]
      for (int g = 0; g < kv_heads; ++g) {
        view->set_attention_group(a, g);
        const std::vector<double> shown = view->attention_values();
        QCOMPARE(std::int64_t(shown.size()), pos + 1);
        for (std::int64_t k = 0; k <= pos; ++k) {
          double want = 0.0;
          for (int h = g * per_group; h < (g + 1) * per_group; ++h)
            want += double(weights[(std::size_t(h) * n + std::size_t(pos)) * n + std::size_t(k)]);
          want /= double(per_group);
          QVERIFY(std::abs(shown[std::size_t(k)] - want) < 1e-6);
        }
        QVERIFY2(view->caption_text().contains(QStringLiteral("KV group %1").arg(g)), qPrintable(view->caption_text()));
      }
    }
    const std::string first = model_->tokenizer()->token_bytes(ids_[0]);
    QVERIFY2(view->attention_readout(0).contains(widgets::visible_token(first, ids_[0])), qPrintable(view->attention_readout(0)));

    const int mamba_heads = expected.mamba_heads;
    using Quantity = widgets::AttentionMambaView::MambaQuantity;
    for (Quantity quantity : {Quantity::TimeStep, Quantity::StateNorm}) {
      view->set_mamba_quantity(quantity);
      for (int head : {-1, 1}) {
        view->set_dt_head(head);
        for (int m = 0; m < int(expected.mambas.size()); ++m) {
          const MambaInternals& mamba = expected.mambas[std::size_t(m)];
          const std::vector<float>& values = quantity == Quantity::StateNorm ? mamba.state_norm : mamba.dt;  // [positions, heads]
          for (std::size_t p = 0; p < n; ++p) {
            double want = 0.0;
            if (head >= 0) want = double(values[p * std::size_t(mamba_heads) + std::size_t(head)]);
            else {
              for (int h = 0; h < mamba_heads; ++h) want += double(values[p * std::size_t(mamba_heads) + std::size_t(h)]);
              want /= double(mamba_heads);
            }
            QVERIFY(std::abs(view->mamba_cell(std::int64_t(p), m) - want) < 1e-5 * std::max(1.0, std::abs(want)));
          }
        }
      }
      const QString readout = view->mamba_readout(pos, 0);
      QVERIFY2(readout.contains(quantity == Quantity::StateNorm ? QStringLiteral("state norm ") : QStringLiteral("dt ")), qPrintable(readout));
    }
    // The state norm is not the time step: the two maps differ somewhere.
    QVERIFY(expected.mambas.front().state_norm != expected.mambas.front().dt);
    view->set_mamba_quantity(Quantity::TimeStep);
    view->set_attention(0, -1);
    view->set_dt_head(-1);
    picture("insideDock");
  }

  // Past the attention budget a capture keeps only the selected token's row, and each selection asks
  // for its own; within it every row comes once and a selection asks for nothing.
  void a_long_conversation_keeps_only_the_selected_attention_row() {
    bring_forward("insideDock");
    widgets::AttentionMambaView* view = window_->attention_mamba();
    const PromptInternals expected = inspect_prompt(*model_, ids_);
    const std::int64_t n = expected.positions;
    window_->inside()->set_full_attention_bytes(1);
    for (int index : {4, 2}) {
      const std::int64_t pos = prompt_length_ + index - 1;
      window_->store()->select(index);
      QTRY_VERIFY_WITH_TIMEOUT(view->inside().has_attention_row(pos) && view->inside().internals.attentions.front().rows.size() == 1, 60000);
      QCOMPARE(view->inside().internals.attentions.front().rows, std::vector<std::int64_t>{pos});
      QCOMPARE(view->shown_position(), pos);
      view->set_attention(0, 1);
      const std::vector<double> shown = view->attention_values();
      const float* want = expected.attentions[0].row(1, pos, n);  // [n]
      QCOMPARE(std::int64_t(shown.size()), pos + 1);
      for (std::int64_t k = 0; k <= pos; ++k) QVERIFY(std::abs(shown[std::size_t(k)] - double(want[k])) < 1e-6);
    }
    // Before its row comes, another token says it is being read rather than showing nothing.
    window_->store()->select(3);
    QVERIFY2(view->caption_text().contains(QStringLiteral("reading its attention weights")), qPrintable(view->caption_text()));
    QTRY_VERIFY_WITH_TIMEOUT(view->inside().has_attention_row(prompt_length_ + 2), 60000);

    window_->inside()->set_full_attention_bytes(kFullAttentionBytes);
    window_->store()->select(5);
    QTRY_VERIFY_WITH_TIMEOUT(view->inside().internals.attentions.front().rows.empty(), 60000);
    const std::uint64_t asked = window_->inside()->inside_request();
    window_->store()->select(1);
    window_->inside()->refresh();
    QCOMPARE(window_->inside()->inside_request(), asked);  // every row is there already
    QCOMPARE(view->shown_position(), prompt_length_);
  }

  void hidden_docks_ask_the_engine_for_nothing() {
    for (const char* name : {"lensDock", "routerDock", "insideDock"}) dock(name)->hide();
    // Answers to questions asked before (a lens the engine thread has not reached yet) come first.
    QTRY_VERIFY_WITH_TIMEOUT(window_->inside()->answered_everything(), 60000);
    const std::uint64_t lens_before = window_->inside()->lens_request();
    const std::uint64_t inside_before = window_->inside()->inside_request();
    QSignalSpy lens_ready(window_->engine(), &EngineController::lens_ready);
    window_->store()->select(1);
    window_->inside()->refresh();
    QTest::qWait(300);
    QCOMPARE(window_->inside()->lens_request(), lens_before);
    QCOMPARE(window_->inside()->inside_request(), inside_before);
    QCOMPARE(lens_ready.count(), 0);
    // Shown again, the lens follows the selection made while it was hidden.
    bring_forward("lensDock");
    QVERIFY(wait_for_lens(prompt_length_));
  }

  // A token picked in the Surprise dock moves the Lens, Router and Attention/Mamba docks to that
  // text at that token (the forward that read the token before it); a token selected in the
  // conversation moves them back. Look inside brings the Lens forward when none of them is shown.
  void a_token_picked_in_the_surprise_dock_drives_the_inside_docks() {
    const QString text = QStringLiteral("Serendipity means finding something good without looking for it.");
    widgets::SurpriseView* surprise = window_->surprise();
    bring_forward("surpriseDock");
    QSignalSpy evaluated(window_->engine(), &EngineController::evaluated);
    surprise->set_input_text(text);
    emit surprise->score_text_requested(text);
    QTRY_VERIFY_WITH_TIMEOUT(evaluated.count() == 1, 60000);
    const std::vector<TokenId> text_ids = surprise->result().ids;
    QVERIFY(text_ids.size() > 6);
    QVERIFY(text_ids != ids_);

    const int index = 5;  // the text's token 5, scored by the forward at position 4
    QSignalSpy picked(surprise, &widgets::SurpriseView::token_selected);
    surprise->select_token(index);
    QCOMPARE(picked.count(), 1);
    QVERIFY(window_->inside()->reads_text());
    for (const char* name : {"lensDock", "routerDock", "insideDock"}) dock(name)->hide();  // none on screen
    auto* look_inside = surprise->findChild<QPushButton*>(QStringLiteral("lookInside"));
    QVERIFY(look_inside && look_inside->isEnabled());
    QTest::mouseClick(look_inside, Qt::LeftButton);
    QVERIFY(dock("lensDock")->isVisible());
    QVERIFY2(wait_for_lens(index - 1), qPrintable(window_->lens()->header_text()));
    const workbench::LensCapture& shown = window_->lens()->capture();
    QCOMPARE(shown.input, text_ids[std::size_t(index - 1)]);
    QCOMPARE(shown.chosen, text_ids[std::size_t(index)]);
    const std::vector<LayerLens> expected = logit_lens(*model_, text_ids, index - 1, 10);
    QCOMPARE(shown.layers.size(), expected.size());
    for (std::size_t layer = 0; layer < expected.size(); ++layer) {
      QCOMPARE(shown.layers[layer].top_k.front().id, expected[layer].top_k.front().id);
      QVERIFY(std::abs(shown.layers[layer].kl_to_final - expected[layer].kl_to_final) < 1e-4);
    }
    // The lens's own output distribution is the one the Surprise dock scored the token with.
    const workbench::ScoredToken& scored = surprise->result().scored[std::size_t(index - 1)];
    QCOMPARE(shown.layers.back().top_k.front().id, scored.top_k.front().id);

    bring_forward("routerDock");
    widgets::RouterView* router = window_->router();
    QTRY_VERIFY_WITH_TIMEOUT(router->inside().ids == text_ids, 60000);
    QCOMPARE(router->inside().prompt_length, std::int64_t(0));
    const PromptInternals internals = inspect_prompt(*model_, text_ids);
    QCOMPARE(router->inside().positions(), internals.positions);
    const float* scores = router->inside().scores(index - 1, 0);  // [experts]
    for (int e = 0; e < internals.experts; ++e)
      QVERIFY(std::abs(scores[e] - internals.routers[0].scores[std::size_t(index - 1) * std::size_t(internals.experts) + std::size_t(e)]) < 1e-6f);
    bring_forward("insideDock");
    QTRY_VERIFY_WITH_TIMEOUT(window_->attention_mamba()->inside().ids == text_ids, 60000);
    QTRY_COMPARE(window_->attention_mamba()->shown_position(), std::int64_t(index - 1));

    // Back to the conversation: a token selected there.
    window_->store()->select(2);
    QVERIFY(!window_->inside()->reads_text());
    QTRY_VERIFY_WITH_TIMEOUT(window_->attention_mamba()->inside().ids == ids_, 60000);
    QTRY_COMPARE(window_->attention_mamba()->shown_position(), prompt_length_ + 1);
  }

  // A newer question of a kind stops the one of that kind the engine thread may be computing (its
  // stop token is requested; the worker drops a cancelled answer), and the newer one is answered.
  void a_newer_question_stops_the_running_one() {
    std::vector<std::stop_token> tokens;  // [requests] as the worker receives them
    const auto spy = connect(window_->engine(), &EngineController::inside_requested, this,
                             [&tokens](const InsideRequest& request) { tokens.push_back(request.stop); });
    QSignalSpy answered(window_->engine(), &EngineController::inside_ready);
    InsideRequest request;
    request.conversation.text = ids_;
    const std::uint64_t first = window_->engine()->inside(request);
    const std::uint64_t second = window_->engine()->inside(request);
    disconnect(spy);
    QCOMPARE(tokens.size(), std::size_t(2));
    QVERIFY(tokens[0].stop_requested());
    QVERIFY(!tokens[1].stop_requested());
    auto answered_ids = [&answered] {
      std::vector<std::uint64_t> out;
      for (const auto& args : answered) out.push_back(args.first().value<InsideResult>().request);
      return out;
    };
    auto answered_to = [&](std::uint64_t id) {
      const std::vector<std::uint64_t> got = answered_ids();
      return std::count(got.begin(), got.end(), id);
    };
    QTRY_COMPARE_WITH_TIMEOUT(answered_to(second), std::ptrdiff_t(1), 60000);
    QTest::qWait(100);
    QCOMPARE(answered_to(first), std::ptrdiff_t(0));
  }

  // The worker's refusal travels the path a backend's (the CUDA backend's "not available yet") does:
  // its message is what the dock says, and the old numbers go.
  void an_error_from_the_engine_worker_is_shown_in_the_docks() {
    bring_forward("lensDock");
    window_->driver()->new_conversation();
    QTRY_VERIFY_WITH_TIMEOUT(window_->lens()->header_text().startsWith(QStringLiteral("Could not read the lens: ")), 30000);
    QVERIFY2(window_->lens()->header_text().contains(QStringLiteral("the conversation is empty")),
             qPrintable(window_->lens()->header_text()));
    QCOMPARE(window_->lens()->table()->rowCount(), 0);
    bring_forward("routerDock");
    QTRY_VERIFY_WITH_TIMEOUT(window_->router()->caption_text().startsWith(QStringLiteral("Could not read the routers: ")), 30000);
    QVERIFY(window_->router()->caption_text().contains(QStringLiteral("the conversation is empty")));
    QCOMPARE(window_->router()->inside().positions(), std::int64_t(0));
    bring_forward("insideDock");
    QTRY_VERIFY_WITH_TIMEOUT(window_->attention_mamba()->caption_text().startsWith(QStringLiteral("Could not read attention and Mamba: ")), 30000);
    QVERIFY(window_->attention_mamba()->caption_text().contains(QStringLiteral("the conversation is empty")));
  }

  void cleanupTestCase() { window_.reset(); }
};

QTEST_MAIN(TestInsideDocks)
#include "tst_inside_docks.moc"
