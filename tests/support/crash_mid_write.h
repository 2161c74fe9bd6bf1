// SPDX-License-Identifier: GPL-3.0-or-later
// Killing a writer in the middle of a save, deterministically. The test program starts itself again
// as a child (environment LOGITSCOPE_CRASH_CHILD=<mode>, LOGITSCOPE_CRASH_PATH=<file>); the child
// arms stall_writes_in(<folder of the file>) and saves. crash_mid_write.cpp defines write(2) in the
// test program, which the dynamic linker prefers over libc's for Qt's calls too: the first write to
// a file in that folder (QLockFile's "*.lock" aside) puts half of its bytes on disk, reports the
// path on stdout and waits. The parent then sends SIGKILL, so the kill always lands after part of
// the data is on disk and before the save could finish. No sleeps, no races, no hook in the code
// under test.
//
// Link crash_mid_write.cpp into the test and start main() with:
//   if (!logitscope::test::crash_child_mode().isEmpty()) return run_the_child_save();
#pragma once

#include <QString>

namespace logitscope::test {

// The child's mode and target file, or empty in the parent.
QString crash_child_mode();
QString crash_child_path();

// Child side: from now on the first write(2) to a regular file in `folder` stalls as described.
void stall_writes_in(const QString& folder);

struct KilledChild {
  bool stalled = false;   // the child reported a stalled write and was SIGKILLed there
  QString stalled_on;     // what /proc/self/fd showed for that file, e.g. "/dir/#123 (deleted)"
  QString log;            // the child's stdout and stderr, for failure messages
};

// Parent side: runs this program as a child in `mode` on `path`, waits (up to `timeout_ms`) for the
// stalled write, SIGKILLs the child and reaps it.
KilledChild run_child_and_kill_mid_write(const QString& mode, const QString& path, int timeout_ms = 60000);

}  // namespace logitscope::test
