// SPDX-License-Identifier: GPL-3.0-or-later
// The surprise of any text: paste or open a text (or take the conversation through the chat
// template), and every token is shown coloured by its probability under the model, with the total
// and mean negative log-likelihood and the perplexity; a click on a token lists the model's top
// alternatives at that position and hands the token to the Lens, Router and Attention/Mamba docks
// ("Look inside" brings the Lens forward). The scores come from the engine worker (evaluate_text) as a
// workbench::ScoredText; the view never calls the engine.
#pragma once

#include <QColor>
#include <QWidget>

#include "scored_text.h"

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTableWidget;
class QTextBrowser;

namespace logitscope::widgets {

class SurpriseView : public QWidget {
  Q_OBJECT
 public:
  explicit SurpriseView(QWidget* parent = nullptr);

  void show_result(workbench::ScoredText text);
  void show_error(const QString& message);
  void set_busy(bool busy);
  // Scoring needs a local model (a remote server gives no prompt logprobs): off with the reason.
  void set_available(bool available, const QString& why = {});
  // Token `index` of the result (>= 1: scored positions) becomes the one whose alternatives show.
  void select_token(int index);

  // What is shown, for tests.
  const workbench::ScoredText& result() const { return result_; }
  int selected() const { return selected_; }
  QString summary_text() const;
  QString detail_text() const;
  QColor token_colour(int index) const;  // background of token `index` (>= 1)
  QTableWidget* table() const { return table_; }
  QTextBrowser* text_view() const { return view_; }
  void set_input_text(const QString& text);
  QString input_text() const;

 signals:
  void score_text_requested(const QString& text);
  void score_conversation_requested();
  // Token `index` of result() (>= 1) was selected: the inside docks should read the text there.
  void token_selected(int index);
  void look_inside_requested();  // the "Look inside" button: bring a dock that shows the token forward

 private:
  void open_file();
  void render();
  void update_buttons();  // the score buttons work when a model is there and nothing is scoring

  QPlainTextEdit* input_;
  QPushButton* score_text_;
  QPushButton* score_conversation_;
  QPushButton* open_;
  QPushButton* look_inside_;
  QLabel* summary_;
  QTextBrowser* view_;
  QLabel* detail_;
  QTableWidget* table_;
  workbench::ScoredText result_;
  int selected_ = -1;
  bool busy_ = false;
  bool available_ = false;
};

}  // namespace logitscope::widgets
