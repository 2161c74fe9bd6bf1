// SPDX-License-Identifier: GPL-3.0-or-later
// A shard truncated while the model is memory-mapped: the next forward pass must end in a
// logitscope::Error naming the shard, not in SIGBUS. A shard replaced by rename keeps working (the
// mapping holds the old inode). Runs on a copy of a fixture model in a temporary folder.
#include <QTemporaryDir>
#include <QtTest>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "golden.h"
#include "logitscope/errors.h"
#include "logitscope/model.h"
#include "logitscope/session.h"
#include "model/mapped_file_guard.h"

using namespace logitscope;
namespace fs = std::filesystem;

namespace {

fs::path copy_fixture(const QTemporaryDir& tmp, const std::string& name) {
  const fs::path dir = fs::path(tmp.path().toStdString()) / name;
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(logitscope::test::fixtures_dir() / "models" / name))
    fs::copy_file(entry.path(), dir / entry.path().filename());
  return dir;
}

std::unique_ptr<Model> load(const fs::path& dir) {
  LoadOptions options;
  options.snapshot.model = dir.string();
  options.max_context = 256;
  options.threads = 2;
  return Model::load(options);
}

std::uint64_t header_end(const fs::path& shard) {
  std::ifstream in(shard, std::ios::binary);
  unsigned char len[8] = {};
  in.read(reinterpret_cast<char*>(len), 8);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
  return 8 + n;
}

}  // namespace

class FaultTruncatedShard : public QObject {
  Q_OBJECT
 private slots:
  void truncated_while_mapped_is_an_error() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const fs::path dir = copy_fixture(tmp, "tiny-every-kind");
    auto model = load(dir);
    const auto prompt = logitscope::test::golden("tiny-every-kind").at("prompt_ids").get<std::vector<TokenId>>();
    auto session = std::make_unique<Session>(*model);
    session->prefill(prompt);
    session->flush();  // works while the file is whole
    const std::size_t faults_before = guarded_mapping_fault_count();

    // Cut the shard down to its header: every weight page now lies past the end of the file.
    const fs::path shard = dir / "model.safetensors";
    QCOMPARE(::truncate(shard.c_str(), static_cast<off_t>(header_end(shard))), 0);

    session->prefill(prompt);
    bool threw = false;
    try {
      session->flush();
    } catch (const Error& e) {
      threw = true;
      const QString message = QString::fromStdString(e.what());
      QVERIFY2(message.contains("model.safetensors") && message.contains("truncated"), qPrintable(message));
    }
    QVERIFY(threw);
    QVERIFY(guarded_mapping_fault_count() > faults_before);
    // Still alive, and the model stays refused until it is unloaded.
    bool threw_again = false;
    try {
      (void)session->evaluate(prompt);
    } catch (const Error&) {
      threw_again = true;
    }
    QVERIFY(threw_again);
    session.reset();
    model.reset();
    // Once the mapping is gone the process is clean again: a fresh copy loads and runs.
    const fs::path again = copy_fixture(tmp, "tiny-fused-experts");
    auto fresh = load(again);
    Session ok(*fresh);
    ok.prefill(std::vector<TokenId>{1, 2, 3});
    ok.flush();
    QVERIFY(!ok.last_logits().empty());
  }

  void truncated_before_load_is_an_error() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-fused-experts");
    const fs::path shard = dir / "model.safetensors";
    QCOMPARE(::truncate(shard.c_str(), static_cast<off_t>(header_end(shard) + 100)), 0);
    bool threw = false;
    try {
      load(dir);
    } catch (const Error& e) {
      threw = true;
      QVERIFY2(QString(e.what()).contains("truncated"), e.what());
    }
    QVERIFY(threw);
  }

  void replaced_by_rename_keeps_working() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-fused-experts");
    auto model = load(dir);
    const std::vector<TokenId> prompt{3, 1, 4, 1, 5};
    const std::vector<float> before = Session(*model).evaluate(prompt);
    // A download tool writes the new file next to the old one and renames it over: the mapping keeps
    // the old inode, so the loaded model is unaffected.
    const fs::path shard = dir / "model.safetensors";
    const fs::path incoming = dir / "model.safetensors.part";
    fs::copy_file(shard, incoming);
    { std::fstream f(incoming, std::ios::in | std::ios::out | std::ios::binary); f.seekp(-16, std::ios::end); f.write("garbage-garbage!", 16); }
    fs::rename(incoming, shard);
    Session session(*model);
    const std::vector<float> after = session.evaluate(prompt);
    QCOMPARE(after, before);
  }
};

QTEST_GUILESS_MAIN(FaultTruncatedShard)
#include "test_fault_truncated_shard.moc"
