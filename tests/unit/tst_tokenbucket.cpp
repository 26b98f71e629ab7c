// TokenBucket: exact transcripts against a ManualClock; nothing here waits for real time.

#include "clock.h"
#include "tokenbucket.h"

#include <QTest>

#include <cmath>
#include <limits>
#include <memory>

using namespace sluice;
using namespace std::chrono_literals;

namespace {

constexpr qint64 kNever = -1;

// A wait as nanoseconds, kNever for "can never fit", so tables and QCOMPARE print plain numbers.
qint64 nanos(std::optional<Duration> d)
{
    return d ? qint64(d->count()) : kNever;
}

qint64 ms(qint64 n)
{
    return n * 1'000'000;
}

} // namespace

class TestTokenBucket : public QObject
{
    Q_OBJECT

private slots:
    void startsFull();
    void tenRequestsAtFivePerSecond();
    void timeUntil_data();
    void timeUntil();
    void waitingExactlyTimeUntilAlwaysFits_data();
    void waitingExactlyTimeUntilAlwaysFits();
    void failedTakeChangesNothing();
    void refillStopsAtCapacity();
    void debtThenRecovery();
    void refundIsClampedToCapacity();
    void refundPaysDebtBack();
    void timeRunningBackwardsAddsNothing();
    void capacityChangeKeepsLevelClamped();
    void rateChangeMidStream();
    void zeroRateNeverRefills();
    void hugeValuesDoNotOverflow();
    void lowerToNeverRaises();
    void worksAsRateLimiter();
};

void TestTokenBucket::startsFull()
{
    ManualClock clock;
    TokenBucket bucket(10, 2);
    QCOMPARE(bucket.level(clock.now()), 10.0);
    QCOMPARE(bucket.capacity(), 10.0);
    QCOMPARE(bucket.rate(), 2.0);
    QCOMPARE(nanos(bucket.timeUntil(10, clock.now())), 0);
    QCOMPARE(bucket.kind(), LimiterKind::TokenBucket);
}

void TestTokenBucket::tenRequestsAtFivePerSecond()
{
    // 300 per minute with a 0.2 s burst: capacity 1, 5 per second. The dispatcher's loop, done by hand: ask
    // how long, move the clock exactly that far, take.
    ManualClock clock;
    const TimePoint start = clock.now();
    TokenBucket bucket(1, 5);
    QList<qint64> admittedAtMs;
    for (int i = 0; i < 10; ++i) {
        const std::optional<Duration> wait = bucket.timeUntil(1, clock.now());
        QVERIFY(wait);
        clock.advance(*wait);
        QVERIFY(bucket.tryTake(1, clock.now()));
        QVERIFY(!bucket.tryTake(1, clock.now())); // the next one never fits at the same instant
        admittedAtMs << std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start).count();
    }
    QCOMPARE(admittedAtMs, (QList<qint64>{0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800}));
    // Exactly on the nanosecond: no drift accumulates.
    QCOMPARE(qint64((clock.now() - start).count()), ms(1800));
}

void TestTokenBucket::timeUntil_data()
{
    QTest::addColumn<double>("capacity");
    QTest::addColumn<double>("perSecond");
    QTest::addColumn<double>("taken");     // taken into debt at t = 0 from a full bucket
    QTest::addColumn<qint64>("elapsedMs"); // then the clock moves this far
    QTest::addColumn<double>("amount");
    QTest::addColumn<qint64>("expectedNs"); // kNever: can never fit

    QTest::addRow("full bucket, fits now") << 10.0 << 1.0 << 0.0 << qint64(0) << 10.0 << qint64(0);
    QTest::addRow("bigger than capacity") << 10.0 << 1.0 << 0.0 << qint64(0) << 10.5 << kNever;
    QTest::addRow("bigger than capacity, even after an hour")
        << 10.0 << 1.0 << 0.0 << qint64(3'600'000) << 11.0 << kNever;
    QTest::addRow("empty, one unit at 5/s") << 1.0 << 5.0 << 1.0 << qint64(0) << 1.0 << ms(200);
    QTest::addRow("half refilled") << 1.0 << 5.0 << 1.0 << qint64(100) << 1.0 << ms(100);
    QTest::addRow("partial amount fits") << 10.0 << 1.0 << 10.0 << qint64(3000) << 3.0 << qint64(0);
    QTest::addRow("partial amount waits") << 10.0 << 1.0 << 10.0 << qint64(3000) << 4.0 << ms(1000);
    QTest::addRow("zero amount always fits") << 1.0 << 1.0 << 1.0 << qint64(0) << 0.0 << qint64(0);
    QTest::addRow("50 RPM: 1.2 s per request") << 1.0 << 50.0 / 60 << 1.0 << qint64(0) << 1.0 << ms(1200);
    QTest::addRow("30,000 ITPM, 2,000 tokens")
        << 30000.0 << 500.0 << 30000.0 << qint64(0) << 2000.0 << ms(4000);
    QTest::addRow("in debt by 2 at 1/s") << 5.0 << 1.0 << 7.0 << qint64(0) << 1.0 << ms(3000);
    QTest::addRow("zero rate, fits") << 5.0 << 0.0 << 2.0 << qint64(0) << 3.0 << qint64(0);
    QTest::addRow("zero rate, short: never") << 5.0 << 0.0 << 3.0 << qint64(1'000'000) << 3.0 << kNever;
    QTest::addRow("zero capacity") << 0.0 << 1.0 << 0.0 << qint64(0) << 1.0 << kNever;
}

void TestTokenBucket::timeUntil()
{
    QFETCH(double, capacity);
    QFETCH(double, perSecond);
    QFETCH(double, taken);
    QFETCH(qint64, elapsedMs);
    QFETCH(double, amount);
    QFETCH(qint64, expectedNs);

    ManualClock clock;
    TokenBucket bucket(capacity, perSecond);
    bucket.takeIntoDebt(taken, clock.now());
    clock.advance(std::chrono::milliseconds(elapsedMs));
    QCOMPARE(nanos(bucket.timeUntil(amount, clock.now())), expectedNs);
    QCOMPARE(bucket.tryTake(amount, clock.now()), expectedNs == 0);
}

void TestTokenBucket::waitingExactlyTimeUntilAlwaysFits_data()
{
    QTest::addColumn<double>("capacity");
    QTest::addColumn<double>("perSecond");
    QTest::addColumn<double>("amount");

    QTest::addRow("thirds") << 1.0 << 3.0 << 1.0;
    QTest::addRow("7/3 per second") << 2.0 << 7.0 / 3 << 1.3;
    QTest::addRow("2,000,000 ITPM") << 2'000'000.0 / 60 << 2'000'000.0 / 60 << 1777.0;
    QTest::addRow("tiny amounts") << 0.01 << 0.003 << 0.0007;
}

void TestTokenBucket::waitingExactlyTimeUntilAlwaysFits()
{
    // timeUntil and tryTake share the same rounded arithmetic, so rounding can never leave the caller 1 ns
    // short.
    QFETCH(double, capacity);
    QFETCH(double, perSecond);
    QFETCH(double, amount);

    ManualClock clock;
    TokenBucket bucket(capacity, perSecond);
    bucket.takeIntoDebt(capacity, clock.now());
    for (int i = 0; i < 200; ++i) {
        const std::optional<Duration> wait = bucket.timeUntil(amount, clock.now());
        QVERIFY(wait);
        QVERIFY(*wait > Duration::zero());
        clock.advance(*wait - 1ns);
        QVERIFY2(!bucket.tryTake(amount, clock.now()), "fitted 1 ns early");
        clock.advance(1ns);
        QVERIFY2(bucket.tryTake(amount, clock.now()), "did not fit after waiting timeUntil()");
    }
}

void TestTokenBucket::failedTakeChangesNothing()
{
    ManualClock clock;
    TokenBucket bucket(4, 1);
    QVERIFY(bucket.tryTake(3, clock.now()));
    QVERIFY(!bucket.tryTake(2, clock.now()));
    QVERIFY(!bucket.tryTake(5, clock.now())); // bigger than the capacity
    QCOMPARE(bucket.level(clock.now()), 1.0);
    QCOMPARE(nanos(bucket.timeUntil(2, clock.now())), ms(1000));
}

void TestTokenBucket::refillStopsAtCapacity()
{
    ManualClock clock;
    TokenBucket bucket(2, 1);
    QVERIFY(bucket.tryTake(2, clock.now()));
    clock.advance(1h); // an hour idle stores no more than the capacity
    QCOMPARE(bucket.level(clock.now()), 2.0);
    QVERIFY(bucket.tryTake(2, clock.now()));
    QCOMPARE(bucket.level(clock.now()), 0.0);
    QCOMPARE(nanos(bucket.timeUntil(1, clock.now())), ms(1000));
}

void TestTokenBucket::debtThenRecovery()
{
    ManualClock clock;
    TokenBucket bucket(10, 2); // 2 per second
    QVERIFY(bucket.tryTake(10, clock.now()));
    bucket.takeIntoDebt(6, clock.now()); // e.g. the server counted 6 more tokens than were reserved
    QCOMPARE(bucket.level(clock.now()), -6.0);
    QCOMPARE(nanos(bucket.timeUntil(1, clock.now())), ms(3500));
    clock.advance(3s);
    QCOMPARE(bucket.level(clock.now()), 0.0);
    QVERIFY(!bucket.tryTake(1, clock.now()));
    clock.advance(500ms);
    QVERIFY(bucket.tryTake(1, clock.now()));
    clock.advance(10s);
    QCOMPARE(bucket.level(clock.now()), 10.0); // recovered to full, not beyond
}

void TestTokenBucket::refundIsClampedToCapacity()
{
    ManualClock clock;
    TokenBucket bucket(10, 1);
    QVERIFY(bucket.tryTake(4, clock.now()));
    bucket.refund(3, clock.now());
    QCOMPARE(bucket.level(clock.now()), 9.0);
    bucket.refund(100, clock.now());
    QCOMPARE(bucket.level(clock.now()), 10.0);
    // The clamp holds: taking 10 now empties it, refilling takes the full 10 s.
    QVERIFY(bucket.tryTake(10, clock.now()));
    QCOMPARE(nanos(bucket.timeUntil(10, clock.now())), ms(10000));
}

void TestTokenBucket::refundPaysDebtBack()
{
    ManualClock clock;
    TokenBucket bucket(1, 5);
    QVERIFY(bucket.tryTake(1, clock.now()));
    bucket.takeIntoDebt(2, clock.now());
    clock.advance(100ms);
    bucket.refund(1, clock.now());
    QCOMPARE(bucket.level(clock.now()), -0.5); // -2 + 0.5 refilled + 1 refunded
    QCOMPARE(nanos(bucket.timeUntil(1, clock.now())), ms(300));
}

void TestTokenBucket::timeRunningBackwardsAddsNothing()
{
    ManualClock clock;
    TokenBucket bucket(1, 5);
    const TimePoint t10 = clock.now() + 10s;
    clock.set(t10);
    QVERIFY(bucket.tryTake(1, clock.now()));
    clock.set(t10 - 5s); // back five seconds
    QCOMPARE(bucket.level(clock.now()), 0.0);
    QCOMPARE(nanos(bucket.timeUntil(1, clock.now())), ms(200));
    QVERIFY(!bucket.tryTake(1, clock.now()));
    // Coming forward again to t10 re-covers time already counted: still nothing.
    clock.set(t10);
    QCOMPARE(bucket.level(clock.now()), 0.0);
    QVERIFY(!bucket.tryTake(1, clock.now()));
    clock.set(t10 + 200ms);
    QVERIFY(bucket.tryTake(1, clock.now()));
    // A take "in the past" is charged at the latest time seen, so it cannot be refilled by time already gone.
    clock.set(t10 + 10s);
    QVERIFY(bucket.tryTake(1, clock.now()));
    QVERIFY(!bucket.tryTake(1, t10));
    QCOMPARE(bucket.level(t10 + 10s), 0.0);
}

void TestTokenBucket::capacityChangeKeepsLevelClamped()
{
    ManualClock clock;
    TokenBucket bucket(10, 1);
    QVERIFY(bucket.tryTake(3, clock.now()));
    bucket.setCapacity(5, clock.now());
    QCOMPARE(bucket.capacity(), 5.0);
    QCOMPARE(bucket.level(clock.now()), 5.0); // 7 clamped to 5
    bucket.setCapacity(20, clock.now());
    QCOMPARE(bucket.level(clock.now()), 5.0); // kept, not filled
    clock.advance(15s);
    QCOMPARE(bucket.level(clock.now()), 20.0);
    // Debt survives a capacity change.
    bucket.takeIntoDebt(22, clock.now());
    bucket.setCapacity(4, clock.now());
    QCOMPARE(bucket.level(clock.now()), -2.0);
    QCOMPARE(nanos(bucket.timeUntil(4, clock.now())), ms(6000));
}

void TestTokenBucket::rateChangeMidStream()
{
    ManualClock clock;
    const TimePoint start = clock.now();
    TokenBucket bucket(1, 5); // 200 ms apart
    QList<qint64> admittedAtMs;
    for (int i = 0; i < 6; ++i) {
        if (i == 3)
            bucket.setRate(2, clock.now()); // slowed down after the third: 500 ms apart
        clock.advance(*bucket.timeUntil(1, clock.now()));
        QVERIFY(bucket.tryTake(1, clock.now()));
        admittedAtMs << std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start).count();
    }
    QCOMPARE(admittedAtMs, (QList<qint64>{0, 200, 400, 900, 1400, 1900}));
    // A change while partly refilled keeps the level: 0.2 stays 0.2, the rest comes at the new rate.
    clock.advance(100ms); // level 0.2 at 2/s
    bucket.setRate(4, clock.now());
    QCOMPARE(nanos(bucket.timeUntil(1, clock.now())), ms(200));
}

void TestTokenBucket::zeroRateNeverRefills()
{
    ManualClock clock;
    TokenBucket bucket(5, 0);
    QVERIFY(bucket.tryTake(4, clock.now()));
    clock.advance(24h * 365);
    QCOMPARE(bucket.level(clock.now()), 1.0);
    QCOMPARE(nanos(bucket.timeUntil(1, clock.now())), 0);
    QCOMPARE(nanos(bucket.timeUntil(2, clock.now())), kNever);
    QVERIFY(!bucket.tryTake(2, clock.now()));
    bucket.takeIntoDebt(3, clock.now());
    QCOMPARE(bucket.level(clock.now()), -2.0);
    bucket.refund(10, clock.now());
    QCOMPARE(bucket.level(clock.now()), 5.0);
    // Starting to refill keeps the level it had.
    QVERIFY(bucket.tryTake(5, clock.now()));
    bucket.setRate(1, clock.now());
    QCOMPARE(bucket.level(clock.now()), 0.0);
    QCOMPARE(nanos(bucket.timeUntil(5, clock.now())), ms(5000));
    // And stopping keeps it too.
    clock.advance(2s);
    bucket.setRate(0, clock.now());
    clock.advance(1h);
    QCOMPARE(bucket.level(clock.now()), 2.0);
}

void TestTokenBucket::hugeValuesDoNotOverflow()
{
    ManualClock clock;
    const double huge = 1e300;

    // A tiny rate: the wait is clamped, not wrapped around to a negative number.
    TokenBucket slow(1e18, 1e-12);
    slow.takeIntoDebt(1e18, clock.now());
    QCOMPARE(nanos(slow.timeUntil(1, clock.now())), qint64(kMaxLimiterWait.count()));
    slow.takeIntoDebt(huge, clock.now());
    slow.takeIntoDebt(huge, clock.now()); // the zero time saturates
    QCOMPARE(nanos(slow.timeUntil(1, clock.now())), qint64(kMaxLimiterWait.count()));
    QVERIFY(slow.level(clock.now()) < 0);

    // A huge capacity and rate: exact as ever, 1e299 at 1e300 per second takes 100 ms.
    TokenBucket fast(huge, huge);
    QVERIFY(fast.tryTake(1e299, clock.now()));
    QCOMPARE(nanos(fast.timeUntil(9e299, clock.now())), 0);
    QVERIFY(fast.tryTake(9e299, clock.now()));
    QCOMPARE(nanos(fast.timeUntil(1e299, clock.now())), ms(100)); // 1e299 / 1e300 per second
    QCOMPARE(nanos(fast.timeUntil(std::numeric_limits<double>::max(), clock.now())), kNever);

    // Huge debt at a normal rate: clamped wait, and a refund of it all brings the bucket back to full.
    TokenBucket normal(10, 1);
    normal.takeIntoDebt(huge, clock.now());
    // The debt's duration is clamped to kMaxLimiterWait past "empty" (10 s before now), so 1 unit is 9 s
    // short of it.
    QCOMPARE(nanos(normal.timeUntil(1, clock.now())), qint64((kMaxLimiterWait - 9s).count()));
    normal.refund(huge, clock.now());
    QCOMPARE(normal.level(clock.now()), 10.0);

    // Far in the future of the clock, still exact.
    clock.advance(24h * 365 * 50);
    TokenBucket later(1, 5);
    QVERIFY(later.tryTake(1, clock.now()));
    QCOMPARE(nanos(later.timeUntil(1, clock.now())), ms(200));
}

void TestTokenBucket::lowerToNeverRaises()
{
    ManualClock clock;
    TokenBucket bucket(100, 10);
    QVERIFY(bucket.tryTake(50, clock.now()));
    bucket.lowerTo(80, clock.now()); // the server thinks we have more: ignored
    QCOMPARE(bucket.level(clock.now()), 50.0);
    bucket.lowerTo(20, clock.now()); // the server counted more than we did: adopted
    QCOMPARE(bucket.level(clock.now()), 20.0);
    QCOMPARE(nanos(bucket.timeUntil(30, clock.now())), ms(1000));
    bucket.lowerTo(0, clock.now());
    QCOMPARE(bucket.level(clock.now()), 0.0);
    clock.advance(1s);
    QCOMPARE(bucket.level(clock.now()), 10.0);
}

void TestTokenBucket::worksAsRateLimiter()
{
    // Through the interface LimitSet uses: setLimit(capacity, perSecond).
    ManualClock clock;
    std::unique_ptr<RateLimiter> limiter = std::make_unique<TokenBucket>(1, 1);
    QVERIFY(limiter->tryTake(1, clock.now()));
    limiter->setLimit(4, 2, clock.now());
    QCOMPARE(limiter->capacity(), 4.0);
    QCOMPARE(limiter->level(clock.now()), 0.0);
    QCOMPARE(nanos(limiter->timeUntil(4, clock.now())), ms(2000));
}

QTEST_APPLESS_MAIN(TestTokenBucket)
#include "tst_tokenbucket.moc"
