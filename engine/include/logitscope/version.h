// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

namespace logitscope {
const char* version_string();
}
