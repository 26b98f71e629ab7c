#include "dispatcher.h"

#include "tokenestimator.h"

#include <QJsonArray>

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <unordered_map>

namespace sluice {

namespace {

// How far behind the head backfill looks. Each candidate costs one admission check (~100 ns); 32 is enough to
// find a small request behind a large one without making a pump with 100k queued any slower.
constexpr qsizetype kBackfillLookahead = 32;
// Token -remaining headers are rounded to the nearest thousand: the true value is within ±500 of them.
constexpr double kTokenRemainingSlack = 500;

// When we hang up on a silent attempt (a timeout), the server frees its output reservation only once it sees
// the connection go: an attempt sent on another, already open connection at that same moment can reach it
// first and meet a 429. So the output comes back this much later: about a round trip and the server's
// reaction, and never worth more than the refill time of the tokens it holds back.
constexpr Duration kHangUpRefundDelay = std::chrono::milliseconds(500);

constexpr std::array<LimitId, 3> kRateLimits{LimitId::Requests, LimitId::InputTokens, LimitId::OutputTokens};

// Per-second sums over the last few minutes, for rates and utilisation: O(1) to add and to read.
class SecondRing
{
public:
    void add(TimePoint t, double amount)
    {
        const qint64 sec = secondOf(t);
        Slot &s = m_slots[size_t(sec) % m_slots.size()];
        if (s.second != sec) {
            s.second = sec;
            s.sum = 0;
        }
        s.sum += amount;
    }
    // Sum over the `seconds` whole seconds up to and including the current one.
    double sum(TimePoint now, int seconds) const
    {
        const qint64 cur = secondOf(now);
        double total = 0;
        for (const Slot &s : m_slots)
            if (s.second > cur - seconds && s.second <= cur)
                total += s.sum;
        return total;
    }

private:
    static qint64 secondOf(TimePoint t)
    {
        return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
    }
    struct Slot
    {
        qint64 second = std::numeric_limits<qint64>::min();
        double sum = 0;
    };
    std::array<Slot, 64> m_slots{};
};

QString limitLabel(LimitId id)
{
    switch (id) {
    case LimitId::Requests:
        return QStringLiteral("requests");
    case LimitId::InputTokens:
        return QStringLiteral("input tokens");
    case LimitId::OutputTokens:
        return QStringLiteral("output tokens");
    case LimitId::Concurrency:
        return QStringLiteral("concurrency");
    case LimitId::DailyQuota:
        return QStringLiteral("daily quota");
    }
    return {};
}

// The options of one rate limit, const or not.
template<class Options> auto &rateOf(Options &o, LimitId id)
{
    return id == LimitId::Requests ? o.requests : id == LimitId::InputTokens ? o.inputTokens : o.outputTokens;
}
const RateLimitGroup &groupOf(const RateLimitHeaders &h, LimitId id)
{
    return id == LimitId::Requests ? h.requests : id == LimitId::InputTokens ? h.inputTokens : h.outputTokens;
}
double amountOf(const Cost &c, LimitId id)
{
    return id == LimitId::Requests ? c.requests : id == LimitId::InputTokens ? c.inputTokens : c.outputTokens;
}

// Checks what the dispatcher needs from a Messages body; the API validates the rest (and its 400 is
// recorded).
QString validateParams(const QJsonObject &p)
{
    const QJsonValue model = p.value(QLatin1String("model"));
    if (!model.isString() || model.toString().trimmed().isEmpty())
        return QStringLiteral("params.model must be a non-empty string");
    const QJsonValue maxTokens = p.value(QLatin1String("max_tokens"));
    if (!maxTokens.isDouble() || maxTokens.toDouble() < 1 ||
        maxTokens.toDouble() != std::floor(maxTokens.toDouble()))
        return QStringLiteral("params.max_tokens must be a whole number >= 1");
    const QJsonValue messages = p.value(QLatin1String("messages"));
    if (!messages.isArray() || messages.toArray().isEmpty())
        return QStringLiteral("params.messages must be a non-empty array");
    return {};
}

} // namespace

DispatchOptions DispatchOptions::fromConfig(const Config &config)
{
    DispatchOptions o;
    o.limits = config.limits;
    o.backoff = config.backoff;
    o.retry = config.retry;
    o.breaker = config.circuitBreaker;
    o.queue = config.queue;
    o.requestTimeout = config.transport.requestTimeout;
    return o;
}

struct Dispatcher::Impl
{
    Impl(const DispatchOptions &o, const Clock &clock)
        : limits(o.limits, clock)
        , queue(o.queue)
        , backoff(o.backoff)
        , retry(o.retry)
        , budget(o.retry.budget)
        , breaker(o.breaker)
    {}

    struct Attempt
    {
        RequestId request = 0;
        Cost reserved;
        TimePoint started{};
        TimePoint deadline{};   // moves on with every streamed piece: the timeout is for silence
        bool answering = false; // a 200 and streamed text have arrived
    };

    LimitSet limits;
    RequestQueue queue;
    BackoffPolicy backoff;
    RetryPolicy retry;
    RetryBudget budget;
    CircuitBreaker breaker;
    QTimer timer;

    std::unordered_map<AttemptId, Attempt> attempts;    // in flight
    std::unordered_map<RequestId, AttemptId> attemptOf; // request -> its attempt in flight
    std::unordered_map<RequestId, RequestQueue::Ticket> tickets;
    std::unordered_map<RequestId, double> budgetPaid; // what the request's retries took from the budget
    // Output reservations of attempts we hung up on, given back at `at` (kHangUpRefundDelay); in time order.
    struct DelayedRefund
    {
        TimePoint at;
        double outputTokens = 0;
    };
    std::deque<DelayedRefund> delayedRefunds;

    std::optional<TimePoint> cooldownUntil;
    QString cooldownCause;
    bool paused = false;
    bool draining = false;
    bool immediatePump = false; // the timer is armed at 0 for a pump requested by schedulePump()
    bool learnedAny = false;    // slow start ends with the first answer from the server
    CircuitState lastCircuit = CircuitState::Closed;

    std::array<qsizetype, 6> countByState{};
    qint64 attemptCount = 0, retryCount = 0, rateLimited = 0, otherErrors = 0, timeouts = 0;
    std::array<double, 3> serverLimit{}; // the last -limit header per rate limit (0: none seen)
    std::array<double, 3> adopted{};     // the server limit in force instead of the configured one (0: none)
    std::array<double, 3> reportedHigher{};
    std::array<SecondRing, 3> used; // units consumed per second, per rate limit
    SecondRing succeeded;
};

Dispatcher::Dispatcher(Transport &transport, const Clock &clock, DispatchOptions options, QObject *parent)
    : QObject(parent)
    , d(new Impl(options, clock))
    , m_transport(transport)
    , m_clock(clock)
    , m_options(std::move(options))
{
    d->timer.setSingleShot(true);
    d->timer.setTimerType(Qt::PreciseTimer);
    connect(&d->timer, &QTimer::timeout, this, [this] { pump(); });
    connect(&m_transport, &Transport::finished, this, &Dispatcher::onAttemptFinished);
    connect(&m_transport, &Transport::textDelta, this, &Dispatcher::onTextDelta);
    applyLimits();
}

Dispatcher::~Dispatcher()
{
    // Attempts still on the wire are aborted: their replies would arrive at a dispatcher that no longer
    // exists.
    for (const auto &[attemptId, attempt] : d->attempts)
        m_transport.cancel(attemptId);
    disconnect(&m_transport, nullptr, this, nullptr);
    delete d;
}

const MessageRequest *Dispatcher::request(RequestId id) const
{
    if (id == 0 || id > m_requests.size())
        return nullptr;
    return &m_requests[size_t(id - 1)];
}

MessageRequest &Dispatcher::req(RequestId id)
{
    return m_requests[size_t(id - 1)];
}

bool Dispatcher::isIdle() const
{
    return d->queue.isEmpty() && d->attempts.empty();
}

// ---- submission and user actions -------------------------------------------------------------------------

Dispatcher::SubmitResult Dispatcher::submit(const QJsonObject &params, int priority, const QString &customId)
{
    const QString name = customId.isEmpty() ? QStringLiteral("request %1").arg(m_requests.size() + 1)
                                            : QStringLiteral("request \"%1\"").arg(customId);
    if (d->draining)
        return {0, QStringLiteral("%1 refused: Sluice is draining and accepts no new requests").arg(name)};
    if (const QString problem = validateParams(params); !problem.isEmpty())
        return {0, QStringLiteral("%1 is invalid: %2").arg(name, problem)};
    if (d->queue.isFull())
        return {0, QStringLiteral("%1 refused: the queue is full (%2 requests; queue.capacity)")
                       .arg(name)
                       .arg(d->queue.options().capacity)};

    const TimePoint now = m_clock.now();
    MessageRequest r;
    r.id = RequestId(m_requests.size() + 1);
    r.customId = customId.isEmpty() ? QStringLiteral("req-%1").arg(r.id) : customId;
    r.priority = priority;
    r.params = params;
    r.estimatedInputTokens = double(TokenEstimator::estimateInputTokens(params));
    r.maxTokens = qint64(params.value(QLatin1String("max_tokens")).toDouble());
    r.state = RequestState::Queued;
    r.submittedAt = now;
    r.queuedSince = now;
    const RequestQueue::PushResult pushed = d->queue.push(r.id, priority);
    Q_ASSERT(pushed == RequestQueue::PushResult::Ok);
    Q_UNUSED(pushed);
    m_requests.push_back(std::move(r));
    ++d->countByState[size_t(RequestState::Queued)];
    Q_EMIT requestAdded(m_requests.back().id);
    schedulePump();
    return {m_requests.back().id, {}};
}

RequestId Dispatcher::recordRejected(const QString &customId, const QString &error)
{
    const TimePoint now = m_clock.now();
    MessageRequest r;
    r.id = RequestId(m_requests.size() + 1);
    r.customId = customId.isEmpty() ? QStringLiteral("req-%1").arg(r.id) : customId;
    r.state = RequestState::Failed;
    r.submittedAt = now;
    r.queuedSince = now;
    r.finishedAt = now;
    r.error = ErrorKind::BadRequest;
    r.errorMessage = error;
    r.outcome.kind = ErrorKind::BadRequest;
    r.outcome.errorType = QStringLiteral("invalid_request_error");
    r.outcome.errorMessage = error;
    m_requests.push_back(std::move(r));
    ++d->countByState[size_t(RequestState::Failed)];
    Q_EMIT requestAdded(m_requests.back().id);
    Q_EMIT finished(m_requests.back().id);
    return m_requests.back().id;
}

bool Dispatcher::cancel(RequestId id)
{
    const MessageRequest *r = request(id);
    if (!r || isFinal(r->state))
        return false;
    const TimePoint now = m_clock.now();
    if (r->state == RequestState::InFlight) {
        const AttemptId attemptId = d->attemptOf.at(id);
        endAttempt(attemptId, now, /*settleTo=*/std::nullopt);
        m_transport.cancel(attemptId);
    } else {
        d->queue.take(id);
        if (r->state == RequestState::Queued)
            req(id).queueWait += now - r->queuedSince;
    }
    MessageRequest &m = req(id);
    m.nextAttemptAt.reset();
    m.error = ErrorKind::Cancelled;
    m.errorMessage = QStringLiteral("cancelled by the user");
    finish(m, RequestState::Cancelled, now);
    schedulePump();
    return true;
}

bool Dispatcher::reprioritise(RequestId id, int priority)
{
    const MessageRequest *r = request(id);
    if (!r || !d->queue.reprioritise(id, priority))
        return false;
    req(id).priority = priority;
    Q_EMIT requestChanged(id);
    schedulePump();
    return true;
}

bool Dispatcher::retryNow(RequestId id)
{
    const MessageRequest *r = request(id);
    if (!r)
        return false;
    const TimePoint now = m_clock.now();
    MessageRequest &m = req(id);
    if (r->state == RequestState::RetryWaiting) {
        d->queue.take(id);
    } else if (r->state == RequestState::Failed || r->state == RequestState::Cancelled) {
        if (r->params.isEmpty()) // a rejected batch line has nothing to send
            return false;
        if (d->queue.isFull())
            return false;
        m.attempts = 0;
        m.rateLimitWaits = 0;
        m.previousBackoff = Duration::zero();
        m.finishedAt.reset();
        m.error = ErrorKind::None;
        m.errorMessage.clear();
    } else {
        return false;
    }
    const auto ticket = d->tickets.find(id);
    d->queue.push(id, m.priority,
                  ticket != d->tickets.end() ? std::optional<RequestQueue::Ticket>(ticket->second)
                                             : std::nullopt);
    m.nextAttemptAt.reset();
    m.queuedSince = now;
    setState(m, RequestState::Queued);
    schedulePump();
    return true;
}

void Dispatcher::pause()
{
    if (d->paused)
        return;
    d->paused = true;
    Q_EMIT logMessage(QStringLiteral("info"), tr("Paused: nothing new goes out; attempts in flight finish."));
    schedulePump();
}

void Dispatcher::resume()
{
    if (!d->paused)
        return;
    d->paused = false;
    Q_EMIT logMessage(QStringLiteral("info"), tr("Resumed."));
    schedulePump();
}

void Dispatcher::drain()
{
    d->draining = true;
    d->paused = false;
    Q_EMIT logMessage(
        QStringLiteral("info"),
        tr("Draining: no new requests; finishing %1.").arg(d->queue.size() + d->attempts.size()));
    if (isIdle())
        Q_EMIT drained();
    schedulePump();
}

void Dispatcher::resetCircuit()
{
    d->breaker.reset();
    d->budget.refill();
    noteCircuit(m_clock.now());
    schedulePump();
}

void Dispatcher::failAllPending(const QString &reason)
{
    const TimePoint now = m_clock.now();
    for (MessageRequest &m : m_requests) {
        if (m.state != RequestState::Queued && m.state != RequestState::RetryWaiting)
            continue;
        d->queue.take(m.id);
        m.nextAttemptAt.reset();
        m.error = m.outcome.kind != ErrorKind::None ? m.outcome.kind : ErrorKind::CircuitOpen;
        m.errorMessage = reason;
        finish(m, RequestState::Failed, now);
    }
}

void Dispatcher::setOptions(const DispatchOptions &options)
{
    m_options = options;
    d->queue.setOptions(options.queue);
    d->backoff.setOptions(options.backoff);
    d->retry.setOptions(options.retry);
    d->budget.setOptions(options.retry.budget);
    d->breaker.setOptions(options.breaker);
    // A server limit adopted because it was lower than the configured one stays adopted only while it still
    // is.
    for (LimitId id : kRateLimits) {
        const size_t i = size_t(id);
        const double configured = rateOf(m_options.limits, id).perMinute;
        if (configured > 0 && d->adopted[i] >= configured)
            d->adopted[i] = 0;
    }
    applyLimits();
    Q_EMIT logMessage(QStringLiteral("info"), tr("Options applied."));
    schedulePump();
}

// ---- the limits in force ----------------------------------------------------------------------------------

LimitOptions Dispatcher::effectiveLimits() const
{
    LimitOptions o = m_options.limits;
    for (LimitId id : kRateLimits) {
        RateLimitOptions &rate = rateOf(o, id);
        const double adopted = d->adopted[size_t(id)];
        if (adopted > 0 && (rate.perMinute <= 0 || adopted < rate.perMinute))
            rate.perMinute = adopted;
        rate.perMinute *= 1.0 - std::clamp(m_options.safetyMargin, 0.0, 0.5);
    }
    return o;
}

void Dispatcher::applyLimits()
{
    d->limits.setOptions(effectiveLimits(), m_clock.now());
}

bool Dispatcher::anyRateLimitKnown() const
{
    for (LimitId id : kRateLimits)
        if (rateOf(m_options.limits, id).perMinute > 0 || d->adopted[size_t(id)] > 0)
            return true;
    return false;
}

// Reads the server's view of the limits from any HTTP response: -limit headers replace or teach limits,
// -remaining lowers local levels. `charged`: what the server counted for this attempt (nothing for a 429).
void Dispatcher::observeServerLimits(const RateLimitHeaders &h, TimePoint now, const Cost &charged)
{
    bool changed = false;
    // Slow start ends with the first answer from the server, whether or not it taught anything.
    const bool firstAnswer = !d->learnedAny;
    d->learnedAny = true;
    for (LimitId id : kRateLimits) {
        const size_t i = size_t(id);
        const RateLimitGroup &g = groupOf(h, id);
        if (!g.limit || *g.limit <= 0)
            continue;
        const double server = double(*g.limit);
        d->serverLimit[i] = server;
        const double configured = rateOf(m_options.limits, id).perMinute;
        if (configured <= 0) {
            if (m_options.learnLimits && d->adopted[i] != server) {
                d->adopted[i] = server;
                changed = true;
                Q_EMIT limitChanged(limitLabel(id), server, configured, true);
                Q_EMIT logMessage(QStringLiteral("info"),
                                  tr("Learned the %1 limit from the server: %2 per minute.")
                                      .arg(limitLabel(id))
                                      .arg(server));
            }
        } else if (server < configured) {
            if (d->adopted[i] != server) {
                d->adopted[i] = server;
                changed = true;
                Q_EMIT limitChanged(limitLabel(id), server, configured, true);
                Q_EMIT logMessage(
                    QStringLiteral("warning"),
                    tr("The server's %1 limit (%2/min) is below the configured %3/min: using the server's.")
                        .arg(limitLabel(id))
                        .arg(server)
                        .arg(configured));
            }
        } else if (server > configured && d->reportedHigher[i] != server) {
            d->reportedHigher[i] = server;
            Q_EMIT limitChanged(limitLabel(id), server, configured, false);
            Q_EMIT logMessage(QStringLiteral("info"),
                              tr("The server allows %1 %2/min, more than the configured %3/min (kept).")
                                  .arg(server)
                                  .arg(limitLabel(id))
                                  .arg(configured));
        }
    }
    if (changed) {
        applyLimits();
        // A limit learned now starts full in the LimitSet, but the server has already charged the probe that
        // taught it (slow start sends only that one): take its cost, so the first steps after learning do not
        // overshoot. Conservative: what refilled since the probe went out is not counted.
        if (firstAnswer)
            for (LimitId id : kRateLimits)
                if (const double amount = amountOf(charged, id); amount > 0)
                    d->limits.lowerLevel(id, d->limits.snapshot(now).rate(id).capacity - amount, now);
    }
    for (LimitId id : kRateLimits) {
        const RateLimitGroup &g = groupOf(h, id);
        if (!g.remaining)
            continue;
        const double slack = id == LimitId::Requests ? 0 : kTokenRemainingSlack;
        d->limits.lowerLevel(id, double(*g.remaining) + slack, now);
    }
}

// ---- the pump ---------------------------------------------------------------------------------------------

void Dispatcher::schedulePump()
{
    // Coalesces: many submits or replies in one event-loop turn cost one pump. A timer armed for a later
    // wake-up is brought forward.
    if (d->immediatePump)
        return;
    d->immediatePump = true;
    d->timer.start(0);
}

void Dispatcher::pump()
{
    const TimePoint now = m_clock.now();
    // What this pump does covers any pump asked for before it; one asked for while it runs (a signal handler
    // submitting) stays armed at 0.
    d->immediatePump = false;
    std::optional<TimePoint> wake;
    auto wakeAt = [&wake](std::optional<TimePoint> t) {
        if (t && (!wake || *t < *wake))
            wake = t;
    };

    // Attempts past their deadline end as timeouts, paused or not.
    std::vector<AttemptId> late;
    for (const auto &[attemptId, a] : d->attempts)
        if (a.deadline <= now)
            late.push_back(attemptId);
    for (AttemptId attemptId : late) {
        AttemptOutcome timeout;
        timeout.kind = ErrorKind::Timeout;
        // A stream that went silent after its 200 was generating: handleOutcome keeps its output reserved.
        timeout.httpStatus = d->attempts.at(attemptId).answering ? 200 : 0;
        timeout.errorType = QStringLiteral("timeout");
        timeout.errorMessage =
            tr("nothing for %1 s (request_timeout)").arg(toSeconds(m_options.requestTimeout));
        m_transport.cancel(attemptId);
        handleOutcome(attemptId, timeout, now);
    }

    while (!d->delayedRefunds.empty() && d->delayedRefunds.front().at <= now) {
        const double amount = d->delayedRefunds.front().outputTokens;
        d->delayedRefunds.pop_front();
        d->limits.refund(Cost{0, 0, amount}, now);
        d->used[size_t(LimitId::OutputTokens)].add(now, -amount);
    }
    if (!d->delayedRefunds.empty())
        wakeAt(d->delayedRefunds.front().at);

    // Retries that have come due go back to the queue, ahead of newer work of their priority.
    for (RequestId id : d->queue.promoteDue(now)) {
        MessageRequest &m = req(id);
        m.nextAttemptAt.reset();
        m.queuedSince = now;
        setState(m, RequestState::Queued);
    }
    wakeAt(d->queue.nextDue());

    noteCircuit(now);
    if (d->cooldownUntil && *d->cooldownUntil <= now) {
        d->cooldownUntil.reset();
        Q_EMIT logMessage(QStringLiteral("info"), tr("Cooldown over: dispatching again."));
    }

    if (!d->paused && !d->cooldownUntil && d->breaker.state(now) != CircuitState::Open)
        wakeAt(admitReady(now));
    if (d->cooldownUntil)
        wakeAt(d->cooldownUntil);
    wakeAt(d->breaker.nextChange(now));
    for (const auto &[attemptId, a] : d->attempts)
        wakeAt(a.deadline);

    m_nextWakeup = wake;
    if (!d->immediatePump) {
        if (wake) {
            const auto ms =
                std::chrono::ceil<std::chrono::milliseconds>(std::max(Duration::zero(), *wake - now)).count();
            d->timer.start(int(std::min<qint64>(ms, std::numeric_limits<int>::max())));
        } else {
            d->timer.stop();
        }
    }
    if (d->draining && isIdle())
        Q_EMIT drained();
}

// Dispatches every ready request the limits admit now, in priority order with backfill; returns when to look
// again for time-based waits (empty: only a reply or a user action can change anything).
std::optional<TimePoint> Dispatcher::admitReady(TimePoint now)
{
    // Slow start: with no limit known yet, one request probes the server and its headers teach the limits.
    const bool slowStart = m_options.learnLimits && !d->learnedAny && !anyRateLimitKnown();
    while (true) {
        if (slowStart && !d->attempts.empty())
            return std::nullopt;
        const std::optional<RequestQueue::Entry> head = d->queue.peek();
        if (!head)
            return std::nullopt;
        MessageRequest &m = req(head->id);
        const Cost cost = costOf(m);
        // Takes the cost when the verdict is Now: one admission decision per dispatch, not a check and a
        // take.
        const Admission a = d->limits.admit(cost, now);
        if (a.verdict == Verdict::Never) {
            d->queue.pop();
            m.queueWait += now - m.queuedSince;
            const LimitId which = a.binding.value_or(LimitId::Requests);
            m.error = ErrorKind::TooLarge;
            m.errorMessage =
                tr("request \"%1\" needs %2 %3 at once, more than the %3 limit allows in a minute (%4); "
                   "lower max_tokens or raise the limit")
                    .arg(m.customId)
                    .arg(amountOf(cost, which))
                    .arg(limitLabel(which))
                    .arg(d->limits.snapshot(now).rate(which).perMinute);
            Q_EMIT logMessage(QStringLiteral("error"), m.errorMessage);
            finish(m, RequestState::Failed, now);
            continue;
        }
        if (a.verdict == Verdict::Now) {
            if (!d->breaker.allowRequest(now)) {
                undoAdmission(cost, now);
                return std::nullopt;
            }
            d->queue.pop();
            d->tickets[head->id] = head->ticket;
            startAttempt(m, cost, now);
            continue;
        }
        if (a.verdict == Verdict::WhenSlotFrees)
            return std::nullopt; // a reply frees the slot and pumps
        // Later: the head waits for time. Something behind it may go now if that cannot delay the head.
        if (!slowStart && d->breaker.state(now) == CircuitState::Closed && backfill(*head, cost, a.wait, now))
            continue;
        return now + a.wait;
    }
}

bool Dispatcher::backfill(const RequestQueue::Entry &head, const Cost &headCost, Duration headWait,
                          TimePoint now)
{
    std::optional<RequestQueue::Entry> chosen;
    qsizetype looked = 0;
    d->queue.forEachInOrder([&](const RequestQueue::Entry &e) {
        if (e.id == head.id)
            return true;
        if (++looked > kBackfillLookahead)
            return false;
        const Cost cost = costOf(req(e.id));
        if (d->limits.admit(cost, now).verdict != Verdict::Now)
            return true;
        // Taken for now: keep it only if the head still starts no later than it would have.
        const Admission after = d->limits.check(headCost, now);
        if (after.verdict == Verdict::Later && after.wait <= headWait) {
            chosen = e;
            return false;
        }
        undoAdmission(cost, now);
        return true;
    });
    if (!chosen)
        return false;
    d->queue.take(chosen->id);
    d->tickets[chosen->id] = chosen->ticket;
    MessageRequest &m = req(chosen->id);
    Q_EMIT logMessage(QStringLiteral("info"), tr("Backfill: \"%1\" goes ahead of \"%2\" without delaying it.")
                                                  .arg(m.customId, req(head.id).customId));
    startAttempt(m, costOf(m), now);
    return true;
}

Cost Dispatcher::costOf(const MessageRequest &m) const
{
    return Cost{1.0, m.estimatedInputTokens, double(m.maxTokens)};
}

// Gives back an admission that was taken but not used: exact, since nothing passed in between.
void Dispatcher::undoAdmission(const Cost &cost, TimePoint now)
{
    d->limits.refund(cost, now);
    d->limits.release();
}

// The limits have been taken for `m`: send it.
void Dispatcher::startAttempt(MessageRequest &m, const Cost &cost, TimePoint now)
{
    m.queueWait += now - m.queuedSince;
    ++m.attempts;
    ++d->attemptCount;
    m.attemptStartedAt = now;
    m.streamedText.clear();
    for (LimitId id : kRateLimits)
        d->used[size_t(id)].add(now, amountOf(cost, id));
    const AttemptId attemptId = m_transport.send(m.params);
    d->attempts[attemptId] = Impl::Attempt{m.id, cost, now, now + m_options.requestTimeout};
    d->attemptOf[m.id] = attemptId;
    setState(m, RequestState::InFlight);
    Q_EMIT dispatched(m.id, m.attempts);
}

// ---- replies ----------------------------------------------------------------------------------------------

void Dispatcher::onTextDelta(AttemptId attemptId, const QString &text)
{
    const auto it = d->attempts.find(attemptId);
    if (it == d->attempts.end())
        return;
    // A stream that keeps talking lives on, as the transport's inactivity timer lets it.
    it->second.deadline = m_clock.now() + m_options.requestTimeout;
    it->second.answering = true;
    MessageRequest &m = req(it->second.request);
    m.streamedText += text;
    Q_EMIT textDelta(m.id, text);
    Q_EMIT requestChanged(m.id);
}

void Dispatcher::onAttemptFinished(AttemptId attemptId, const AttemptOutcome &outcome)
{
    // Attempts ended here already (cancelled, timed out) are not in the map: their late reply is ignored.
    if (d->attempts.find(attemptId) == d->attempts.end())
        return;
    handleOutcome(attemptId, outcome, m_clock.now());
    schedulePump();
}

// Frees what the attempt held. `settleTo`: the cost the server charged (refund or debt against the
// reservation); empty: it is not known, and the reservation stands.
void Dispatcher::endAttempt(AttemptId attemptId, TimePoint now, std::optional<Cost> settleTo)
{
    const auto it = d->attempts.find(attemptId);
    Q_ASSERT(it != d->attempts.end());
    const Impl::Attempt a = it->second;
    d->attempts.erase(it);
    d->attemptOf.erase(a.request);
    d->limits.release();
    if (settleTo) {
        d->limits.settle(a.reserved, *settleTo, now);
        for (LimitId id : kRateLimits)
            d->used[size_t(id)].add(now, amountOf(*settleTo, id) - amountOf(a.reserved, id));
    }
    MessageRequest &m = req(a.request);
    m.lastLatency = now - a.started;
}

void Dispatcher::handleOutcome(AttemptId attemptId, const AttemptOutcome &outcome, TimePoint now)
{
    const auto it = d->attempts.find(attemptId);
    Q_ASSERT(it != d->attempts.end());
    const Cost reserved = it->second.reserved;
    MessageRequest &m = req(it->second.request);
    m.outcome = outcome;

    if (outcome.ok()) {
        const Usage &u = outcome.usage;
        const Cost charged{1.0, double(u.inputTokens + u.cacheCreationInputTokens), double(u.outputTokens)};
        endAttempt(attemptId, now, charged);
        observeServerLimits(outcome.rateLimits, now, charged);
        d->breaker.recordSuccess(now);
        const auto paid = d->budgetPaid.find(m.id);
        d->budget.recordSuccess(paid != d->budgetPaid.end() ? paid->second : 0);
        if (paid != d->budgetPaid.end())
            d->budgetPaid.erase(paid);
        m.streamedText = outcome.text;
        m.rateLimitWaits = 0;
        d->succeeded.add(now, 1);
        noteCircuit(now);
        finish(m, RequestState::Succeeded, now);
        return;
    }

    const bool rateLimited =
        RetryPolicy::isRateLimit(FailureInfo{outcome.kind, outcome.httpStatus, outcome.retry.shouldRetry});
    if (rateLimited) {
        // The server did not count it: give everything back, and hold every dispatch for its retry-after.
        endAttempt(attemptId, now, std::nullopt);
        d->limits.refund(reserved, now);
        for (LimitId id : kRateLimits)
            d->used[size_t(id)].add(now, -amountOf(reserved, id));
        ++d->rateLimited;
        ++m.rateLimitWaits;
        observeServerLimits(outcome.rateLimits, now, Cost{0, 0, 0});
        startCooldown(outcome, now);
    } else {
        // Nothing of it left this machine (could not connect, TLS failure, refused locally): the server never
        // saw it, so everything goes back. Otherwise the server admitted it (or we cannot know): requests and
        // input tokens stay spent. Output is what was generated, as the API corrects its max_tokens estimate
        // to that at the end of a request:
        // - an error status before any answer (500, 529): nothing was generated;
        // - no response at all (a reset, a timeout before the status line): nothing of it reached us and the
        //   request ended with our connection, so we settle to 0 rather than hold max_tokens of capacity on
        //   every such fault; should the server have charged it after all, its next -remaining header lowers
        //   our level, and at worst one 429 (refunded, with a cooldown) corrects the rest. When it was us who
        //   hung up (a timeout), the output comes back after kHangUpRefundDelay, once the server has seen the
        //   connection go;
        // - an answer that broke after a 200 (a truncated body, an error event or a stall mid-stream) was
        //   generated, at least in part, and may be charged in full: the reservation stands.
        const bool nothingGenerated =
            outcome.httpStatus == 0 || (outcome.httpStatus >= 400 && !outcome.errorInStream);
        const bool hungUp = outcome.kind == ErrorKind::Timeout && outcome.httpStatus == 0 && !outcome.notSent;
        const bool refundOutputNow = nothingGenerated && !hungUp;
        const Cost charged =
            outcome.notSent ? Cost{0, 0, 0}
                            : Cost{1.0, reserved.inputTokens, refundOutputNow ? 0.0 : reserved.outputTokens};
        endAttempt(attemptId, now, charged);
        if (hungUp && reserved.outputTokens > 0)
            d->delayedRefunds.push_back({now + kHangUpRefundDelay, reserved.outputTokens});
        if (outcome.httpStatus > 0)
            observeServerLimits(outcome.rateLimits, now, charged);
        if (outcome.kind == ErrorKind::Timeout)
            ++d->timeouts;
        else
            ++d->otherErrors;
        d->breaker.recordFailure(outcome.kind, now);
        m.rateLimitWaits = 0;
        noteCircuit(now);
    }

    const FailureInfo failure{outcome.kind, outcome.httpStatus, outcome.retry.shouldRetry};
    RetryContext context;
    context.attemptsMade = countedAttempts(m);
    context.maxAttempts = m_options.backoff.maxAttempts;
    context.consecutiveRateLimits = m.rateLimitWaits;
    const RetryDecision decision = d->retry.decide(failure, context, d->budget);
    if (decision.budgetSpent > 0)
        d->budgetPaid[m.id] += decision.budgetSpent;

    if (!decision.retry()) {
        m.error = decision.reason;
        m.errorMessage = tr("request \"%1\" failed after %2 attempt(s): %3 — %4")
                             .arg(m.customId)
                             .arg(m.attempts)
                             .arg(decision.text, outcome.summary());
        Q_EMIT logMessage(QStringLiteral("error"), m.errorMessage);
        finish(m, RequestState::Failed, now);
        return;
    }

    ++m.retries;
    ++d->retryCount;
    if (!decision.countsAsAttempt)
        ++m.freeAttempts;
    TimePoint due;
    if (rateLimited) {
        due = d->cooldownUntil.value_or(now);
    } else {
        const Duration delay =
            d->backoff.delay(countedAttempts(m), outcome.retry.retryAfter, m.previousBackoff);
        m.previousBackoff = delay;
        due = now + delay;
    }
    const auto ticket = d->tickets.find(m.id);
    d->queue.pushDelayed(m.id, m.priority, due,
                         ticket != d->tickets.end() ? std::optional<RequestQueue::Ticket>(ticket->second)
                                                    : std::nullopt);
    m.nextAttemptAt = due;
    Q_EMIT logMessage(QStringLiteral("warning"), tr("\"%1\": %2; retry in %3 s.")
                                                     .arg(m.customId, outcome.summary())
                                                     .arg(toSeconds(due - now), 0, 'f', 2));
    setState(m, RequestState::RetryWaiting);
}

int Dispatcher::countedAttempts(const MessageRequest &m) const
{
    return m.attempts - m.freeAttempts;
}

void Dispatcher::startCooldown(const AttemptOutcome &outcome, TimePoint now)
{
    // Which of our limits tripped: the -remaining that reached zero; none means server-wide throttling.
    QString cause = QStringLiteral("server");
    const RateLimitHeaders &h = outcome.rateLimits;
    if (h.requests.remaining && *h.requests.remaining == 0)
        cause = QStringLiteral("requests");
    else if (h.inputTokens.remaining && *h.inputTokens.remaining == 0)
        cause = QStringLiteral("input tokens");
    else if (h.outputTokens.remaining && *h.outputTokens.remaining == 0)
        cause = QStringLiteral("output tokens");
    else if (h.tokens.remaining && *h.tokens.remaining == 0)
        cause = QStringLiteral("tokens");
    // No retry-after: the first backoff step, so a silent server still gets a pause.
    const Duration length = std::min(outcome.retry.retryAfter.value_or(d->backoff.baseDelay(1)),
                                     m_options.backoff.maxServerDelay);
    const TimePoint until = now + length;
    if (!d->cooldownUntil || until > *d->cooldownUntil) {
        d->cooldownUntil = until;
        d->cooldownCause = cause;
        Q_EMIT cooldownStarted(length, cause);
        Q_EMIT logMessage(QStringLiteral("warning"), tr("429 (%1 limit): holding every dispatch for %2 s.")
                                                         .arg(cause)
                                                         .arg(toSeconds(length), 0, 'f', 2));
    }
}

void Dispatcher::noteCircuit(TimePoint now)
{
    const CircuitState s = d->breaker.state(now);
    if (s == d->lastCircuit)
        return;
    d->lastCircuit = s;
    QString reason;
    if (s != CircuitState::Closed)
        reason = d->breaker.openReason() == CircuitOpenReason::AuthFailure
                     ? tr("the server refused the API key (401/403): fix the key, then reset")
                     : tr("%1 server errors in a row").arg(m_options.breaker.failureThreshold);
    Q_EMIT circuitChanged(s, reason);
    Q_EMIT logMessage(s == CircuitState::Closed ? QStringLiteral("info") : QStringLiteral("error"),
                      s == CircuitState::Closed     ? tr("Circuit closed: dispatching normally.")
                      : s == CircuitState::HalfOpen ? tr("Circuit half-open: one probe request goes out.")
                                                    : tr("Circuit open: %1.").arg(reason));
}

// ---- bookkeeping ------------------------------------------------------------------------------------------

void Dispatcher::setState(MessageRequest &m, RequestState to)
{
    const RequestState from = m.state;
    if (from == to) {
        Q_EMIT requestChanged(m.id);
        return;
    }
    --d->countByState[size_t(from)];
    ++d->countByState[size_t(to)];
    m.state = to;
    Q_EMIT stateChanged(m.id, from, to);
    Q_EMIT requestChanged(m.id);
}

void Dispatcher::finish(MessageRequest &m, RequestState to, TimePoint now)
{
    m.finishedAt = now;
    d->tickets.erase(m.id);
    d->budgetPaid.erase(m.id);
    setState(m, to);
    Q_EMIT finished(m.id);
    if (isIdle())
        Q_EMIT idle();
}

DispatcherStats Dispatcher::stats() const
{
    const TimePoint now = m_clock.now();
    DispatcherStats s;
    s.total = qsizetype(m_requests.size());
    s.queued = d->countByState[size_t(RequestState::Queued)];
    s.inFlight = d->countByState[size_t(RequestState::InFlight)];
    s.retryWaiting = d->countByState[size_t(RequestState::RetryWaiting)];
    s.succeeded = d->countByState[size_t(RequestState::Succeeded)];
    s.failed = d->countByState[size_t(RequestState::Failed)];
    s.cancelled = d->countByState[size_t(RequestState::Cancelled)];
    s.attempts = d->attemptCount;
    s.retries = d->retryCount;
    s.rateLimited = d->rateLimited;
    s.otherErrors = d->otherErrors;
    s.timeouts = d->timeouts;
    const LimitSet::Snapshot snap = d->limits.snapshot(now);
    auto gauge = [&](LimitId id) {
        LimitGauge g;
        const LimitSet::RateSnapshot &r = snap.rate(id);
        const size_t i = size_t(id);
        g.enabled = r.enabled;
        g.configured = rateOf(m_options.limits, id).perMinute;
        g.perMinute = g.configured;
        if (d->adopted[i] > 0 && (g.configured <= 0 || d->adopted[i] < g.configured))
            g.perMinute = d->adopted[i];
        g.serverLimit = d->serverLimit[i];
        g.level = r.level;
        g.capacity = r.capacity;
        g.usedLastMinute = d->used[i].sum(now, 60);
        g.utilisation = g.perMinute > 0 ? g.usedLastMinute / g.perMinute : 0;
        return g;
    };
    s.requests = gauge(LimitId::Requests);
    s.inputTokens = gauge(LimitId::InputTokens);
    s.outputTokens = gauge(LimitId::OutputTokens);
    s.concurrencyLimit = snap.concurrency;
    s.dailyUsed = snap.dailyUsed;
    s.dailyQuota = snap.dailyQuota;
    s.retryBudgetLevel = d->budget.level();
    s.retryBudgetCapacity = m_options.retry.budget.capacity;
    s.circuit = d->breaker.state(now);
    if (s.circuit != CircuitState::Closed)
        s.circuitReason = d->breaker.openReason() == CircuitOpenReason::AuthFailure
                              ? QStringLiteral("authentication")
                              : QStringLiteral("server errors");
    if (d->cooldownUntil && *d->cooldownUntil > now) {
        s.cooldownRemaining = *d->cooldownUntil - now;
        s.cooldownCause = d->cooldownCause;
    }
    s.paused = d->paused;
    s.draining = d->draining;
    s.succeededPerSecond = d->succeeded.sum(now, 10) / 10.0;
    return s;
}

} // namespace sluice
