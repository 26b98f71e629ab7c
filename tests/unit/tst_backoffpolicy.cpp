// Tests for BackoffPolicy: the exact sequence with jitter off, the bounds and means of each jitter mode over
// many seeded draws, the server's wait, attempts, and no overflow for absurd inputs.
#include "backoff.h"

#include <QTest>

#include <limits>

using namespace sluice;
using namespace std::chrono_literals;

Q_DECLARE_METATYPE(sluice::Duration)
Q_DECLARE_METATYPE(sluice::JitterMode)
Q_DECLARE_METATYPE(std::optional<sluice::Duration>)

namespace QTest {
template<> char *toString(const Duration &d)
{
    return qstrdup(QByteArray::number(qlonglong(d.count())) + " ns");
}
} // namespace QTest

namespace {

BackoffOptions noJitter(Duration initial, double multiplier, Duration max)
{
    BackoffOptions o;
    o.initialDelay = initial;
    o.multiplier = multiplier;
    o.maxDelay = max;
    o.jitter = JitterMode::None;
    o.seed = 1;
    return o;
}

} // namespace

class TestBackoffPolicy : public QObject
{
    Q_OBJECT

private slots:
    void exactSequenceWithoutJitter_data();
    void exactSequenceWithoutJitter();
    void jitterBoundsAndMean_data();
    void jitterBoundsAndMean();
    void decorrelatedChainStaysInBounds();
    void sameSeedSameDraws();
    void serverWaitWinsAndIsClamped_data();
    void serverWaitWinsAndIsClamped();
    void canRetry_data();
    void canRetry();
    void hugeInputsDoNotOverflow_data();
    void hugeInputsDoNotOverflow();
    void defaultsMatchTheWorkedExample();
};

void TestBackoffPolicy::exactSequenceWithoutJitter_data()
{
    QTest::addColumn<Duration>("initial");
    QTest::addColumn<double>("multiplier");
    QTest::addColumn<Duration>("max");
    QTest::addColumn<int>("retry");
    QTest::addColumn<Duration>("expected");

    const Duration i = 500ms, m = 30s;
    QTest::addRow("x2 retry 1") << i << 2.0 << m << 1 << Duration(500ms);
    QTest::addRow("x2 retry 2") << i << 2.0 << m << 2 << Duration(1s);
    QTest::addRow("x2 retry 3") << i << 2.0 << m << 3 << Duration(2s);
    QTest::addRow("x2 retry 4") << i << 2.0 << m << 4 << Duration(4s);
    QTest::addRow("x2 retry 5") << i << 2.0 << m << 5 << Duration(8s);
    QTest::addRow("x2 retry 6") << i << 2.0 << m << 6 << Duration(16s);
    QTest::addRow("x2 retry 7 capped (32 s)") << i << 2.0 << m << 7 << Duration(30s);
    QTest::addRow("x2 retry 50 capped") << i << 2.0 << m << 50 << Duration(30s);
    QTest::addRow("retry 0 counts as 1") << i << 2.0 << m << 0 << Duration(500ms);
    QTest::addRow("retry -3 counts as 1") << i << 2.0 << m << -3 << Duration(500ms);
    QTest::addRow("x1.5 retry 3") << Duration(100ms) << 1.5 << m << 3 << Duration(225ms);
    QTest::addRow("x1.6 retry 4 (gRPC)") << Duration(1s) << 1.6 << Duration(120s) << 4 << Duration(4096ms);
    QTest::addRow("x1 constant") << Duration(250ms) << 1.0 << m << 9 << Duration(250ms);
    QTest::addRow("x3 retry 3") << Duration(10ms) << 3.0 << m << 3 << Duration(90ms);
    QTest::addRow("exactly at cap") << Duration(1s) << 2.0 << Duration(8s) << 4 << Duration(8s);
    QTest::addRow("initial above cap") << Duration(60s) << 2.0 << m << 1 << Duration(30s);
    QTest::addRow("zero initial") << Duration(0ms) << 2.0 << m << 5 << Duration(0ms);
    QTest::addRow("SDK numbers retry 2") << Duration(500ms) << 2.0 << Duration(8s) << 2 << Duration(1s);
}

void TestBackoffPolicy::exactSequenceWithoutJitter()
{
    QFETCH(Duration, initial);
    QFETCH(double, multiplier);
    QFETCH(Duration, max);
    QFETCH(int, retry);
    QFETCH(Duration, expected);
    BackoffPolicy p(noJitter(initial, multiplier, max));
    QCOMPARE(p.baseDelay(retry), expected);
    QCOMPARE(p.delay(retry), expected);
    QCOMPARE(p.delay(retry), expected); // no state: the same answer twice
}

void TestBackoffPolicy::jitterBoundsAndMean_data()
{
    QTest::addColumn<JitterMode>("mode");
    QTest::addColumn<Duration>("previous"); // Decorrelated only
    QTest::addColumn<Duration>("lo");       // every draw in [lo, hi]
    QTest::addColumn<Duration>("hi");
    QTest::addColumn<double>("expectedMeanMs"); // for uniform draws: (lo + hi) / 2, unless capped
    // Retry 3 with the defaults: base = 2 s.
    QTest::addRow("proportional +-10%%")
        << JitterMode::Proportional << Duration(0) << Duration(1800ms) << Duration(2200ms) << 2000.0;
    QTest::addRow("full") << JitterMode::Full << Duration(0) << Duration(0ms) << Duration(2s) << 1000.0;
    QTest::addRow("equal") << JitterMode::Equal << Duration(0) << Duration(1s) << Duration(2s) << 1500.0;
    QTest::addRow("decorrelated, first retry")
        << JitterMode::Decorrelated << Duration(0) << Duration(500ms) << Duration(1500ms) << 1000.0;
    QTest::addRow("decorrelated, previous 1 s")
        << JitterMode::Decorrelated << Duration(1s) << Duration(500ms) << Duration(3s) << 1750.0;
    // uniform in [0.5, 60] s, capped at 30 s: E = (29.5 * 30.5 / 2 + 30 * 30) / 59.5 = 22.687 s
    QTest::addRow("decorrelated, capped")
        << JitterMode::Decorrelated << Duration(20s) << Duration(500ms) << Duration(30s) << 22687.0;
}

void TestBackoffPolicy::jitterBoundsAndMean()
{
    QFETCH(JitterMode, mode);
    QFETCH(Duration, previous);
    QFETCH(Duration, lo);
    QFETCH(Duration, hi);
    QFETCH(double, expectedMeanMs);

    BackoffOptions o; // 500 ms x2, max 30 s
    o.jitter = mode;
    o.jitterFraction = 0.1;
    o.seed = 12345;
    BackoffPolicy p(o);
    const int draws = 20'000;
    Duration minSeen = Duration::max(), maxSeen = Duration::min();
    double sumMs = 0;
    for (int i = 0; i < draws; ++i) {
        const Duration d = p.delay(3, std::nullopt, previous);
        QVERIFY2(d >= lo && d <= hi, qPrintable(QStringLiteral("draw %1 ns out of bounds").arg(d.count())));
        minSeen = std::min(minSeen, d);
        maxSeen = std::max(maxSeen, d);
        sumMs += toMilliseconds(d);
    }
    const double meanMs = sumMs / draws;
    // Standard error of the mean of 20,000 uniform draws over 2.5 s is ~5 ms; 2 % is several of them.
    QVERIFY2(std::abs(meanMs - expectedMeanMs) < 0.02 * expectedMeanMs,
             qPrintable(QStringLiteral("mean %1 ms, expected %2 ms").arg(meanMs).arg(expectedMeanMs)));
    // The draws really spread over the whole range (not a constant that happens to sit at the mean).
    const double width = toMilliseconds(hi - lo);
    QVERIFY(toMilliseconds(minSeen - lo) < 0.01 * width);
    QVERIFY(toMilliseconds(hi - maxSeen) < 0.01 * width);
}

void TestBackoffPolicy::decorrelatedChainStaysInBounds()
{
    BackoffOptions o;
    o.jitter = JitterMode::Decorrelated;
    o.initialDelay = 100ms;
    o.maxDelay = 5s;
    o.seed = 7;
    BackoffPolicy p(o);
    Duration previous = Duration::zero();
    int atCap = 0;
    for (int i = 0; i < 10'000; ++i) {
        const Duration d = p.delay(i + 1, std::nullopt, previous);
        QVERIFY(d >= 100ms && d <= 5s);
        QVERIFY(d <=
                std::max(Duration(100ms), 3 * (previous > Duration::zero() ? previous : Duration(100ms))));
        atCap += d == 5s;
        previous = d;
    }
    QVERIFY(atCap > 0); // the chain grows until the cap bites
}

void TestBackoffPolicy::sameSeedSameDraws()
{
    BackoffOptions o;
    o.seed = 99;
    BackoffPolicy a(o), b(o);
    o.seed = 100;
    BackoffPolicy c(o);
    bool anyDiffer = false;
    for (int i = 1; i <= 50; ++i) {
        const Duration da = a.delay(4), db = b.delay(4), dc = c.delay(4);
        QCOMPARE(da, db);
        anyDiffer = anyDiffer || da != dc;
    }
    QVERIFY(anyDiffer);
    // setOptions with the same seed keeps the stream; a new seed restarts it.
    BackoffPolicy d(o), e(o);
    d.delay(4);
    d.setOptions(o);
    e.delay(4);
    QCOMPARE(d.delay(4), e.delay(4));
    o.seed = 99;
    d.setOptions(o);
    BackoffPolicy f(o);
    QCOMPARE(d.delay(4), f.delay(4));
}

void TestBackoffPolicy::serverWaitWinsAndIsClamped_data()
{
    QTest::addColumn<JitterMode>("mode");
    QTest::addColumn<std::optional<Duration>>("server");
    QTest::addColumn<Duration>("expected");
    using OD = std::optional<Duration>;
    QTest::addRow("longer than computed") << JitterMode::Full << OD(7s) << Duration(7s);
    QTest::addRow("shorter than computed") << JitterMode::None << OD(100ms) << Duration(100ms);
    QTest::addRow("zero") << JitterMode::Equal << OD(0s) << Duration(0s);
    QTest::addRow("negative") << JitterMode::Full << OD(-5s) << Duration(0s);
    QTest::addRow("at max server delay") << JitterMode::Full << OD(120s) << Duration(120s);
    QTest::addRow("above max server delay") << JitterMode::Full << OD(10min) << Duration(120s);
    QTest::addRow("above maxDelay but allowed") << JitterMode::None << OD(45s) << Duration(45s);
    QTest::addRow("huge") << JitterMode::Decorrelated << OD(Duration::max()) << Duration(120s);
}

void TestBackoffPolicy::serverWaitWinsAndIsClamped()
{
    QFETCH(JitterMode, mode);
    QFETCH(std::optional<Duration>, server);
    QFETCH(Duration, expected);
    BackoffOptions o; // maxServerDelay 120 s, maxDelay 30 s
    o.jitter = mode;
    o.seed = 3;
    BackoffPolicy p(o);
    QCOMPARE(p.delay(4, server, 2s), expected);
}

void TestBackoffPolicy::canRetry_data()
{
    QTest::addColumn<int>("maxAttempts");
    QTest::addColumn<int>("attemptsMade");
    QTest::addColumn<bool>("expected");
    QTest::addRow("5: after 1") << 5 << 1 << true;
    QTest::addRow("5: after 4") << 5 << 4 << true;
    QTest::addRow("5: after 5") << 5 << 5 << false;
    QTest::addRow("5: after 6") << 5 << 6 << false;
    QTest::addRow("1 means never retry") << 1 << 1 << false;
    QTest::addRow("0 means never") << 0 << 0 << false;
    QTest::addRow("3 (SDK: 2 retries): after 2") << 3 << 2 << true;
    QTest::addRow("3: after 3") << 3 << 3 << false;
}

void TestBackoffPolicy::canRetry()
{
    QFETCH(int, maxAttempts);
    QFETCH(int, attemptsMade);
    QFETCH(bool, expected);
    BackoffOptions o;
    o.maxAttempts = maxAttempts;
    QCOMPARE(BackoffPolicy(o).canRetry(attemptsMade), expected);
}

void TestBackoffPolicy::hugeInputsDoNotOverflow_data()
{
    QTest::addColumn<Duration>("initial");
    QTest::addColumn<double>("multiplier");
    QTest::addColumn<Duration>("max");
    QTest::addColumn<int>("retry");
    QTest::addColumn<Duration>("expected");
    const Duration m = 30s;
    QTest::addRow("retry INT_MAX") << Duration(500ms) << 2.0 << m << std::numeric_limits<int>::max() << m;
    QTest::addRow("retry 64 (2^63 ns)") << Duration(1ns) << 2.0 << m << 64 << m;
    QTest::addRow("multiplier 1e300") << Duration(500ms) << 1e300 << m << 3 << m;
    QTest::addRow("multiplier inf") << Duration(500ms) << std::numeric_limits<double>::infinity() << m << 2
                                    << m;
    QTest::addRow("multiplier NaN") << Duration(500ms) << std::numeric_limits<double>::quiet_NaN() << m << 2
                                    << m;
    QTest::addRow("initial max") << Duration::max() << 2.0 << m << 5 << m;
    QTest::addRow("max is Duration::max")
        << Duration(1s) << 10.0 << Duration::max() << 1000 << Duration::max();
    QTest::addRow("multiplier below 1 shrinks") << Duration(8s) << 0.5 << m << 4 << Duration(1s);
    QTest::addRow("negative multiplier never negative") << Duration(1s) << -2.0 << m << 2 << Duration(0s);
    QTest::addRow("negative initial") << Duration(-1s) << 2.0 << m << 3 << Duration(0s);
    QTest::addRow("negative max") << Duration(1s) << 2.0 << Duration(-1s) << 3 << Duration(0s);
}

void TestBackoffPolicy::hugeInputsDoNotOverflow()
{
    QFETCH(Duration, initial);
    QFETCH(double, multiplier);
    QFETCH(Duration, max);
    QFETCH(int, retry);
    QFETCH(Duration, expected);
    BackoffOptions o = noJitter(initial, multiplier, max);
    BackoffPolicy p(o);
    QCOMPARE(p.baseDelay(retry), expected);
    // Every jitter mode stays within [0, expected * 1.1] with the same absurd inputs.
    for (JitterMode mode : {JitterMode::Proportional, JitterMode::Full, JitterMode::Equal}) {
        o.jitter = mode;
        p.setOptions(o);
        for (int i = 0; i < 100; ++i) {
            const Duration d = p.delay(retry);
            QVERIFY(d >= Duration::zero());
            QVERIFY(toSeconds(d) <= toSeconds(expected) * 1.1 + 1e-9);
        }
    }
    o.jitter = JitterMode::Decorrelated;
    p.setOptions(o);
    for (Duration previous : {Duration::zero(), Duration::max(), Duration(1s)}) {
        const Duration d = p.delay(retry, std::nullopt, previous);
        QVERIFY(d >= Duration::zero());
        QVERIFY(d <= std::max(max, Duration::zero())); // Decorrelated is capped by maxDelay alone
    }
}

void TestBackoffPolicy::defaultsMatchTheWorkedExample()
{
    BackoffPolicy p; // the header's worked example
    QCOMPARE(p.baseDelay(1), Duration(500ms));
    QCOMPARE(p.baseDelay(4), Duration(4s));
    QCOMPARE(p.baseDelay(8), Duration(30s));
    QCOMPARE(p.options().jitter, JitterMode::Full);
    QVERIFY(p.canRetry(4));
    QVERIFY(!p.canRetry(5));
    QCOMPARE(p.delay(2, Duration(7s)), Duration(7s));
    QCOMPARE(p.delay(2, Duration(10min)), Duration(120s));
    for (int i = 0; i < 1000; ++i) {
        const Duration d = p.delay(3); // unseeded (random_device): bounds only
        QVERIFY(d >= Duration::zero() && d <= 2s);
    }
}

QTEST_APPLESS_MAIN(TestBackoffPolicy)
#include "tst_backoffpolicy.moc"
