// Tests for CircuitBreaker, as transcripts on a ManualClock: threshold, cool-off, the single probe,
// re-opening, and auth failures that only the user can clear. Nothing sleeps.
#include "circuitbreaker.h"

#include <QTest>

using namespace sluice;
using namespace std::chrono_literals;

Q_DECLARE_METATYPE(sluice::ErrorKind)
Q_DECLARE_METATYPE(sluice::CircuitState)
Q_DECLARE_METATYPE(sluice::CircuitOpenReason)

namespace QTest {
template<> char *toString(const CircuitState &s)
{
    switch (s) {
    case CircuitState::Closed:
        return qstrdup("Closed");
    case CircuitState::Open:
        return qstrdup("Open");
    case CircuitState::HalfOpen:
        return qstrdup("HalfOpen");
    }
    return qstrdup("?");
}
template<> char *toString(const CircuitOpenReason &r)
{
    switch (r) {
    case CircuitOpenReason::None:
        return qstrdup("None");
    case CircuitOpenReason::AuthFailure:
        return qstrdup("AuthFailure");
    case CircuitOpenReason::ServerErrors:
        return qstrdup("ServerErrors");
    }
    return qstrdup("?");
}
} // namespace QTest

namespace {

// Drives the breaker with `n` failures of `kind`, one second apart, each after an allowed send.
void failTimes(CircuitBreaker &cb, ManualClock &clock, ErrorKind kind, int n)
{
    for (int i = 0; i < n; ++i) {
        QVERIFY(cb.allowRequest(clock.now()));
        cb.recordFailure(kind, clock.now());
        clock.advance(1s);
    }
}

} // namespace

class TestCircuitBreaker : public QObject
{
    Q_OBJECT

private slots:
    void opensAtThreshold();
    void successInClosedResetsTheRun();
    void whatCounts_data();
    void whatCounts();
    void coolOffThenSingleProbe();
    void probeSuccessCloses();
    void probeFailureReopens();
    void neutralProbeOutcomeFreesTheSlot();
    void lateOutcomesWhileOpenAreIgnored();
    void authFailureStaysOpenUntilReset_data();
    void authFailureStaysOpenUntilReset();
    void authOverridesServerOpen();
    void workedExample();
    void thresholdZeroMeansOne();
};

void TestCircuitBreaker::opensAtThreshold()
{
    ManualClock clock;
    CircuitBreaker cb; // threshold 5, cool-off 30 s
    failTimes(cb, clock, ErrorKind::Server, 4);
    QCOMPARE(cb.state(clock.now()), CircuitState::Closed);
    QCOMPARE(cb.consecutiveFailures(), 4);
    QVERIFY(!cb.nextChange(clock.now()));
    QVERIFY(cb.allowRequest(clock.now()));
    const TimePoint fifth = clock.now();
    cb.recordFailure(ErrorKind::Server, fifth);
    QCOMPARE(cb.state(fifth), CircuitState::Open);
    QCOMPARE(cb.openReason(), CircuitOpenReason::ServerErrors);
    QCOMPARE(cb.openedAt(), fifth);
    QVERIFY(!cb.allowRequest(fifth));
    QCOMPARE(cb.nextChange(fifth), fifth + 30s);
    QCOMPARE(cb.nextChange(fifth + 29s), fifth + 30s);
}

void TestCircuitBreaker::successInClosedResetsTheRun()
{
    ManualClock clock;
    CircuitBreaker cb;
    failTimes(cb, clock, ErrorKind::Server, 4);
    cb.recordSuccess(clock.now());
    QCOMPARE(cb.consecutiveFailures(), 0);
    failTimes(cb, clock, ErrorKind::Timeout, 4);
    QCOMPARE(cb.state(clock.now()), CircuitState::Closed);
    failTimes(cb, clock, ErrorKind::Network, 1);
    QCOMPARE(cb.state(clock.now()), CircuitState::Open);
}

void TestCircuitBreaker::whatCounts_data()
{
    QTest::addColumn<ErrorKind>("kind");
    QTest::addColumn<CircuitState>("afterOne"); // with threshold 1
    QTest::addColumn<CircuitOpenReason>("reason");
    using K = ErrorKind;
    const auto C = CircuitState::Closed, O = CircuitState::Open;
    QTest::addRow("500") << K::Server << O << CircuitOpenReason::ServerErrors;
    QTest::addRow("529") << K::Overloaded << O << CircuitOpenReason::ServerErrors;
    QTest::addRow("network") << K::Network << O << CircuitOpenReason::ServerErrors;
    QTest::addRow("timeout") << K::Timeout << O << CircuitOpenReason::ServerErrors;
    QTest::addRow("401") << K::Auth << O << CircuitOpenReason::AuthFailure;
    QTest::addRow("403") << K::Permission << O << CircuitOpenReason::AuthFailure;
    QTest::addRow("429 is pacing") << K::RateLimited << C << CircuitOpenReason::None;
    QTest::addRow("400") << K::BadRequest << C << CircuitOpenReason::None;
    QTest::addRow("404") << K::NotFound << C << CircuitOpenReason::None;
    QTest::addRow("413") << K::TooLarge << C << CircuitOpenReason::None;
    QTest::addRow("409") << K::Conflict << C << CircuitOpenReason::None;
    QTest::addRow("malformed") << K::Malformed << C << CircuitOpenReason::None;
    QTest::addRow("cancelled") << K::Cancelled << C << CircuitOpenReason::None;
    QTest::addRow("other") << K::Other << C << CircuitOpenReason::None;
}

void TestCircuitBreaker::whatCounts()
{
    QFETCH(ErrorKind, kind);
    QFETCH(CircuitState, afterOne);
    QFETCH(CircuitOpenReason, reason);
    ManualClock clock;
    CircuitBreaker cb(CircuitBreakerOptions{1, 30s});
    cb.recordFailure(kind, clock.now());
    QCOMPARE(cb.state(clock.now()), afterOne);
    QCOMPARE(cb.openReason(), reason);
    // Neutral kinds neither count nor reset: with threshold 3, two server errors around ten of them still
    // open it.
    CircuitBreaker run(CircuitBreakerOptions{3, 30s});
    run.recordFailure(ErrorKind::Server, clock.now());
    for (int i = 0; i < 10; ++i)
        run.recordFailure(kind, clock.now());
    run.recordFailure(ErrorKind::Server, clock.now());
    if (reason == CircuitOpenReason::None) {
        QCOMPARE(run.consecutiveFailures(), 2);
        QCOMPARE(run.state(clock.now()), CircuitState::Closed);
    } else {
        QCOMPARE(run.state(clock.now()), CircuitState::Open);
    }
}

void TestCircuitBreaker::coolOffThenSingleProbe()
{
    ManualClock clock;
    CircuitBreaker cb;
    failTimes(cb, clock, ErrorKind::Overloaded, 5);
    const TimePoint opened = cb.openedAt();
    clock.set(opened + 30s - Duration(1));
    QCOMPARE(cb.state(clock.now()), CircuitState::Open);
    QVERIFY(!cb.allowRequest(clock.now()));
    clock.set(opened + 30s);
    QCOMPARE(cb.state(clock.now()), CircuitState::HalfOpen);
    QVERIFY(!cb.nextChange(clock.now()));
    QVERIFY(!cb.probeInFlight());
    QVERIFY(cb.allowRequest(clock.now())); // the probe
    QVERIFY(cb.probeInFlight());
    QVERIFY(!cb.allowRequest(clock.now()));
    clock.advance(10min);
    QVERIFY(!cb.allowRequest(clock.now())); // still waiting for the probe's outcome, however long
    QCOMPARE(cb.state(clock.now()), CircuitState::HalfOpen);
}

void TestCircuitBreaker::probeSuccessCloses()
{
    ManualClock clock;
    CircuitBreaker cb;
    failTimes(cb, clock, ErrorKind::Server, 5);
    clock.advance(30s);
    QVERIFY(cb.allowRequest(clock.now()));
    clock.advance(2s);
    cb.recordSuccess(clock.now());
    QCOMPARE(cb.state(clock.now()), CircuitState::Closed);
    QCOMPARE(cb.openReason(), CircuitOpenReason::None);
    QCOMPARE(cb.consecutiveFailures(), 0);
    QVERIFY(!cb.probeInFlight());
    for (int i = 0; i < 10; ++i)
        QVERIFY(cb.allowRequest(clock.now()));
    // A fresh run is needed to open it again.
    failTimes(cb, clock, ErrorKind::Server, 4);
    QCOMPARE(cb.state(clock.now()), CircuitState::Closed);
}

void TestCircuitBreaker::probeFailureReopens()
{
    ManualClock clock;
    CircuitBreaker cb;
    failTimes(cb, clock, ErrorKind::Server, 5);
    clock.advance(30s);
    QVERIFY(cb.allowRequest(clock.now()));
    clock.advance(1s);
    const TimePoint failedAt = clock.now();
    cb.recordFailure(ErrorKind::Timeout, failedAt);
    QCOMPARE(cb.state(failedAt), CircuitState::Open);
    QCOMPARE(cb.openReason(), CircuitOpenReason::ServerErrors);
    QCOMPARE(cb.openedAt(), failedAt);
    QCOMPARE(cb.nextChange(failedAt), failedAt + 30s);
    QVERIFY(!cb.probeInFlight());
    QVERIFY(!cb.allowRequest(failedAt + 29s));
    QVERIFY(cb.allowRequest(failedAt + 30s)); // the next probe
    QVERIFY(!cb.allowRequest(failedAt + 30s));
}

void TestCircuitBreaker::neutralProbeOutcomeFreesTheSlot()
{
    ManualClock clock;
    CircuitBreaker cb;
    failTimes(cb, clock, ErrorKind::Server, 5);
    clock.advance(30s);
    QVERIFY(cb.allowRequest(clock.now()));
    cb.recordFailure(ErrorKind::RateLimited, clock.now()); // the probe met a 429: no verdict
    QCOMPARE(cb.state(clock.now()), CircuitState::HalfOpen);
    QVERIFY(!cb.probeInFlight());
    QVERIFY(cb.allowRequest(clock.now())); // another probe
    QVERIFY(!cb.allowRequest(clock.now()));
    cb.recordFailure(ErrorKind::Cancelled, clock.now()); // the user cancelled it
    QVERIFY(cb.allowRequest(clock.now()));
    cb.recordSuccess(clock.now());
    QCOMPARE(cb.state(clock.now()), CircuitState::Closed);
}

void TestCircuitBreaker::lateOutcomesWhileOpenAreIgnored()
{
    ManualClock clock;
    CircuitBreaker cb;
    failTimes(cb, clock, ErrorKind::Server, 5);
    const TimePoint opened = cb.openedAt();
    cb.recordSuccess(clock.now()); // an old request's answer
    cb.recordFailure(ErrorKind::Server, clock.now());
    QCOMPARE(cb.state(clock.now()), CircuitState::Open);
    QCOMPARE(cb.openedAt(), opened); // the cool-off was not extended
    QCOMPARE(cb.nextChange(clock.now()), opened + 30s);
}

void TestCircuitBreaker::authFailureStaysOpenUntilReset_data()
{
    QTest::addColumn<ErrorKind>("kind");
    QTest::addRow("401") << ErrorKind::Auth;
    QTest::addRow("403") << ErrorKind::Permission;
}

void TestCircuitBreaker::authFailureStaysOpenUntilReset()
{
    QFETCH(ErrorKind, kind);
    ManualClock clock;
    CircuitBreaker cb;
    QVERIFY(cb.allowRequest(clock.now()));
    cb.recordFailure(kind, clock.now()); // one is enough
    QCOMPARE(cb.state(clock.now()), CircuitState::Open);
    QCOMPARE(cb.openReason(), CircuitOpenReason::AuthFailure);
    QVERIFY(!cb.nextChange(clock.now())); // no timer can fix a key
    for (Duration later : {Duration(30s), Duration(1h), Duration(24h * 30)}) {
        QCOMPARE(cb.state(clock.now() + later), CircuitState::Open);
        QVERIFY(!cb.allowRequest(clock.now() + later));
        QVERIFY(!cb.nextChange(clock.now() + later));
    }
    cb.recordSuccess(clock.now() + 1h); // an in-flight request that still had a good key
    QCOMPARE(cb.openReason(), CircuitOpenReason::AuthFailure);
    cb.reset();
    QCOMPARE(cb.state(clock.now()), CircuitState::Closed);
    QCOMPARE(cb.openReason(), CircuitOpenReason::None);
    QVERIFY(cb.allowRequest(clock.now()));
}

void TestCircuitBreaker::authOverridesServerOpen()
{
    ManualClock clock;
    CircuitBreaker cb;
    failTimes(cb, clock, ErrorKind::Server, 5);
    cb.recordFailure(ErrorKind::Auth, clock.now());
    QCOMPARE(cb.openReason(), CircuitOpenReason::AuthFailure);
    QVERIFY(!cb.nextChange(clock.now()));
    QCOMPARE(cb.state(clock.now() + 1h), CircuitState::Open); // no half-open for auth
    // And while half-open: the probe comes back 401.
    CircuitBreaker hb;
    failTimes(hb, clock, ErrorKind::Server, 5);
    clock.advance(30s);
    QVERIFY(hb.allowRequest(clock.now()));
    hb.recordFailure(ErrorKind::Permission, clock.now());
    QCOMPARE(hb.openReason(), CircuitOpenReason::AuthFailure);
    QVERIFY(!hb.allowRequest(clock.now() + 1h));
}

void TestCircuitBreaker::workedExample()
{
    ManualClock clock;
    const TimePoint t0 = clock.now();
    const auto at = [&](int s) { return t0 + std::chrono::seconds(s); };
    CircuitBreaker cb;
    for (int s = 0; s <= 4; ++s) {
        QVERIFY(cb.allowRequest(at(s)));
        cb.recordFailure(ErrorKind::Server, at(s));
    }
    QCOMPARE(cb.state(at(4)), CircuitState::Open);
    QCOMPARE(cb.nextChange(at(4)), at(34));
    QCOMPARE(cb.state(at(34)), CircuitState::HalfOpen);
    QVERIFY(cb.allowRequest(at(34)));
    QVERIFY(!cb.allowRequest(at(34)));
    cb.recordFailure(ErrorKind::Overloaded, at(35));
    QCOMPARE(cb.nextChange(at(35)), at(65));
    QVERIFY(cb.allowRequest(at(65)));
    cb.recordSuccess(at(66));
    QCOMPARE(cb.state(at(66)), CircuitState::Closed);
    QCOMPARE(cb.consecutiveFailures(), 0);
    cb.recordFailure(ErrorKind::Auth, at(70));
    QVERIFY(!cb.nextChange(at(70)));
    QCOMPARE(cb.state(at(10000)), CircuitState::Open);
    cb.reset();
    QCOMPARE(cb.state(at(10000)), CircuitState::Closed);
}

void TestCircuitBreaker::thresholdZeroMeansOne()
{
    ManualClock clock;
    CircuitBreaker cb(CircuitBreakerOptions{0, 5s});
    cb.recordFailure(ErrorKind::Network, clock.now());
    QCOMPARE(cb.state(clock.now()), CircuitState::Open);
    QCOMPARE(cb.state(clock.now() + 5s), CircuitState::HalfOpen);
}

QTEST_APPLESS_MAIN(TestCircuitBreaker)
#include "tst_circuitbreaker.moc"
