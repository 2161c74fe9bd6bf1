// SPDX-License-Identifier: GPL-3.0-or-later
#include "surprise_view.h"

#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QSplitter>
#include <QTableWidget>
#include <QTextBrowser>
#include <QUrl>
#include <QVBoxLayout>

#include <cmath>

#include "token_format.h"

namespace logitscope::widgets {
namespace {

// A token's text for the running view: its bytes as UTF-8 (newlines kept), else <id>.
QString token_html(const std::string& bytes, TokenId id) {
  if (bytes.empty()) return QStringLiteral("&lt;%1&gt;").arg(id);
  QString text = QString::fromUtf8(bytes.data(), qsizetype(bytes.size())).toHtmlEscaped();
  text.replace(QLatin1Char('\n'), QStringLiteral("&#8629;<br>"));
  return text;
}

}  // namespace

SurpriseView::SurpriseView(QWidget* parent) : QWidget(parent) {
  input_ = new QPlainTextEdit;
  input_->setPlaceholderText(tr("Paste a text to score, or open a file"));
  input_->setMaximumBlockCount(0);
  score_text_ = new QPushButton(tr("Score text"));
  score_text_->setToolTip(tr("Every token's log-probability given the tokens before it"));
  score_conversation_ = new QPushButton(tr("Score conversation"));
  score_conversation_->setToolTip(tr("The current conversation through the model's chat template"));
  open_ = new QPushButton(tr("Open…"));
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(open_);
  buttons->addStretch(1);
  buttons->addWidget(score_conversation_);
  buttons->addWidget(score_text_);
  summary_ = new QLabel;
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  view_ = new QTextBrowser;
  view_->setOpenLinks(false);
  view_->setOpenExternalLinks(false);
  detail_ = new QLabel(tr("Click a token to see the model's alternatives there."));
  detail_->setWordWrap(true);
  look_inside_ = new QPushButton(tr("Look inside"));
  look_inside_->setObjectName(QStringLiteral("lookInside"));
  look_inside_->setToolTip(tr("The Lens, Router and Attention/Mamba docks at the selected token"));
  look_inside_->setEnabled(false);
  table_ = new QTableWidget(0, 3);
  table_->setHorizontalHeaderLabels({tr("Token"), tr("Probability"), tr("Log-prob")});
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);

  auto* top = new QWidget;
  auto* top_layout = new QVBoxLayout(top);
  top_layout->setContentsMargins(0, 0, 0, 0);
  top_layout->addWidget(input_);
  top_layout->addLayout(buttons);
  auto* bottom = new QWidget;
  auto* bottom_layout = new QVBoxLayout(bottom);
  bottom_layout->setContentsMargins(0, 0, 0, 0);
  auto* detail_row = new QHBoxLayout;
  detail_row->addWidget(detail_, 1);
  detail_row->addWidget(look_inside_);
  bottom_layout->addLayout(detail_row);
  bottom_layout->addWidget(table_);
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(top);
  split->addWidget(view_);
  split->addWidget(bottom);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 3);
  split->setStretchFactor(2, 2);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(summary_);
  layout->addWidget(split, 1);

  connect(score_text_, &QPushButton::clicked, this, [this] {
    if (!input_->toPlainText().isEmpty()) emit score_text_requested(input_->toPlainText());
  });
  connect(score_conversation_, &QPushButton::clicked, this, [this] { emit score_conversation_requested(); });
  connect(open_, &QPushButton::clicked, this, [this] { open_file(); });
  connect(look_inside_, &QPushButton::clicked, this, [this] {
    if (selected_ >= 1) emit look_inside_requested();
  });
  connect(view_, &QTextBrowser::anchorClicked, this, [this](const QUrl& url) {
    const QString fragment = url.fragment();
    if (fragment.startsWith(QLatin1Char('t'))) select_token(fragment.mid(1).toInt());
  });
  set_available(false, tr("Load a model to score texts."));
}

void SurpriseView::update_buttons() {
  score_text_->setEnabled(available_ && !busy_);
  score_conversation_->setEnabled(available_ && !busy_);
}

void SurpriseView::set_available(bool available, const QString& why) {
  available_ = available;
  update_buttons();
  if (!available && !why.isEmpty()) summary_->setText(why);
}

void SurpriseView::set_busy(bool busy) {
  busy_ = busy;
  update_buttons();
  if (busy) summary_->setText(tr("Scoring…"));
}

void SurpriseView::show_error(const QString& message) {
  set_busy(false);
  summary_->setText(tr("Could not score: %1").arg(message));
}

void SurpriseView::show_result(workbench::ScoredText text) {
  result_ = std::move(text);
  selected_ = -1;
  set_busy(false);
  summary_->setText(summary_text());
  render();
  table_->setRowCount(0);
  look_inside_->setEnabled(false);
  detail_->setText(tr("Click a token to see the model's alternatives there."));
}

QString SurpriseView::summary_text() const {
  if (result_.ids.empty()) return {};
  return tr("%1: %2 tokens scored · total NLL %3 nats · mean %4 nats/token · perplexity %5 · %6 ms")
      .arg(result_.source)
      .arg(result_.tokens())
      .arg(result_.total_nll, 0, 'f', 2)
      .arg(result_.mean_nll(), 0, 'f', 3)
      .arg(result_.perplexity(), 0, 'f', 2)
      .arg(result_.ms, 0, 'f', 0);
}

QColor SurpriseView::token_colour(int index) const {
  if (index < 1 || index > result_.tokens()) return {};
  return probability_color(std::exp(result_.scored[std::size_t(index - 1)].logprob), false);
}

void SurpriseView::render() {
  // One anchor per scored token so a click names its position; the first token is context only.
  QString html = QStringLiteral("<div style='font-family: monospace; line-height: 150%'>");
  for (std::size_t i = 0; i < result_.ids.size(); ++i) {
    const std::string bytes = i < result_.bytes.size() ? result_.bytes[i] : std::string();
    const QString text = token_html(bytes, result_.ids[i]);
    if (i == 0) {
      html += QStringLiteral("<span style='color: gray'>%1</span>").arg(text);
      continue;
    }
    const workbench::ScoredToken& s = result_.scored[i - 1];
    const QColor colour = token_colour(int(i));
    const bool selected = int(i) == selected_;
    html += QStringLiteral("<a href='#t%1' title='logprob %2' style='color: black; text-decoration: none; "
                           "background-color: %3;%4'>%5</a>")
                .arg(i)
                .arg(double(s.logprob), 0, 'f', 3)
                .arg(colour.name(), selected ? QStringLiteral(" font-weight: bold; text-decoration: underline") : QString(),
                     text);
  }
  html += QStringLiteral("</div>");
  const int scroll = view_->verticalScrollBar() ? view_->verticalScrollBar()->value() : 0;
  view_->setHtml(html);
  if (view_->verticalScrollBar()) view_->verticalScrollBar()->setValue(scroll);
}

QString SurpriseView::detail_text() const { return detail_->text(); }

void SurpriseView::select_token(int index) {
  if (index < 1 || index > result_.tokens()) return;
  selected_ = index;
  const workbench::ScoredToken& s = result_.scored[std::size_t(index - 1)];
  const std::string bytes = std::size_t(index) < result_.bytes.size() ? result_.bytes[std::size_t(index)] : std::string();
  detail_->setText(tr("Position %1, token %2: log-prob %3 (p %4), rank %5, entropy %6 nats")
                       .arg(index)
                       .arg(visible_token(bytes, s.id))
                       .arg(double(s.logprob), 0, 'f', 3)
                       .arg(format_percent(std::exp(double(s.logprob))))
                       .arg(s.rank)
                       .arg(double(s.entropy), 0, 'f', 3));
  table_->setRowCount(int(s.top_k.size()));
  for (int r = 0; r < int(s.top_k.size()); ++r) {
    const TopKEntry& e = s.top_k[std::size_t(r)];
    auto* token = new QTableWidgetItem(visible_token(result_.bytes_of(e.id), e.id));
    if (e.id == s.id) {
      QFont bold = token->font();
      bold.setBold(true);
      token->setFont(bold);
    }
    table_->setItem(r, 0, token);
    table_->setItem(r, 1, new QTableWidgetItem(format_percent(std::exp(double(e.logprob)))));
    table_->setItem(r, 2, new QTableWidgetItem(QString::number(double(e.logprob), 'f', 3)));
  }
  render();
  look_inside_->setEnabled(true);
  emit token_selected(index);
}

void SurpriseView::set_input_text(const QString& text) { input_->setPlainText(text); }
QString SurpriseView::input_text() const { return input_->toPlainText(); }

void SurpriseView::open_file() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open a text to score"));
  if (path.isEmpty()) return;
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) {
    summary_->setText(tr("Cannot read %1: %2").arg(path, file.errorString()));
    return;
  }
  input_->setPlainText(QString::fromUtf8(file.readAll()));
}

}  // namespace logitscope::widgets
