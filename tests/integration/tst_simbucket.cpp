// SimBucket, the simulator's own limiter: refill, all-or-nothing takes, oversize debt, settle, reconfigure.
// Pure: time comes from a ManualClock; nothing here waits.
#include "simbucket.h"

#include <QTest>

using namespace sluice;
using namespace sluice::sim;
using namespace std::chrono_literals;

class TestSimBucket : public QObject
{
    Q_OBJECT
private slots:
    void capacityFollowsWindow_data();
    void capacityFollowsWindow();
    void sixtyRpmAdmitsOnePerSecond();
    void timeUntil_data();
    void timeUntil();
    void oversizeCostIsAdmittedWhenFullAndLeavesDebt();
    void settleRefundsButNeverOverfills();
    void timeRunningBackwardsAddsNothing();
    void reconfigureKeepsLevelClampedToNewCapacity();
    void fullAt();
};

void TestSimBucket::capacityFollowsWindow_data()
{
    QTest::addColumn<double>("perMinute");
    QTest::addColumn<double>("window");
    QTest::addColumn<double>("capacity");
    QTest::addRow("60 rpm, 1 s") << 60.0 << 1.0 << 1.0;
    QTest::addRow("60 rpm, 60 s") << 60.0 << 60.0 << 60.0;
    QTest::addRow("30000 tpm, 1 s") << 30000.0 << 1.0 << 500.0;
    QTest::addRow("50 rpm, 6 s") << 50.0 << 6.0 << 5.0;
}

void TestSimBucket::capacityFollowsWindow()
{
    QFETCH(double, perMinute);
    QFETCH(double, window);
    QFETCH(double, capacity);
    ManualClock clock;
    SimBucket b(perMinute, window, clock.now());
    QCOMPARE(b.capacity(), capacity);
    QCOMPARE(b.level(clock.now()), capacity); // starts full
}

void TestSimBucket::sixtyRpmAdmitsOnePerSecond()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    SimBucket b(60, 1.0, t0);
    QVERIFY(b.take(1, t0));
    QVERIFY(!b.take(1, t0 + 10ms));
    QVERIFY(!b.take(1, t0 + 999ms));
    QVERIFY(b.take(1, t0 + 1000ms));
    QVERIFY(!b.take(1, t0 + 1500ms));
    QVERIFY(b.take(1, t0 + 2000ms));
}

void TestSimBucket::timeUntil_data()
{
    QTest::addColumn<double>("perMinute");
    QTest::addColumn<double>("firstTake");
    QTest::addColumn<double>("cost");
    QTest::addColumn<qint64>("afterMs");
    QTest::addColumn<qint64>("expectedMs");
    QTest::addRow("60 rpm after 10 ms") << 60.0 << 1.0 << 1.0 << qint64(10) << qint64(990);
    QTest::addRow("fits already") << 60.0 << 0.0 << 1.0 << qint64(0) << qint64(0);
    QTest::addRow("6000 tpm, 100 taken, needs 50") << 6000.0 << 100.0 << 50.0 << qint64(0) << qint64(500);
    QTest::addRow("6000 tpm, 100 taken, needs 50, 200 ms later")
        << 6000.0 << 100.0 << 50.0 << qint64(200) << qint64(300);
}

void TestSimBucket::timeUntil()
{
    QFETCH(double, perMinute);
    QFETCH(double, firstTake);
    QFETCH(double, cost);
    QFETCH(qint64, afterMs);
    QFETCH(qint64, expectedMs);
    ManualClock clock;
    SimBucket b(perMinute, 1.0, clock.now());
    if (firstTake > 0)
        QVERIFY(b.take(firstTake, clock.now()));
    clock.advance(std::chrono::milliseconds(afterMs));
    QCOMPARE(std::chrono::round<std::chrono::milliseconds>(b.timeUntil(cost, clock.now())).count(),
             expectedMs);
}

void TestSimBucket::oversizeCostIsAdmittedWhenFullAndLeavesDebt()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    SimBucket b(6000, 1.0, t0); // capacity 100, 100 per second
    QVERIFY(b.take(250, t0));
    QCOMPARE(b.level(t0), -150.0);
    QCOMPARE(std::chrono::round<std::chrono::milliseconds>(b.timeUntil(1, t0)).count(), 1510);
    // An oversize cost waits for a full bucket, not for `cost` units.
    QCOMPARE(std::chrono::round<std::chrono::milliseconds>(b.timeUntil(250, t0)).count(), 2500);
    QVERIFY(!b.take(250, t0 + 2400ms));
    QVERIFY(b.take(250, t0 + 2500ms));
}

void TestSimBucket::settleRefundsButNeverOverfills()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    SimBucket b(6000, 1.0, t0);
    QVERIFY(b.take(100, t0)); // reserve max_tokens 100
    b.settle(100 - 5, t0);    // 5 produced: 95 back
    QCOMPARE(b.level(t0), 95.0);
    b.settle(1000, t0);
    QCOMPARE(b.level(t0), 100.0);
    b.settle(-30, t0); // output beyond the reservation
    QCOMPARE(b.level(t0), 70.0);
}

void TestSimBucket::timeRunningBackwardsAddsNothing()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    SimBucket b(60, 1.0, t0);
    QVERIFY(b.take(1, t0 + 500ms));
    QCOMPARE(b.level(t0), 0.0);
    QVERIFY(!b.take(1, t0));
    QCOMPARE(b.level(t0 + 1500ms), 1.0);
}

void TestSimBucket::reconfigureKeepsLevelClampedToNewCapacity()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    SimBucket b(600, 1.0, t0); // capacity 10
    QVERIFY(b.take(4, t0));
    b.reconfigure(600, 2.0, t0); // capacity 20, level kept at 6
    QCOMPARE(b.capacity(), 20.0);
    QCOMPARE(b.level(t0), 6.0);
    b.reconfigure(120, 1.0, t0); // capacity 2: clamped
    QCOMPARE(b.level(t0), 2.0);
    QCOMPARE(b.perMinute(), 120.0);
}

void TestSimBucket::fullAt()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    SimBucket b(6000, 1.0, t0);
    QCOMPARE(b.fullAt(t0), t0);
    QVERIFY(b.take(40, t0));
    QCOMPARE(std::chrono::round<std::chrono::milliseconds>(b.fullAt(t0) - t0).count(), 400);
}

QTEST_GUILESS_MAIN(TestSimBucket)
#include "tst_simbucket.moc"
