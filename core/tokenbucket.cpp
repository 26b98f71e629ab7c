#include "tokenbucket.h"

#include <QtGlobal>

#include <algorithm>
#include <cmath>

namespace sluice {

namespace {

// The zero time saturates at +-1.5 x kMaxLimiterWait (150 years): any TimePoint a caller passes (within 100
// years of the clock's epoch) minus or plus one clamped cost stays far inside the 292 years a nanosecond
// int64 can hold.
constexpr Duration kHorizon = kMaxLimiterWait + kMaxLimiterWait / 2;
constexpr TimePoint kFarPast{-kHorizon};
constexpr TimePoint kFarFuture{kHorizon};

// t + d for |d| <= kMaxLimiterWait, saturated to [kFarPast, kFarFuture].
TimePoint saturatedAdd(TimePoint t, Duration d)
{
    if (t > kFarFuture - d)
        return kFarFuture;
    if (t < kFarPast - d)
        return kFarPast;
    return t + d;
}

} // namespace

TokenBucket::TokenBucket(double capacity, double perSecond)
    : m_capacity(std::max(0.0, capacity))
    , m_rate(std::max(0.0, perSecond))
    , m_capacityCost(0)
    , m_zeroTime(kFarPast)
    , m_frozenLevel(m_capacity)
    , m_latest(TimePoint::min())
{
    Q_ASSERT(std::isfinite(capacity) && std::isfinite(perSecond));
    m_capacityCost = cost(m_capacity);
}

Duration TokenBucket::cost(double amount) const
{
    if (amount <= 0)
        return Duration::zero();
    if (m_rate <= 0)
        return kMaxLimiterWait;
    const double ns = amount / m_rate * 1e9;
    if (!(ns < double(kMaxLimiterWait.count())))
        return kMaxLimiterWait;
    return Duration(std::llround(ns));
}

TimePoint TokenBucket::clampedZero(TimePoint now) const
{
    return std::max(m_zeroTime, now - m_capacityCost);
}

void TokenBucket::observe(TimePoint now)
{
    m_latest = std::max(m_latest, now);
}

double TokenBucket::level(TimePoint now) const
{
    if (m_rate <= 0)
        return m_frozenLevel;
    const TimePoint n = effective(now);
    // The difference can exceed what nanoseconds in an int64 hold only in theory; doubles cannot overflow
    // here.
    const double elapsed =
        (double(n.time_since_epoch().count()) - double(m_zeroTime.time_since_epoch().count())) * 1e-9;
    return std::min(m_capacity, elapsed * m_rate);
}

std::optional<Duration> TokenBucket::timeUntil(double amount, TimePoint now) const
{
    if (amount <= 0)
        return Duration::zero();
    if (amount > m_capacity)
        return std::nullopt;
    if (m_rate <= 0)
        return m_frozenLevel >= amount ? std::optional<Duration>(Duration::zero()) : std::nullopt;
    const TimePoint n = effective(now);
    const TimePoint ready = saturatedAdd(clampedZero(n), cost(amount));
    if (ready <= n)
        return Duration::zero();
    return std::min(ready - n, kMaxLimiterWait);
}

bool TokenBucket::tryTake(double amount, TimePoint now)
{
    const TimePoint n = effective(now);
    observe(n);
    if (amount <= 0)
        return true;
    const std::optional<Duration> wait = timeUntil(amount, n);
    if (!wait || *wait > Duration::zero())
        return false;
    takeIntoDebt(amount, n);
    return true;
}

void TokenBucket::takeIntoDebt(double amount, TimePoint now)
{
    const TimePoint n = effective(now);
    observe(n);
    if (amount <= 0)
        return;
    if (m_rate <= 0) {
        m_frozenLevel -= amount;
        return;
    }
    m_zeroTime = saturatedAdd(clampedZero(n), cost(amount));
}

void TokenBucket::refund(double amount, TimePoint now)
{
    const TimePoint n = effective(now);
    observe(n);
    if (amount <= 0)
        return;
    if (m_rate <= 0) {
        m_frozenLevel = std::min(m_capacity, m_frozenLevel + amount);
        return;
    }
    // Moving the zero time earlier than "full" would store tokens above the capacity: clamp.
    m_zeroTime = std::max(saturatedAdd(clampedZero(n), -cost(amount)), n - m_capacityCost);
}

void TokenBucket::lowerTo(double level, TimePoint now)
{
    const TimePoint n = effective(now);
    observe(n);
    if (level < this->level(n))
        setLevel(level, n);
}

void TokenBucket::setLimit(double capacity, double perSecond, TimePoint now)
{
    Q_ASSERT(std::isfinite(capacity) && std::isfinite(perSecond));
    const TimePoint n = effective(now);
    observe(n);
    const double kept = level(n);
    m_capacity = std::max(0.0, capacity);
    m_rate = std::max(0.0, perSecond);
    m_capacityCost = cost(m_capacity);
    setLevel(std::min(kept, m_capacity), n);
}

void TokenBucket::setLevel(double level, TimePoint now)
{
    if (m_rate <= 0) {
        m_frozenLevel = level;
        return;
    }
    m_zeroTime = level >= 0 ? saturatedAdd(now, -cost(level)) : saturatedAdd(now, cost(-level));
}

} // namespace sluice
