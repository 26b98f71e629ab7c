// SlidingWindowLimiter: exact transcripts against a ManualClock; nothing here waits for real time.

#include "clock.h"
#include "slidingwindow.h"

#include <QTest>

#include <memory>

using namespace sluice;
using namespace std::chrono_literals;

namespace {

constexpr qint64 kNever = -1;

qint64 nanos(std::optional<Duration> d)
{
    return d ? qint64(d->count()) : kNever;
}

qint64 ms(qint64 n)
{
    return n * 1'000'000;
}

qint64 sinceMs(TimePoint start, TimePoint t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(t - start).count();
}

} // namespace

class TestSlidingWindowLimiter : public QObject
{
    Q_OBJECT

private slots:
    void startsEmpty();
    void transcript_data();
    void transcript();
    void headerWorkedExample();
    void timeUntil_data();
    void timeUntil();
    void failedTakeChangesNothing();
    void debtStretchesTheStay();
    void refundRemovesNewestFirst();
    void refundShortensAStretchedStay();
    void refundIsClampedToLimit();
    void timeRunningBackwardsFreesNothing();
    void limitChangeMidStream();
    void shorterWindowFreesNothingEarly();
    void lowerToNeverRaises();
    void zeroAndEndlessWindows();
    void entriesArePruned();
    void fractionalAmountsFitExactly();
    void worksAsRateLimiter();
};

void TestSlidingWindowLimiter::startsEmpty()
{
    ManualClock clock;
    SlidingWindowLimiter w(5, 1s);
    QCOMPARE(w.level(clock.now()), 5.0);
    QCOMPARE(w.capacity(), 5.0);
    QCOMPARE(qint64(w.window().count()), ms(1000));
    QCOMPARE(nanos(w.timeUntil(5, clock.now())), 0);
    QCOMPARE(w.kind(), LimiterKind::SlidingWindow);
    QCOMPARE(w.entryCount(), 0);
}

void TestSlidingWindowLimiter::transcript_data()
{
    QTest::addColumn<double>("limit");
    QTest::addColumn<qint64>("windowMs");
    QTest::addColumn<double>("amount");
    QTest::addColumn<QList<qint64>>("admittedAtMs");

    // Unlike a token bucket, a window lets the whole limit through at once, then nothing until the first
    // leaves.
    QTest::addRow("5 per second, 10 requests")
        << 5.0 << qint64(1000) << 1.0 << QList<qint64>{0, 0, 0, 0, 0, 1000, 1000, 1000, 1000, 1000};
    QTest::addRow("1 per 200 ms") << 1.0 << qint64(200) << 1.0
                                  << QList<qint64>{0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800};
    QTest::addRow("3 per second, 2 at a time")
        << 3.0 << qint64(1000) << 2.0
        << QList<qint64>{0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000};
}

void TestSlidingWindowLimiter::transcript()
{
    QFETCH(double, limit);
    QFETCH(qint64, windowMs);
    QFETCH(double, amount);
    QFETCH(QList<qint64>, admittedAtMs);

    ManualClock clock;
    const TimePoint start = clock.now();
    SlidingWindowLimiter w(limit, std::chrono::milliseconds(windowMs));
    QList<qint64> actual;
    for (qsizetype i = 0; i < admittedAtMs.size(); ++i) {
        const std::optional<Duration> wait = w.timeUntil(amount, clock.now());
        QVERIFY(wait);
        clock.advance(*wait);
        QVERIFY(w.tryTake(amount, clock.now()));
        actual << sinceMs(start, clock.now());
    }
    QCOMPARE(actual, admittedAtMs);
}

void TestSlidingWindowLimiter::headerWorkedExample()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    SlidingWindowLimiter w(5, 1s);
    for (int i = 0; i < 5; ++i)
        QVERIFY(w.tryTake(1, t0));
    QCOMPARE(w.level(t0), 0.0);
    QCOMPARE(nanos(w.timeUntil(1, t0 + 400ms)), ms(600));
    QCOMPARE(w.level(t0 + 1s), 5.0);
    QVERIFY(w.tryTake(2, t0 + 1s));
    w.takeIntoDebt(5, t0 + 1s);
    QCOMPARE(w.level(t0 + 1s), -2.0);
    QCOMPARE(w.level(t0 + 2s), 0.0);
    QCOMPARE(nanos(w.timeUntil(1, t0 + 2s)), ms(400));
    QCOMPARE(w.level(t0 + 2400ms), 5.0);
}

void TestSlidingWindowLimiter::timeUntil_data()
{
    QTest::addColumn<double>("limit");
    QTest::addColumn<qint64>("windowMs");
    QTest::addColumn<QList<qint64>>("takesAtMs"); // one unit taken at each of these times
    QTest::addColumn<qint64>("askAtMs");
    QTest::addColumn<double>("amount");
    QTest::addColumn<qint64>("expectedNs");

    QTest::addRow("empty, fits") << 3.0 << qint64(1000) << QList<qint64>{} << qint64(0) << 3.0 << qint64(0);
    QTest::addRow("bigger than the limit")
        << 3.0 << qint64(1000) << QList<qint64>{} << qint64(0) << 4.0 << kNever;
    QTest::addRow("room for one") << 3.0 << qint64(1000) << QList<qint64>{0, 100} << qint64(200) << 1.0
                                  << qint64(0);
    QTest::addRow("full: oldest leaves first")
        << 3.0 << qint64(1000) << QList<qint64>{0, 100, 300} << qint64(500) << 1.0 << ms(500);
    QTest::addRow("two needed: the second oldest must leave too")
        << 3.0 << qint64(1000) << QList<qint64>{0, 100, 300} << qint64(500) << 2.0 << ms(600);
    QTest::addRow("the whole limit: all must leave")
        << 3.0 << qint64(1000) << QList<qint64>{0, 100, 300} << qint64(500) << 3.0 << ms(800);
    QTest::addRow("old entries already gone")
        << 2.0 << qint64(1000) << QList<qint64>{0, 100, 1200} << qint64(1300) << 1.0 << qint64(0);
    QTest::addRow("an entry leaves exactly now")
        << 1.0 << qint64(1000) << QList<qint64>{0} << qint64(1000) << 1.0 << qint64(0);
    QTest::addRow("zero amount") << 1.0 << qint64(1000) << QList<qint64>{0} << qint64(0) << 0.0 << qint64(0);
    QTest::addRow("zero limit") << 0.0 << qint64(1000) << QList<qint64>{} << qint64(0) << 1.0 << kNever;
}

void TestSlidingWindowLimiter::timeUntil()
{
    QFETCH(double, limit);
    QFETCH(qint64, windowMs);
    QFETCH(QList<qint64>, takesAtMs);
    QFETCH(qint64, askAtMs);
    QFETCH(double, amount);
    QFETCH(qint64, expectedNs);

    ManualClock clock;
    const TimePoint t0 = clock.now();
    SlidingWindowLimiter w(limit, std::chrono::milliseconds(windowMs));
    for (qint64 at : takesAtMs)
        QVERIFY(w.tryTake(1, t0 + std::chrono::milliseconds(at)));
    const TimePoint ask = t0 + std::chrono::milliseconds(askAtMs);
    QCOMPARE(nanos(w.timeUntil(amount, ask)), expectedNs);
    QCOMPARE(w.tryTake(amount, ask), expectedNs == 0);
}

void TestSlidingWindowLimiter::failedTakeChangesNothing()
{
    ManualClock clock;
    SlidingWindowLimiter w(4, 1s);
    QVERIFY(w.tryTake(3, clock.now()));
    QVERIFY(!w.tryTake(2, clock.now()));
    QVERIFY(!w.tryTake(5, clock.now()));
    QCOMPARE(w.level(clock.now()), 1.0);
    QCOMPARE(w.entryCount(), 1);
    QCOMPARE(nanos(w.timeUntil(2, clock.now())), ms(1000));
}

void TestSlidingWindowLimiter::debtStretchesTheStay()
{
    // 3 units into a 1-unit, 1 s window stay 3 s: the long-run rate stays 1 per second.
    ManualClock clock;
    const TimePoint t0 = clock.now();
    SlidingWindowLimiter w(1, 1s);
    w.takeIntoDebt(3, t0);
    QCOMPARE(w.level(t0), -2.0);
    QCOMPARE(w.level(t0 + 2999ms), -2.0);
    QCOMPARE(nanos(w.timeUntil(1, t0)), ms(3000));
    QCOMPARE(w.level(t0 + 3s), 1.0);

    // Debt on top of a full window: the part above the limit stretches, the entries already there leave on
    // time.
    SlidingWindowLimiter v(2, 1s);
    QVERIFY(v.tryTake(2, t0));
    v.takeIntoDebt(1, t0 + 500ms); // excess 1: stays 1 x (1 + 1/2) = 1.5 s
    QCOMPARE(v.level(t0 + 500ms), -1.0);
    QCOMPARE(v.level(t0 + 1s), 1.0);
    QCOMPARE(nanos(v.timeUntil(2, t0 + 1s)), ms(1000));
    QCOMPARE(v.level(t0 + 2s), 2.0);
}

void TestSlidingWindowLimiter::refundRemovesNewestFirst()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    SlidingWindowLimiter w(2, 1s);
    QVERIFY(w.tryTake(1, t0));
    QVERIFY(w.tryTake(1, t0 + 500ms));
    w.refund(1, t0 + 600ms); // the 0.5 s entry goes; the 0 s entry stays until 1.0 s
    QCOMPARE(w.level(t0 + 600ms), 1.0);
    QCOMPARE(w.entryCount(), 1);
    QCOMPARE(nanos(w.timeUntil(2, t0 + 600ms)), ms(400));
    // A partial refund leaves the rest of the entry in place.
    QVERIFY(w.tryTake(1, t0 + 700ms));
    w.refund(0.25, t0 + 700ms);
    QCOMPARE(w.level(t0 + 700ms), 0.25);
    QCOMPARE(w.level(t0 + 1s), 1.25);
    QCOMPARE(w.level(t0 + 1700ms), 2.0);
}

void TestSlidingWindowLimiter::refundShortensAStretchedStay()
{
    // A reservation of 4 into a 2-unit window stays 2 windows; settling it to 2 gives back the stretch.
    ManualClock clock;
    const TimePoint t0 = clock.now();
    SlidingWindowLimiter w(2, 1s);
    w.takeIntoDebt(4, t0);
    QCOMPARE(nanos(w.timeUntil(1, t0)), ms(2000));
    w.refund(2, t0 + 100ms);
    QCOMPARE(w.level(t0 + 100ms), 0.0);
    QCOMPARE(nanos(w.timeUntil(1, t0 + 100ms)), ms(900));
}

void TestSlidingWindowLimiter::refundIsClampedToLimit()
{
    ManualClock clock;
    SlidingWindowLimiter w(3, 1s);
    QVERIFY(w.tryTake(2, clock.now()));
    w.refund(10, clock.now());
    QCOMPARE(w.level(clock.now()), 3.0);
    QCOMPARE(w.entryCount(), 0);
    QVERIFY(w.tryTake(3, clock.now()));
    QCOMPARE(nanos(w.timeUntil(1, clock.now())), ms(1000));
}

void TestSlidingWindowLimiter::timeRunningBackwardsFreesNothing()
{
    ManualClock clock;
    const TimePoint t10 = clock.now() + 10s;
    SlidingWindowLimiter w(1, 1s);
    QVERIFY(w.tryTake(1, t10));
    clock.set(t10 + 900ms);
    QVERIFY(!w.tryTake(1, clock.now())); // the limiter has now seen t10 + 0.9 s
    clock.set(t10 - 5s);                 // before the entry was even taken: it still counts
    QCOMPARE(w.level(clock.now()), 0.0);
    QVERIFY(!w.tryTake(1, clock.now()));
    // The wait is measured from the latest time seen (t10 + 0.9 s), never from the earlier `now`.
    QCOMPARE(nanos(w.timeUntil(1, clock.now())), ms(100));
    // Taking "in the past" is recorded at the latest time seen, so it leaves no earlier than a window after
    // that.
    w.refund(1, clock.now());
    w.takeIntoDebt(1, t10); // recorded at t10 + 0.9 s
    QCOMPARE(w.level(t10 + 1800ms), 0.0);
    QCOMPARE(w.level(t10 + 1900ms), 1.0);
}

void TestSlidingWindowLimiter::limitChangeMidStream()
{
    ManualClock clock;
    const TimePoint start = clock.now();
    SlidingWindowLimiter w(1, 200ms);
    QList<qint64> admittedAtMs;
    for (int i = 0; i < 6; ++i) {
        if (i == 3)
            w.setLimit(1, 2, clock.now()); // 1 per 500 ms from now on
        clock.advance(*w.timeUntil(1, clock.now()));
        QVERIFY(w.tryTake(1, clock.now()));
        admittedAtMs << sinceMs(start, clock.now());
    }
    // The entry taken at 400 ms now counts under the 500 ms window (a change frees nothing, but may hold
    // longer): it leaves at 900 ms; the next ones are 500 ms apart.
    QCOMPARE(admittedAtMs, (QList<qint64>{0, 200, 400, 900, 1400, 1900}));
    QCOMPARE(qint64(w.window().count()), ms(500));
    // A higher limit: what is in the window stays counted.
    w.setWindow(3, 500ms, clock.now());
    QCOMPARE(w.level(clock.now()), 2.0);
}

void TestSlidingWindowLimiter::shorterWindowFreesNothingEarly()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    SlidingWindowLimiter w(2, 10s);
    QVERIFY(w.tryTake(2, t0));
    w.setWindow(2, 1s, t0 + 2s); // the entry was promised to stay until 10 s
    QCOMPARE(w.level(t0 + 2s), 0.0);
    QCOMPARE(nanos(w.timeUntil(1, t0 + 2s)), ms(8000));
    // A longer window keeps entries longer.
    SlidingWindowLimiter v(2, 1s);
    QVERIFY(v.tryTake(2, t0));
    v.setWindow(2, 5s, t0 + 500ms);
    QCOMPARE(nanos(v.timeUntil(1, t0 + 500ms)), ms(4500));
    // A lower limit with the same usage: level negative until the entries leave.
    v.setWindow(1, 5s, t0 + 500ms);
    QCOMPARE(v.level(t0 + 500ms), -1.0);
}

void TestSlidingWindowLimiter::lowerToNeverRaises()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    SlidingWindowLimiter w(100, 1s);
    QVERIFY(w.tryTake(50, t0));
    w.lowerTo(80, t0);
    QCOMPARE(w.level(t0), 50.0);
    w.lowerTo(20, t0 + 200ms);
    QCOMPARE(w.level(t0 + 200ms), 20.0);
    // The server's extra usage is recorded at 0.2 s and leaves a window later.
    QCOMPARE(w.level(t0 + 1s), 70.0);
    QCOMPARE(w.level(t0 + 1200ms), 100.0);
}

void TestSlidingWindowLimiter::zeroAndEndlessWindows()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    SlidingWindowLimiter none(1, Duration::zero()); // every entry leaves at once: limits nothing but the size
    QVERIFY(none.tryTake(1, t0));
    QVERIFY(none.tryTake(1, t0));
    QCOMPARE(nanos(none.timeUntil(2, t0)), kNever);

    SlidingWindowLimiter endless(3, 1s);
    endless.setLimit(3, 0, t0); // perSecond 0: nothing ever comes back
    QVERIFY(endless.tryTake(2, t0));
    QCOMPARE(nanos(endless.timeUntil(1, t0 + 24h * 365)), 0);
    QVERIFY(endless.tryTake(1, t0 + 24h * 365));
    QCOMPARE(nanos(endless.timeUntil(1, t0 + 24h * 365)), kNever);
}

void TestSlidingWindowLimiter::entriesArePruned()
{
    ManualClock clock;
    SlidingWindowLimiter w(10, 1s);
    for (int i = 0; i < 10'000; ++i) {
        clock.advance(100ms);
        QVERIFY(w.tryTake(1, clock.now()));
        QVERIFY(w.entryCount() <= 10);
    }
    QCOMPARE(w.level(clock.now()), 0.0);
}

void TestSlidingWindowLimiter::fractionalAmountsFitExactly()
{
    ManualClock clock;
    SlidingWindowLimiter w(0.3, 1s);
    QVERIFY(w.tryTake(0.1, clock.now()));
    QVERIFY(w.tryTake(0.2, clock.now())); // 0.1 + 0.2 is 0.30000000000000004 in doubles
    QVERIFY(!w.tryTake(0.01, clock.now()));
    QCOMPARE(nanos(w.timeUntil(0.1, clock.now())), ms(1000));
}

void TestSlidingWindowLimiter::worksAsRateLimiter()
{
    // Through the interface LimitSet uses: capacity 5 at 5 per second is a 1 s window.
    ManualClock clock;
    std::unique_ptr<RateLimiter> limiter = std::make_unique<SlidingWindowLimiter>(1, 1s);
    limiter->setLimit(5, 5, clock.now());
    QCOMPARE(limiter->capacity(), 5.0);
    QVERIFY(limiter->tryTake(5, clock.now()));
    QCOMPARE(nanos(limiter->timeUntil(1, clock.now())), ms(1000));
}

QTEST_APPLESS_MAIN(TestSlidingWindowLimiter)
#include "tst_slidingwindowlimiter.moc"
