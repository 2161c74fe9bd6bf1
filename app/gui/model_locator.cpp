// SPDX-License-Identifier: GPL-3.0-or-later
#include "model_locator.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

namespace logitscope::gui {

QString demo_model_dir() {
  QStringList candidates;
  const QString from_env = qEnvironmentVariable("LOGITSCOPE_DEMO_MODEL");
  if (!from_env.isEmpty()) candidates << from_env;
  candidates << QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("../share/logitscope/demo-model"));
#ifdef LOGITSCOPE_SOURCE_RESOURCES_DIR
  candidates << QStringLiteral(LOGITSCOPE_SOURCE_RESOURCES_DIR "/demo-model");
#endif
  for (const QString& candidate : candidates) {
    if (QFileInfo::exists(QDir(candidate).filePath(QStringLiteral("config.json")))) {
      return QFileInfo(candidate).canonicalFilePath();
    }
  }
  return {};
}

bool is_demo_model(const QString& snapshot_dir) {
  const QString demo = demo_model_dir();
  const QString canonical = QFileInfo(snapshot_dir).canonicalFilePath();
  if (!demo.isEmpty() && canonical == demo) return true;
  QFile config(QDir(snapshot_dir).filePath(QStringLiteral("config.json")));
  if (!config.open(QIODevice::ReadOnly)) return false;
  return QJsonDocument::fromJson(config.readAll()).object().value(QStringLiteral("logitscope_demo")).toBool();
}

}  // namespace logitscope::gui
