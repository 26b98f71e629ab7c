#pragma once
// Dispatcher: takes queued requests through every limit to the API and back, retrying what should be retried
// and never letting one 429 become a storm.
//
// Design note. Nothing polls and nothing sleeps. pump(now) admits, in strict priority order, every request
// that all limits admit now (LimitSet: requests, input tokens, output tokens, concurrency, daily quota; all
// or nothing), then arms ONE single-shot precise timer for the earliest moment anything can change: the
// head's wait, a retry coming due, the end of a 429 cooldown, the circuit breaker's cool-off, an attempt's
// deadline. Replies, user actions and option changes call pump too. A request behind the head may go first
// (backfill) only when it fits now and its reservation refills before the head could start anyway, so the
// head is never delayed by it.
//
// Accounting: at dispatch the request reserves 1 request, its estimated input tokens and max_tokens output
// tokens; on a 200 they settle to usage (refund or debt); on a 429 the server counted nothing: everything is
// refunded and a global cooldown holds every dispatch until the server's retry-after has passed. A 429 does
// not spend an attempt (it is pacing); other retryable failures spend one attempt, one retry-budget
// withdrawal and wait their backoff in the delay queue without holding a concurrency slot. The server's
// anthropic-ratelimit-* headers lower local levels; a server limit below the configured one replaces it
// (limitChanged), one above is reported, not adopted; with no limit configured at all, the first responses
// teach them.
//
// Worked example (ManualClock, 60 RPM, burst 1 s, replies after 100 ms): submit 3 at t=0 -> #1 out at 0.000
// s, #2 at 1.000 s, #3 at 2.000 s; the timer is armed for exactly those moments. If #2 gets a 429 with
// retry-after 3 s at 1.100 s: its request is refunded, cooldown until 4.100 s, #2 goes back to the queue
// ahead of #3 (older), #2 out at 4.100 s, #3 at 5.100 s.
//
// Threading: a QObject of the main thread; every method there only. stats() is O(1) in queued requests.

#include "backoff.h"
#include "circuitbreaker.h"
#include "clock.h"
#include "config.h"
#include "limitset.h"
#include "messagerequest.h"
#include "options.h"
#include "requestqueue.h"
#include "retrypolicy.h"
#include "transport/transport.h"

#include <QObject>
#include <QTimer>

#include <deque>
#include <optional>
#include <unordered_map>

namespace sluice {

// Everything that shapes the dispatcher's decisions; each part can be replaced while it runs.
struct DispatchOptions
{
    LimitOptions limits;
    BackoffOptions backoff;
    RetryOptions retry;
    CircuitBreakerOptions breaker;
    QueueOptions queue;
    Duration requestTimeout = 600s; // per attempt; the attempt is cancelled and retried as a timeout
    // How far ahead of the server's window Sluice keeps, as a fraction of each rate: pacing at exactly the
    // limit would let loopback jitter of a few microseconds turn into 429s.
    double safetyMargin = 0.005;
    // Learn limits from response headers when none is configured.
    bool learnLimits = true;

    // The dispatcher's share of a loaded configuration (limits, backoff, retry, breaker, queue, timeout).
    static DispatchOptions fromConfig(const Config &config);
};

// One rate limit as the UI shows it.
struct LimitGauge
{
    bool enabled = false;
    double perMinute = 0;   // in force (configured or learned)
    double configured = 0;  // what the user set (0 = none)
    double serverLimit = 0; // last -limit header (0 = none seen)
    double level = 0;       // units available now (negative = debt)
    double capacity = 0;
    double usedLastMinute = 0; // units consumed in the last 60 s
    double utilisation = 0;    // usedLastMinute / perMinute, 0..1+ (0 when off)
};

struct DispatcherStats
{
    // Counts by state.
    qsizetype total = 0, queued = 0, inFlight = 0, retryWaiting = 0, succeeded = 0, failed = 0, cancelled = 0;
    qint64 attempts = 0, retries = 0, rateLimited = 0, otherErrors = 0, timeouts = 0;
    LimitGauge requests, inputTokens, outputTokens;
    int concurrencyLimit = 0; // 0 = unlimited
    qint64 dailyUsed = 0, dailyQuota = 0;
    double retryBudgetLevel = 0, retryBudgetCapacity = 0;
    CircuitState circuit = CircuitState::Closed;
    QString circuitReason;
    Duration cooldownRemaining{0};
    QString cooldownCause; // "requests", "input tokens", "output tokens", "server" (no local limit exhausted)
    bool paused = false, draining = false;
    double succeededPerSecond = 0; // over the last 10 s
};

class Dispatcher : public QObject
{
    Q_OBJECT
public:
    // `transport` and `clock` must outlive the dispatcher.
    Dispatcher(Transport &transport, const Clock &clock, DispatchOptions options = {},
               QObject *parent = nullptr);
    ~Dispatcher() override;

    struct SubmitResult
    {
        RequestId id = 0; // 0 when refused
        QString error;    // why it was refused (invalid body, queue full), naming the request
        bool ok() const { return id != 0; }
    };
    // Validates and queues one Messages request body. A refused request gets no id (and is not kept): the
    // caller records the error (headless mode writes an `errored` result). `customId` defaults to "req-<id>".
    SubmitResult submit(const QJsonObject &params, int priority = 0, const QString &customId = {});
    // Records a request that was refused before submit (a malformed batch line) as Failed, so it has an id, a
    // row and a result like every other.
    RequestId recordRejected(const QString &customId, const QString &error);

    bool cancel(RequestId id); // Queued, RetryWaiting or InFlight (the attempt is aborted)
    bool reprioritise(RequestId id, int priority); // Queued or RetryWaiting
    bool retryNow(RequestId id); // RetryWaiting: due now; Failed: queued again with fresh attempts
    void pause();                // nothing new goes out; in-flight attempts finish
    void resume();
    void drain();        // refuse new submits; finish everything; then drained()
    void resetCircuit(); // the user acted (e.g. fixed the key)
    // Fails every Queued and RetryWaiting request with `reason` (headless mode, when the key is refused).
    void failAllPending(const QString &reason);

    void setOptions(const DispatchOptions &options); // applies at the next pump (scheduled at once)
    const DispatchOptions &options() const { return m_options; }

    // Requests by id (1..count). Ids are dense: row = id - 1.
    qsizetype requestCount() const { return qsizetype(m_requests.size()); }
    const MessageRequest *request(RequestId id) const;
    DispatcherStats stats() const;
    bool isIdle() const; // nothing queued, waiting or in flight

    // Admits what can go now and arms the timer. Public so tests can drive it with a ManualClock: with a
    // manual clock the timer still arms, but tests call pump() themselves after advancing the clock.
    void pump();
    // When the next pump is due (empty: nothing is waiting on time).
    std::optional<TimePoint> nextWakeup() const { return m_nextWakeup; }

Q_SIGNALS:
    void requestAdded(sluice::RequestId id);
    void requestChanged(sluice::RequestId id); // any field; the UI coalesces
    void stateChanged(sluice::RequestId id, sluice::RequestState from, sluice::RequestState to);
    void dispatched(sluice::RequestId id, int attempt);
    void textDelta(sluice::RequestId id, const QString &text);
    void finished(sluice::RequestId id); // reached a final state
    void cooldownStarted(sluice::Duration length, const QString &cause);
    void limitChanged(const QString &limit, double serverLimit, double configured, bool adopted);
    void circuitChanged(sluice::CircuitState state, const QString &reason);
    void logMessage(const QString &level, const QString &message); // "info", "warning", "error"
    void idle();    // the last queued, waiting or in-flight request reached a final state
    void drained(); // after drain(): everything finished

private:
    MessageRequest &req(RequestId id);
    Cost costOf(const MessageRequest &m) const;
    int countedAttempts(const MessageRequest &m) const;
    LimitOptions effectiveLimits() const;
    void applyLimits();
    bool anyRateLimitKnown() const;
    void observeServerLimits(const RateLimitHeaders &headers, TimePoint now, const Cost &charged);
    void schedulePump();
    std::optional<TimePoint> admitReady(TimePoint now);
    bool backfill(const RequestQueue::Entry &head, const Cost &headCost, Duration headWait, TimePoint now);
    void undoAdmission(const Cost &cost, TimePoint now);
    void startAttempt(MessageRequest &m, const Cost &cost, TimePoint now);
    void onTextDelta(AttemptId attemptId, const QString &text);
    void onAttemptFinished(AttemptId attemptId, const AttemptOutcome &outcome);
    void endAttempt(AttemptId attemptId, TimePoint now, std::optional<Cost> settleTo);
    void handleOutcome(AttemptId attemptId, const AttemptOutcome &outcome, TimePoint now);
    void startCooldown(const AttemptOutcome &outcome, TimePoint now);
    void noteCircuit(TimePoint now);
    void setState(MessageRequest &m, RequestState to);
    void finish(MessageRequest &m, RequestState to, TimePoint now);

    struct Impl; // the primitives and the bookkeeping (dispatcher.cpp)
    Impl *d;
    Transport &m_transport;
    const Clock &m_clock;
    DispatchOptions m_options;
    std::deque<MessageRequest> m_requests;
    std::optional<TimePoint> m_nextWakeup;
};

} // namespace sluice
