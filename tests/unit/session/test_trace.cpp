// SPDX-License-Identifier: GPL-3.0-or-later
// Traces: the numbers equal the engine's other paths (evaluate_text, the session's routing, inspect),
// the files round-trip through tools/read_trace.py with numpy, the reader refuses files that do not
// agree, and `logitscope-cli trace` writes them.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>

#include "golden.h"
#include "logitscope/errors.h"
#include "logitscope/evaluate.h"
#include "logitscope/inspect.h"
#include "logitscope/session.h"
#include "logitscope/trace.h"
#include "reference_model.h"

using namespace logitscope;
namespace fs = std::filesystem;

namespace {

const std::string kFixture = "tiny-every-kind";

std::unique_ptr<Model> load() { return logitscope::test::load_cpu_reference(logitscope::test::model_dir(kFixture), false); }

std::vector<TokenId> prompt() { return logitscope::test::golden(kFixture).at("prompt_ids").get<std::vector<TokenId>>(); }

struct Reader {
  int exit_code = -1;
  QByteArray out, err;
};

// tools/read_trace.py DIR [args] under the Python that has numpy (found by CMake).
Reader read_trace(const fs::path& dir, const QStringList& args = {}) {
  QProcess p;
  const fs::path script = logitscope::test::data_dir().parent_path() / "tools" / "read_trace.py";
  p.start(QString::fromUtf8(LOGITSCOPE_NUMPY_PYTHON),
          QStringList{QString::fromStdString(script.string()), QString::fromStdString(dir.string())} + args);
  Reader r;
  if (!p.waitForStarted(10000) || !p.waitForFinished(60000)) return r;
  r.exit_code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = p.readAllStandardOutput();
  r.err = p.readAllStandardError();
  return r;
}

bool same_float(float a, const nlohmann::json& j) {
  if (std::isnan(a)) return j.is_null();
  return !j.is_null() && j.get<float>() == a;
}

}  // namespace

class TraceTest : public QObject {
  Q_OBJECT
 private slots:
  void the_numbers_are_the_engines() {
    auto model = load();
    const auto ids = prompt();
    TraceOptions options;
    options.top_k = 4;
    options.chunk = 5;  // several chunks: the carried position must not shift anything
    options.interventions.masked.push_back({5, 1});
    const Trace trace = trace_tokens(*model, ids, options);
    QCOMPARE(trace.ids, ids);
    QVERIFY(std::isnan(trace.logprob[0]) && trace.top[0].empty() && trace.rank[0] == -1);

    std::vector<TokenScore> scores;
    evaluate_text(*model, ids, 4, [&](const TokenScore& s) { scores.push_back(s); }, 7, {}, options.interventions);
    QCOMPARE(scores.size(), ids.size() - 1);
    for (const TokenScore& s : scores) {
      const auto t = std::size_t(s.pos);
      QVERIFY(std::abs(trace.logprob[t] - s.logprob) <= 1e-5f);
      QVERIFY(std::abs(trace.entropy[t] - s.entropy) <= 1e-5f);
      QCOMPARE(trace.rank[t], s.rank);
      QCOMPARE(trace.top[t].size(), s.top_k.size());
      for (std::size_t k = 0; k < s.top_k.size(); ++k) QCOMPARE(trace.top[t][k].id, s.top_k[k].id);
    }
    Session session(*model);
    session.set_interventions(options.interventions);
    std::vector<std::vector<RoutingSlice>> routing;
    session.evaluate(ids, &routing);
    QCOMPARE(trace.routing.size(), routing.size());
    for (std::size_t t = 0; t < routing.size(); ++t)
      for (std::size_t l = 0; l < routing[t].size(); ++l) {
        QCOMPARE(trace.routing[t][l].layer, routing[t][l].layer);
        QCOMPARE(trace.routing[t][l].experts, routing[t][l].experts);
        if (routing[t][l].layer == 5) QVERIFY(std::find(routing[t][l].experts.begin(), routing[t][l].experts.end(), 1) ==
                                              routing[t][l].experts.end());
      }
    QCOMPARE(trace.interventions, std::string("from 0: mask 5:1"));
  }

  void internals_are_those_of_inspect() {
    auto model = load();
    const auto ids = prompt();
    TraceOptions options;
    options.internals = true;
    const Trace trace = trace_tokens(*model, ids, options);
    const PromptInternals in = inspect_prompt(*model, ids);
    QVERIFY(trace.has_internals);
    QCOMPARE(trace.internals.routers.size(), in.routers.size());
    for (std::size_t i = 0; i < in.routers.size(); ++i) QCOMPARE(trace.internals.routers[i].scores, in.routers[i].scores);
    for (std::size_t i = 0; i < in.mambas.size(); ++i) QCOMPARE(trace.internals.mambas[i].dt, in.mambas[i].dt);
    for (std::size_t i = 0; i < in.attentions.size(); ++i) QCOMPARE(trace.internals.attentions[i].weights, in.attentions[i].weights);
  }

  void the_files_round_trip_through_numpy() {
    auto model = load();
    const auto ids = prompt();
    TraceOptions options;
    options.internals = true;
    const Trace trace = trace_tokens(*model, ids, options);
    QTemporaryDir tmp;
    const fs::path dir = fs::path(tmp.path().toStdString()) / "trace";
    write_trace(trace, dir);
    const Reader r = read_trace(dir, {"--json"});
    QVERIFY2(r.exit_code == 0, r.err.constData());
    const auto j = nlohmann::json::parse(r.out.toStdString());
    const auto& a = j.at("arrays");
    const std::size_t T = ids.size();
    QCOMPARE(a.at("ids").get<std::vector<TokenId>>(), ids);
    for (std::size_t t = 0; t < T; ++t) {
      QVERIFY(same_float(trace.logprob[t], a.at("logprob")[t]));
      QVERIFY(same_float(trace.entropy[t], a.at("entropy")[t]));
      QCOMPARE(a.at("rank")[t].get<std::int64_t>(), trace.rank[t]);
      for (std::size_t k = 0; k < trace.top[t].size(); ++k) {
        QCOMPARE(a.at("topk_ids")[t][k].get<TokenId>(), trace.top[t][k].id);
        QVERIFY(same_float(trace.top[t][k].logprob, a.at("topk_logprob")[t][k]));
      }
      for (std::size_t m = 0; m < trace.routing[t].size(); ++m) {
        const RoutingSlice& s = trace.routing[t][m];
        for (std::size_t i = 0; i < s.experts.size(); ++i) {
          QCOMPARE(a.at("routing_experts")[t][m][i].get<int>(), s.experts[i]);
          QVERIFY(same_float(s.weights[i], a.at("routing_weights")[t][m][i]));
        }
        QVERIFY(same_float(s.margin, a.at("routing_margin")[t][m]));
      }
    }
    const auto& routers = trace.internals.routers;
    const int E = trace.internals.experts;
    for (std::size_t j2 = 0; j2 < routers.size(); ++j2)
      for (std::size_t t = 0; t < T; ++t)
        for (int e = 0; e < E; ++e) QVERIFY(same_float(routers[j2].scores[t * std::size_t(E) + std::size_t(e)], a.at("router_scores")[j2][t][e]));
    const auto& meta = j.at("meta");
    QCOMPARE(meta.at("layers").get<std::string>(), model->config().pattern());
    QCOMPARE(meta.at("moe_layers").get<std::vector<int>>(), (std::vector<int>{2, 5, 8}));
    QCOMPARE(meta.at("tokens").get<std::size_t>(), T);

    // The summary form reads the same files.
    const Reader summary = read_trace(dir);
    QVERIFY2(summary.exit_code == 0 && summary.out.contains("tokens, layers M*EM-EM*E"), summary.out.constData());
  }

  void the_reader_refuses_files_that_disagree() {
    auto model = load();
    QTemporaryDir tmp;
    const fs::path dir = fs::path(tmp.path().toStdString()) / "trace";
    write_trace(trace_tokens(*model, prompt(), TraceOptions{}), dir);
    // A line lost from trace.jsonl.
    {
      std::ifstream in(dir / "trace.jsonl");
      std::string all((std::istreambuf_iterator<char>(in)), {}), kept = all.substr(0, all.rfind('\n', all.size() - 2) + 1);
      std::ofstream(dir / "trace.jsonl", std::ios::trunc) << kept;
    }
    Reader r = read_trace(dir);
    QVERIFY(r.exit_code != 0);
    QVERIFY2(r.err.contains("trace.jsonl has"), r.err.constData());
    // An array of another shape than meta.json says.
    write_trace(trace_tokens(*model, prompt(), TraceOptions{}), dir);
    fs::copy_file(dir / "topk_ids.npy", dir / "ids.npy", fs::copy_options::overwrite_existing);
    r = read_trace(dir);
    QVERIFY(r.exit_code != 0);
    QVERIFY2(r.err.contains("ids.npy"), r.err.constData());
  }

  void an_unwritable_folder_is_named() {
    auto model = load();
    QTemporaryDir tmp;
    const fs::path file = fs::path(tmp.path().toStdString()) / "a-file";
    std::ofstream(file) << "x";
    try {
      write_trace(trace_tokens(*model, prompt(), TraceOptions{}), file / "trace");
      QFAIL("wrote a trace under a file");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("a-file") != std::string::npos, e.what());
    }
  }

  void the_cli_writes_a_trace() {
    QTemporaryDir tmp;
    const QString out = tmp.path() + "/cli-trace";
    const auto r = logitscope::test::run_cli({"trace", "--model", QString::fromStdString(logitscope::test::model_dir(kFixture).string()),
                                              "--ids", "5,17,42,99,7", "--out", out, "--top-k", "3", "--skip-layer", "2",
                                              "--threads", "1"});
    QVERIFY2(r.exit_code == 0, r.err.constData());
    const auto meta = logitscope::test::read_json(fs::path(out.toStdString()) / "meta.json");
    QCOMPARE(meta.at("tokens").get<int>(), 5);
    QCOMPARE(meta.at("top_k").get<int>(), 3);
    QCOMPARE(meta.at("interventions").get<std::string>(), std::string("from 0: skip 2"));
    const Reader read = read_trace(fs::path(out.toStdString()), {"--json"});
    QVERIFY2(read.exit_code == 0, read.err.constData());
    // Layer 2 was skipped: its routing column is empty (-1) for every token.
    const auto experts = nlohmann::json::parse(read.out.toStdString()).at("arrays").at("routing_experts");
    for (const auto& row : experts) QCOMPARE(row[0][0].get<int>(), -1);
  }
};

QTEST_GUILESS_MAIN(TraceTest)
#include "test_trace.moc"
