// GaugePanel and StatusBanner: levels read as "level / capacity", sources say configured or learned, the
// banner shows exactly the situations in force.
#include "gaugepanel.h"
#include "statusbanner.h"

#include <QProgressBar>
#include <QtTest>

using namespace sluice;

class TestGaugePanel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void limitGauge_data();
    void limitGauge();
    void debtShowsEmptyBar();
    void offLimit();
    void concurrencyAndQuota();
    void bannerCooldown();
    void bannerCircuitAndDemo();
};

void TestGaugePanel::limitGauge_data()
{
    QTest::addColumn<double>("perMinute");
    QTest::addColumn<double>("configured");
    QTest::addColumn<double>("server");
    QTest::addColumn<double>("level");
    QTest::addColumn<double>("capacity");
    QTest::addColumn<int>("bar");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("source");
    QTest::addRow("configured") << 2e6 << 2e6 << 0.0 << 12300.0 << 33333.3 << 369 << "12.3k / 33.3k"
                                << "configured 2M tok/min";
    QTest::addRow("learned lower") << 1e6 << 2e6 << 1e6 << 16666.7 << 16666.7 << 1000 << "16.7k / 16.7k"
                                   << "learned from server: 1M tok/min (configured 2M)";
    QTest::addRow("learned, none configured")
        << 30000.0 << 0.0 << 30000.0 << 250.0 << 500.0 << 500 << "250 / 500"
        << "learned from server: 30k tok/min";
    QTest::addRow("server allows more") << 30000.0 << 30000.0 << 80000.0 << 0.0 << 500.0 << 0 << "0 / 500"
                                        << "configured 30k tok/min (server allows 80k)";
}

void TestGaugePanel::limitGauge()
{
    QFETCH(double, perMinute);
    QFETCH(double, configured);
    QFETCH(double, server);
    QFETCH(double, level);
    QFETCH(double, capacity);
    GaugePanel panel;
    GaugeValues v;
    v.inputTokens = {true, perMinute, configured, server, level, capacity, 0, 0};
    panel.setValues(v);
    QTEST(panel.bar(GaugePanel::Gauge::InputTokens)->value(), "bar");
    QTEST(panel.barText(GaugePanel::Gauge::InputTokens), "text");
    QTEST(panel.sourceText(GaugePanel::Gauge::InputTokens), "source");
}

void TestGaugePanel::debtShowsEmptyBar()
{
    GaugePanel panel;
    GaugeValues v;
    v.outputTokens = {true, 8000, 8000, 0, -890.7, 133.3, 0, 0};
    panel.setValues(v);
    QCOMPARE(panel.bar(GaugePanel::Gauge::OutputTokens)->value(), 0);
    QCOMPARE(panel.barText(GaugePanel::Gauge::OutputTokens), QStringLiteral("-891 / 133 (debt)"));
}

void TestGaugePanel::offLimit()
{
    GaugePanel panel;
    panel.setValues({});
    QCOMPARE(panel.barText(GaugePanel::Gauge::Requests), QStringLiteral("off"));
    QVERIFY(!panel.bar(GaugePanel::Gauge::Requests)->isEnabled());
    QCOMPARE(panel.sourceText(GaugePanel::Gauge::Requests), QStringLiteral("no limit"));
}

void TestGaugePanel::concurrencyAndQuota()
{
    GaugePanel panel;
    GaugeValues v;
    v.inFlight = 3;
    v.concurrencyLimit = 8;
    v.dailyUsed = 1234;
    v.dailyQuota = 0;
    panel.setValues(v);
    QCOMPARE(panel.barText(GaugePanel::Gauge::Concurrency), QStringLiteral("3 / 8"));
    QCOMPARE(panel.bar(GaugePanel::Gauge::Concurrency)->value(), 375);
    QCOMPARE(panel.barText(GaugePanel::Gauge::DailyQuota), QStringLiteral("1.23k (unlimited)"));
    v.dailyQuota = 10000;
    panel.setValues(v);
    QCOMPARE(panel.barText(GaugePanel::Gauge::DailyQuota), QStringLiteral("1.23k / 10k"));
    QCOMPARE(panel.bar(GaugePanel::Gauge::DailyQuota)->value(), 123);
}

void TestGaugePanel::bannerCooldown()
{
    QWidget window; // the banner decides its own visibility inside a shown window
    StatusBanner banner(&window);
    window.show();
    QVERIFY(!banner.isVisible()); // nothing to say: no banner
    banner.setCooldown(2.44, QStringLiteral("input tokens"));
    QVERIFY(banner.isVisible());
    QCOMPARE(banner.cooldownText(),
             QStringLiteral("Cooling down after a 429 (input tokens limit): dispatching resumes in 2.4 s"));
    banner.setCooldown(0.35, QStringLiteral("server"));
    QVERIFY(banner.cooldownText().contains(QStringLiteral("server-side throttling")));
    QVERIFY(banner.cooldownText().endsWith(QStringLiteral("350 ms")));
    banner.setCooldown(0, {});
    QVERIFY(banner.cooldownText().isEmpty());
    QVERIFY(!banner.isVisible());
}

void TestGaugePanel::bannerCircuitAndDemo()
{
    QWidget window;
    StatusBanner banner(&window);
    window.show();
    banner.setCircuit(CircuitState::Open, QStringLiteral("5 server errors in a row"));
    QCOMPARE(
        banner.circuitText(),
        QStringLiteral("Circuit open: 5 server errors in a row. Nothing is sent until the cool-off ends."));
    banner.setCircuit(CircuitState::HalfOpen, {});
    QVERIFY(banner.circuitText().startsWith(QStringLiteral("Circuit half-open.")));
    banner.setDemoMode(true, QStringLiteral("http://127.0.0.1:4000"));
    QVERIFY(banner.demoText().contains(QStringLiteral("http://127.0.0.1:4000")));
    banner.setCircuit(CircuitState::Closed, {});
    QVERIFY(banner.circuitText().isEmpty());
    QVERIFY(banner.isVisible()); // demo line still up
    banner.setDemoMode(false);
    QVERIFY(!banner.isVisible());
}

QTEST_MAIN(TestGaugePanel)
#include "tst_gaugepanel.moc"
