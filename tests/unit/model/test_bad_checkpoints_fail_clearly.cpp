// SPDX-License-Identifier: GPL-3.0-or-later
// Broken checkpoints: each fault gives one clear error naming the file and what was expected, and
// nothing crashes (a truncated file is caught before it is mapped, so no SIGBUS).
#include <QtTest>

#include <fstream>
#include <functional>

#include "checkpoint_edit.h"
#include "golden.h"
#include "logitscope/errors.h"
#include "logitscope/model.h"

using namespace logitscope;
namespace fs = std::filesystem;

namespace {

using logitscope::test::edit_header;
using logitscope::test::load_error;
using logitscope::test::read_all;
using logitscope::test::write_all;

fs::path copy_fixture(const QTemporaryDir& tmp, const std::string& name) {
  return logitscope::test::copy_fixture_dir(tmp, logitscope::test::fixtures_dir() / "models" / name);
}

}  // namespace

class BadCheckpointsFailClearly : public QObject {
  Q_OBJECT
 private slots:
  void truncated_file() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-every-kind");
    const fs::path file = dir / "model.safetensors";
    fs::resize_file(file, fs::file_size(file) / 2);
    const std::string message = load_error(dir);
    QVERIFY2(message.find("model.safetensors") != std::string::npos && message.find("truncated") != std::string::npos,
             message.c_str());
  }

  void corrupt_header() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-every-kind");
    std::string bytes = read_all(dir / "model.safetensors");
    bytes[8] = '#';  // the header's opening brace
    write_all(dir / "model.safetensors", bytes);
    QVERIFY(load_error(dir).find("header is not valid JSON") != std::string::npos);
    bytes[0] = '\xff';
    bytes[5] = '\x7f';
    write_all(dir / "model.safetensors", bytes);
    QVERIFY(load_error(dir).find("header length") != std::string::npos);
  }

  void header_faults_data() {
    QTest::addColumn<QString>("fault");
    QTest::addColumn<QString>("expected");
    QTest::newRow("dtype") << "dtype" << "unknown dtype 'Q4'";
    QTest::newRow("byte size") << "size" << "needs";
    QTest::newRow("overlap") << "overlap" << "overlap";
    QTest::newRow("out of file") << "beyond" << "truncated";
    QTest::newRow("missing tensor") << "rename" << "missing tensor backbone.norm_f.weight";
    QTest::newRow("extra tensor") << "rename" << "unexpected tensor backbone.norm_f.renamed";
    QTest::newRow("wrong dtype for compute") << "int" << "has dtype I32";
  }
  void header_faults() {
    QFETCH(QString, fault);
    QFETCH(QString, expected);
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-every-kind");
    edit_header(dir / "model.safetensors", [&](nlohmann::json& h) {
      auto& t = h["backbone.norm_f.weight"];
      if (fault == "dtype") t["dtype"] = "Q4";
      if (fault == "size") t["shape"] = {65};
      if (fault == "overlap") t["data_offsets"] = h["backbone.layers.0.norm.weight"]["data_offsets"];  // same size
      if (fault == "beyond") t["data_offsets"] = {1ull << 40, (1ull << 40) + 256};
      if (fault == "rename") {
        h["backbone.norm_f.renamed"] = t;
        h.erase("backbone.norm_f.weight");
      }
      if (fault == "int") t["dtype"] = "I32";
    });
    const std::string message = load_error(dir);
    QVERIFY2(message.find(expected.toStdString()) != std::string::npos, message.c_str());
  }

  // A user retrying a broken download must not run the process out of file descriptors or address
  // space: every failed load gives back what it opened (fuzz_safetensors_header once ran out of
  // descriptors because a header that failed validation leaked one).
  void failed_loads_leak_no_descriptors() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-every-kind");
    edit_header(dir / "model.safetensors", [](nlohmann::json& h) { h["backbone.norm_f.weight"]["dtype"] = "Q4"; });
    auto open_descriptors = [] {
      std::size_t n = 0;
      for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
      return n;
    };
    QVERIFY(!load_error(dir).empty());  // first use warms caches that may hold descriptors
    const std::size_t before = open_descriptors();
    for (int i = 0; i < 200; ++i) QVERIFY(!load_error(dir).empty());
    QCOMPARE(open_descriptors(), before);
  }

  void wrong_shape_for_the_config() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-every-kind");
    auto config = logitscope::test::read_json(dir / "config.json");
    config["moe_intermediate_size"] = 40;
    write_all(dir / "config.json", config.dump());
    const std::string message = load_error(dir);
    QVERIFY2(message.find("has shape [32, 64], expected [40, 64]") != std::string::npos, message.c_str());
  }

  void missing_shard() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-groups-bf16-sharded");
    fs::remove(dir / "model-00007-of-00018.safetensors");
    const std::string message = load_error(dir);
    QVERIFY2(message.find("shard model-00007-of-00018.safetensors is missing") != std::string::npos, message.c_str());
  }

  void bad_config() {
    QTemporaryDir tmp;
    const fs::path dir = copy_fixture(tmp, "tiny-every-kind");
    write_all(dir / "config.json", "{\"hidden_size\": 64,");
    const std::string message = load_error(dir);
    QVERIFY2(message.find("config.json: not valid JSON") != std::string::npos, message.c_str());
    fs::remove(dir / "config.json");
    QVERIFY(load_error(dir).find("has no config.json") != std::string::npos);
  }

  void a_good_copy_still_loads() {
    QTemporaryDir tmp;
    QVERIFY(load_error(copy_fixture(tmp, "tiny-groups-bf16-sharded")).empty());
  }
};

QTEST_APPLESS_MAIN(BadCheckpointsFailClearly)
#include "test_bad_checkpoints_fail_clearly.moc"
