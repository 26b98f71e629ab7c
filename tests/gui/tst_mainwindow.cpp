// MainWindow end to end over a real Dispatcher: compose and submit -> a row appears -> it succeeds -> the
// response shows; a limit changed in the panel reaches the dispatcher; cancel from the context menu; pause,
// resume, priorities, demo mode with a loopback simulator, geometry remembered.
#include "chartpanel.h"
#include "composerpanel.h"
#include "dispatcher.h"
#include "limitspanel.h"
#include "logmodel.h"
#include "mainwindow.h"
#include "queuefiltermodel.h"
#include "queuemodel.h"
#include "responseview.h"
#include "simserver.h"
#include "simulatorpanel.h"
#include "statusbanner.h"
#include "transport/messagesclient.h"

#include <QAction>
#include <QChart>
#include <QCheckBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableView>
#include <QtTest>

using namespace sluice;
using namespace std::chrono_literals;

namespace {

// Answers every attempt from the event loop, streaming its text in two pieces, unless `hold` is set.
class FakeTransport : public Transport
{
public:
    bool hold = false;
    AttemptId send(const QJsonObject &body) override
    {
        const AttemptId id = ++m_next;
        if (!hold)
            QMetaObject::invokeMethod(
                this, [this, id, body] { answer(id, body); }, Qt::QueuedConnection);
        return id;
    }
    void cancel(AttemptId id) override
    {
        QMetaObject::invokeMethod(
            this,
            [this, id] {
                AttemptOutcome o;
                o.kind = ErrorKind::Cancelled;
                Q_EMIT finished(id, o);
            },
            Qt::QueuedConnection);
    }

private:
    void answer(AttemptId id, const QJsonObject &body)
    {
        if (body.value(QStringLiteral("stream")).toBool()) {
            Q_EMIT textDelta(id, QStringLiteral("Hello from "));
            Q_EMIT textDelta(id, QStringLiteral("the fake."));
        }
        AttemptOutcome o;
        o.httpStatus = 200;
        o.text = QStringLiteral("Hello from the fake.");
        o.usage.inputTokens = 12;
        o.usage.outputTokens = 5;
        o.stopReason = QStringLiteral("end_turn");
        o.requestId = QStringLiteral("req_fake_1");
        Q_EMIT finished(id, o);
    }
    AttemptId m_next = 0;
};

QAction *menuAction(QMenu *menu, const QString &text)
{
    for (QAction *a : menu->actions())
        if (a->text().remove(QLatin1Char('&')) == text)
            return a;
    return nullptr;
}

void selectRow(MainWindow &w, int row)
{
    w.queueView()->selectionModel()->setCurrentIndex(
        w.queueFilter()->index(row, 0), QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
}

} // namespace

class TestMainWindow : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void composeSubmitSucceedResponse();
    void limitPanelReachesDispatcher();
    void cancelFromContextMenu();
    void deleteKeyCancels();
    void pauseResumeDrain();
    void raiseAndLowerPriority();
    void demoModeWithSimulator();
    void geometryRemembered();
    void demoLoadOnlyInDemoMode();
    void demoLoadQueuesVariedRequestsAndFaults();
    void demoLoadFromEnvironment();
    void cooldownBannerCountsDownAfterA429();
    void followsTheSystemPalette();
    void screenshot();
};

void TestMainWindow::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("SluiceTest"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_mainwindow"));
}

void TestMainWindow::init()
{
    QSettings().clear();
}

void TestMainWindow::composeSubmitSucceedResponse()
{
    SteadyClock clock;
    FakeTransport transport;
    Dispatcher dispatcher(transport, clock);
    MainWindow w(dispatcher, clock);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));

    ComposerPanel *c = w.composer();
    c->promptEdit()->setPlainText(QStringLiteral("Say hello"));
    c->streamBox()->setChecked(true);
    QTest::mouseClick(c->submitButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(w.queueFilter()->rowCount(), 1, 2000);
    QTRY_COMPARE_WITH_TIMEOUT(dispatcher.request(1)->state, RequestState::Succeeded, 2000);
    QTRY_COMPARE_WITH_TIMEOUT(w.queueFilter()->index(0, QueueModel::StateColumn).data().toString(),
                              QStringLiteral("succeeded"), 2000);

    selectRow(w, 0);
    QCOMPARE(w.selectedRequests(), QList<RequestId>{1});
    QCOMPARE(w.responseView()->currentRequest(), RequestId(1));
    QCOMPARE(w.responseView()->text(), QStringLiteral("Hello from the fake."));
    QVERIFY2(w.responseView()->usageText().startsWith(QStringLiteral("Usage: 12 input · 5 output tokens")),
             qPrintable(w.responseView()->usageText()));
    QCOMPARE(w.responseView()->stopReasonText(), QStringLiteral("Stop reason: end_turn"));
    w.tick();
    QVERIFY2(w.statusText().contains(QStringLiteral("1 succeeded")), qPrintable(w.statusText()));
}

void TestMainWindow::limitPanelReachesDispatcher()
{
    SteadyClock clock;
    FakeTransport transport;
    Dispatcher dispatcher(transport, clock);
    MainWindow w(dispatcher, clock);
    w.show();
    auto *rpm = w.limitsPanel()->findChildren<QDoubleSpinBox *>().first(); // requests/min
    rpm->setValue(60);
    QPushButton *apply = nullptr;
    for (QPushButton *b : w.limitsPanel()->findChildren<QPushButton *>())
        if (b->text().remove(QLatin1Char('&')) == QStringLiteral("Apply"))
            apply = b;
    QVERIFY(apply);
    QTest::mouseClick(apply, Qt::LeftButton);
    QCOMPARE(dispatcher.options().limits.requests.perMinute, 60.0);
    // The dispatcher's gauge shows it on the next tick, and it is remembered.
    w.tick();
    QCOMPARE(dispatcher.stats().requests.perMinute, 60.0);
    QCOMPARE(QSettings().value(QStringLiteral("limits/requests_per_minute")).toDouble(), 60.0);

    // The next window restores and applies it.
    FakeTransport transport2;
    Dispatcher dispatcher2(transport2, clock);
    MainWindow w2(dispatcher2, clock);
    QCOMPARE(dispatcher2.options().limits.requests.perMinute, 60.0);
}

void TestMainWindow::cancelFromContextMenu()
{
    SteadyClock clock;
    FakeTransport transport;
    transport.hold = true; // attempts stay in flight until cancelled
    DispatchOptions o;
    o.limits.requests.perMinute = 6000; // a known limit: no waiting for the first response to teach one
    Dispatcher dispatcher(transport, clock, o);
    MainWindow w(dispatcher, clock);
    w.show();
    w.composer()->promptEdit()->setPlainText(QStringLiteral("long job"));
    w.composer()->countBox()->setValue(3);
    QVERIFY(w.composer()->submitMany());
    QTRY_COMPARE_WITH_TIMEOUT(w.queueFilter()->rowCount(), 3, 2000);
    QTRY_COMPARE_WITH_TIMEOUT(dispatcher.request(2)->state, RequestState::InFlight, 2000);

    selectRow(w, 1);
    QAction *cancel = menuAction(w.queueMenu(), QStringLiteral("Cancel"));
    QVERIFY(cancel);
    QVERIFY(cancel->isEnabled());
    cancel->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(dispatcher.request(2)->state, RequestState::Cancelled, 2000);
    QCOMPARE(dispatcher.request(1)->state, RequestState::InFlight);
    QCOMPARE(dispatcher.request(3)->state, RequestState::InFlight);
    QTRY_COMPARE_WITH_TIMEOUT(w.queueFilter()->index(1, QueueModel::StateColumn).data().toString(),
                              QStringLiteral("cancelled"), 2000);
}

void TestMainWindow::deleteKeyCancels()
{
    SteadyClock clock;
    FakeTransport transport;
    Dispatcher dispatcher(transport, clock);
    dispatcher.pause(); // stays queued
    MainWindow w(dispatcher, clock);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    dispatcher.submit(w.composer()->requestBody());
    QTRY_COMPARE_WITH_TIMEOUT(w.queueFilter()->rowCount(), 1, 2000);
    w.queueView()->setFocus();
    selectRow(w, 0);
    QTest::keyClick(w.queueView(), Qt::Key_Delete);
    QCOMPARE(dispatcher.request(1)->state, RequestState::Cancelled);
}

void TestMainWindow::pauseResumeDrain()
{
    SteadyClock clock;
    FakeTransport transport;
    Dispatcher dispatcher(transport, clock);
    MainWindow w(dispatcher, clock);
    QVERIFY(w.pauseAction()->isEnabled());
    QVERIFY(!w.resumeAction()->isEnabled());
    w.pauseAction()->trigger();
    QVERIFY(dispatcher.stats().paused);
    QVERIFY(!w.pauseAction()->isEnabled());
    QVERIFY(w.resumeAction()->isEnabled());
    w.tick();
    QVERIFY(w.statusText().endsWith(QStringLiteral("Paused")));
    w.resumeAction()->trigger();
    QVERIFY(!dispatcher.stats().paused);
    w.drainAction()->trigger();
    QVERIFY(dispatcher.stats().draining);
    QVERIFY(!w.drainAction()->isEnabled());
}

void TestMainWindow::raiseAndLowerPriority()
{
    SteadyClock clock;
    FakeTransport transport;
    Dispatcher dispatcher(transport, clock);
    dispatcher.pause();
    MainWindow w(dispatcher, clock);
    w.show();
    dispatcher.submit(w.composer()->requestBody(), 3);
    QTRY_COMPARE_WITH_TIMEOUT(w.queueFilter()->rowCount(), 1, 2000);
    selectRow(w, 0);
    QVERIFY(w.raisePriorityAction()->isEnabled());
    w.raisePriorityAction()->trigger();
    w.raisePriorityAction()->trigger();
    QCOMPARE(dispatcher.request(1)->priority, 5);
    w.lowerPriorityAction()->trigger();
    QCOMPARE(dispatcher.request(1)->priority, 4);
}

void TestMainWindow::demoModeWithSimulator()
{
    sim::SimOptions so;
    so.requestsPerMinute = 600;
    sim::SimServer simulator(so);
    QVERIFY(simulator.listen(0, QHostAddress::LocalHost));
    SteadyClock clock;
    FakeTransport transport;
    Dispatcher dispatcher(transport, clock);
    MainWindow w(dispatcher, clock, &simulator);
    w.show();
    QVERIFY(w.windowTitle().contains(QStringLiteral("demo")));
    QVERIFY(w.banner()->demoText().contains(simulator.baseUrl().toString()));
    QVERIFY(w.statusText().startsWith(QStringLiteral("Demo: simulator at http://127.0.0.1:")));
    QVERIFY(w.simulatorPanel());
    QCOMPARE(w.simulatorPanel()->requestsBox()->value(), 600.0);
    w.simulatorPanel()->requestsBox()->setValue(30);
    w.simulatorPanel()->faultBox(SimulatorPanel::Fault::P529)->setValue(5);
    QVERIFY(w.simulatorPanel()->apply());
    QCOMPARE(simulator.options().requestsPerMinute, 30.0);
    QCOMPARE(simulator.options().p529, 0.05);
}

void TestMainWindow::geometryRemembered()
{
    SteadyClock clock;
    FakeTransport transport;
    Dispatcher dispatcher(transport, clock);
    QSize closedAt;
    {
        MainWindow w(dispatcher, clock);
        w.show();
        w.resize(1500, 960); // not the default (1600 x 1000 or 94 % of the screen)
        closedAt = w.size();
        QVERIFY(w.close());
    }
    QCOMPARE(closedAt, QSize(1500, 960));
    QVERIFY(QSettings().contains(QStringLiteral("mainwindow/geometry")));
    MainWindow again(dispatcher, clock);
    QCOMPARE(again.size(), closedAt);
}

void TestMainWindow::demoLoadOnlyInDemoMode()
{
    SteadyClock clock;
    FakeTransport transport;
    transport.hold = true;
    Dispatcher dispatcher(transport, clock);
    MainWindow w(dispatcher, clock);
    QVERIFY(!w.demoLoadAction());
    QCOMPARE(w.startDemoLoad(5), 0);
    QCOMPARE(dispatcher.requestCount(), 0);
}

void TestMainWindow::demoLoadQueuesVariedRequestsAndFaults()
{
    sim::SimOptions so;
    so.requestsPerMinute = 600;
    sim::SimServer simulator(so);
    QVERIFY(simulator.listen(0, QHostAddress::LocalHost));
    SteadyClock clock;
    FakeTransport transport;
    transport.hold = true;
    Dispatcher dispatcher(transport, clock);
    MainWindow w(dispatcher, clock, &simulator);
    QVERIFY(w.demoLoadAction());
    QCOMPARE(w.demoLoadAction()->shortcut(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L));

    QCOMPARE(w.startDemoLoad(12), 12);
    QCOMPARE(dispatcher.requestCount(), 12);
    QCOMPARE(dispatcher.request(1)->customId, QStringLiteral("demo-0001"));
    QCOMPARE(dispatcher.request(2)->priority, 3);
    QCOMPARE(simulator.options().p529, 0.02);
    QCOMPARE(simulator.options().p500, 0.01);
    QCOMPARE(w.simulatorPanel()->faultBox(SimulatorPanel::Fault::P529)->value(), 2.0);
    // More of the same continues the numbering; the faults are not applied twice.
    w.demoLoadAction()->trigger();
    QCOMPARE(dispatcher.requestCount(), 212);
    QCOMPARE(dispatcher.request(13)->customId, QStringLiteral("demo-0013"));
    QCOMPARE(simulator.options().p529, 0.02);
}

void TestMainWindow::demoLoadFromEnvironment()
{
    sim::SimServer simulator(sim::SimOptions::demo());
    QVERIFY(simulator.listen(0, QHostAddress::LocalHost));
    SteadyClock clock;
    FakeTransport transport;
    transport.hold = true;
    Dispatcher dispatcher(transport, clock);
    qputenv("SLUICE_DEMO_LOAD", "7");
    MainWindow w(dispatcher, clock, &simulator);
    qunsetenv("SLUICE_DEMO_LOAD");
    QCOMPARE(dispatcher.requestCount(), 0); // queued once the event loop runs, not inside the constructor
    QTRY_COMPARE_WITH_TIMEOUT(dispatcher.requestCount(), 7, 2000);
    QCOMPARE(dispatcher.request(7)->customId, QStringLiteral("demo-0007"));
}

// A real 429: the simulator's request limit is lowered on the simulator panel below what Sluice learned, a
// burst meets the empty bucket, and the banner counts the cooldown down, naming the limit, then goes away.
void TestMainWindow::cooldownBannerCountsDownAfterA429()
{
    sim::SimOptions so;
    so.requestsPerMinute = 1200;
    so.latencyMeanMs = 5;
    sim::SimServer simulator(so);
    QVERIFY(simulator.listen(0, QHostAddress::LocalHost));
    SteadyClock clock;
    MessagesClient client(simulator.baseUrl(), QString(), TransportOptions{}, clock);
    DispatchOptions o;
    o.limits.concurrency = 20;
    Dispatcher dispatcher(client, clock, o);
    MainWindow w(dispatcher, clock, &simulator);
    w.show();
    // Sluice learns 1200/min from the first answer.
    w.composer()->promptEdit()->setPlainText(QStringLiteral("Hello"));
    w.composer()->maxTokensBox()->setValue(16);
    QVERIFY(w.composer()->submit());
    QTRY_COMPARE_WITH_TIMEOUT(dispatcher.stats().succeeded, 1, 5000);
    // The server now allows 60/min (one at a time); Sluice still paces for 1200/min (20 at once).
    w.simulatorPanel()->requestsBox()->setValue(60);
    QVERIFY(w.simulatorPanel()->apply());
    QCOMPARE(simulator.options().requestsPerMinute, 60.0);
    w.composer()->countBox()->setValue(20);
    QVERIFY(w.composer()->submitMany());
    QTRY_VERIFY_WITH_TIMEOUT(w.banner()->isCoolingDown(), 5000);
    QVERIFY(dispatcher.stats().rateLimited >= 1);
    const QString text = w.banner()->cooldownText();
    QVERIFY2(
        text.startsWith(QStringLiteral("Cooling down after a 429 (requests limit): dispatching resumes in ")),
        qPrintable(text));
    QVERIFY2(text.endsWith(QStringLiteral(" ms")) || text.endsWith(QStringLiteral(" s")), qPrintable(text));
    // The countdown moves with the dispatcher's cooldown, and the line goes when it ends.
    QTRY_VERIFY_WITH_TIMEOUT(!w.banner()->isCoolingDown() || w.banner()->cooldownText() != text, 3000);
    QTRY_VERIFY_WITH_TIMEOUT(!w.banner()->isCoolingDown(), 10000);
    QVERIFY(w.banner()->cooldownText().isEmpty());
}

// No palette or style of its own: a dark system palette gives dark charts and a dark queue.
void TestMainWindow::followsTheSystemPalette()
{
    SteadyClock clock;
    FakeTransport transport;
    Dispatcher dispatcher(transport, clock);
    MainWindow w(dispatcher, clock);
    QCOMPARE(w.charts()->chart(ChartPanel::Chart::Throughput)->theme(), QChart::ChartThemeLight);
    const QPalette light = QApplication::palette();
    QPalette dark = light;
    dark.setColor(QPalette::Window, QColor(0x24, 0x24, 0x24));
    dark.setColor(QPalette::WindowText, QColor(0xee, 0xee, 0xee));
    dark.setColor(QPalette::Base, QColor(0x1a, 0x1a, 0x1a));
    dark.setColor(QPalette::Text, QColor(0xee, 0xee, 0xee));
    QApplication::setPalette(dark);
    QCoreApplication::processEvents();
    for (auto c : {ChartPanel::Chart::Throughput, ChartPanel::Chart::Errors, ChartPanel::Chart::Utilisation,
                   ChartPanel::Chart::Latency}) {
        QCOMPARE(w.charts()->chart(c)->theme(), QChart::ChartThemeDark);
        QCOMPARE(w.charts()->chart(c)->backgroundBrush().color(), QColor(0x1a, 0x1a, 0x1a));
    }
    QCOMPARE(w.queueView()->palette().color(QPalette::Base), QColor(0x1a, 0x1a, 0x1a));
    QApplication::setPalette(light);
    QCoreApplication::processEvents();
    QCOMPARE(w.charts()->chart(ChartPanel::Chart::Throughput)->theme(), QChart::ChartThemeLight);
}

// Not an assertion: leaves a picture of the console under load for people to look at.
void TestMainWindow::screenshot()
{
    const QString dir = qEnvironmentVariable("SLUICE_SCREENSHOT_DIR");
    if (dir.isEmpty())
        QSKIP("set SLUICE_SCREENSHOT_DIR to save screenshots");
    SteadyClock clock;
    FakeTransport transport;
    DispatchOptions o;
    o.limits.requests.perMinute = 600;
    o.limits.inputTokens.perMinute = 40000;
    o.limits.outputTokens.perMinute = 60000;
    Dispatcher dispatcher(transport, clock, o);
    MainWindow w(dispatcher, clock);
    w.setEndpoint(QUrl(QStringLiteral("https://api.anthropic.com")));
    w.resize(1600, 1000);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.composer()->promptEdit()->setPlainText(QStringLiteral("Explain token buckets in one paragraph."));
    w.composer()->maxTokensBox()->setValue(128);
    w.composer()->countBox()->setValue(40);
    w.composer()->submitMany();
    // Let the window's own timers run for a few seconds so the charts have something to show.
    QTRY_VERIFY_WITH_TIMEOUT(dispatcher.stats().succeeded >= 40, 15000);
    w.composer()->countBox()->setValue(60);
    w.composer()->submitMany();
    QTRY_VERIFY_WITH_TIMEOUT(w.charts()->sampleCount() >= 5, 10000);
    selectRow(w, 0);
    QCoreApplication::processEvents(); // let the layouts settle before the picture
    w.grab().save(dir + QStringLiteral("/mainwindow.png"));

    // Demo mode, with the simulator panel raised, a cooldown and an open circuit in the banner.
    sim::SimOptions so;
    so.requestsPerMinute = 50;
    so.inputTokensPerMinute = 30000;
    so.outputTokensPerMinute = 8000;
    sim::SimServer simulator(so);
    QVERIFY(simulator.listen(0, QHostAddress::LocalHost));
    MainWindow demo(dispatcher, clock, &simulator);
    demo.resize(1600, 1000);
    demo.show();
    QVERIFY(QTest::qWaitForWindowExposed(&demo));
    if (auto *simDock = demo.findChild<QDockWidget *>(QStringLiteral("simulatorDock")))
        simDock->raise();
    demo.banner()->setCooldown(2.4, QStringLiteral("input tokens"));
    QCoreApplication::processEvents();
    demo.grab().save(dir + QStringLiteral("/demo.png"));
}

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
