// SPDX-License-Identifier: GPL-3.0-or-later
// --model as a folder or a hub id in a Hugging Face cache laid out like the real one
// (models--ORG--NAME/refs/main + snapshots/<commit>/), with revisions, and the messages when absent.
#include <QtTest>

#include <cstdlib>
#include <fstream>

#include "golden.h"
#include "logitscope/errors.h"
#include "logitscope/model.h"
#include "logitscope/snapshot.h"

using namespace logitscope;
namespace fs = std::filesystem;

namespace {

const std::string kCommitA = "0123456789abcdef0123456789abcdef01234567";
const std::string kCommitB = "fedcba9876543210fedcba9876543210fedcba98";

// A cache with nvidia/Tiny at two commits: main -> A, refs/pr/1 -> B.
fs::path make_cache(const fs::path& root) {
  const fs::path repo = root / "models--nvidia--Tiny";
  const fs::path fixture = logitscope::test::fixtures_dir() / "models" / "tiny-every-kind";
  for (const auto& commit : {kCommitA, kCommitB}) {
    fs::create_directories(repo / "snapshots" / commit);
    for (const auto& f : fs::directory_iterator(fixture)) fs::copy(f.path(), repo / "snapshots" / commit / f.path().filename());
  }
  fs::create_directories(repo / "refs" / "pr");
  std::ofstream(repo / "refs" / "main") << kCommitA;
  std::ofstream(repo / "refs" / "pr" / "1") << kCommitB << "\n";
  fs::create_directories(root / "models--other--Thing");
  return root;
}

std::string error_of(const SnapshotQuery& q) {
  try {
    resolve_snapshot(q);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class SnapshotResolution : public QObject {
  Q_OBJECT
 private slots:
  void a_folder_is_used_as_is() {
    SnapshotQuery q;
    q.model = (logitscope::test::fixtures_dir() / "models" / "tiny-every-kind").string();
    QCOMPARE(resolve_snapshot(q), fs::path(q.model));
  }

  void hub_id_with_revisions() {
    QTemporaryDir tmp;
    const fs::path cache = make_cache(tmp.path().toStdString());
    SnapshotQuery q;
    q.model = "nvidia/Tiny";
    q.cache_dir = cache;
    QCOMPARE(resolve_snapshot(q).filename().string(), kCommitA);
    q.revision = "refs/pr/1";
    QCOMPARE(resolve_snapshot(q).filename().string(), kCommitB);
    q.revision = "pr/1";
    QCOMPARE(resolve_snapshot(q).filename().string(), kCommitB);
    q.revision = kCommitB;
    QCOMPARE(resolve_snapshot(q).filename().string(), kCommitB);
    q.revision = kCommitB.substr(0, 10);
    QCOMPARE(resolve_snapshot(q).filename().string(), kCommitB);
    // The model loads from there too.
    LoadOptions options;
    options.snapshot = q;
    QCOMPARE(Model::load(options)->config().pattern(), std::string("M*EM-EM*E"));
  }

  void environment_decides_the_cache() {
    QTemporaryDir tmp;
    const fs::path cache = make_cache(fs::path(tmp.path().toStdString()) / "hub");
    SnapshotQuery q;
    q.model = "nvidia/Tiny";
    ::unsetenv("HF_HUB_CACHE");
    ::setenv("HF_HOME", tmp.path().toUtf8().constData(), 1);
    QCOMPARE(resolve_snapshot(q).filename().string(), kCommitA);
    ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
    QCOMPARE(hub_cache_dir(q), cache);
    ::unsetenv("HF_HUB_CACHE");
    ::unsetenv("HF_HOME");
  }

  void absent_model_says_where_it_looked() {
    QTemporaryDir tmp;
    const fs::path cache = make_cache(tmp.path().toStdString());
    SnapshotQuery q;
    q.model = "nvidia/Missing";
    q.cache_dir = cache;
    const std::string message = error_of(q);
    QVERIFY2(message.find((cache / "models--nvidia--Missing").string()) != std::string::npos, message.c_str());
    QVERIFY2(message.find("nvidia/Tiny") != std::string::npos, message.c_str());  // what was found instead
    QVERIFY2(message.find("other/Thing") != std::string::npos, message.c_str());
    q.model = "nvidia/Tiny";
    q.revision = "v2";
    const std::string revision_message = error_of(q);
    QVERIFY2(revision_message.find("revision 'v2'") != std::string::npos, revision_message.c_str());
    QVERIFY2(revision_message.find("main") != std::string::npos, revision_message.c_str());
    q.model = (fs::path(tmp.path().toStdString()) / "no" / "such" / "dir").string();
    QVERIFY(error_of(q).find("does not exist") != std::string::npos);
  }
};

QTEST_APPLESS_MAIN(SnapshotResolution)
#include "test_snapshot_resolution.moc"
