// ChartPanel: samples go into a bounded ring; series are rebuilt from it only on redraw(), in "seconds ago".
#include "chartpanel.h"

#include <QLineSeries>
#include <QSignalSpy>
#include <QValueAxis>
#include <QtTest>

#include <cmath>

using namespace sluice;

class TestChartPanel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void samplesAreDrawnOnlyOnRedraw();
    void xIsSecondsAgoAndYFollowsData();
    void ringDropsSamplesOlderThanWindow();
    void olderSampleIsIgnored();
    void offLimitsAndIdleLatencyDrawNoPoints();
    void utilisationAxisShowsAtLeastHundredPercent();
    void timerRedrawsOnItsOwn();
    void yAxisIsRoundedUpToWholeSteps_data();
    void yAxisIsRoundedUpToWholeSteps();
    void unchangedRangeLeavesAxisAlone();
};

void TestChartPanel::samplesAreDrawnOnlyOnRedraw()
{
    ChartPanel panel;
    panel.setRedrawInterval(0);
    ChartSample s;
    s.succeededPerSecond = 4;
    panel.addSample(10, s);
    QCOMPARE(panel.series(ChartPanel::Series::Throughput)->count(), 0);
    QVERIFY(panel.redraw());
    QCOMPARE(panel.series(ChartPanel::Series::Throughput)->count(), 1);
    QVERIFY(!panel.redraw()); // nothing new: no second repaint
}

void TestChartPanel::xIsSecondsAgoAndYFollowsData()
{
    ChartPanel panel;
    panel.setRedrawInterval(0);
    for (int i = 0; i < 3; ++i) {
        ChartSample s;
        s.succeededPerSecond = 4 + i;
        s.rateLimited = i;
        s.retries = 2 * i;
        panel.addSample(10 + i, s);
    }
    panel.redraw();
    const QList<QPointF> pts = panel.series(ChartPanel::Series::Throughput)->points();
    QCOMPARE(pts, (QList<QPointF>{{-2, 4}, {-1, 5}, {0, 6}}));
    const QList<QPointF> retries = panel.series(ChartPanel::Series::Retries)->points();
    QCOMPARE(retries, (QList<QPointF>{{-2, 0}, {-1, 2}, {0, 4}}));
    QValueAxis *y = panel.yAxis(ChartPanel::Chart::Throughput);
    QCOMPARE(y->min(), 0.0);
    QVERIFY2(y->max() >= 6.6 && y->max() <= 10, qPrintable(QString::number(y->max())));
    QValueAxis *errors = panel.yAxis(ChartPanel::Chart::Errors);
    QVERIFY(errors->max() >= 4.4 && errors->max() <= 10);
}

void TestChartPanel::ringDropsSamplesOlderThanWindow()
{
    ChartPanel panel(nullptr, 300);
    panel.setRedrawInterval(0);
    ChartSample s;
    for (int t = 0; t <= 400; ++t) {
        s.succeededPerSecond = t;
        panel.addSample(t, s);
    }
    // t = 100 .. 400 are within 300 s of the newest sample.
    QCOMPARE(panel.sampleCount(), 301);
    panel.redraw();
    const QList<QPointF> pts = panel.series(ChartPanel::Series::Throughput)->points();
    QCOMPARE(pts.size(), 301);
    QCOMPARE(pts.first(), QPointF(-300, 100));
    QCOMPARE(pts.last(), QPointF(0, 400));
}

void TestChartPanel::olderSampleIsIgnored()
{
    ChartPanel panel;
    panel.setRedrawInterval(0);
    panel.addSample(5, {});
    panel.addSample(4, {});
    QCOMPARE(panel.sampleCount(), 1);
}

void TestChartPanel::offLimitsAndIdleLatencyDrawNoPoints()
{
    ChartPanel panel;
    panel.setRedrawInterval(0);
    ChartSample a; // every utilisation off, no latency
    ChartSample b;
    b.requestsUtilisation = 0.5;
    b.latencyP50Ms = 120;
    b.latencyP95Ms = 480;
    panel.addSample(1, a);
    panel.addSample(2, b);
    panel.redraw();
    QCOMPARE(panel.series(ChartPanel::Series::RequestsUtilisation)->points(), (QList<QPointF>{{0, 50}}));
    QCOMPARE(panel.series(ChartPanel::Series::InputTokensUtilisation)->count(), 0);
    QCOMPARE(panel.series(ChartPanel::Series::LatencyP50)->points(), (QList<QPointF>{{0, 120}}));
    QCOMPARE(panel.series(ChartPanel::Series::LatencyP95)->points(), (QList<QPointF>{{0, 480}}));
    QVERIFY(panel.yAxis(ChartPanel::Chart::Latency)->max() >= 528);
}

void TestChartPanel::utilisationAxisShowsAtLeastHundredPercent()
{
    ChartPanel panel;
    panel.setRedrawInterval(0);
    ChartSample s;
    s.outputTokensUtilisation = 0.2;
    panel.addSample(1, s);
    panel.redraw();
    QCOMPARE(panel.yAxis(ChartPanel::Chart::Utilisation)->max(), 100.0);
    s.outputTokensUtilisation = 1.3; // debt: above the limit for a moment
    panel.addSample(2, s);
    panel.redraw();
    QVERIFY(panel.yAxis(ChartPanel::Chart::Utilisation)->max() >= 130);
}

void TestChartPanel::timerRedrawsOnItsOwn()
{
    ChartPanel panel;
    panel.setRedrawInterval(20);
    ChartSample s;
    s.succeededPerSecond = 3;
    panel.addSample(1, s);
    QTRY_COMPARE_WITH_TIMEOUT(panel.series(ChartPanel::Series::Throughput)->count(), 1, 2000);
}

void TestChartPanel::yAxisIsRoundedUpToWholeSteps_data()
{
    QTest::addColumn<int>("chart");
    QTest::addColumn<double>("value"); // the largest value in the ring, in the series' unit
    QTest::addColumn<double>("top");
    QTest::addColumn<int>("ticks");
    const int throughput = int(ChartPanel::Chart::Throughput), latency = int(ChartPanel::Chart::Latency),
              util = int(ChartPanel::Chart::Utilisation);
    // 10 % headroom (5 % on utilisation), then a step of 1, 2 or 5 × 10^k and at most 5 intervals.
    QTest::addRow("6/s -> 6.6 -> 0..8 by 2") << throughput << 6.0 << 8.0 << 5;
    QTest::addRow("0.2/s -> at least 1") << throughput << 0.2 << 1.0 << 6;
    QTest::addRow("45/s -> 49.5 -> 0..50 by 10") << throughput << 45.0 << 50.0 << 6;
    QTest::addRow("420 ms -> 462 -> 0..500 by 100") << latency << 420.0 << 500.0 << 6;
    QTest::addRow("1900 ms -> 2090 -> 0..2500 by 500") << latency << 1900.0 << 2500.0 << 6;
    QTest::addRow("20 pct -> 0..100 by 20") << util << 0.2 << 100.0 << 6;
    QTest::addRow("130 pct -> 136.5 -> 0..150 by 50") << util << 1.3 << 150.0 << 4;
}

void TestChartPanel::yAxisIsRoundedUpToWholeSteps()
{
    QFETCH(int, chart);
    QFETCH(double, value);
    QFETCH(double, top);
    QFETCH(int, ticks);
    ChartPanel panel;
    panel.setRedrawInterval(0);
    ChartSample s;
    s.succeededPerSecond = value;
    s.latencyP50Ms = value;
    s.requestsUtilisation = value;
    panel.addSample(1, s);
    panel.redraw();
    QValueAxis *y = panel.yAxis(ChartPanel::Chart(chart));
    QCOMPARE(y->min(), 0.0);
    QCOMPARE(y->max(), top);
    QCOMPARE(y->tickCount(), ticks);
}

// Setting a range re-lays out the whole chart: steady data must not do it on every redraw.
void TestChartPanel::unchangedRangeLeavesAxisAlone()
{
    ChartPanel panel;
    panel.setRedrawInterval(0);
    ChartSample s;
    s.succeededPerSecond = 6;
    panel.addSample(1, s);
    panel.redraw();
    QValueAxis *y = panel.yAxis(ChartPanel::Chart::Throughput);
    QSignalSpy ranges(y, &QValueAxis::rangeChanged);
    s.succeededPerSecond = 7; // 7.7 still fits 0..8
    panel.addSample(2, s);
    QVERIFY(panel.redraw());
    QCOMPARE(ranges.count(), 0);
    s.succeededPerSecond = 8; // 8.8 does not: 0..10
    panel.addSample(3, s);
    QVERIFY(panel.redraw());
    QCOMPARE(ranges.count(), 1);
    QCOMPARE(y->max(), 10.0);
}

QTEST_MAIN(TestChartPanel)
#include "tst_chartpanel.moc"
