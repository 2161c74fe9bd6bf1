// SPDX-License-Identifier: GPL-3.0-or-later
// `logitscope-cli serve` end to end: builds a chat-capable snapshot (a fixture checkpoint plus a
// tokenizer and template written by make-snapshot.js), starts two servers on free loopback ports
// and runs the Node suites against them with the official `openai` client:
//  - main server (API key, default queue): api, bad-input, load (32 concurrent streams);
//  - slow server (--max-queue 1, a delay per token): 429 on a full queue, disconnect cancels.
// Afterwards both must still be alive, within bounded threads, and exit cleanly on SIGTERM.
#include <QtTest>

#include <QProcess>
#include <QTemporaryDir>

#include <csignal>
#include <fstream>
#include <memory>

#include "test_support.h"

namespace {

const char* kModelName = "tiny-chat";
const char* kApiKey = "test-key-123";

QString scripts_dir() { return QString::fromUtf8(LOGITSCOPE_SERVE_SCRIPTS); }
QString deps_dir() { return QString::fromUtf8(LOGITSCOPE_SERVE_DEPS); }

// A running `serve` process and the URL it printed.
struct Server {
  std::unique_ptr<QProcess> process;
  QString base_url;  // http://127.0.0.1:PORT/v1
  QByteArray log;

  bool start(const QStringList& args, QString* error) {
    process = std::make_unique<QProcess>();
    process->setProcessChannelMode(QProcess::SeparateChannels);
    process->start(QString::fromUtf8(LOGITSCOPE_CLI_PATH), args);
    if (!process->waitForStarted(10000)) {
      *error = "serve did not start";
      return false;
    }
    QByteArray out;
    QElapsedTimer timer;
    timer.start();
    while (!out.contains('\n') && timer.elapsed() < 120000) {
      if (!process->waitForReadyRead(1000) && process->state() != QProcess::Running) break;
      out += process->readAllStandardOutput();
    }
    log += process->readAllStandardError();
    const QByteArray line = out.left(out.indexOf('\n')).trimmed();
    const QByteArray prefix = "listening on ";
    if (!line.startsWith(prefix)) {
      *error = QString("serve did not report its address: stdout %1 stderr %2").arg(QString(out), QString(log));
      return false;
    }
    base_url = QString::fromUtf8(line.mid(prefix.size())) + "/v1";
    return true;
  }

  bool alive() const { return process && process->state() == QProcess::Running; }

  // /proc/PID/status field (Threads, VmRSS) as a number, -1 when unavailable.
  long proc_status(const char* field) const {
    std::ifstream in("/proc/" + std::to_string(process->processId()) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field) + 1));
    return -1;
  }

  // SIGTERM, then the exit status (or -1 when it had to be killed).
  int stop() {
    if (!alive()) return process ? process->exitCode() : -1;
    ::kill(pid_t(process->processId()), SIGTERM);
    if (!process->waitForFinished(15000)) {
      process->kill();
      process->waitForFinished(5000);
      return -1;
    }
    log += process->readAllStandardError();
    return process->exitStatus() == QProcess::NormalExit ? process->exitCode() : -1;
  }
};

struct NodeResult {
  int exit_code = -1;
  QByteArray out;
};

NodeResult run_suite(const QString& suite, const Server& server, const QString& key, const QString& model = kModelName) {
  QProcess node;
  node.setProcessChannelMode(QProcess::MergedChannels);
  node.setWorkingDirectory(scripts_dir());
  QStringList args = {scripts_dir() + "/serve-client.js", suite, "--base-url", server.base_url, "--model", model,
                      "--deps", deps_dir()};
  if (!key.isEmpty()) args << "--api-key" << key;
  node.start("node", args);
  NodeResult r;
  if (!node.waitForStarted(10000)) return r;
  if (!node.waitForFinished(280000)) {
    node.kill();
    node.waitForFinished(5000);
  }
  r.out = node.readAll();
  r.exit_code = node.exitStatus() == QProcess::NormalExit ? node.exitCode() : -1;
  return r;
}

}  // namespace

class ServeTest : public QObject {
  Q_OBJECT

  QTemporaryDir temp_;
  QString snapshot_;
  Server main_;
  Server slow_;

  void check_suite(const QString& suite, const Server& server, const QString& key, const QString& model = kModelName) {
    const NodeResult r = run_suite(suite, server, key, model);
    qInfo().noquote() << r.out;
    QVERIFY2(r.exit_code == 0, qPrintable(suite + " failed (exit " + QString::number(r.exit_code) + ")"));
    QVERIFY2(server.alive(), "the server died");
  }

 private slots:
  void initTestCase() {
    if (!QFileInfo::exists(deps_dir() + "/node_modules/openai/package.json"))
      QFAIL(qPrintable("the openai npm package is missing in " + deps_dir() +
                       "; run the serve_install test first (ctest -R serve_install)"));
    QVERIFY(temp_.isValid());
    snapshot_ = temp_.filePath("tiny-chat");
    const QString fixture = QString::fromStdString((logitscope::test::fixtures_dir() / "models" / "tiny-default-init").string());
    QProcess make;
    make.setProcessChannelMode(QProcess::MergedChannels);
    make.start("node", {scripts_dir() + "/make-snapshot.js", fixture, snapshot_});
    QVERIFY(make.waitForFinished(60000));
    QVERIFY2(make.exitCode() == 0, make.readAll().constData());

    QString error;
    QVERIFY2(main_.start({"serve", "--model", snapshot_, "--port", "0", "--api-key", kApiKey, "--served-model-name",
                          kModelName, "--max-context", "256", "--threads", "2"},
                         &error),
             qPrintable(error));
    QVERIFY2(slow_.start({"serve", "--model", snapshot_, "--port", "0", "--served-model-name", kModelName,
                          "--max-context", "512", "--threads", "1", "--max-queue", "1", "--debug-token-delay-ms", "20"},
                         &error),
             qPrintable(error));
    QVERIFY(main_.base_url.startsWith("http://127.0.0.1:"));
  }

  void openai_client_api() { check_suite("api", main_, kApiKey); }
  void bad_inputs_get_4xx() { check_suite("bad-input", main_, kApiKey); }

  void load_32_concurrent_streams() {
    const long threads_before = main_.proc_status("Threads:");
    check_suite("load", main_, kApiKey);
    const long threads_after = main_.proc_status("Threads:");
    const long rss_kb = main_.proc_status("VmRSS:");
    qInfo() << "server threads before/after load:" << threads_before << threads_after << "VmRSS kB:" << rss_kb;
    // httplib's pool (max-queue + 8) plus the generation worker, the CPU backend and the signal thread.
    QVERIFY(threads_after > 0 && threads_after <= 64 + 8 + 16);
  }

  void queue_bound_and_disconnect_cancel() { check_suite("queue", slow_, QString()); }

  // A second server on a port that one already listens on must fail, not share the port: with
  // SO_REUSEPORT the kernel would split the clients' connections between the two models.
  void second_server_on_a_busy_port_fails() {
    const QString port = main_.base_url.section(':', 2).section('/', 0, 0);
    QVERIFY(port.toInt() > 0);
    QProcess second;
    second.setProcessChannelMode(QProcess::SeparateChannels);
    second.start(QString::fromUtf8(LOGITSCOPE_CLI_PATH),
                 {"serve", "--model", snapshot_, "--port", port, "--threads", "1"});
    QVERIFY(second.waitForFinished(60000));
    const QByteArray out = second.readAllStandardOutput(), err = second.readAllStandardError();
    qInfo().noquote() << "second server:" << err.trimmed();
    QVERIFY2(!out.contains("listening"), out.constData());
    QCOMPARE(second.exitStatus(), QProcess::NormalExit);
    QVERIFY(second.exitCode() != 0);
    QVERIFY2(err.contains(("127.0.0.1:" + port).toUtf8()) && err.contains("already in use"), err.constData());
    QVERIFY2(main_.alive(), "the first server died");
  }

  // The bundled demo model is trained: it opens and closes <think>, so the split is exercised for real.
  void demo_model_reasoning() {
    const QString demo = QString::fromStdString((logitscope::test::data_dir() / ".." / "resources" / "demo-model").string());
    if (!QFileInfo::exists(demo + "/tokenizer.json") || !QFileInfo::exists(demo + "/model.safetensors"))
      QSKIP("resources/demo-model is not there");
    Server server;
    QString error;
    QVERIFY2(server.start({"serve", "--model", demo, "--port", "0", "--served-model-name", "demo", "--max-context", "1024",
                           "--threads", "2"},
                          &error),
             qPrintable(error));
    check_suite("demo", server, QString(), "demo");
    QCOMPARE(server.stop(), 0);
  }

  void cleanupTestCase() {
    const int main_exit = main_.stop();
    const int slow_exit = slow_.stop();
    if (main_exit != 0 || slow_exit != 0) qInfo().noquote() << "main server log:\n" << main_.log << "\nslow:\n" << slow_.log;
    QCOMPARE(main_exit, 0);
    QCOMPARE(slow_exit, 0);
  }
};

QTEST_MAIN(ServeTest)
#include "test_serve.moc"
