// SPDX-License-Identifier: GPL-3.0-or-later
#include "open_model_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDirIterator>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QRadioButton>
#include <QTimer>
#include <QVBoxLayout>

#include "logitscope/config.h"
#include "logitscope/errors.h"
#include "logitscope/snapshot.h"

namespace logitscope::gui {

QString describe_snapshot(const LoadRequest& request, bool* ok) {
  *ok = false;
  if (request.model.trimmed().isEmpty()) return QObject::tr("Choose a folder or enter a Hugging Face id.");
  try {
    SnapshotQuery query;
    query.model = request.model.trimmed().toStdString();
    query.revision = request.revision.isEmpty() ? std::string("main") : request.revision.toStdString();
    query.cache_dir = request.cache_dir.toStdString();
    const std::filesystem::path dir = resolve_snapshot(query);
    const ModelConfig config = load_model_config(dir / "config.json");
    const QuantizationConfig quantization = load_quantization_config(dir);
    const QDir qdir(QString::fromStdString(dir.string()));
    qint64 weight_bytes = 0;
    int shards = 0;
    for (const QFileInfo& file : qdir.entryInfoList({QStringLiteral("*.safetensors")}, QDir::Files)) {
      weight_bytes += file.size();  // follows the HF cache's symlinks to the blobs
      ++shards;
    }
    const bool tokenizer = qdir.exists(QStringLiteral("tokenizer.json"));
    const bool chat_template = qdir.exists(QStringLiteral("chat_template.jinja")) || qdir.exists(QStringLiteral("tokenizer_config.json"));
    QStringList lines;
    lines << QObject::tr("<b>Snapshot</b> %1").arg(qdir.absolutePath().toHtmlEscaped());
    lines << QObject::tr("<b>Type</b> %1, %2 layers: <tt>%3</tt>")
                 .arg(QString::fromStdString(config.model_type)).arg(config.layers.size())
                 .arg(QString::fromStdString(config.pattern()));
    lines << QObject::tr("<b>Layers</b> %1 Mamba, %2 attention, %3 MoE, %4 MLP")
                 .arg(config.count(LayerKind::Mamba)).arg(config.count(LayerKind::Attention))
                 .arg(config.count(LayerKind::Moe)).arg(config.count(LayerKind::Mlp));
    lines << QObject::tr("<b>Hidden</b> %1, <b>vocabulary</b> %2, <b>context</b> %3")
                 .arg(config.hidden_size).arg(config.vocab_size).arg(config.max_position_embeddings);
    if (config.n_routed_experts > 0) {
      lines << QObject::tr("<b>Experts</b> %1 routed, %2 per token, %3 shared")
                   .arg(config.n_routed_experts).arg(config.num_experts_per_tok).arg(config.n_shared_experts);
    }
    lines << QObject::tr("<b>Weights</b> %1 in %2 file(s), %3")
                 .arg(QLocale().formattedDataSize(weight_bytes)).arg(shards)
                 .arg(quantization.quantized() ? QString::fromStdString(quantization.describe()) + QObject::tr(" (ModelOpt)")
                                               : QString::fromStdString(config.torch_dtype));
    if (!request.quantize.isEmpty()) {
      if (quantization.quantized())
        throw Error("this snapshot is already " + quantization.describe() + ": choose \"as stored\" to load it");
      lines << QObject::tr("<b>On load</b> quantized to %1 (NVIDIA's exclusions: lm_head, attention, the Mamba projections "
                           "next to attention stay BF16)").arg(request.quantize.toUpper());
    }
    lines << QObject::tr("<b>Tokenizer</b> %1, <b>chat template</b> %2")
                 .arg(tokenizer ? QObject::tr("yes") : QObject::tr("none (tokens show as &lt;id&gt;)"))
                 .arg(chat_template ? QObject::tr("yes") : QObject::tr("none"));
    *ok = true;
    return lines.join(QStringLiteral("<br>"));
  } catch (const std::exception& error) {
    return QObject::tr("<span style='color:#c0392b'>%1</span>").arg(QString::fromStdString(error.what()).toHtmlEscaped());
  }
}

OpenModelDialog::OpenModelDialog(const LoadRequest& initial, QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Open Model"));
  folder_mode_ = new QRadioButton(tr("Snapshot folder"), this);
  hub_mode_ = new QRadioButton(tr("Hugging Face id in the local cache"), this);
  folder_ = new QLineEdit(this);
  folder_->setPlaceholderText(tr("a folder with config.json and *.safetensors"));
  auto* browse_folder = new QPushButton(tr("Browse…"), this);
  hub_id_ = new QLineEdit(this);
  hub_id_->setPlaceholderText(QStringLiteral("nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16"));
  cache_dir_ = new QLineEdit(this);
  cache_dir_->setPlaceholderText(tr("default: $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub"));
  auto* browse_cache = new QPushButton(tr("Browse…"), this);
  revision_ = new QLineEdit(this);
  revision_->setPlaceholderText(QStringLiteral("main"));
  backend_ = new QComboBox(this);
  backend_->addItem(tr("CPU (fp32 reference)"), QStringLiteral("cpu"));
  backend_->addItem(tr("CUDA"), QStringLiteral("cuda"));
  quantize_ = new QComboBox(this);
  quantize_->addItem(tr("as stored"), QString());
  quantize_->addItem(tr("FP8, quantized on load"), QStringLiteral("fp8"));
  quantize_->addItem(tr("NVFP4, quantized on load"), QStringLiteral("nvfp4"));
  quantize_->setToolTip(tr("Quantize a BF16 snapshot's Linear weights while it loads (NVIDIA ModelOpt's rules)"));
  summary_ = new QLabel(this);
  summary_->setWordWrap(true);
  summary_->setTextFormat(Qt::RichText);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  summary_->setMinimumHeight(summary_->fontMetrics().height() * 8);
  summary_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  buttons_ = new QDialogButtonBox(QDialogButtonBox::Open | QDialogButtonBox::Cancel, this);

  auto* folder_row = new QHBoxLayout;
  folder_row->addWidget(folder_, 1);
  folder_row->addWidget(browse_folder);
  auto* cache_row = new QHBoxLayout;
  cache_row->addWidget(cache_dir_, 1);
  cache_row->addWidget(browse_cache);
  auto* hub_form = new QFormLayout;
  hub_form->addRow(tr("Model id"), hub_id_);
  hub_form->addRow(tr("Cache folder"), cache_row);
  hub_form->addRow(tr("Revision"), revision_);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(folder_mode_);
  layout->addLayout(folder_row);
  layout->addWidget(hub_mode_);
  layout->addLayout(hub_form);
  auto* backend_form = new QFormLayout;
  backend_form->addRow(tr("Backend"), backend_);
  backend_form->addRow(tr("Weights"), quantize_);
  layout->addLayout(backend_form);
  layout->addWidget(summary_, 1);
  layout->addWidget(buttons_);

  // A hub id looks like owner/name and is not an existing folder.
  const bool is_folder = initial.model.isEmpty() || QFileInfo(initial.model).isDir() || !initial.model.contains(QLatin1Char('/'));
  (is_folder ? folder_mode_ : hub_mode_)->setChecked(true);
  (is_folder ? folder_ : hub_id_)->setText(initial.model);
  cache_dir_->setText(initial.cache_dir);
  revision_->setText(initial.revision == QLatin1String("main") ? QString() : initial.revision);
  backend_->setCurrentIndex(std::max(0, backend_->findData(initial.backend)));
  quantize_->setCurrentIndex(std::max(0, quantize_->findData(initial.quantize)));

  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(250);
  connect(debounce_, &QTimer::timeout, this, &OpenModelDialog::update_summary);
  for (QLineEdit* edit : {folder_, hub_id_, cache_dir_, revision_}) {
    connect(edit, &QLineEdit::textChanged, debounce_, qOverload<>(&QTimer::start));
  }
  connect(folder_mode_, &QRadioButton::toggled, debounce_, qOverload<>(&QTimer::start));
  connect(quantize_, &QComboBox::currentIndexChanged, debounce_, qOverload<>(&QTimer::start));
  connect(browse_folder, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Snapshot folder"), folder_->text());
    if (!dir.isEmpty()) {
      folder_->setText(dir);
      folder_mode_->setChecked(true);
    }
  });
  connect(browse_cache, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Hugging Face cache folder"), cache_dir_->text());
    if (!dir.isEmpty()) cache_dir_->setText(dir);
  });
  connect(buttons_, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
  remote_ = buttons_->addButton(tr("Remote Server…"), QDialogButtonBox::ActionRole);
  connect(remote_, &QPushButton::clicked, this, [this] { done(RemoteRequested); });
  update_summary();
}

LoadRequest OpenModelDialog::request() const {
  LoadRequest request;
  const bool folder = folder_mode_->isChecked();
  request.model = (folder ? folder_ : hub_id_)->text().trimmed();
  request.revision = folder || revision_->text().trimmed().isEmpty() ? QStringLiteral("main") : revision_->text().trimmed();
  request.cache_dir = folder ? QString() : cache_dir_->text().trimmed();
  request.backend = backend_->currentData().toString();
  request.quantize = quantize_->currentData().toString();
  return request;
}

QString OpenModelDialog::summary_text() const { return summary_->text(); }

void OpenModelDialog::offer_remote(bool offered) { remote_->setVisible(offered); }

void OpenModelDialog::update_summary() {
  bool ok = false;
  summary_->setText(describe_snapshot(request(), &ok));
  buttons_->button(QDialogButtonBox::Open)->setEnabled(ok);
}

}  // namespace logitscope::gui
