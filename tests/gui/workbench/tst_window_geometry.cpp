// SPDX-License-Identifier: GPL-3.0-or-later
// The window on a screen of LOGITSCOPE_TEST_SCREEN (WxH; default 1024x768, VNC's default): the
// offscreen platform is given one screen of that size. The window opens inside it with every dock
// reachable, a geometry saved on a larger screen is not restored, one that fits is.
#include <QApplication>
#include <QDockWidget>
#include <QScreen>
#include <QSettings>
#include <QTemporaryDir>
#include <QTest>

#include "main_window.h"
#include "settings_store.h"
#include "window_geometry.h"

using namespace logitscope::gui;

namespace {

QSize screen_size() {
  const QByteArray text = qgetenv("LOGITSCOPE_TEST_SCREEN");
  const QList<QByteArray> parts = (text.isEmpty() ? QByteArray("1024x768") : text).split('x');
  return QSize(parts.value(0).toInt(), parts.value(1).toInt());
}

void clear_saved_window() {
  QSettings settings;
  settings.remove(QStringLiteral("window"));
  settings.sync();
}

}  // namespace

class TestWindowGeometry : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() {
    QCOMPARE(QGuiApplication::primaryScreen()->geometry().size(), screen_size());
    clear_saved_window();
  }

  void fitted_rect_arithmetic() {
    const QRect small(0, 0, 1024, 768);
    QRect r = fitted_window_rect(QSize(1600, 1000), QSize(600, 400), small);
    QVERIFY(small.contains(r));
    QCOMPARE(r.size(), QSize(1024 - 32, 768 - 32));
    // A large screen keeps the preferred size, centred.
    r = fitted_window_rect(QSize(1600, 1000), QSize(600, 400), QRect(0, 0, 2560, 1440));
    QCOMPARE(r.size(), QSize(1600, 1000));
    QCOMPARE(r.center(), QRect(0, 0, 2560, 1440).center());
    // The minimum beats the margin but never the screen.
    r = fitted_window_rect(QSize(1600, 1000), QSize(1010, 760), small);
    QCOMPARE(r.size(), QSize(1010, 760));
    r = fitted_window_rect(QSize(1600, 1000), QSize(2000, 900), small);
    QVERIFY(small.contains(r));
    QVERIFY(fits_a_screen(QRect(10, 10, 900, 700), {small}));
    QVERIFY(!fits_a_screen(QRect(0, 0, 1600, 1000), {small}));
    QVERIFY(fits_a_screen(QRect(1100, 10, 900, 700), {small, QRect(1024, 0, 1920, 1080)}));
  }

  void opens_within_the_screen_with_every_dock_reachable() {
    WindowOptions options;
    options.telemetry = QStringLiteral("none");
    MainWindow window(options);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    const QRect available = window.screen()->availableGeometry();
    qInfo() << "screen" << available << "window" << window.frameGeometry() << "minimum" << window.minimumSizeHint();
    QVERIFY2(available.contains(window.frameGeometry()), "the window is larger than the screen");
    QVERIFY(window.minimumSizeHint().width() <= available.width());
    QVERIFY(window.minimumSizeHint().height() <= available.height());
    // Every dock is inside the window and not squeezed shut; a tab (Telemetry beside Routing) is
    // checked once raised, as a click on its tab would.
    const QRect inside = window.rect();
    for (QDockWidget* dock : window.findChildren<QDockWidget*>()) {
      QVERIFY2(!dock->isFloating(), qPrintable(dock->windowTitle()));
      if (!window.tabifiedDockWidgets(dock).isEmpty()) {
        dock->raise();
        QTest::qWait(20);
      }
      QVERIFY2(!dock->visibleRegion().isEmpty(), qPrintable(dock->windowTitle() + " is not on screen"));
      const QRect where(dock->mapTo(&window, QPoint(0, 0)), dock->size());
      QVERIFY2(inside.contains(where), qPrintable(dock->windowTitle() + " is cut off"));
      QVERIFY2(dock->width() >= 120 && dock->height() >= 80, qPrintable(dock->windowTitle() + " is squeezed shut"));
    }
    window.close();
  }

  void geometry_from_a_larger_screen_is_not_restored() {
    {
      QWidget big;
      big.setGeometry(0, 0, screen_size().width() + 600, screen_size().height() + 400);
      QSettings settings;
      QVERIFY(begin_settings_write(settings));
      settings.setValue(QStringLiteral("window/geometry"), big.saveGeometry());
    }
    WindowOptions options;
    options.telemetry = QStringLiteral("none");
    MainWindow window(options);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY2(window.screen()->availableGeometry().contains(window.frameGeometry()),
             qPrintable(QStringLiteral("restored %1x%2").arg(window.width()).arg(window.height())));
    window.close();
    clear_saved_window();
  }

  void geometry_that_fits_is_restored() {
    const QRect wanted(20, 30, 900, 640);
    {
      MainWindow sized;
      sized.setGeometry(wanted);
      QSettings settings;
      QVERIFY(begin_settings_write(settings));
      settings.setValue(QStringLiteral("window/geometry"), sized.saveGeometry());
    }
    WindowOptions options;
    options.telemetry = QStringLiteral("none");
    MainWindow window(options);
    QCOMPARE(window.geometry().size(), wanted.size());
    clear_saved_window();
  }
};

int main(int argc, char** argv) {
  // One offscreen screen of the size under test (the offscreen plugin reads screens from a file).
  QTemporaryDir dir;
  const QString config = dir.filePath(QStringLiteral("screens.json"));
  QFile file(config);
  if (!file.open(QIODevice::WriteOnly)) return 1;
  const QSize size = screen_size();
  file.write(QStringLiteral(R"({"screens": [{"name": "test", "x": 0, "y": 0, "width": %1, "height": %2,
                                 "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]})")
                 .arg(size.width()).arg(size.height()).toUtf8());
  file.close();
  qputenv("QT_QPA_PLATFORM", QByteArray("offscreen:configfile=") + config.toUtf8());
  qputenv("LOGITSCOPE_NO_CLOSE_PROMPT", "1");
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("logitscope-tests"));
  QApplication::setApplicationName(QStringLiteral("window-geometry"));
  TestWindowGeometry test;
  return QTest::qExec(&test, argc, argv);
}

#include "tst_window_geometry.moc"
