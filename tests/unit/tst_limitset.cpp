// LimitSet: admission transcripts against a ManualClock; nothing here waits for real time.

#include "clock.h"
#include "limitset.h"

#include <QTest>

using namespace sluice;
using namespace std::chrono_literals;

Q_DECLARE_METATYPE(sluice::LimiterKind)
Q_DECLARE_METATYPE(sluice::LimitId)

namespace {

qint64 ms(qint64 n)
{
    return n * 1'000'000;
}

qint64 sinceMs(TimePoint start, TimePoint t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(t - start).count();
}

LimitOptions options(double rpm, double itpm = 0, double otpm = 0,
                     LimiterKind kind = LimiterKind::TokenBucket, double burstSeconds = 1.0)
{
    LimitOptions o;
    o.requests = {rpm, kind};
    o.inputTokens = {itpm, kind};
    o.outputTokens = {otpm, kind};
    o.burstSeconds = burstSeconds;
    o.concurrency = 0;
    return o;
}

// The dispatcher's loop in miniature: ask, wait exactly as long as told, admit, and finish the attempt at
// once.
QList<qint64> admissionTimes(LimitSet &set, ManualClock &clock, const Cost &cost, int count)
{
    const TimePoint start = clock.now();
    QList<qint64> times;
    for (int guard = 0; times.size() < count && guard < 10 * count; ++guard) {
        const Admission a = set.check(cost, clock.now());
        if (a.verdict == Verdict::Now) {
            if (!set.tryAdmit(cost, clock.now()))
                return {}; // check and tryAdmit disagree: the caller's QCOMPARE shows an empty list
            set.release();
            times << sinceMs(start, clock.now());
        } else if (a.verdict == Verdict::Later) {
            clock.advance(a.wait);
        } else {
            return {};
        }
    }
    return times;
}

} // namespace

namespace sluice {
// Readable QCOMPARE failures: "Later 1500 ms (input_tokens)".
char *toString(const Admission &a)
{
    static const char *const names[] = {"Now", "Later", "WhenSlotFrees", "Never"};
    const QString text = QStringLiteral("%1 %2 ms (%3)")
                             .arg(QLatin1String(names[int(a.verdict)]))
                             .arg(toMilliseconds(a.wait))
                             .arg(a.binding ? limitIdName(*a.binding) : QStringLiteral("none"));
    return qstrdup(text.toUtf8().constData());
}
} // namespace sluice

class TestLimitSet : public QObject
{
    Q_OBJECT

private slots:
    void headerWorkedExample();
    void pacing_data();
    void pacing();
    void largeTokenRequestsPacedByDebt();
    void never_data();
    void never();
    void laterWaitsForAllLimits();
    void allOrNothing();
    void concurrencyFullThenReleased();
    void dailyQuotaResetsAtLocalMidnight_data();
    void dailyQuotaResetsAtLocalMidnight();
    void dailyQuotaZoneChange();
    void settleRefundsAndTakesDebt();
    void refundAfter429();
    void limitChangedMidStream();
    void switchingKindKeepsLevel();
    void turningLimitsOnAndOff();
    void lowerLevelFromServer();
    void snapshotForGauges();
    void everythingOffAdmitsEverything();
    void timeRunningBackwardsAdmitsNothingNew();
    void limitIdNames();
};

void TestLimitSet::headerWorkedExample()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    LimitOptions o = options(60, 30000, 8000);
    o.concurrency = 4;
    LimitSet set(o, clock);
    const Cost cost{1, 2000, 1024};

    QCOMPARE(set.check(cost, t0), (Admission{Verdict::Now, std::nullopt, Duration::zero()}));
    QVERIFY(set.tryAdmit(cost, t0));
    QCOMPARE(set.inFlight(), 1);
    QCOMPARE(set.snapshot(t0).inputTokens.level, -1500.0);

    const Admission later = set.check(cost, t0);
    QCOMPARE(later.verdict, Verdict::Later);
    QCOMPARE(later.binding, std::optional<LimitId>(LimitId::OutputTokens));
    QCOMPARE(qint64(later.wait.count()), ms(7680));

    const TimePoint t2 = t0 + 2s;
    set.settle(cost, Cost{1, 1800, 200}, t2);
    set.release();
    QCOMPARE(set.inFlight(), 0);
    QCOMPARE(set.snapshot(t2).inputTokens.level, -300.0);
    QCOMPARE(set.snapshot(t2).outputTokens.level, 8000.0 / 60);

    const Admission next = set.check(cost, t2);
    QCOMPARE(next.verdict, Verdict::Later);
    QCOMPARE(next.binding, std::optional<LimitId>(LimitId::InputTokens));
    QCOMPARE(qint64(next.wait.count()), ms(1600));
}

void TestLimitSet::pacing_data()
{
    QTest::addColumn<double>("rpm");
    QTest::addColumn<double>("burstSeconds");
    QTest::addColumn<LimiterKind>("kind");
    QTest::addColumn<QList<qint64>>("admittedAtMs");

    const auto tb = LimiterKind::TokenBucket;
    const auto sw = LimiterKind::SlidingWindow;
    QTest::addRow("5/s, 0.2 s burst: exactly 200 ms apart")
        << 300.0 << 0.2 << tb << QList<qint64>{0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800};
    QTest::addRow("5/s, 1 s burst: 5 at once, then 200 ms apart")
        << 300.0 << 1.0 << tb << QList<qint64>{0, 0, 0, 0, 0, 200, 400, 600, 800, 1000};
    QTest::addRow("60 RPM, 1 s burst: a request every 1.000 s")
        << 60.0 << 1.0 << tb << QList<qint64>{0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000};
    QTest::addRow("50 RPM, 1 s burst: capacity 0.83, still one every 1.2 s")
        << 50.0 << 1.0 << tb << QList<qint64>{0, 1200, 2400, 3600, 4800, 6000, 7200, 8400, 9600, 10800};
    QTest::addRow("window, 5/s, 1 s: 5 at once, then 5 a second later")
        << 300.0 << 1.0 << sw << QList<qint64>{0, 0, 0, 0, 0, 1000, 1000, 1000, 1000, 1000};
    QTest::addRow("window, 50 RPM, 1 s: the stretched stay keeps 1.2 s")
        << 50.0 << 1.0 << sw << QList<qint64>{0, 1200, 2400, 3600, 4800, 6000, 7200, 8400, 9600, 10800};
    QTest::addRow("60 RPM, whole-minute burst: 60 at once") << 60.0 << 60.0 << tb << QList<qint64>(10, 0);
}

void TestLimitSet::pacing()
{
    QFETCH(double, rpm);
    QFETCH(double, burstSeconds);
    QFETCH(LimiterKind, kind);
    QFETCH(QList<qint64>, admittedAtMs);

    ManualClock clock;
    LimitSet set(options(rpm, 0, 0, kind, burstSeconds), clock);
    QCOMPARE(admissionTimes(set, clock, Cost{}, int(admittedAtMs.size())), admittedAtMs);
}

void TestLimitSet::largeTokenRequestsPacedByDebt()
{
    // 30,000 ITPM with a 1 s burst holds 500 tokens; 2,000-token requests still go, one every 4 s.
    for (LimiterKind kind : {LimiterKind::TokenBucket, LimiterKind::SlidingWindow}) {
        ManualClock clock;
        LimitSet set(options(0, 30000, 0, kind), clock);
        QCOMPARE(admissionTimes(set, clock, Cost{1, 2000, 0}, 6),
                 (QList<qint64>{0, 4000, 8000, 12000, 16000, 20000}));
    }
}

void TestLimitSet::never_data()
{
    QTest::addColumn<double>("burstSeconds");
    QTest::addColumn<double>("requests");
    QTest::addColumn<double>("inputTokens");
    QTest::addColumn<double>("outputTokens");
    QTest::addColumn<bool>("never");
    QTest::addColumn<LimitId>("binding");

    // Limits: 60 RPM, 30,000 ITPM, 8,000 OTPM.
    QTest::addRow("fits") << 1.0 << 1.0 << 2000.0 << 1024.0 << false << LimitId::Requests;
    QTest::addRow("the whole minute's input") << 1.0 << 1.0 << 30000.0 << 0.0 << false << LimitId::Requests;
    QTest::addRow("more input than a minute") << 1.0 << 1.0 << 30001.0 << 0.0 << true << LimitId::InputTokens;
    QTest::addRow("more output than a minute")
        << 1.0 << 1.0 << 0.0 << 8001.0 << true << LimitId::OutputTokens;
    QTest::addRow("61 requests at once") << 1.0 << 61.0 << 0.0 << 0.0 << true << LimitId::Requests;
    QTest::addRow("first too-large limit is named")
        << 1.0 << 1.0 << 40000.0 << 9000.0 << true << LimitId::InputTokens;
    QTest::addRow("2-minute burst holds 60,000 input")
        << 120.0 << 1.0 << 60000.0 << 0.0 << false << LimitId::Requests;
    QTest::addRow("2-minute burst, 60,001 input")
        << 120.0 << 1.0 << 60001.0 << 0.0 << true << LimitId::InputTokens;
}

void TestLimitSet::never()
{
    QFETCH(double, burstSeconds);
    QFETCH(double, requests);
    QFETCH(double, inputTokens);
    QFETCH(double, outputTokens);
    QFETCH(bool, never);
    QFETCH(LimitId, binding);

    for (LimiterKind kind : {LimiterKind::TokenBucket, LimiterKind::SlidingWindow}) {
        ManualClock clock;
        LimitSet set(options(60, 30000, 8000, kind, burstSeconds), clock);
        const Cost cost{requests, inputTokens, outputTokens};
        const Admission a = set.check(cost, clock.now());
        if (never) {
            QCOMPARE(a, (Admission{Verdict::Never, binding, Duration::zero()}));
            QVERIFY(!set.tryAdmit(cost, clock.now()));
            QCOMPARE(set.snapshot(clock.now()).requests.level, 60.0 / 60 * burstSeconds); // untouched
        } else {
            QCOMPARE(a.verdict, Verdict::Now);
            QVERIFY(set.tryAdmit(cost, clock.now()));
        }
    }
}

void TestLimitSet::laterWaitsForAllLimits()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    LimitSet set(options(60, 6000, 300), clock); // capacities 1, 100, 5; refilled 1, 100, 5 per second
    QVERIFY(set.tryAdmit(Cost{1, 100, 10}, t0)); // output 10 > 5: into debt, level -5
    // Requests need 1 s, input 0.5 s (50 of 100), output 2 s (20 is above the burst: it waits for a full
    // limiter).
    QCOMPARE(set.check(Cost{1, 50, 20}, t0), (Admission{Verdict::Later, LimitId::OutputTokens, 2s}));
    QCOMPARE(set.check(Cost{0, 100, 0}, t0 + 500ms),
             (Admission{Verdict::Later, LimitId::InputTokens, 500ms}));
    QCOMPARE(set.check(Cost{1, 0, 0}, t0 + 500ms), (Admission{Verdict::Later, LimitId::Requests, 500ms}));
    // Equal waits: the first limit in LimitId order is named.
    QCOMPARE(set.check(Cost{1, 100, 0}, t0 + 500ms), (Admission{Verdict::Later, LimitId::Requests, 500ms}));
    QCOMPARE(set.check(Cost{1, 100, 0}, t0 + 1s).verdict, Verdict::Now);
    QCOMPARE(set.check(Cost{1, 100, 5}, t0 + 1s), (Admission{Verdict::Later, LimitId::OutputTokens, 1s}));
    QCOMPARE(set.check(Cost{1, 100, 5}, t0 + 2s).verdict, Verdict::Now);
}

void TestLimitSet::allOrNothing()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    LimitOptions o = options(600, 6000, 6000); // capacities 10, 100, 100
    o.concurrency = 3;
    o.dailyQuota = 10;
    LimitSet set(o, clock);
    QVERIFY(set.tryAdmit(Cost{1, 80, 10}, t0));
    const LimitSet::Snapshot before = set.snapshot(t0);

    // Input refuses (needs 50, has 20): nothing else may move.
    QVERIFY(!set.tryAdmit(Cost{1, 50, 10}, t0));
    const LimitSet::Snapshot after = set.snapshot(t0);
    QCOMPARE(after.requests.level, before.requests.level);
    QCOMPARE(after.inputTokens.level, 20.0);
    QCOMPARE(after.outputTokens.level, before.outputTokens.level);
    QCOMPARE(after.inFlight, 1);
    QCOMPARE(after.dailyUsed, 1);

    // And the same when concurrency is what refuses.
    QVERIFY(set.tryAdmit(Cost{1, 10, 10}, t0));
    QVERIFY(set.tryAdmit(Cost{1, 10, 10}, t0));
    QVERIFY(!set.tryAdmit(Cost{1, 0, 10}, t0));
    QCOMPARE(set.snapshot(t0).outputTokens.level, 70.0);
    QCOMPARE(set.snapshot(t0).requests.level, 7.0);
    QCOMPARE(set.snapshot(t0).dailyUsed, 3);
}

void TestLimitSet::concurrencyFullThenReleased()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    LimitOptions o = options(60);
    o.concurrency = 2;
    o.burstSeconds = 2; // 2 requests at once
    LimitSet set(o, clock);
    QVERIFY(set.tryAdmit(Cost{}, t0));
    QVERIFY(set.tryAdmit(Cost{}, t0));
    // Full, and the request bucket is empty too: no timer can help, but once a slot frees it still waits 1 s.
    QCOMPARE(set.check(Cost{}, t0), (Admission{Verdict::WhenSlotFrees, LimitId::Concurrency, 1s}));
    const TimePoint t5 = t0 + 5s;
    QCOMPARE(set.check(Cost{}, t5),
             (Admission{Verdict::WhenSlotFrees, LimitId::Concurrency, Duration::zero()}));
    QVERIFY(!set.tryAdmit(Cost{}, t5));
    set.release();
    QCOMPARE(set.inFlight(), 1);
    QCOMPARE(set.check(Cost{}, t5).verdict, Verdict::Now);
    QVERIFY(set.tryAdmit(Cost{}, t5));
    QCOMPARE(set.check(Cost{}, t5).verdict, Verdict::WhenSlotFrees);
    set.release();
    set.release();
    QCOMPARE(set.inFlight(), 0);
}

void TestLimitSet::dailyQuotaResetsAtLocalMidnight_data()
{
    QTest::addColumn<QByteArray>("zone");
    QTest::addColumn<QDateTime>("start");       // wall time (UTC) when the quota is used up
    QTest::addColumn<qint64>("expectedWaitMs"); // until the next midnight in `zone`

    const auto utc = [](int y, int m, int d, int h, int min) {
        return QDateTime(QDate(y, m, d), QTime(h, min), QTimeZone::utc());
    };
    // 23:00 in New York (UTC-5) is 04:00 UTC: midnight there is 05:00 UTC, an hour away.
    QTest::addRow("New York, winter")
        << QByteArray("America/New_York") << utc(2026, 1, 15, 4, 0) << qint64(3'600'000);
    // The same instant in UTC: the UTC day ends 20 hours later.
    QTest::addRow("UTC, same instant")
        << QByteArray("UTC") << utc(2026, 1, 15, 4, 0) << qint64(20 * 3'600'000);
    // 2026-03-08 is the day New York springs forward: it has 23 hours, midnight to midnight.
    QTest::addRow("New York, 23-hour day")
        << QByteArray("America/New_York") << utc(2026, 3, 8, 5, 0) << qint64(23 * 3'600'000);
    // 2026-11-01 falls back: 25 hours.
    QTest::addRow("New York, 25-hour day")
        << QByteArray("America/New_York") << utc(2026, 11, 1, 4, 0) << qint64(25 * 3'600'000);
    QTest::addRow("Tokyo (UTC+9)") << QByteArray("Asia/Tokyo") << utc(2026, 1, 15, 14, 30)
                                   << qint64(30 * 60'000);
}

void TestLimitSet::dailyQuotaResetsAtLocalMidnight()
{
    QFETCH(QByteArray, zone);
    QFETCH(QDateTime, start);
    QFETCH(qint64, expectedWaitMs);
    if (!QTimeZone(zone).isValid())
        QSKIP("no time zone data (tzdata) for this zone on this machine");

    ManualClock clock(start);
    const TimePoint t0 = clock.now();
    LimitOptions o = options(0);
    o.dailyQuota = 3;
    o.dailyQuotaTimeZone = zone;
    LimitSet set(o, clock);
    for (int i = 0; i < 3; ++i) {
        QVERIFY(set.tryAdmit(Cost{}, t0));
        set.release();
    }
    QCOMPARE(set.dailyUsed(t0), 3);
    const Admission a = set.check(Cost{}, t0);
    QCOMPARE(a, (Admission{Verdict::Later, LimitId::DailyQuota, std::chrono::milliseconds(expectedWaitMs)}));
    QCOMPARE(set.snapshot(t0).dailyReset, std::optional<TimePoint>(t0 + a.wait));
    QVERIFY(!set.tryAdmit(Cost{}, t0));

    // One millisecond before midnight: still used up, 1 ms to go.
    const TimePoint justBefore = t0 + a.wait - 1ms;
    QCOMPARE(set.check(Cost{}, justBefore), (Admission{Verdict::Later, LimitId::DailyQuota, 1ms}));
    QVERIFY(!set.tryAdmit(Cost{}, justBefore));
    // Midnight: a new day, a new quota.
    const TimePoint midnight = t0 + a.wait;
    QCOMPARE(set.dailyUsed(midnight), 0);
    QCOMPARE(set.check(Cost{}, midnight).verdict, Verdict::Now);
    QVERIFY(set.tryAdmit(Cost{}, midnight));
    QCOMPARE(set.dailyUsed(midnight), 1);
    QCOMPARE(clock.wallTime(midnight).toTimeZone(QTimeZone(zone)).time(), QTime(0, 0));
    // The next reset is a whole local day later.
    QCOMPARE(clock.wallTime(*set.snapshot(midnight).dailyReset).toTimeZone(QTimeZone(zone)),
             QDateTime(clock.wallTime(midnight).toTimeZone(QTimeZone(zone)).date().addDays(1), QTime(0, 0),
                       QTimeZone(zone)));
}

void TestLimitSet::dailyQuotaZoneChange()
{
    if (!QTimeZone("America/New_York").isValid())
        QSKIP("no time zone data (tzdata) on this machine");
    // 04:00 UTC = 23:00 in New York. Switching the quota's zone from UTC to New York moves the reset from 20
    // hours away to 1 hour away; today's count is kept.
    ManualClock clock(QDateTime(QDate(2026, 1, 15), QTime(4, 0), QTimeZone::utc()));
    const TimePoint t0 = clock.now();
    LimitOptions o = options(0);
    o.dailyQuota = 1;
    LimitSet set(o, clock);
    QVERIFY(set.tryAdmit(Cost{}, t0));
    QCOMPARE(set.check(Cost{}, t0).wait, Duration(20h));
    o.dailyQuotaTimeZone = "America/New_York";
    set.setOptions(o, t0);
    QCOMPARE(set.dailyUsed(t0), 1);
    QCOMPARE(set.check(Cost{}, t0).wait, Duration(1h));
    // A larger quota applies at once.
    o.dailyQuota = 2;
    set.setOptions(o, t0);
    QCOMPARE(set.check(Cost{}, t0).verdict, Verdict::Now);
}

void TestLimitSet::settleRefundsAndTakesDebt()
{
    for (LimiterKind kind : {LimiterKind::TokenBucket, LimiterKind::SlidingWindow}) {
        ManualClock clock;
        const TimePoint t0 = clock.now();
        LimitSet set(options(600, 60000, 60000, kind), clock); // capacities 10, 1000, 1000
        const Cost reserved{1, 400, 500};
        QVERIFY(set.tryAdmit(reserved, t0));
        QCOMPARE(set.snapshot(t0).outputTokens.level, 500.0);
        // Fewer output tokens than max_tokens, more input than the estimate.
        set.settle(reserved, Cost{1, 700, 120}, t0);
        QCOMPARE(set.snapshot(t0).outputTokens.level, 880.0);
        QCOMPARE(set.snapshot(t0).inputTokens.level, 300.0);
        QCOMPARE(set.snapshot(t0).requests.level, 9.0); // a request is a request
        // Far more input than the bucket holds: debt, then recovery.
        set.settle(Cost{1, 0, 0}, Cost{1, 500, 0}, t0);
        QCOMPARE(set.snapshot(t0).inputTokens.level, -200.0);
        const Admission a = set.check(Cost{1, 100, 0}, t0);
        QCOMPARE(a.verdict, Verdict::Later);
        QCOMPARE(a.binding, std::optional<LimitId>(LimitId::InputTokens));
        // The bucket pays 1,000 per second back (0.3 s for 300). The window holds 400 + 300 taken at t0,
        // leaving at 1 s, and the debt of 500 (200 above the limit), which stays 1.2 s: after 1 s, 500 of
        // 1,000 are in use.
        QCOMPARE(qint64(a.wait.count()), kind == LimiterKind::TokenBucket ? ms(300) : ms(1000));
        QCOMPARE(set.check(Cost{1, 100, 0}, t0 + a.wait).verdict, Verdict::Now);
    }
}

void TestLimitSet::refundAfter429()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    LimitOptions o = options(120, 6000, 6000); // capacities 2, 100, 100
    o.dailyQuota = 5;
    o.concurrency = 1;
    LimitSet set(o, clock);
    const Cost cost{1, 60, 40};
    QVERIFY(set.tryAdmit(cost, t0));
    set.refund(cost, t0 + 100ms);
    set.release();
    const LimitSet::Snapshot s = set.snapshot(t0 + 100ms);
    QCOMPARE(s.requests.level, 2.0); // clamped to the capacity
    QCOMPARE(s.inputTokens.level, 100.0);
    QCOMPARE(s.outputTokens.level, 100.0);
    QCOMPARE(s.dailyUsed, 0);
    QCOMPARE(s.inFlight, 0);
    // A refund never lifts a limit above its capacity, nor the daily count below zero.
    set.refund(cost, t0 + 100ms);
    QCOMPARE(set.snapshot(t0 + 100ms).inputTokens.level, 100.0);
    QCOMPARE(set.snapshot(t0 + 100ms).dailyUsed, 0);
}

void TestLimitSet::limitChangedMidStream()
{
    ManualClock clock;
    const TimePoint start = clock.now();
    LimitOptions o = options(300, 0, 0, LimiterKind::TokenBucket, 0.2); // capacity 1, 200 ms apart
    LimitSet set(o, clock);
    QCOMPARE(admissionTimes(set, clock, Cost{}, 3), (QList<qint64>{0, 200, 400}));
    // The server says 60 RPM: from now on 1 s apart; the empty bucket stays empty (capacity 0.2 now).
    o.requests.perMinute = 60;
    set.setOptions(o, clock.now());
    QCOMPARE(set.snapshot(clock.now()).requests.capacity, 0.2);
    QCOMPARE(set.snapshot(clock.now()).requests.level, 0.0);
    QList<qint64> times = admissionTimes(set, clock, Cost{}, 3);
    for (qint64 &t : times)
        t += 400;
    // Capacity 0.2 with cost 1: each waits for a full bucket (0.2 s) and leaves 0.8 of debt: 1 s apart.
    QCOMPARE(times, (QList<qint64>{600, 1600, 2600}));
    QCOMPARE(sinceMs(start, clock.now()), 2600);
    // A higher limit keeps the debt: level -0.8 stays -0.8 of the new capacity 2.
    o.requests.perMinute = 600;
    set.setOptions(o, clock.now());
    QCOMPARE(set.snapshot(clock.now()).requests.level, -0.8);
    QCOMPARE(qint64(set.check(Cost{}, clock.now()).wait.count()), ms(180));
}

void TestLimitSet::switchingKindKeepsLevel()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    LimitOptions o = options(0, 60000); // input: capacity 1,000, 1,000 per second
    LimitSet set(o, clock);
    QVERIFY(set.tryAdmit(Cost{1, 700, 0}, t0));
    QCOMPARE(set.limiter(LimitId::InputTokens)->kind(), LimiterKind::TokenBucket);
    o.inputTokens.kind = LimiterKind::SlidingWindow;
    set.setOptions(o, t0 + 100ms); // the bucket has refilled to 400
    QCOMPARE(set.limiter(LimitId::InputTokens)->kind(), LimiterKind::SlidingWindow);
    QCOMPARE(set.snapshot(t0 + 100ms).inputTokens.level, 400.0);
    QCOMPARE(set.snapshot(t0 + 100ms).inputTokens.kind, LimiterKind::SlidingWindow);
    // The 600 carried over is one entry: it leaves a window (1 s) after the switch.
    QCOMPARE(set.check(Cost{1, 1000, 0}, t0 + 100ms).wait, Duration(1s));
    // And back: level kept again.
    o.inputTokens.kind = LimiterKind::TokenBucket;
    set.setOptions(o, t0 + 500ms);
    QCOMPARE(set.snapshot(t0 + 500ms).inputTokens.level, 400.0);
    QCOMPARE(set.check(Cost{1, 1000, 0}, t0 + 500ms).wait, Duration(600ms));
}

void TestLimitSet::turningLimitsOnAndOff()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    LimitOptions o = options(60, 6000);
    LimitSet set(o, clock);
    QVERIFY(set.tryAdmit(Cost{1, 100, 0}, t0));
    QCOMPARE(set.check(Cost{1, 0, 0}, t0).verdict, Verdict::Later);
    o.requests.perMinute = 0; // off
    set.setOptions(o, t0);
    QVERIFY(!set.snapshot(t0).requests.enabled);
    QVERIFY(!set.limiter(LimitId::Requests));
    QCOMPARE(set.check(Cost{1, 0, 0}, t0).verdict, Verdict::Now);
    QCOMPARE(set.check(Cost{1, 1, 0}, t0).verdict, Verdict::Later); // input still empty
    o.requests.perMinute = 60;                                      // on again: starts full
    set.setOptions(o, t0);
    QCOMPARE(set.snapshot(t0).requests.level, 1.0);
    QCOMPARE(set.check(Cost{1, 0, 0}, t0).verdict, Verdict::Now);
}

void TestLimitSet::lowerLevelFromServer()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    LimitSet set(options(600, 60000, 60000), clock); // capacities 10, 1000, 1000
    set.lowerLevel(LimitId::InputTokens, 250, t0);
    QCOMPARE(set.snapshot(t0).inputTokens.level, 250.0);
    set.lowerLevel(LimitId::InputTokens, 900, t0); // higher than ours: ignored
    QCOMPARE(set.snapshot(t0).inputTokens.level, 250.0);
    set.lowerLevel(LimitId::Requests, 0, t0);
    QCOMPARE(set.check(Cost{1, 0, 0}, t0), (Admission{Verdict::Later, LimitId::Requests, 100ms}));
    set.lowerLevel(LimitId::Concurrency, 0, t0); // not a rate: nothing happens
    set.lowerLevel(LimitId::DailyQuota, 0, t0);
    QCOMPARE(set.snapshot(t0).outputTokens.level, 1000.0);
    QCOMPARE(set.inFlight(), 0);
}

void TestLimitSet::snapshotForGauges()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    LimitOptions o = options(120, 6000, 0, LimiterKind::SlidingWindow, 2.0); // capacities 4, 200
    o.concurrency = 3;
    o.dailyQuota = 100;
    LimitSet set(o, clock);
    QVERIFY(set.tryAdmit(Cost{1, 50, 7}, t0));
    const LimitSet::Snapshot s = set.snapshot(t0);
    QVERIFY(s.requests.enabled);
    QCOMPARE(s.requests.kind, LimiterKind::SlidingWindow);
    QCOMPARE(s.requests.level, 3.0);
    QCOMPARE(s.requests.capacity, 4.0);
    QCOMPARE(s.requests.perMinute, 120.0);
    QCOMPARE(s.rate(LimitId::InputTokens).level, 150.0);
    QCOMPARE(s.inputTokens.capacity, 200.0);
    QVERIFY(!s.outputTokens.enabled);
    QCOMPARE(s.inFlight, 1);
    QCOMPARE(s.concurrency, 3);
    QCOMPARE(s.dailyUsed, 1);
    QCOMPARE(s.dailyQuota, 100);
    // Midnight UTC after 2026-01-01T00:00:00Z is a day away.
    QCOMPARE(s.dailyReset, std::optional<TimePoint>(t0 + 24h));
    QCOMPARE(set.snapshot(t0 + 2s).requests.level, 4.0);
}

void TestLimitSet::everythingOffAdmitsEverything()
{
    ManualClock clock;
    LimitSet set(options(0), clock); // concurrency 0 = unlimited, no quota
    for (int i = 0; i < 1000; ++i)
        QVERIFY(set.tryAdmit(Cost{1, 1e9, 1e9}, clock.now()));
    QCOMPARE(set.inFlight(), 1000);
    QCOMPARE(set.check(Cost{}, clock.now()), (Admission{Verdict::Now, std::nullopt, Duration::zero()}));
    // A zero cost needs nothing from the rate limits.
    LimitSet limited(options(60, 60, 60), clock);
    QVERIFY(limited.tryAdmit(Cost{1, 1, 1}, clock.now()));
    QCOMPARE(limited.check(Cost{0, 0, 0}, clock.now()).verdict, Verdict::Now);
}

void TestLimitSet::timeRunningBackwardsAdmitsNothingNew()
{
    ManualClock clock;
    const TimePoint t10 = clock.now() + 10s;
    LimitSet set(options(60), clock);
    QVERIFY(set.tryAdmit(Cost{}, t10));
    QVERIFY(!set.tryAdmit(Cost{}, t10 - 5s));
    QCOMPARE(set.check(Cost{}, t10 - 5s).wait, Duration(1s)); // measured from the latest time seen
    QVERIFY(set.tryAdmit(Cost{}, t10 + 1s));
}

void TestLimitSet::limitIdNames()
{
    QCOMPARE(limitIdName(LimitId::Requests), QStringLiteral("requests"));
    QCOMPARE(limitIdName(LimitId::InputTokens), QStringLiteral("input_tokens"));
    QCOMPARE(limitIdName(LimitId::OutputTokens), QStringLiteral("output_tokens"));
    QCOMPARE(limitIdName(LimitId::Concurrency), QStringLiteral("concurrency"));
    QCOMPARE(limitIdName(LimitId::DailyQuota), QStringLiteral("daily_quota"));
}

QTEST_APPLESS_MAIN(TestLimitSet)
#include "tst_limitset.moc"
