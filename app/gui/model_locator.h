// SPDX-License-Identifier: GPL-3.0-or-later
// Where the bundled toy demo model is, and whether a snapshot is it (the window title says so).
#pragma once

#include <QString>

namespace logitscope::gui {

// The demo model folder: $LOGITSCOPE_DEMO_MODEL, else share/logitscope/demo-model next to the
// installed binary, else resources/demo-model of the source tree the binary was built from.
// Empty when none of these holds a config.json.
QString demo_model_dir();

// True for the demo folder, or any snapshot whose config.json says "logitscope_demo": true.
bool is_demo_model(const QString& snapshot_dir);

}  // namespace logitscope::gui
