// SPDX-License-Identifier: GPL-3.0-or-later
#include "model_comparison.h"

#include <QCoreApplication>
#include <QLocale>

#include <algorithm>

#include "conversation.h"

namespace logitscope::workbench {
namespace {

QString tr(const char* text) { return QCoreApplication::translate("ModelComparison", text); }

QString size_text(std::uint64_t bytes) { return QLocale().formattedDataSize(qint64(bytes)); }

}  // namespace

const TokenComparison* ModelComparison::at_reply(int index) const {
  if (index < 0 || index >= reply_size()) return nullptr;
  const std::int64_t k = prompt_length + index - 1;  // tokens[k] is position k + 1
  return k >= 0 && k < std::int64_t(tokens.size()) ? &tokens[std::size_t(k)] : nullptr;
}

std::vector<double> ModelComparison::reply_kl() const {
  std::vector<double> out(std::size_t(std::max(reply_size(), 0)), 0.0);  // [reply tokens]
  for (int i = 0; i < reply_size(); ++i)
    if (const TokenComparison* t = at_reply(i)) out[std::size_t(i)] = t->kl;
  return out;
}

std::int64_t ModelComparison::first_disagreement() const {
  return reply.first_disagreement >= 0 ? reply_index(reply.first_disagreement) : -1;
}

std::string ModelComparison::bytes_of(TokenId id) const {
  const auto it = labels.find(id);
  return it == labels.end() ? std::string() : it->second;
}

std::int64_t first_divergence(const std::vector<TokenId>& a, const std::vector<TokenId>& b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return std::int64_t(i);
  return a.size() == b.size() ? -1 : std::int64_t(n);
}

EffectReference effect_reference(const ChatMessage& reply, int branch) {
  EffectReference out;
  const auto& branches = reply.branches;
  if (branch < 0 || branch >= int(branches.size())) return out;
  const Interventions& own = branches[std::size_t(branch)].interventions;
  // Bounded by the branch count: a damaged file's parent cycle cannot loop.
  int b = branches[std::size_t(branch)].parent;
  for (std::size_t steps = 0; b >= 0 && b < int(branches.size()) && steps < branches.size(); ++steps) {
    if (!(branches[std::size_t(b)].interventions == own)) {
      out.branch = b;
      out.interventions = branches[std::size_t(b)].interventions;
      return out;
    }
    b = branches[std::size_t(b)].parent;
  }
  return out;
}

namespace {

// A token's bytes for a message: printable ASCII as it is, anything else as \xNN.
QString quoted_bytes(const std::string& bytes) {
  QString out = QStringLiteral("\"");
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') out += QChar(c);
    else out += QStringLiteral("\\x%1").arg(unsigned(c), 2, 16, QLatin1Char('0'));
  }
  return out + QStringLiteral("\"");
}

}  // namespace

QString second_model_refusal(const SecondModelFit& fit) {
  if (fit.vocab_a != fit.vocab_b)
    return tr("The second model's vocabulary has %1 tokens and this one's %2: their token ids do not name the same "
              "tokens, so they cannot be compared token by token.")
        .arg(fit.vocab_b).arg(fit.vocab_a);
  if (fit.differing_id >= 0)
    return tr("The two tokenizers differ: token id %1 is %2 in this model and %3 in the second, so their ids do not "
              "name the same tokens and they cannot be compared token by token.")
        .arg(fit.differing_id).arg(quoted_bytes(fit.token_a), quoted_bytes(fit.token_b));
  if (fit.gpu || fit.memory_bytes == 0) return {};
  // Weights are mapped from their files: the same files are held once, whatever maps them.
  const std::uint64_t needed = fit.shared_files ? std::max(fit.bytes_a, fit.bytes_b) : fit.bytes_a + fit.bytes_b;
  if (needed <= fit.memory_bytes) return {};
  return tr("Both models do not fit in memory: together they need %1 (this one %2, the second %3) and this machine "
            "has %4.")
      .arg(size_text(needed), size_text(fit.bytes_a), size_text(fit.bytes_b), size_text(fit.memory_bytes));
}

QString second_model_out_of_memory(const SecondModelFit& fit, const QString& engine_message) {
  QString text = tr("The second model does not fit beside this one on the GPU: its weights need about %1")
                     .arg(size_text(fit.bytes_b));
  if (fit.bytes_a > 0) text += tr(" and this model holds %1").arg(size_text(fit.bytes_a));
  return text + QStringLiteral(" (") + engine_message + QStringLiteral(").");
}

}  // namespace logitscope::workbench
