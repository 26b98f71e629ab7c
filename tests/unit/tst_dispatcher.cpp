// Dispatcher transcripts: a ManualClock and a scripted transport, so every assertion is about exactly what
// went out when. No event loop runs: the tests call pump() themselves after moving the clock, as the timer
// would.
#include "dispatcher.h"

#include <QJsonArray>
#include <QSignalSpy>
#include <QTest>

using namespace sluice;
using namespace std::chrono_literals;

namespace {

// Records every send and cancel; the test decides when and how each attempt ends.
class FakeTransport : public Transport
{
public:
    struct Sent
    {
        AttemptId id;
        QJsonObject body;
    };
    AttemptId send(const QJsonObject &body) override
    {
        const AttemptId id = ++m_next;
        sent.push_back({id, body});
        open.insert(id);
        return id;
    }
    void cancel(AttemptId id) override
    {
        cancelled.push_back(id);
        open.remove(id);
    }
    // Ends an attempt as the real transport would: one finished() for it.
    void finish(AttemptId id, const AttemptOutcome &outcome)
    {
        open.remove(id);
        Q_EMIT finished(id, outcome);
    }

    std::vector<Sent> sent;
    QList<AttemptId> cancelled;
    QSet<AttemptId> open;

private:
    AttemptId m_next = 0;
};

QJsonObject body(int maxTokens = 100, const QString &text = QStringLiteral("Hello, world"))
{
    return QJsonObject{
        {QStringLiteral("model"), QStringLiteral("claude-sonnet-4-5")},
        {QStringLiteral("max_tokens"), maxTokens},
        {QStringLiteral("messages"), QJsonArray{QJsonObject{{QStringLiteral("role"), QStringLiteral("user")},
                                                            {QStringLiteral("content"), text}}}}};
}

AttemptOutcome ok(qint64 in = 10, qint64 out = 5)
{
    AttemptOutcome o;
    o.kind = ErrorKind::None;
    o.httpStatus = 200;
    o.text = QStringLiteral("hi");
    o.usage.inputTokens = in;
    o.usage.outputTokens = out;
    o.requestId = QStringLiteral("req_ok");
    return o;
}

AttemptOutcome failure(int status, std::optional<Duration> retryAfter = std::nullopt)
{
    AttemptOutcome o;
    o.httpStatus = status;
    o.kind = status ? errorKindForStatus(status) : ErrorKind::Network;
    o.errorType = QStringLiteral("some_error");
    o.errorMessage = QStringLiteral("it went wrong");
    o.requestId = QStringLiteral("req_bad");
    o.retry.retryAfter = retryAfter;
    return o;
}

double ms(Duration d)
{
    return toMilliseconds(d);
}

} // namespace

class TestDispatcher : public QObject
{
    Q_OBJECT

    // Options with nothing on but what a test turns on, and no safety margin, so transcripts are exact.
    static DispatchOptions bare()
    {
        DispatchOptions o;
        o.limits.concurrency = 0;
        o.safetyMargin = 0;
        o.learnLimits = false;
        o.backoff.jitter = JitterMode::None;
        o.backoff.initialDelay = 500ms;
        o.backoff.multiplier = 2;
        o.backoff.maxAttempts = 3;
        return o;
    }

    // Advances the clock to each wake-up the dispatcher asks for and pumps, answering every attempt at once
    // with `reply`, until `count` attempts went out; returns the send times relative to the start.
    static QList<double> runUntil(Dispatcher &dispatcher, FakeTransport &transport, ManualClock &clock,
                                  size_t count, const AttemptOutcome &reply = ok())
    {
        const TimePoint start = clock.now();
        QList<double> times;
        dispatcher.pump();
        for (int guard = 0; guard < 10000 && transport.sent.size() < count; ++guard) {
            while (size_t(times.size()) < transport.sent.size()) {
                times.append(ms(clock.now() - start));
                transport.finish(transport.sent[size_t(times.size() - 1)].id, reply);
            }
            if (transport.sent.size() >= count)
                break;
            dispatcher.pump();
            if (size_t(times.size()) < transport.sent.size())
                continue;
            if (!dispatcher.nextWakeup())
                break;
            clock.set(std::max(clock.now(), *dispatcher.nextWakeup()));
            dispatcher.pump();
        }
        while (size_t(times.size()) < transport.sent.size()) {
            times.append(ms(clock.now() - start));
            transport.finish(transport.sent[size_t(times.size() - 1)].id, reply);
        }
        return times;
    }

private Q_SLOTS:
    void requestsPerMinuteAlone()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.requests.perMinute = 60; // capacity 1, one per second
        Dispatcher dispatcher(transport, clock, o);
        for (int i = 0; i < 4; ++i)
            QVERIFY(dispatcher.submit(body()).ok());
        const QList<double> times = runUntil(dispatcher, transport, clock, 4);
        QCOMPARE(times, (QList<double>{0, 1000, 2000, 3000}));
    }

    void inputTokensAlone()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.inputTokens.perMinute = 1200; // 20 per second, capacity 20; "Hello, world" is 10 tokens
        Dispatcher dispatcher(transport, clock, o);
        for (int i = 0; i < 5; ++i)
            dispatcher.submit(body());
        // Settled to exactly the estimate (10), so nothing is refunded: 2 at once, then one per 500 ms.
        const QList<double> times = runUntil(dispatcher, transport, clock, 5, ok(10, 5));
        QCOMPARE(times, (QList<double>{0, 0, 500, 1000, 1500}));
    }

    void outputTokensReservedThenSettled()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.outputTokens.perMinute = 6000; // 100 per second, capacity 100
        Dispatcher dispatcher(transport, clock, o);
        dispatcher.submit(body(100));
        dispatcher.submit(body(100));
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(1)); // max_tokens 100 reserved: the bucket is empty
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 1000.0);
        // 200 ms later the reply says 20 tokens were produced: 80 come back, so the second fits now.
        clock.advance(200ms);
        transport.finish(transport.sent[0].id, ok(10, 20));
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(2));
    }

    void allLimitsTogether()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.requests.perMinute = 120;      // 2/s, capacity 2
        o.limits.inputTokens.perMinute = 600;   // 10/s, capacity 10
        o.limits.outputTokens.perMinute = 3000; // 50/s, capacity 50
        Dispatcher dispatcher(transport, clock, o);
        for (int i = 0; i < 4; ++i)
            dispatcher.submit(body(25));
        // Input binds: 10 tokens each at 10/s -> one per second (requests would allow 2/s, output 2/s).
        const QList<double> times = runUntil(dispatcher, transport, clock, 4, ok(10, 25));
        QCOMPARE(times, (QList<double>{0, 1000, 2000, 3000}));
        const DispatcherStats s = dispatcher.stats();
        QCOMPARE(s.succeeded, 4);
        QVERIFY(s.inputTokens.enabled && s.outputTokens.enabled && s.requests.enabled);
    }

    void concurrencyLimit()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.concurrency = 2;
        Dispatcher dispatcher(transport, clock, o);
        for (int i = 0; i < 3; ++i)
            dispatcher.submit(body());
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(2));
        // Only a reply can free a slot: the one timer is for the attempts' deadline (600 s), not for the
        // queue.
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 600000.0);
        QCOMPARE(dispatcher.stats().inFlight, 2);
        transport.finish(transport.sent[0].id, ok());
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(3));
    }

    void priorityThenFifo()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.concurrency = 1;
        Dispatcher dispatcher(transport, clock, o);
        const RequestId a = dispatcher.submit(body(), 0, QStringLiteral("a")).id;
        const RequestId b = dispatcher.submit(body(), 5, QStringLiteral("b")).id;
        const RequestId c = dispatcher.submit(body(), 0, QStringLiteral("c")).id;
        const RequestId e = dispatcher.submit(body(), 5, QStringLiteral("e")).id;
        QList<RequestId> order;
        connect(&dispatcher, &Dispatcher::dispatched, this, [&](RequestId id) { order.append(id); });
        runUntil(dispatcher, transport, clock, 4);
        QCOMPARE(order, (QList<RequestId>{b, e, a, c}));
    }

    void cooldownAfter429RefundsAndHoldsEverything()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.requests.perMinute = 60;
        Dispatcher dispatcher(transport, clock, o);
        QSignalSpy cooldowns(&dispatcher, &Dispatcher::cooldownStarted);
        const RequestId first = dispatcher.submit(body()).id;
        const RequestId second = dispatcher.submit(body()).id;
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(1));
        clock.advance(100ms);
        AttemptOutcome tooMany = failure(429, 3s);
        tooMany.rateLimits.requests.remaining = 0;
        transport.finish(transport.sent[0].id, tooMany);
        QCOMPARE(cooldowns.size(), 1);
        QCOMPARE(cooldowns.at(0).at(1).toString(), QStringLiteral("requests"));
        QCOMPARE(dispatcher.request(first)->state, RequestState::RetryWaiting);
        QCOMPARE(ms(*dispatcher.request(first)->nextAttemptAt - clock.now()), 3000.0);
        // The request token was refunded, so without the cooldown #1 could go at once; it does not.
        clock.advance(2900ms);
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(1));
        QCOMPARE(dispatcher.stats().cooldownCause, QStringLiteral("requests"));
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 100.0);
        clock.advance(100ms);
        dispatcher.pump();
        // The 429ed request goes first (it is older), and it did not spend an attempt.
        QCOMPARE(transport.sent.size(), size_t(2));
        QCOMPARE(dispatcher.request(first)->state, RequestState::InFlight);
        QCOMPARE(dispatcher.request(first)->freeAttempts, 1);
        QCOMPARE(dispatcher.request(second)->state, RequestState::Queued);
        QCOMPARE(dispatcher.stats().rateLimited, 1);
    }

    void learnsLimitsWithSlowStart()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.learnLimits = true;
        o.limits.concurrency = 8;
        Dispatcher dispatcher(transport, clock, o);
        QSignalSpy learned(&dispatcher, &Dispatcher::limitChanged);
        for (int i = 0; i < 4; ++i)
            dispatcher.submit(body());
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(1)); // one probe until the server has told its limits
        clock.advance(200ms);
        AttemptOutcome first = ok();
        first.rateLimits.requests.limit = 120; // 2 per second, capacity 2
        first.rateLimits.requests.remaining = 1;
        transport.finish(transport.sent[0].id, first);
        QCOMPARE(learned.size(), 1);
        QCOMPARE(learned.at(0).at(0).toString(), QStringLiteral("requests"));
        QCOMPARE(learned.at(0).at(1).toDouble(), 120.0);
        QCOMPARE(learned.at(0).at(3).toBool(), true);
        dispatcher.pump();
        // The server has 1 left: exactly one more goes now, the next when a token refills (500 ms).
        QCOMPARE(transport.sent.size(), size_t(2));
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 500.0);
        QCOMPARE(dispatcher.stats().requests.perMinute, 120.0);
    }

    void learnedLimitIsChargedForTheProbe()
    {
        // The probe used 260 input tokens; the learned 60,000/min limit holds 1,000 a second, so 740 are left
        // and a second 260-token request fits, a fourth does not (the rounded -remaining says nothing
        // useful).
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.learnLimits = true;
        o.limits.concurrency = 8;
        Dispatcher dispatcher(transport, clock, o);
        const QString text(4 * (260 - 7), QLatin1Char('x'));
        for (int i = 0; i < 5; ++i)
            dispatcher.submit(body(10, text));
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(1));
        AttemptOutcome first = ok(260, 10);
        first.rateLimits.inputTokens.limit = 60000;
        first.rateLimits.inputTokens.remaining = 1000; // rounded to the nearest thousand
        transport.finish(transport.sent[0].id, first);
        QCOMPARE(dispatcher.stats().inputTokens.level, 740.0);
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(3));                 // 740 -> 480 -> 220
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 40.0); // (260 - 220) / 1000 per second
    }

    void repliesPumpThroughTheEventLoop()
    {
        // A reply must lead to the next dispatch at once, even while the timer is armed for a later wake-up
        // (the attempt's 600 s deadline). No time passes: only zero-timers run.
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.concurrency = 1;
        Dispatcher dispatcher(transport, clock, o);
        dispatcher.submit(body());
        dispatcher.submit(body());
        QCoreApplication::processEvents(); // the submit's zero-timer pumps
        QCOMPARE(transport.sent.size(), size_t(1));
        transport.finish(transport.sent[0].id, ok());
        QCoreApplication::processEvents();
        QCOMPARE(transport.sent.size(), size_t(2));
    }

    void serverLimitBelowConfiguredReplacesIt()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.requests.perMinute = 600;
        Dispatcher dispatcher(transport, clock, o);
        QSignalSpy changed(&dispatcher, &Dispatcher::limitChanged);
        dispatcher.submit(body());
        dispatcher.pump();
        AttemptOutcome r = ok();
        r.rateLimits.requests.limit = 60;
        transport.finish(transport.sent[0].id, r);
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.at(0).at(3).toBool(), true);
        QCOMPARE(dispatcher.stats().requests.perMinute, 60.0);
        QCOMPARE(dispatcher.stats().requests.configured, 600.0);
        // A higher one is reported, not adopted.
        dispatcher.submit(body());
        clock.advance(1s);
        dispatcher.pump();
        AttemptOutcome higher = ok();
        higher.rateLimits.requests.limit = 6000;
        transport.finish(transport.sent[1].id, higher);
        QCOMPARE(changed.size(), 2);
        QCOMPARE(changed.at(1).at(3).toBool(), false);
        QCOMPARE(dispatcher.stats().requests.perMinute, 60.0);
    }

    void serverRemainingLowersLevel()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.requests.perMinute = 600; // 10 per second, capacity 10
        Dispatcher dispatcher(transport, clock, o);
        dispatcher.submit(body());
        dispatcher.pump();
        AttemptOutcome r = ok();
        r.rateLimits.requests.remaining = 2; // someone else shares the key
        transport.finish(transport.sent[0].id, r);
        QCOMPARE(dispatcher.stats().requests.level, 2.0);
    }

    void backfillOnlyWhenTheHeadIsNotDelayed()
    {
        // Sliding window of 1 s, 100 input tokens. A 75-token request at t=0 leaves 25 free until it leaves
        // the window at t=1 s. The head needs 70: it waits for t=1 s, when 100 are free again. Behind it, a
        // 40-token request does not fit in the 25; a 23-token one does, and at t=1 s 100 - 23 = 77 >= 70 are
        // free: the head still starts at 1 s, so the small one goes first.
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.inputTokens = {6000, LimiterKind::SlidingWindow};
        Dispatcher dispatcher(transport, clock, o);
        const QString chars75(4 * (75 - 7), QLatin1Char('x'));
        const QString chars70(4 * (70 - 7), QLatin1Char('x'));
        const QString chars23(4 * (23 - 7), QLatin1Char('x'));
        const QString chars40(4 * (40 - 7), QLatin1Char('x'));
        dispatcher.submit(body(10, chars75), 9, QStringLiteral("big"));
        const RequestId head = dispatcher.submit(body(10, chars70), 5, QStringLiteral("head")).id;
        const RequestId tooBig = dispatcher.submit(body(10, chars40), 1, QStringLiteral("would-delay")).id;
        const RequestId small = dispatcher.submit(body(10, chars23), 0, QStringLiteral("small")).id;
        QCOMPARE(dispatcher.request(small)->estimatedInputTokens, 23.0);
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(2)); // "big", then "small" as backfill
        QCOMPARE(dispatcher.request(tooBig)->state, RequestState::Queued);
        QCOMPARE(dispatcher.request(small)->state, RequestState::InFlight);
        QCOMPARE(dispatcher.request(head)->state, RequestState::Queued);
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 1000.0);
        clock.advance(1s);
        dispatcher.pump();
        QCOMPARE(dispatcher.request(head)->state, RequestState::InFlight);
    }

    void noBackfillThatWouldDelayTheHead()
    {
        // A token bucket: anything taken now delays a head that waits for the same bucket, so nothing
        // backfills.
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.inputTokens.perMinute = 6000; // 100 per second, capacity 100
        Dispatcher dispatcher(transport, clock, o);
        dispatcher.submit(body(10, QString(4 * (75 - 7), QLatin1Char('x'))), 9);
        const RequestId head = dispatcher.submit(body(10, QString(4 * (70 - 7), QLatin1Char('x'))), 5).id;
        const RequestId small = dispatcher.submit(body(10, QString(4 * (23 - 7), QLatin1Char('x'))), 0).id;
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(1));
        QCOMPARE(dispatcher.request(small)->state, RequestState::Queued);
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 450.0); // (70 - 25) / 100 per second
        clock.advance(450ms);
        dispatcher.pump();
        QCOMPARE(dispatcher.request(head)->state, RequestState::InFlight);
    }

    void cancelInFlight()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.concurrency = 1;
        Dispatcher dispatcher(transport, clock, o);
        const RequestId a = dispatcher.submit(body()).id;
        const RequestId b = dispatcher.submit(body()).id;
        dispatcher.pump();
        QVERIFY(dispatcher.cancel(a));
        QCOMPARE(transport.cancelled, (QList<AttemptId>{transport.sent[0].id}));
        QCOMPARE(dispatcher.request(a)->state, RequestState::Cancelled);
        dispatcher.pump();
        QCOMPARE(dispatcher.request(b)->state, RequestState::InFlight); // the slot was freed
        // The transport's late "cancelled" reply for the first attempt changes nothing.
        AttemptOutcome late;
        late.kind = ErrorKind::Cancelled;
        transport.finish(transport.sent[0].id, late);
        QCOMPARE(dispatcher.request(a)->state, RequestState::Cancelled);
        QCOMPARE(dispatcher.stats().cancelled, 1);
        QCOMPARE(dispatcher.stats().inFlight, 1);
        QVERIFY(!dispatcher.cancel(a));
        QVERIFY(!dispatcher.cancel(999));
    }

    void limitChangedMidRun()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.requests.perMinute = 60;
        Dispatcher dispatcher(transport, clock, o);
        for (int i = 0; i < 3; ++i)
            dispatcher.submit(body());
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(1));
        clock.advance(500ms);              // half a token refilled at 1/s
        o.limits.requests.perMinute = 120; // now 2/s, capacity 2; the level (0.5) is kept
        dispatcher.setOptions(o);
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(1));
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 250.0); // 0.5 more at 2/s
        clock.advance(250ms);
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(2));
    }

    void backoffTranscriptThenGiveUp()
    {
        ManualClock clock;
        FakeTransport transport;
        Dispatcher dispatcher(transport, clock, bare()); // 3 attempts, 500 ms then 1 s
        const RequestId id = dispatcher.submit(body()).id;
        dispatcher.pump();
        transport.finish(transport.sent[0].id, failure(500));
        QCOMPARE(dispatcher.request(id)->state, RequestState::RetryWaiting);
        dispatcher.pump();
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 500.0);
        clock.advance(500ms);
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(2));
        transport.finish(transport.sent[1].id, failure(529));
        dispatcher.pump();
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 1000.0);
        clock.advance(1s);
        dispatcher.pump();
        transport.finish(transport.sent[2].id, failure(500));
        QCOMPARE(dispatcher.request(id)->state, RequestState::Failed);
        QCOMPARE(dispatcher.request(id)->error, ErrorKind::Server);
        QVERIFY(dispatcher.request(id)->errorMessage.contains(QStringLiteral("3 attempt")));
        QCOMPARE(dispatcher.stats().retries, 2);
    }

    void failedAttemptsSettleOutputByWhatMayHaveBeenGenerated_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<int>("kind");
        QTest::addColumn<bool>("inStream");
        QTest::addColumn<double>("outputLevel"); // of 100 after a 100-token reservation, no time passing
        QTest::addRow("500 before any answer: nothing generated")
            << 500 << int(ErrorKind::Server) << false << 100.0;
        QTest::addRow("529 before any answer") << 529 << int(ErrorKind::Overloaded) << false << 100.0;
        QTest::addRow("truncated 200 body: may be charged")
            << 200 << int(ErrorKind::Malformed) << false << 0.0;
        QTest::addRow("error event mid-stream") << 529 << int(ErrorKind::Overloaded) << true << 0.0;
        QTest::addRow("reset before any answer: nothing received")
            << 0 << int(ErrorKind::Network) << false << 100.0;
        QTest::addRow("stall after the 200 head") << 200 << int(ErrorKind::Timeout) << false << 0.0;
    }
    void failedAttemptsSettleOutputByWhatMayHaveBeenGenerated()
    {
        QFETCH(int, status);
        QFETCH(int, kind);
        QFETCH(bool, inStream);
        QFETCH(double, outputLevel);
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.outputTokens.perMinute = 6000; // capacity 100
        Dispatcher dispatcher(transport, clock, o);
        dispatcher.submit(body(100));
        dispatcher.pump();
        QCOMPARE(dispatcher.stats().outputTokens.level, 0.0);
        AttemptOutcome f = failure(status);
        f.kind = ErrorKind(kind);
        f.errorInStream = inStream;
        transport.finish(transport.sent[0].id, f);
        QCOMPARE(dispatcher.stats().outputTokens.level, outputLevel);
    }

    // A silent attempt we hang up on (a timeout) produced nothing, but the server frees its output only when
    // it sees the connection go: the output comes back 500 ms later, not at once, so the next attempt cannot
    // overtake the hang-up and meet a 429.
    void hangUpGivesOutputBackAfterADelay()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.outputTokens.perMinute = 100; // with a 60 s burst: capacity 100, refilled 100 per minute
        o.limits.burstSeconds = 60;
        Dispatcher dispatcher(transport, clock, o);
        dispatcher.submit(body(100));
        dispatcher.submit(body(100));
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(1));
        AttemptOutcome t = failure(0);
        t.kind = ErrorKind::Timeout;
        transport.finish(transport.sent[0].id, t);
        dispatcher.pump();
        QCOMPARE(dispatcher.stats().outputTokens.level, 0.0);
        QCOMPARE(transport.sent.size(), size_t(1));
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 500.0);
        clock.advance(500ms);
        dispatcher.pump();
        // 100 back (the bucket is full again) and at once spent on the next attempt.
        QCOMPARE(transport.sent.size(), size_t(2));
        QCOMPARE(dispatcher.stats().outputTokens.level, 0.0);
    }

    // An attempt that never left the machine (connection refused) costs nothing at the server: every limit
    // gets its reservation back; one that went out and got no answer keeps its request and input spent.
    void attemptNeverSentIsRefundedInFull_data()
    {
        QTest::addColumn<bool>("notSent");
        QTest::addColumn<double>("requestLevel");
        QTest::addColumn<double>("inputLevel");
        QTest::addRow("connection refused: nothing sent") << true << 1.0 << 100.0;
        QTest::addRow("reset after sending: may have been admitted")
            << false << 0.0 << 90.0; // the estimate: 10
    }
    void attemptNeverSentIsRefundedInFull()
    {
        QFETCH(bool, notSent);
        QFETCH(double, requestLevel);
        QFETCH(double, inputLevel);
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.requests.perMinute = 60;      // capacity 1
        o.limits.inputTokens.perMinute = 6000; // capacity 100
        Dispatcher dispatcher(transport, clock, o);
        dispatcher.submit(body(100, QStringLiteral("Hello, world")));
        dispatcher.pump();
        QCOMPARE(dispatcher.stats().requests.level, 0.0);
        AttemptOutcome f = failure(0);
        f.notSent = notSent;
        transport.finish(transport.sent[0].id, f);
        QCOMPARE(dispatcher.stats().requests.level, requestLevel);
        QCOMPARE(dispatcher.stats().inputTokens.level, inputLevel);
    }

    void serverRetryAfterWinsOverBackoff()
    {
        ManualClock clock;
        FakeTransport transport;
        Dispatcher dispatcher(transport, clock, bare());
        dispatcher.submit(body());
        dispatcher.pump();
        transport.finish(transport.sent[0].id, failure(529, 4s));
        dispatcher.pump();
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 4000.0);
    }

    void budgetExhaustion()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.backoff.maxAttempts = 10;
        o.retry.budget.capacity = 10; // two retries at 5 each
        o.breaker.failureThreshold = 100;
        Dispatcher dispatcher(transport, clock, o);
        const RequestId id = dispatcher.submit(body()).id;
        for (int attempt = 0; attempt < 3; ++attempt) {
            dispatcher.pump();
            QCOMPARE(transport.sent.size(), size_t(attempt + 1));
            transport.finish(transport.sent.back().id, failure(500));
            dispatcher.pump();
            if (dispatcher.nextWakeup())
                clock.set(*dispatcher.nextWakeup());
        }
        QCOMPARE(dispatcher.request(id)->state, RequestState::Failed);
        QCOMPARE(dispatcher.request(id)->error, ErrorKind::BudgetExhausted);
        QCOMPARE(dispatcher.stats().retryBudgetLevel, 0.0);
    }

    void circuitOpensOn401UntilReset()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.concurrency = 1;
        Dispatcher dispatcher(transport, clock, o);
        QSignalSpy circuit(&dispatcher, &Dispatcher::circuitChanged);
        const RequestId a = dispatcher.submit(body()).id;
        const RequestId b = dispatcher.submit(body()).id;
        dispatcher.pump();
        transport.finish(transport.sent[0].id, failure(401));
        QCOMPARE(dispatcher.request(a)->state, RequestState::Failed);
        QCOMPARE(dispatcher.request(a)->error, ErrorKind::Auth);
        QCOMPARE(circuit.size(), 1);
        QCOMPARE(circuit.at(0).at(0).value<CircuitState>(), CircuitState::Open);
        clock.advance(1h);
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(1)); // nothing goes while the key is refused
        QCOMPARE(dispatcher.request(b)->state, RequestState::Queued);
        QVERIFY(!dispatcher.nextWakeup());
        dispatcher.resetCircuit();
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(2));
        QCOMPARE(circuit.last().at(0).value<CircuitState>(), CircuitState::Closed);
    }

    void timeoutCancelsAndRetries()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.requestTimeout = 5s;
        Dispatcher dispatcher(transport, clock, o);
        const RequestId id = dispatcher.submit(body()).id;
        dispatcher.pump();
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 5000.0);
        clock.advance(5s);
        dispatcher.pump();
        QCOMPARE(transport.cancelled.size(), 1);
        QCOMPARE(dispatcher.request(id)->state, RequestState::RetryWaiting);
        QCOMPARE(dispatcher.request(id)->outcome.kind, ErrorKind::Timeout);
        QCOMPARE(dispatcher.stats().timeouts, 1);
        clock.advance(500ms);
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(2));
    }

    // The timeout is for silence: a stream that keeps talking outlives it; one that goes quiet after its 200
    // ends as a timeout that keeps its output reserved (it was generating), unlike a silent attempt.
    void streamingPushesTheDeadlineAndAQuietStreamKeepsItsOutput()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.requestTimeout = 5s;
        o.limits.outputTokens.perMinute = 100; // with a 60 s burst: capacity 100, refilled 100 per minute
        o.limits.burstSeconds = 60;
        Dispatcher dispatcher(transport, clock, o);
        const RequestId id = dispatcher.submit(body(100)).id;
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(1));
        const AttemptId attempt = transport.sent[0].id;
        clock.advance(4s);
        Q_EMIT transport.textDelta(attempt, QStringLiteral("Hel"));
        dispatcher.pump();
        QCOMPARE(ms(*dispatcher.nextWakeup() - clock.now()), 5000.0);
        clock.advance(4s); // 8 s after the start: past the first deadline, within the moved one
        dispatcher.pump();
        QCOMPARE(dispatcher.request(id)->state, RequestState::InFlight);
        QVERIFY(transport.cancelled.isEmpty());
        clock.advance(1s);
        const double refilledSinceStart = 100.0 * 9 / 60; // 9 s at 100 tokens per minute
        dispatcher.pump();
        QCOMPARE(transport.cancelled, QList<AttemptId>{attempt});
        QCOMPARE(dispatcher.request(id)->outcome.kind, ErrorKind::Timeout);
        QCOMPARE(dispatcher.request(id)->outcome.httpStatus, 200);
        QCOMPARE(dispatcher.stats().outputTokens.level, refilledSinceStart);
    }

    void notRetryableFailsAtOnce()
    {
        ManualClock clock;
        FakeTransport transport;
        Dispatcher dispatcher(transport, clock, bare());
        const RequestId id = dispatcher.submit(body()).id;
        dispatcher.pump();
        transport.finish(transport.sent[0].id, failure(400));
        QCOMPARE(dispatcher.request(id)->state, RequestState::Failed);
        QCOMPARE(dispatcher.request(id)->attempts, 1);
        QVERIFY(dispatcher.request(id)->errorMessage.contains(QStringLiteral("it went wrong")));
    }

    void invalidSubmitNamesTheRequest()
    {
        ManualClock clock;
        FakeTransport transport;
        Dispatcher dispatcher(transport, clock, bare());
        QJsonObject b = body();
        b.remove(QStringLiteral("max_tokens"));
        const Dispatcher::SubmitResult r = dispatcher.submit(b, 0, QStringLiteral("q-7"));
        QVERIFY(!r.ok());
        QVERIFY(r.error.contains(QStringLiteral("q-7")));
        QVERIFY(r.error.contains(QStringLiteral("max_tokens")));
        const RequestId rejected =
            dispatcher.recordRejected(QStringLiteral("q-8"), QStringLiteral("line 8: not JSON"));
        QCOMPARE(dispatcher.request(rejected)->state, RequestState::Failed);
        QCOMPARE(dispatcher.stats().failed, 1);
    }

    void fullQueueRefuses()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.queue.capacity = 2;
        Dispatcher dispatcher(transport, clock, o);
        QVERIFY(dispatcher.submit(body()).ok());
        QVERIFY(dispatcher.submit(body()).ok());
        const Dispatcher::SubmitResult r = dispatcher.submit(body());
        QVERIFY(!r.ok());
        QVERIFY(r.error.contains(QStringLiteral("queue is full")));
    }

    void tooLargeForTheLimitFailsWithReason()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.outputTokens.perMinute = 1000;
        Dispatcher dispatcher(transport, clock, o);
        const RequestId id = dispatcher.submit(body(4096)).id;
        const RequestId fine = dispatcher.submit(body(10)).id;
        dispatcher.pump();
        QCOMPARE(dispatcher.request(id)->state, RequestState::Failed);
        QCOMPARE(dispatcher.request(id)->error, ErrorKind::TooLarge);
        QVERIFY(dispatcher.request(id)->errorMessage.contains(QStringLiteral("output tokens")));
        QCOMPARE(dispatcher.request(fine)->state, RequestState::InFlight);
    }

    void pauseResumeDrain()
    {
        ManualClock clock;
        FakeTransport transport;
        Dispatcher dispatcher(transport, clock, bare());
        QSignalSpy drained(&dispatcher, &Dispatcher::drained);
        dispatcher.pause();
        dispatcher.submit(body());
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(0));
        QVERIFY(dispatcher.stats().paused);
        dispatcher.resume();
        dispatcher.pump();
        QCOMPARE(transport.sent.size(), size_t(1));
        dispatcher.drain();
        QVERIFY(!dispatcher.submit(body()).ok());
        transport.finish(transport.sent[0].id, ok());
        dispatcher.pump();
        QVERIFY(drained.size() >= 1);
    }

    void retryNowAndReprioritise()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.concurrency = 1;
        Dispatcher dispatcher(transport, clock, o);
        const RequestId a = dispatcher.submit(body()).id;
        const RequestId b = dispatcher.submit(body()).id;
        const RequestId c = dispatcher.submit(body()).id;
        QVERIFY(dispatcher.reprioritise(c, 10));
        dispatcher.pump();
        QCOMPARE(dispatcher.request(c)->state, RequestState::InFlight);
        transport.finish(transport.sent[0].id, failure(500));
        QCOMPARE(dispatcher.request(c)->state, RequestState::RetryWaiting);
        QVERIFY(dispatcher.retryNow(c));
        dispatcher.pump();
        QCOMPARE(dispatcher.request(c)->state, RequestState::InFlight); // ahead of a and b (priority 10)
        QCOMPARE(dispatcher.request(a)->state, RequestState::Queued);
        QCOMPARE(dispatcher.request(b)->state, RequestState::Queued);
    }

    void statsCountsAndUtilisation()
    {
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.requests.perMinute = 600;
        Dispatcher dispatcher(transport, clock, o);
        for (int i = 0; i < 6; ++i)
            dispatcher.submit(body());
        runUntil(dispatcher, transport, clock, 6);
        dispatcher.pump();
        const DispatcherStats s = dispatcher.stats();
        QCOMPARE(s.total, 6);
        QCOMPARE(s.succeeded, 6);
        QCOMPARE(s.queued + s.inFlight + s.retryWaiting, 0);
        QCOMPARE(s.requests.usedLastMinute, 6.0);
        QCOMPARE(s.requests.utilisation, 6.0 / 600.0);
        QVERIFY(dispatcher.isIdle());
    }

    void manyQueuedStatsIsCheap()
    {
        // 100k queued: stats() must not walk them (it reads counters); this is a behaviour check, the speed
        // is measured in bench/.
        ManualClock clock;
        FakeTransport transport;
        DispatchOptions o = bare();
        o.limits.requests.perMinute = 60;
        Dispatcher dispatcher(transport, clock, o);
        for (int i = 0; i < 100000; ++i)
            dispatcher.submit(body(), i % 7);
        dispatcher.pump();
        const DispatcherStats s = dispatcher.stats();
        QCOMPARE(s.total, 100000);
        QCOMPARE(s.inFlight, 1);
        QCOMPARE(s.queued, 99999);
    }
};

QTEST_GUILESS_MAIN(TestDispatcher)
#include "tst_dispatcher.moc"
