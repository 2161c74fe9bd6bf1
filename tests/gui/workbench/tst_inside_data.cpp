// SPDX-License-Identifier: GPL-3.0-or-later
// The data the "see inside" docks read, on small hand-built captures: where a reply token's forward
// sits, how expert load and the never-chosen experts follow from the choices, how the per-position
// arrays are indexed (router, attention, Mamba), and what the lens says about when the final answer settles.
#include <QTest>

#include "lens_capture.h"
#include "prompt_inside.h"

using namespace logitscope;
using logitscope::workbench::LensCapture;
using logitscope::workbench::PromptInside;

namespace {

// 3 positions, MoE layers at stack layers 1 and 3, 4 experts, 2 chosen per token.
PromptInside three_positions() {
  PromptInside inside;
  inside.ids = {5, 6, 7};
  inside.bytes = {"a", "b", "c"};
  inside.prompt_length = 2;
  inside.experts_per_tok = 2;
  inside.internals.positions = 3;
  inside.internals.experts = 4;
  for (int layer : {1, 3}) {
    RouterInternals router;
    router.layer = layer;
    for (int i = 0; i < 3 * 4; ++i) {
      router.scores.push_back(float(layer * 100 + i));  // [positions, experts]
      router.selection.push_back(float(layer * 1000 + i));
    }
    inside.internals.routers.push_back(router);
  }
  // [positions][MoE layers]: layer 1 picks {0, 1}, {1, 2}, {0, 1}; layer 3 always {3, 0}.
  const std::vector<std::vector<int>> layer1 = {{0, 1}, {1, 2}, {0, 1}};
  for (int p = 0; p < 3; ++p) {
    RoutingSlice a{1, layer1[std::size_t(p)], {0.6f, 0.4f}, 0.1f * float(p + 1)};
    RoutingSlice b{3, {3, 0}, {0.5f, 0.5f}, 0.01f};
    inside.internals.routing.push_back({a, b});
  }
  inside.entropy = {0.0f, 0.1f, 1.0f, 1.1f, 2.0f, 2.1f};  // [positions, MoE layers]
  return inside;
}

LayerLens layer_with(int index, TokenId top1, std::int64_t final_rank) {
  LayerLens layer;
  layer.layer = index;
  layer.top_k = {{top1, 0.5f, -0.69f, 0.0f}};
  layer.final_top1_rank = final_rank;
  return layer;
}

}  // namespace

class TestInsideData : public QObject {
  Q_OBJECT
 private slots:
  void expert_load_counts_every_position_and_lists_experts_never_chosen() {
    const PromptInside inside = three_positions();
    QCOMPARE(inside.expert_load(0), (std::vector<int>{2, 3, 1, 0}));
    QCOMPARE(inside.never_chosen(0), std::vector<int>{3});
    QCOMPARE(inside.expert_load(1), (std::vector<int>{3, 0, 0, 3}));
    QCOMPARE(inside.never_chosen(1), (std::vector<int>{1, 2}));
  }

  void reply_token_maps_to_the_forward_that_chose_it_else_the_last_position() {
    const PromptInside inside = three_positions();
    QCOMPARE(inside.position_for_reply_index(0), std::int64_t(1));  // the last prompt token chose reply token 0
    QCOMPARE(inside.position_for_reply_index(1), std::int64_t(2));
    QCOMPARE(inside.position_for_reply_index(-1), std::int64_t(2));
    QCOMPARE(inside.position_for_reply_index(9), std::int64_t(2));
  }

  void per_position_arrays_are_read_at_the_right_row() {
    const PromptInside inside = three_positions();
    QCOMPARE(inside.moe_layers(), 2);
    QCOMPARE(inside.moe_index(3), 1);
    QCOMPARE(inside.moe_index(2), -1);
    QCOMPARE(inside.scores(2, 1)[1], 3.0f * 100 + 2 * 4 + 1);
    QCOMPARE(inside.selection(1, 0)[3], 1000.0f + 1 * 4 + 3);
    QCOMPARE(inside.router_entropy(2, 1), 2.1f);
    QCOMPARE(inside.margin(1, 0), 0.2f);
    QCOMPARE(inside.bytes_at(1), std::string("b"));
    QCOMPARE(inside.bytes_at(3), std::string());
  }

  void attention_row_reads_one_head_or_the_mean_and_dt_one_head_or_the_mean() {
    PromptInside inside = three_positions();
    inside.internals.attention_heads = 2;
    AttentionInternals attention;
    attention.layer = 2;
    attention.weights.assign(2 * 3 * 3, 0.0f);  // [heads, positions, positions]
    // Position 2 over positions 0..2: head 0 (0.5, 0.25, 0.25), head 1 (0, 0, 1).
    const float head0[] = {0.5f, 0.25f, 0.25f}, head1[] = {0.0f, 0.0f, 1.0f};
    for (int k = 0; k < 3; ++k) {
      attention.weights[std::size_t(0 * 9 + 2 * 3 + k)] = head0[k];
      attention.weights[std::size_t(1 * 9 + 2 * 3 + k)] = head1[k];
    }
    attention.weights[std::size_t(1 * 9 + 1 * 3 + 0)] = 1.0f;  // head 1, position 1 -> position 0
    inside.internals.attentions.push_back(attention);
    QCOMPARE(inside.attention_row(0, 0, 2), (std::vector<double>{0.5, 0.25, 0.25}));
    QCOMPARE(inside.attention_row(0, -1, 2), (std::vector<double>{0.25, 0.125, 0.625}));
    QCOMPARE(inside.attention_row(0, 1, 1), (std::vector<double>{1.0, 0.0}));

    inside.internals.mamba_heads = 2;
    MambaInternals mamba;
    mamba.layer = 0;
    mamba.dt = {1, 3, 2, 6, 0.5f, 0.5f};  // [positions, heads]
    inside.internals.mambas.push_back(mamba);
    QCOMPARE(inside.mamba_dt(0, -1, 1), 4.0);
    QCOMPARE(inside.mamba_dt(0, 1, 0), 3.0);
  }

  void lens_settles_where_the_final_top1_stays_on_top() {
    LensCapture lens;
    lens.pattern = "ME*E";
    lens.layers = {layer_with(0, 9, 0), layer_with(1, 4, 3), layer_with(2, 9, 0), layer_with(3, 9, 0)};
    lens.labels = {{9, "nine"}};
    QCOMPARE(lens.final_top1(), TokenId(9));
    QCOMPARE(lens.settled_from(), 2);  // layer 0 had it, layer 1 lost it
    QCOMPARE(lens.kind_letter(2), '*');
    QCOMPARE(lens.kind_letter(7), '?');
    QCOMPARE(lens.bytes_of(9), std::string("nine"));
    QCOMPARE(lens.bytes_of(4), std::string());
    lens.layers.back().final_top1_rank = 0;
    lens.layers[2].final_top1_rank = 1;
    QCOMPARE(lens.settled_from(), 3);
    QCOMPARE(LensCapture{}.settled_from(), -1);
  }
};

QTEST_MAIN(TestInsideData)
#include "tst_inside_data.moc"
