// SPDX-License-Identifier: GPL-3.0-or-later
// Interventions on every fixture, each checked against a model that needs no intervention code:
// a copy of the checkpoint edited so that its plain forward pass does what the intervention asks.
//   mask E in L       == L's e_score_correction_bias[E] lowered by 1e4 (never selected)
//   force F in L      == bias[F] raised by 1e4 (always selected; F within one expert group)
//   scale routed/shared X == the experts' / the shared expert's down projection times X
//   skip L            == L's output projections zeroed (its mixer adds nothing to the residual)
// and, for interventions from a position p on, == the original model over ids[0..p) followed by
// the edited model over ids[p..] in the same state. The session keeps its rewind exact across
// intervention changes.
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "backend/backend.h"
#include "golden.h"
#include "logitscope/compare.h"
#include "logitscope/errors.h"
#include "logitscope/evaluate.h"
#include "logitscope/interventions.h"
#include "logitscope/lens.h"
#include "logitscope/session.h"
#include "reference_model.h"
#include "tensor_edit.h"

using namespace logitscope;
namespace fs = std::filesystem;
using logitscope::test::edit_tensors;
using logitscope::test::mixer_prefix;

namespace {

std::vector<TokenId> prompt(const std::string& name) {
  return logitscope::test::golden(name).at("prompt_ids").get<std::vector<TokenId>>();
}

std::unique_ptr<Model> load(const fs::path& dir) { return logitscope::test::load_cpu_reference(dir, false); }

// Every position's logits [ids, vocab] (and routing) with `iv`.
std::vector<float> run(const Model& model, const std::vector<TokenId>& ids, const Interventions& iv = {},
                       std::vector<std::vector<RoutingSlice>>* routing = nullptr) {
  Session session(model);
  session.set_interventions(iv);
  return session.evaluate(ids, routing);
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b, std::size_t from = 0) {
  if (a.size() != b.size()) return INFINITY;
  float worst = 0.0f;
  for (std::size_t i = from; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

std::vector<int> moe_layers(const ModelConfig& c) {
  std::vector<int> out;
  for (std::size_t l = 0; l < c.layers.size(); ++l)
    if (c.layers[l] == LayerKind::Moe) out.push_back(int(l));
  return out;
}

// How often each expert of `layer` was chosen over the positions.
std::map<int, int> usage(const std::vector<std::vector<RoutingSlice>>& routing, int layer) {
  std::map<int, int> count;
  for (const auto& row : routing)
    for (const RoutingSlice& s : row)
      if (s.layer == layer)
        for (int e : s.experts) ++count[e];
  return count;
}

// A writable copy of fixture `name` with `pattern`'s tensors edited; fails the test when none matched.
fs::path edited_copy(const QTemporaryDir& tmp, const std::string& name, const std::string& subdir,
                     const std::vector<std::pair<std::string, std::function<void(logitscope::test::TensorValues&)>>>& edits) {
  const fs::path dir = fs::path(tmp.path().toStdString()) / subdir;
  fs::create_directories(dir);
  fs::copy(logitscope::test::model_dir(name), dir, fs::copy_options::recursive);
  for (const auto& f : fs::directory_iterator(dir)) fs::permissions(f.path(), fs::perms::owner_write, fs::perm_options::add);
  for (const auto& [pattern, edit] : edits)
    if (edit_tensors(dir, pattern, edit) == 0) throw std::runtime_error(name + ": no tensor matches " + pattern);
  return dir;
}

std::function<void(logitscope::test::TensorValues&)> add_to(const std::vector<int>& experts, float delta) {
  return [experts, delta](logitscope::test::TensorValues& t) {
    for (int e : experts) t.values.at(std::size_t(e)) += delta;
  };
}

std::function<void(logitscope::test::TensorValues&)> times(float factor) {
  return [factor](logitscope::test::TensorValues& t) {
    for (float& v : t.values) v *= factor;
  };
}

std::string bias_of(int layer) { return mixer_prefix(layer) + "gate\\.e_score_correction_bias$"; }

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// The interventions of one case of intervention_golden.json (make_intervention_goldens.py).
Interventions from_golden(const nlohmann::json& j) {
  Interventions iv;
  iv.from_position = j.value("from_position", std::int64_t(0));
  for (const auto& m : j.value("masked", nlohmann::json::array()))
    iv.masked.push_back({m[0].is_string() ? kEveryMoeLayer : m[0].get<int>(), m[1].get<int>()});
  for (const auto& f : j.value("forced", nlohmann::json::array())) iv.forced.push_back({f[0].get<int>(), f[1].get<std::vector<int>>()});
  for (const auto& s : j.value("scaled", nlohmann::json::array()))
    iv.scaled.push_back({s[0].get<int>(), s[1] == "shared" ? MoePart::Shared : MoePart::Routed, s[2].get<double>()});
  for (const auto& l : j.value("skipped", nlohmann::json::array())) iv.skipped.push_back(l.get<int>());
  return iv;
}

}  // namespace

class Interventions_ : public QObject {
  Q_OBJECT
 private slots:
  // HF transformers with the router and mixers hooked the same way (tests/reference/
  // make_intervention_goldens.py), where a fixture has its intervention_golden.json.
  void match_transformers_with_the_same_hooks() {
    int fixtures = 0;
    for (const std::string& name : logitscope::test::fixture_model_names()) {
      const fs::path file = logitscope::test::model_dir(name) / "intervention_golden.json";
      if (!fs::exists(file)) continue;
      ++fixtures;
      const auto gold = logitscope::test::read_json(file);
      auto model = load(logitscope::test::model_dir(name));
      const auto ids = gold.at("prompt_ids").get<std::vector<TokenId>>();
      const std::size_t V = std::size_t(model->config().vocab_size);
      for (const auto& c : gold.at("cases")) {
        const Interventions iv = from_golden(c.at("interventions"));
        const auto logits = run(*model, ids, iv);
        double worst = 0.0;
        for (std::size_t p = 0; p < ids.size(); ++p)
          for (std::size_t v = 0; v < V; ++v)
            worst = std::max(worst, std::abs(double(logits[p * V + v]) - c.at("logits")[p][v].get<double>()));
        qInfo("%s: %s (%s): max |logit - transformers| %.3g", name.c_str(), c.at("name").get<std::string>().c_str(),
              describe(iv).c_str(), worst);
        QVERIFY2(worst < 2e-4, (name + ": " + c.at("name").get<std::string>()).c_str());
      }
    }
    if (fixtures == 0)
      QSKIP("no fixture has intervention_golden.json yet: run tests/reference/make_intervention_goldens.py where "
            "transformers is installed");
  }

  void masking_an_expert_equals_a_router_that_never_selects_it_data() { fixtures(); }
  void masking_an_expert_equals_a_router_that_never_selects_it() {
    QFETCH(QString, name);
    const std::string fixture = name.toStdString();
    auto model = load(logitscope::test::model_dir(fixture));
    const auto ids = prompt(fixture);
    std::vector<std::vector<RoutingSlice>> base_routing;
    const auto base = run(*model, ids, {}, &base_routing);
    const int layer = moe_layers(model->config()).front();
    const auto used = usage(base_routing, layer);
    const int expert = std::max_element(used.begin(), used.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;

    Interventions iv;
    iv.masked.push_back({layer, expert});
    std::vector<std::vector<RoutingSlice>> routing;
    const auto masked = run(*model, ids, iv, &routing);
    QTemporaryDir tmp;
    auto edited = load(edited_copy(tmp, fixture, "masked", {{bias_of(layer), add_to({expert}, -1e4f)}}));
    const auto expected = run(*edited, ids);
    const float diff = max_diff(masked, expected);
    qInfo("%s: mask %d:%d (chosen %d times): max |logit - edited checkpoint| %.3g, change from the model %.3g",
          fixture.c_str(), layer, expert, used.at(expert), diff, max_diff(masked, base));
    QVERIFY2(diff <= 1e-5f, "masking differs from the checkpoint whose router never selects the expert");
    QVERIFY2(max_diff(masked, base) > 1e-4f, "masking an expert the model uses changed nothing");
    for (const auto& row : routing)
      for (const RoutingSlice& s : row) {
        if (s.layer == layer) QVERIFY(!contains(s.experts, expert));
        QCOMPARE(int(s.experts.size()), model->config().num_experts_per_tok);
      }

    // In every MoE layer at once (*:E).
    Interventions every;
    every.masked.push_back({kEveryMoeLayer, expert});
    std::vector<std::pair<std::string, std::function<void(logitscope::test::TensorValues&)>>> edits;
    for (int l : moe_layers(model->config())) edits.push_back({bias_of(l), add_to({expert}, -1e4f)});
    QTemporaryDir tmp2;
    auto edited_all = load(edited_copy(tmp2, fixture, "masked-all", edits));
    QVERIFY(max_diff(run(*model, ids, every), run(*edited_all, ids)) <= 1e-5f);
  }

  void forcing_experts_equals_a_router_biased_to_them_data() { fixtures(); }
  void forcing_experts_equals_a_router_biased_to_them() {
    QFETCH(QString, name);
    const std::string fixture = name.toStdString();
    auto model = load(logitscope::test::model_dir(fixture));
    const ModelConfig& c = model->config();
    const auto ids = prompt(fixture);
    std::vector<std::vector<RoutingSlice>> base_routing;
    const auto base = run(*model, ids, {}, &base_routing);
    const int layer = moe_layers(c).back();
    // The k least used experts of the first group (a biased router keeps that group).
    const auto used = usage(base_routing, layer);
    std::vector<int> group(std::size_t(c.n_routed_experts / std::max(1, c.n_group)));
    for (std::size_t e = 0; e < group.size(); ++e) group[e] = int(e);
    std::stable_sort(group.begin(), group.end(), [&](int a, int b) {
      return (used.count(a) ? used.at(a) : 0) < (used.count(b) ? used.at(b) : 0);
    });
    std::vector<int> forced(group.begin(), group.begin() + c.num_experts_per_tok);

    Interventions iv;
    iv.forced.push_back({layer, forced});
    std::vector<std::vector<RoutingSlice>> routing;
    const auto got = run(*model, ids, iv, &routing);
    QTemporaryDir tmp;
    auto edited = load(edited_copy(tmp, fixture, "forced", {{bias_of(layer), add_to(forced, 1e4f)}}));
    std::vector<std::vector<RoutingSlice>> edited_routing;
    const auto expected = run(*edited, ids, {}, &edited_routing);
    const float diff = max_diff(got, expected);
    qInfo("%s: force %d to %zu experts: max |logit - edited checkpoint| %.3g, change from the model %.3g", fixture.c_str(),
          layer, forced.size(), diff, max_diff(got, base));
    // The biased router may list the same set in another order (rounding at 1e4), which changes the
    // order of the weighted sum: equal to float rounding, not bit for bit.
    QVERIFY2(diff <= 1e-4f, "forcing differs from the checkpoint whose router is biased to the set");
    QVERIFY2(max_diff(got, base) > 1e-4f, "forcing the least used experts changed nothing");
    const std::set<int> want(forced.begin(), forced.end());
    for (std::size_t t = 0; t < routing.size(); ++t)
      for (std::size_t s = 0; s < routing[t].size(); ++s)
        if (routing[t][s].layer == layer) {
          QCOMPARE(std::set<int>(routing[t][s].experts.begin(), routing[t][s].experts.end()), want);
          float total = 0.0f, expected_total = 0.0f;
          for (float w : routing[t][s].weights) total += w;
          for (float w : edited_routing[t][s].weights) expected_total += w;
          QVERIFY(std::abs(total - expected_total) <= 1e-5f);
        }
  }

  void forcing_one_expert_gives_it_the_whole_routed_weight() {
    auto model = load(logitscope::test::model_dir("tiny-every-kind"));
    const ModelConfig& c = model->config();
    QVERIFY(c.norm_topk_prob);
    Interventions iv;
    iv.forced.push_back({5, {3}});
    std::vector<std::vector<RoutingSlice>> routing;
    run(*model, prompt("tiny-every-kind"), iv, &routing);
    for (const auto& row : routing)
      for (const RoutingSlice& s : row)
        if (s.layer == 5) {
          QCOMPARE(s.experts, std::vector<int>{3});
          QCOMPARE(s.weights.size(), std::size_t(1));
          QVERIFY(std::abs(s.weights[0] - float(c.routed_scaling_factor)) <= 1e-6f);
        }
  }

  void scaling_equals_scaled_down_projections_data() { fixtures(); }
  void scaling_equals_scaled_down_projections() {
    QFETCH(QString, name);
    const std::string fixture = name.toStdString();
    auto model = load(logitscope::test::model_dir(fixture));
    const auto ids = prompt(fixture);
    const auto base = run(*model, ids);
    const int layer = moe_layers(model->config()).front();
    Interventions iv;
    iv.scaled.push_back({layer, MoePart::Routed, 0.5});
    iv.scaled.push_back({layer, MoePart::Shared, 2.0});
    const auto got = run(*model, ids, iv);
    QTemporaryDir tmp;
    // Powers of two: exact in F32 and BF16, so the edited model is the same arithmetic.
    auto edited = load(edited_copy(tmp, fixture, "scaled",
                                   {{mixer_prefix(layer) + "experts\\..*down_proj", times(0.5f)},
                                    {mixer_prefix(layer) + "shared_experts\\.down_proj\\.", times(2.0f)}}));
    const float diff = max_diff(got, run(*edited, ids));
    qInfo("%s: scale %d routed 0.5, shared 2: max |logit - edited checkpoint| %.3g, change %.3g", fixture.c_str(), layer,
          diff, max_diff(got, base));
    QVERIFY(diff <= 1e-5f);
    QVERIFY(max_diff(got, base) > 1e-4f);
  }

  void skipping_a_layer_equals_zeroing_its_output_data() { fixtures(); }
  void skipping_a_layer_equals_zeroing_its_output() {
    QFETCH(QString, name);
    const std::string fixture = name.toStdString();
    auto model = load(logitscope::test::model_dir(fixture));
    const ModelConfig& c = model->config();
    const auto ids = prompt(fixture);
    const auto base = run(*model, ids);
    // The first layer of each kind the model has.
    std::map<LayerKind, int> first;
    for (std::size_t l = 0; l < c.layers.size(); ++l) first.emplace(c.layers[l], int(l));
    for (const auto& [kind, layer] : first) {
      Interventions iv;
      iv.skipped.push_back(layer);
      const auto got = run(*model, ids, iv);
      QTemporaryDir tmp;
      auto edited = load(edited_copy(tmp, fixture, "skipped",
                                     {{mixer_prefix(layer) + "(out_proj|o_proj|.*down_proj|fc2_latent_proj)",
                                       times(0.0f)}}));
      const float diff = max_diff(got, run(*edited, ids));
      qInfo("%s: skip layer %d (%s): max |logit - zeroed output| %.3g, change %.3g", fixture.c_str(), layer,
            to_string(kind), diff, max_diff(got, base));
      QVERIFY2(diff <= 1e-5f, to_string(kind));
      QVERIFY2(max_diff(got, base) > 1e-4f, to_string(kind));
    }
  }

  // From position p on: the original model's state after ids[0..p), then the edited model.
  void an_intervention_from_a_position_changes_only_what_follows_data() { fixtures(); }
  void an_intervention_from_a_position_changes_only_what_follows() {
    QFETCH(QString, name);
    const std::string fixture = name.toStdString();
    auto model = load(logitscope::test::model_dir(fixture));
    const ModelConfig& c = model->config();
    const auto ids = prompt(fixture);
    const std::int64_t p = std::int64_t(ids.size()) / 2;
    const int moe = moe_layers(c).front();
    int mamba = -1;
    for (std::size_t l = 0; l < c.layers.size() && mamba < 0; ++l)
      if (c.layers[l] == LayerKind::Mamba) mamba = int(l);
    Interventions iv;
    iv.from_position = p;
    iv.masked.push_back({moe, 0});
    iv.scaled.push_back({moe, MoePart::Shared, 0.5});
    if (mamba >= 0) iv.skipped.push_back(mamba);
    const auto base = run(*model, ids);
    const auto got = run(*model, ids, iv);

    QTemporaryDir tmp;
    std::vector<std::pair<std::string, std::function<void(logitscope::test::TensorValues&)>>> edits = {
        {bias_of(moe), add_to({0}, -1e4f)}, {mixer_prefix(moe) + "shared_experts\\.down_proj\\.", times(0.5f)}};
    if (mamba >= 0) edits.push_back({mixer_prefix(mamba) + "out_proj", times(0.0f)});
    auto edited = load(edited_copy(tmp, fixture, "from", edits));
    // The original model over ids[0..p), the edited one over the rest, one state. A skipped Mamba
    // layer must not advance its state: the edited model's zeroed out_proj leaves the state running,
    // but no later row reads this layer's output, so the logits agree either way.
    Backend& original = model->backend();
    auto state = original.create_state(model->max_context());
    ForwardOptions options;
    original.forward(*state, std::span<const TokenId>(ids.data(), std::size_t(p)), options);
    options.all_logits = true;
    edited->backend().forward(*state, std::span<const TokenId>(ids.data() + p, ids.size() - std::size_t(p)), options);
    const auto tail = edited->backend().logits(*state);
    const std::size_t V = std::size_t(c.vocab_size);
    const std::vector<float> before_got(got.begin(), got.begin() + p * V), before_base(base.begin(), base.begin() + p * V);
    QCOMPARE(max_diff(before_got, before_base), 0.0f);  // untouched, bit for bit
    const std::vector<float> after(got.begin() + p * V, got.end());
    const float diff = max_diff(after, tail);
    qInfo("%s: %s: rows before %lld equal, after: max |diff| %.3g", fixture.c_str(), describe(iv).c_str(), (long long)p, diff);
    QVERIFY(diff <= 1e-5f);
    QVERIFY(max_diff(after, std::vector<float>(base.begin() + p * V, base.end())) > 1e-4f);
  }

  void the_session_reruns_what_an_intervention_change_touches() {
    const std::string fixture = "tiny-every-kind";
    auto model = load(logitscope::test::model_dir(fixture));
    const auto ids = prompt(fixture);
    SessionOptions so;
    so.checkpoint_interval = 4;  // checkpoints on both sides of the intervention's start
    Session session(*model, so);
    session.prefill(ids);
    GenerateOptions g;
    g.max_new_tokens = 8;
    g.stop_ids = {-1};
    SamplingParams greedy;
    greedy.greedy = true;
    session.generate(g, greedy, ProbeOptions{});
    const std::vector<TokenId> all = session.tokens();

    Interventions iv;
    iv.from_position = std::int64_t(ids.size()) - 3;
    iv.masked.push_back({kEveryMoeLayer, 1});
    iv.skipped.push_back(3);
    session.set_interventions(iv);
    QCOMPARE(session.tokens(), all);  // the sequence stays; what it computes changes
    const auto with = session.last_logits();
    Session fresh(*model);
    fresh.set_interventions(iv);
    fresh.prefill(all);
    QCOMPARE(max_diff(with, fresh.last_logits()), 0.0f);

    session.set_interventions({});  // back to the plain model: exactly a fresh prefill
    Session plain(*model);
    plain.prefill(all);
    const auto plain_logits = plain.last_logits();
    QCOMPARE(max_diff(session.last_logits(), plain_logits), 0.0f);
    QVERIFY(max_diff(with, plain_logits) > 1e-4f);

    // Rewinding into the intervened span and continuing gives what a fresh prefill gives.
    session.set_interventions(iv);
    session.rewind_to(std::int64_t(all.size()) - 2);
    QCOMPARE(max_diff(session.last_logits(), [&] {
               Session s(*model);
               s.set_interventions(iv);
               s.prefill(std::span<const TokenId>(all.data(), all.size() - 2));
               return s.last_logits();
             }()),
             0.0f);
  }

  // Edited reasoning: replace the tail of a reply and continue == a fresh prefill of the edited text.
  void an_edited_reply_continues_like_a_fresh_prefill() {
    auto model = load(logitscope::test::model_dir("tiny-groups-bf16-sharded"));
    const auto ids = prompt("tiny-groups-bf16-sharded");
    Session session(*model);
    session.prefill(ids);
    GenerateOptions g;
    g.max_new_tokens = 6;
    g.stop_ids = {-1};
    SamplingParams greedy;
    greedy.greedy = true;
    session.generate(g, greedy, ProbeOptions{});
    std::vector<TokenId> edited(session.tokens().begin(), session.tokens().end() - 4);
    session.rewind_to(std::int64_t(edited.size()));
    const std::vector<TokenId> replacement = {7, 8, 9};
    session.prefill(replacement);
    edited.insert(edited.end(), replacement.begin(), replacement.end());
    Session fresh(*model);
    fresh.prefill(edited);
    QCOMPARE(session.tokens(), edited);
    QCOMPARE(max_diff(session.last_logits(), fresh.last_logits()), 0.0f);
  }

  void lens_and_evaluate_apply_them_too() {
    auto model = load(logitscope::test::model_dir("tiny-every-kind"));
    const auto ids = prompt("tiny-every-kind");
    Interventions iv;
    iv.skipped.push_back(4);  // the MLP layer: the lens after it equals the lens after layer 3
    const auto lens = logit_lens(*model, ids, std::int64_t(ids.size()) - 1, 5, iv);
    QCOMPARE(lens[4].top_k.front().id, lens[3].top_k.front().id);
    QCOMPARE(lens[4].kl_to_final, lens[3].kl_to_final);
    const auto plain = logit_lens(*model, ids, std::int64_t(ids.size()) - 1, 5);
    QVERIFY(plain[4].kl_to_final != plain[3].kl_to_final);

    std::vector<float> scored;
    evaluate_text(*model, ids, 0, [&](const TokenScore& s) { scored.push_back(s.logprob); }, 4, {}, iv);
    const auto logits = run(*model, ids, iv);
    const std::size_t V = std::size_t(model->config().vocab_size);
    for (std::size_t p = 1; p < ids.size(); ++p) {
      const float* row = logits.data() + (p - 1) * V;
      double total = 0.0;
      const float top = *std::max_element(row, row + V);
      for (std::size_t v = 0; v < V; ++v) total += std::exp(double(row[v] - top));
      const double logprob = double(row[ids[p]] - top) - std::log(total);
      QVERIFY(std::abs(scored[p - 1] - logprob) <= 1e-4);
    }
  }

  void the_effect_of_an_intervention_shows_where_it_acts() {
    auto model = load(logitscope::test::model_dir("tiny-every-kind"));
    const auto ids = prompt("tiny-every-kind");
    Interventions iv;
    iv.from_position = 10;
    iv.masked.push_back({8, 0});
    const auto tokens = compare_models(*model, *model, ids, 3, {}, iv);
    for (const TokenComparison& t : tokens) {
      // Row t.pos - 1 is the forward of ids[pos - 1]: intervened from position 10 on.
      if (t.pos - 1 < 10) {
        QCOMPARE(t.kl, 0.0);
        for (const LayerOverlap& o : t.expert_overlap) QCOMPARE(o.jaccard, 1.0);
      }
    }
    const ComparisonSummary s = summarize(tokens);
    QVERIFY(s.mean_kl > 0.0);
    QVERIFY(s.first_disagreement < 0 || s.first_disagreement >= 11);
  }

  void bad_interventions_are_refused_naming_the_option() {
    auto model = load(logitscope::test::model_dir("tiny-every-kind"));
    const ModelConfig& c = model->config();
    auto refused = [&](const Interventions& iv, const std::string& needle) {
      try {
        validate(iv, c);
      } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find(needle) != std::string::npos, e.what());
        return;
      }
      QFAIL(("accepted: " + describe(iv)).c_str());
    };
    Interventions iv;
    iv.masked = {{1, 0}};
    refused(iv, "--mask-expert 1:0: layer 1 is an attention layer, not a mixture of experts (MoE layers: 2, 5, 8)");
    iv.masked = {{2, 8}};
    refused(iv, "expert 8 is outside 0..7");
    iv.masked.clear();
    for (int e = 0; e < 7; ++e) iv.masked.push_back({kEveryMoeLayer, e});
    refused(iv, "would keep 1 experts but routes each token to 2");
    iv.masked = {{2, 3}};
    iv.forced = {{2, {3, 4}}};
    refused(iv, "expert 3 is also masked in layer 2");
    iv.masked.clear();
    iv.forced = {{2, {4, 4}}};
    refused(iv, "expert 4 is named twice");
    iv.forced = {{5, {}}};
    refused(iv, "name at least one expert");
    iv.forced.clear();
    iv.scaled = {{2, MoePart::Routed, INFINITY}};
    refused(iv, "finite");
    iv.scaled.clear();
    iv.skipped = {9};
    refused(iv, "--skip-layer 9: layer is outside the model's layers 0..8");

    // Refused before anything changes: the session keeps its interventions.
    Session session(*model);
    Interventions good;
    good.masked = {{2, 1}};
    session.set_interventions(good);
    try {
      session.set_interventions(iv);
      QFAIL("accepted a bad intervention");
    } catch (const Error&) {
    }
    QCOMPARE(session.interventions(), good);
  }

  void the_command_line_forms_parse_and_print_back() {
    QCOMPARE(parse_expert_mask("4:17"), (ExpertMask{4, 17}));
    QCOMPARE(parse_expert_mask("*:3"), (ExpertMask{kEveryMoeLayer, 3}));
    QCOMPARE(parse_forced_experts("6:1,2,9").experts, (std::vector<int>{1, 2, 9}));
    const PartScale s = parse_part_scale("9:shared:0.25");
    QCOMPARE(s.layer, 9);
    QVERIFY(s.part == MoePart::Shared);
    QCOMPARE(s.factor, 0.25);
    QCOMPARE(parse_skipped_layer("3"), 3);
    for (const char* bad : {"4", "4:", "x:1", "4:1:2", "4:-"}) QVERIFY_THROWS_EXCEPTION(Error, parse_expert_mask(bad));
    for (const char* bad : {"4", "4:", "4:1,,2", "4:a"}) QVERIFY_THROWS_EXCEPTION(Error, parse_forced_experts(bad));
    for (const char* bad : {"4:routed", "4:both:1", "4:routed:x", "4:routed:inf", "4:routed:1e999"})
      QVERIFY_THROWS_EXCEPTION(Error, parse_part_scale(bad));
    QVERIFY_THROWS_EXCEPTION(Error, parse_skipped_layer("2a"));
    Interventions iv;
    iv.from_position = 12;
    iv.masked = {{4, 17}, {kEveryMoeLayer, 3}};
    iv.forced = {{6, {1, 2}}};
    iv.scaled = {{9, MoePart::Shared, 0.5}};
    iv.skipped = {3};
    QCOMPARE(describe(iv), std::string("from 12: mask 4:17, mask *:3, force 6:1,2, scale 9:shared:0.5, skip 3"));
    QCOMPARE(describe(Interventions{}), std::string());
    // What describe() prints reads back; so does what a person types.
    QCOMPARE(parse_interventions(describe(iv)), iv);
    Interventions typed = parse_interventions("mask 4:17; force 6:1,2;skip 3\nscale 9:shared:0.1");
    QCOMPARE(typed.from_position, std::int64_t(0));
    QCOMPARE(typed.masked, (std::vector<ExpertMask>{{4, 17}}));
    QCOMPARE(typed.skipped, std::vector<int>{3});
    QCOMPARE(parse_interventions(describe(typed)), typed);  // 0.1 survives the text
    QCOMPARE(parse_interventions("  "), Interventions{});
    for (const char* bad : {"mask", "mask 4", "drop 3:1", "skip x", "from -2: skip 1", "force 6:"})
      QVERIFY_THROWS_EXCEPTION(Error, parse_interventions(bad));
  }

  void the_cli_applies_them_to_logits_and_compare() {
    const QString model = QString::fromStdString(logitscope::test::model_dir("tiny-every-kind").string());
    const QStringList common = {"--model", model, "--ids", "5,17,42,99,7,8", "--threads", "1"};
    const auto plain = logitscope::test::run_cli(QStringList{"logits"} + common);
    const auto masked = logitscope::test::run_cli(QStringList{"logits"} + common + QStringList{"--mask-expert", "*:0", "--routing"});
    QVERIFY2(plain.exit_code == 0 && masked.exit_code == 0, masked.err.constData());
    const auto a = nlohmann::json::parse(plain.out.toStdString()), b = nlohmann::json::parse(masked.out.toStdString());
    QVERIFY(a.at("logits") != b.at("logits"));
    for (const auto& row : b.at("routing"))
      for (const auto& slice : row) QVERIFY(!logitscope::test::expert_set(slice).count(0));

    const auto effect = logitscope::test::run_cli(QStringList{"compare"} + common + QStringList{"--skip-layer", "3", "--jsonl"});
    QVERIFY2(effect.exit_code == 0, effect.err.constData());
    std::istringstream lines(effect.out.toStdString());
    std::string line;
    int n = 0;
    double total_kl = 0.0;
    while (std::getline(lines, line)) {
      total_kl += nlohmann::json::parse(line).at("kl").get<double>();
      ++n;
    }
    QCOMPARE(n, 5);
    QVERIFY(total_kl > 0.0);
    QVERIFY2(effect.err.contains("with from 0: skip 3"), effect.err.constData());

    const auto refused = logitscope::test::run_cli(QStringList{"generate"} + common + QStringList{"--force-experts", "1:0"});
    QCOMPARE(refused.exit_code, 1);
    QVERIFY2(refused.err.contains("--force-experts 1:0: layer 1 is an attention layer"), refused.err.constData());
  }

 private:
  void fixtures() {
    QTest::addColumn<QString>("name");
    for (const std::string& n : logitscope::test::fixture_model_names())
      QTest::newRow(n.c_str()) << QString::fromStdString(n);
  }
};

QTEST_GUILESS_MAIN(Interventions_)
#include "test_interventions.moc"
