// SPDX-License-Identifier: GPL-3.0-or-later
// The data the Effect and Compare docks read, without engine or widgets: which reply token a
// comparison belongs to, which branch an intervention branch is compared with, where two texts
// diverge, and when a second model is refused (vocabularies, memory) with the sizes in the message.
#include <QLocale>
#include <QTest>

#include "conversation.h"
#include "model_comparison.h"

using namespace logitscope;
using logitscope::workbench::ModelComparison;

namespace {

TokenComparison token(std::int64_t pos, double kl, bool agree) {
  TokenComparison t;
  t.pos = pos;
  t.id = TokenId(100 + pos);
  t.kl = kl;
  t.top1_agree = agree;
  return t;
}

workbench::Branch branch(int parent, const char* interventions) {
  workbench::Branch b;
  b.parent = parent;
  b.interventions = parse_interventions(interventions);
  return b;
}

}  // namespace

class TestCompareData : public QObject {
  Q_OBJECT
 private slots:
  void reply_tokens_map_to_the_positions_that_predicted_them() {
    ModelComparison c;
    c.ids = {1, 2, 3, 4, 5, 6};  // 3 prompt tokens, 3 reply tokens
    c.prompt_length = 3;
    for (std::int64_t pos = 1; pos < 6; ++pos) c.tokens.push_back(token(pos, 0.1 * double(pos), pos != 5));
    c.reply.first_disagreement = 5;
    QCOMPARE(c.reply_size(), 3);
    QCOMPARE(c.at_reply(0)->pos, std::int64_t(3));  // reply token 0 is ids[3], predicted after ids[0..2]
    QCOMPARE(c.at_reply(2)->pos, std::int64_t(5));
    QVERIFY(c.at_reply(3) == nullptr);
    QVERIFY(c.at_reply(-1) == nullptr);
    QCOMPARE(c.reply_kl(), (std::vector<double>{0.1 * 3, 0.1 * 4, 0.1 * 5}));
    QCOMPARE(c.first_disagreement(), std::int64_t(2));
    c.reply.first_disagreement = -1;
    QCOMPARE(c.first_disagreement(), std::int64_t(-1));

    // No prompt: the first reply token has nothing before it to be predicted from.
    ModelComparison bare;
    bare.ids = {1, 2};
    bare.tokens.push_back(token(1, 0.5, true));
    QVERIFY(bare.at_reply(0) == nullptr);
    QCOMPARE(bare.at_reply(1)->pos, std::int64_t(1));
  }

  void texts_diverge_at_the_first_differing_token() {
    using workbench::first_divergence;
    QCOMPARE(first_divergence({1, 2, 3}, {1, 2, 3}), std::int64_t(-1));
    QCOMPARE(first_divergence({1, 2, 3}, {1, 9, 3}), std::int64_t(1));
    QCOMPARE(first_divergence({1, 2}, {1, 2, 3}), std::int64_t(2));
    QCOMPARE(first_divergence({}, {4}), std::int64_t(0));
  }

  void an_intervention_branch_is_compared_with_the_nearest_ancestor_that_differs() {
    workbench::ChatMessage reply = workbench::ChatMessage::make(QStringLiteral("assistant"));
    reply.branches.push_back(branch(-1, ""));                // 0: the plain answer
    reply.branches.push_back(branch(0, "from 3: mask *:1"));  // 1: Intervene on 0
    reply.branches.push_back(branch(1, "from 3: mask *:1"));  // 2: a candidate chosen on 1 (inherits)
    reply.branches.push_back(branch(2, "from 6: skip 0"));    // 3: Intervene on 2
    QCOMPARE(workbench::effect_reference(reply, 1).branch, 0);
    QVERIFY(workbench::effect_reference(reply, 1).interventions.empty());
    QCOMPARE(workbench::effect_reference(reply, 2).branch, 0);  // not 1: that would show nothing
    QCOMPARE(workbench::effect_reference(reply, 3).branch, 2);
    QCOMPARE(workbench::effect_reference(reply, 3).interventions, parse_interventions("from 3: mask *:1"));
    QCOMPARE(workbench::effect_reference(reply, 0).branch, -1);  // a root: the plain model
    QCOMPARE(workbench::effect_reference(reply, 7).branch, -1);
    // A damaged file's cycle ends.
    reply.branches[0].parent = 2;
    reply.branches[0].interventions = parse_interventions("from 3: mask *:1");
    QCOMPARE(workbench::effect_reference(reply, 2).branch, -1);
  }

  void a_second_model_with_another_vocabulary_is_refused() {
    workbench::SecondModelFit fit;
    fit.vocab_a = 131072;
    fit.vocab_b = 131072;
    QVERIFY(workbench::second_model_refusal(fit).isEmpty());
    fit.vocab_b = 32000;
    const QString why = workbench::second_model_refusal(fit);
    QVERIFY2(why.contains(QStringLiteral("vocabulary has 32000 tokens and this one's 131072")), qPrintable(why));
  }

  // Same size is not the same vocabulary: the first id whose bytes differ is named, its bytes
  // printable in the message.
  void a_second_model_whose_tokenizer_names_an_id_otherwise_is_refused() {
    workbench::SecondModelFit fit;
    fit.vocab_a = fit.vocab_b = 4;
    fit.differing_id = 2;
    fit.token_a = "c";
    fit.token_b = "\n\xff";
    const QString why = workbench::second_model_refusal(fit);
    QVERIFY2(why.contains(QStringLiteral("token id 2 is \"c\" in this model and \"\\x0a\\xff\" in the second")), qPrintable(why));
  }

  void host_memory_must_hold_both_models_unless_they_share_their_files() {
    const std::uint64_t gib = std::uint64_t(1) << 30;
    workbench::SecondModelFit fit;
    fit.vocab_a = fit.vocab_b = 1024;
    fit.bytes_a = 40 * gib;
    fit.bytes_b = 30 * gib;
    fit.memory_bytes = 64 * gib;
    const QString why = workbench::second_model_refusal(fit);
    const QLocale locale;
    for (std::uint64_t size : {70 * gib, 40 * gib, 30 * gib, 64 * gib})
      QVERIFY2(why.contains(locale.formattedDataSize(qint64(size))), qPrintable(why));
    QVERIFY(why.startsWith(QStringLiteral("Both models do not fit in memory")));
    fit.memory_bytes = 70 * gib;
    QVERIFY(workbench::second_model_refusal(fit).isEmpty());
    fit.memory_bytes = 64 * gib;
    fit.shared_files = true;  // the same snapshot mapped twice is held once
    fit.bytes_b = fit.bytes_a;
    QVERIFY(workbench::second_model_refusal(fit).isEmpty());
    fit.shared_files = false;
    fit.memory_bytes = 0;  // unknown: not checked
    QVERIFY(workbench::second_model_refusal(fit).isEmpty());
    // GPU memory is known only by trying: the load's out-of-memory error names both sizes.
    fit.gpu = true;
    fit.memory_bytes = 1;
    fit.bytes_b = 30 * gib;
    QVERIFY(workbench::second_model_refusal(fit).isEmpty());
    const QString oom = workbench::second_model_out_of_memory(fit, QStringLiteral("out of GPU memory in weights"));
    QVERIFY2(oom.contains(QStringLiteral("need about ") + locale.formattedDataSize(qint64(30 * gib))) &&
                 oom.contains(QStringLiteral("holds ") + locale.formattedDataSize(qint64(40 * gib))) &&
                 oom.contains(QStringLiteral("out of GPU memory in weights")),
             qPrintable(oom));
  }
};

QTEST_GUILESS_MAIN(TestCompareData)
#include "tst_compare_data.moc"
