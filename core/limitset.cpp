#include "limitset.h"

#include "slidingwindow.h"
#include "tokenbucket.h"

#include <QDebug>
#include <QtGlobal>

#include <algorithm>
#include <cmath>

namespace sluice {

namespace {

constexpr int kRateCount = 3;

// A zero burst would make every cost "larger than the burst" with nothing left to pace it; a millisecond is
// the smallest that still means something.
constexpr double kMinBurstSeconds = 0.001;

QTimeZone zoneFor(const QByteArray &id)
{
    QTimeZone zone(id);
    if (!zone.isValid()) {
        // Config validates the id; this only guards a direct caller. Never silently use the machine's local
        // zone.
        qWarning("LimitSet: unknown time zone \"%s\" for the daily quota, using UTC", id.constData());
        return QTimeZone::utc();
    }
    return zone;
}

const RateLimitOptions &rateOptions(const LimitOptions &o, int index)
{
    switch (index) {
    case 0:
        return o.requests;
    case 1:
        return o.inputTokens;
    default:
        return o.outputTokens;
    }
}

} // namespace

QString limitIdName(LimitId id)
{
    switch (id) {
    case LimitId::Requests:
        return QStringLiteral("requests");
    case LimitId::InputTokens:
        return QStringLiteral("input_tokens");
    case LimitId::OutputTokens:
        return QStringLiteral("output_tokens");
    case LimitId::Concurrency:
        return QStringLiteral("concurrency");
    case LimitId::DailyQuota:
        return QStringLiteral("daily_quota");
    }
    return QStringLiteral("unknown");
}

const LimitSet::RateSnapshot &LimitSet::Snapshot::rate(LimitId id) const
{
    Q_ASSERT(id == LimitId::Requests || id == LimitId::InputTokens || id == LimitId::OutputTokens);
    switch (id) {
    case LimitId::InputTokens:
        return inputTokens;
    case LimitId::OutputTokens:
        return outputTokens;
    default:
        return requests;
    }
}

LimitSet::LimitSet(const LimitOptions &options, const Clock &clock)
    : m_clock(clock)
    , m_options(options)
    , m_zone(zoneFor(options.dailyQuotaTimeZone))
{
    for (int i = 0; i < kRateCount; ++i)
        applyRate(i, rateOptions(options, i), TimePoint{});
}

LimitSet::~LimitSet() = default;

double LimitSet::amountFor(const Cost &cost, int index)
{
    switch (index) {
    case 0:
        return cost.requests;
    case 1:
        return cost.inputTokens;
    default:
        return cost.outputTokens;
    }
}

double LimitSet::burstSeconds() const
{
    Q_ASSERT(m_options.burstSeconds > 0);
    return std::max(m_options.burstSeconds, kMinBurstSeconds);
}

std::unique_ptr<RateLimiter> LimitSet::makeLimiter(LimiterKind kind, double capacity, double perSecond) const
{
    if (kind == LimiterKind::SlidingWindow)
        return std::make_unique<SlidingWindowLimiter>(capacity, fromSeconds(capacity / perSecond));
    return std::make_unique<TokenBucket>(capacity, perSecond);
}

void LimitSet::applyRate(int index, const RateLimitOptions &options, TimePoint now)
{
    Rate &rate = m_rates[std::size_t(index)];
    if (!options.enabled()) {
        rate = Rate{};
        return;
    }
    const double perSecond = options.perMinute / 60.0;
    const double capacity = perSecond * burstSeconds();
    if (!rate.limiter) {
        rate.limiter = makeLimiter(options.kind, capacity, perSecond);
    } else if (rate.limiter->kind() != options.kind) {
        // Rebuilt as the other kind, starting full and lowered to the old level: "kept, clamped" in one step.
        const double level = rate.limiter->level(now);
        rate.limiter = makeLimiter(options.kind, capacity, perSecond);
        rate.limiter->lowerTo(level, now);
    } else {
        rate.limiter->setLimit(capacity, perSecond, now);
    }
    rate.perMinute = options.perMinute;
    rate.capacity = capacity;
}

void LimitSet::setOptions(const LimitOptions &options, TimePoint now)
{
    const bool zoneChanged = options.dailyQuotaTimeZone != m_options.dailyQuotaTimeZone;
    m_options = options;
    for (int i = 0; i < kRateCount; ++i)
        applyRate(i, rateOptions(options, i), now);
    if (zoneChanged) {
        rollDay(now); // today's count belongs to the old zone's day until its midnight has passed
        m_zone = zoneFor(options.dailyQuotaTimeZone);
        if (m_nextReset)
            m_nextReset = nextMidnight(now);
    }
}

Admission LimitSet::check(const Cost &cost, TimePoint now) const
{
    Q_ASSERT(cost.requests >= 0 && cost.inputTokens >= 0 && cost.outputTokens >= 0);
    Admission result;
    Duration longest = Duration::zero();
    for (int i = 0; i < kRateCount; ++i) {
        const Rate &rate = m_rates[std::size_t(i)];
        const double amount = amountFor(cost, i);
        if (!rate.limiter || amount <= 0)
            continue;
        if (amount > std::max(rate.capacity, rate.perMinute))
            return Admission{Verdict::Never, LimitId(i), Duration::zero()};
        // A cost above the burst waits for a full limiter and then goes into debt (see the design note).
        const std::optional<Duration> wait = rate.limiter->timeUntil(std::min(amount, rate.capacity), now);
        if (!wait)
            return Admission{Verdict::Never, LimitId(i), Duration::zero()};
        if (*wait > longest) {
            longest = *wait;
            result.binding = LimitId(i);
        }
    }
    if (m_options.dailyQuota > 0 && dailyUsed(now) >= m_options.dailyQuota) {
        // dailyUsed() > 0 implies the reset is known and still ahead.
        const Duration wait = *m_nextReset - now;
        if (wait > longest) {
            longest = wait;
            result.binding = LimitId::DailyQuota;
        }
    }
    result.wait = longest;
    if (m_options.concurrency > 0 && m_inFlight >= m_options.concurrency) {
        result.verdict = Verdict::WhenSlotFrees;
        result.binding = LimitId::Concurrency;
    } else {
        result.verdict = longest > Duration::zero() ? Verdict::Later : Verdict::Now;
    }
    return result;
}

Admission LimitSet::admit(const Cost &cost, TimePoint now)
{
    rollDay(now);
    const Admission admission = check(cost, now);
    if (admission.verdict != Verdict::Now)
        return admission;
    for (int i = 0; i < kRateCount; ++i) {
        Rate &rate = m_rates[std::size_t(i)];
        const double amount = amountFor(cost, i);
        if (!rate.limiter || amount <= 0)
            continue;
        if (amount > rate.capacity) {
            rate.limiter->takeIntoDebt(amount, now); // the limiter is full: check() waited for that
        } else {
            const bool taken = rate.limiter->tryTake(amount, now);
            Q_ASSERT(taken); // check() said it fits at this very `now`
            Q_UNUSED(taken);
        }
    }
    ++m_inFlight;
    ++m_dailyUsed;
    return admission;
}

void LimitSet::release()
{
    Q_ASSERT(m_inFlight > 0);
    if (m_inFlight > 0)
        --m_inFlight;
}

void LimitSet::settle(const Cost &reserved, const Cost &actual, TimePoint now)
{
    for (int i = 0; i < kRateCount; ++i) {
        Rate &rate = m_rates[std::size_t(i)];
        if (!rate.limiter)
            continue;
        const double difference = amountFor(reserved, i) - amountFor(actual, i);
        if (difference > 0)
            rate.limiter->refund(difference, now);
        else if (difference < 0)
            rate.limiter->takeIntoDebt(-difference, now);
    }
}

void LimitSet::refund(const Cost &reserved, TimePoint now)
{
    for (int i = 0; i < kRateCount; ++i) {
        Rate &rate = m_rates[std::size_t(i)];
        const double amount = amountFor(reserved, i);
        if (rate.limiter && amount > 0)
            rate.limiter->refund(amount, now);
    }
    // A unit admitted before midnight and refunded after it is given back to the new day: at most a handful
    // of requests, and never below zero.
    rollDay(now);
    if (m_dailyUsed > 0)
        --m_dailyUsed;
}

void LimitSet::lowerLevel(LimitId id, double remaining, TimePoint now)
{
    if (id != LimitId::Requests && id != LimitId::InputTokens && id != LimitId::OutputTokens)
        return;
    Rate &rate = m_rates[std::size_t(id)];
    if (rate.limiter && std::isfinite(remaining))
        rate.limiter->lowerTo(remaining, now);
}

qint64 LimitSet::dailyUsed(TimePoint now) const
{
    return m_nextReset && now < *m_nextReset ? m_dailyUsed : 0;
}

void LimitSet::rollDay(TimePoint now)
{
    if (m_nextReset && now < *m_nextReset)
        return;
    m_dailyUsed = 0;
    m_nextReset = nextMidnight(now);
}

TimePoint LimitSet::nextMidnight(TimePoint now) const
{
    const QDateTime wall = m_clock.wallTime(now);
    const QDate today = wall.toTimeZone(m_zone).date();
    QDateTime midnight(today.addDays(1), QTime(0, 0), m_zone);
    if (!midnight.isValid()) // a zone whose clocks skip midnight on that day (DST): the day starts at 01:00
        midnight = QDateTime(today.addDays(1), QTime(1, 0), m_zone);
    // wallTime() has millisecond resolution and truncates, so this lands up to 1 ms after midnight: never
    // early.
    const qint64 ms = std::max<qint64>(1, wall.msecsTo(midnight));
    return now + std::chrono::milliseconds(ms);
}

const RateLimiter *LimitSet::limiter(LimitId id) const
{
    if (id != LimitId::Requests && id != LimitId::InputTokens && id != LimitId::OutputTokens)
        return nullptr;
    return m_rates[std::size_t(id)].limiter.get();
}

LimitSet::RateSnapshot LimitSet::rateSnapshot(int index, TimePoint now) const
{
    const Rate &rate = m_rates[std::size_t(index)];
    RateSnapshot s;
    s.kind = rateOptions(m_options, index).kind;
    if (!rate.limiter)
        return s;
    s.enabled = true;
    s.level = rate.limiter->level(now);
    s.capacity = rate.capacity;
    s.perMinute = rate.perMinute;
    return s;
}

LimitSet::Snapshot LimitSet::snapshot(TimePoint now) const
{
    Snapshot s;
    s.requests = rateSnapshot(0, now);
    s.inputTokens = rateSnapshot(1, now);
    s.outputTokens = rateSnapshot(2, now);
    s.inFlight = m_inFlight;
    s.concurrency = m_options.concurrency;
    s.dailyUsed = dailyUsed(now);
    s.dailyQuota = m_options.dailyQuota;
    if (m_nextReset && now < *m_nextReset)
        s.dailyReset = m_nextReset;
    return s;
}

} // namespace sluice
