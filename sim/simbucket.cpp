#include "simbucket.h"

#include <algorithm>

namespace sluice::sim {

namespace {
// Floating-point refill can land a hair below a whole unit at the exact instant it is due; this much is
// forgiven.
constexpr double kEpsilon = 1e-9;
} // namespace

SimBucket::SimBucket(double perMinute, double windowSeconds, TimePoint now)
    : m_perMinute(perMinute)
    , m_capacity(perMinute / 60.0 * windowSeconds)
    , m_level(m_capacity)
    , m_at(now)
{}

void SimBucket::reconfigure(double perMinute, double windowSeconds, TimePoint now)
{
    advance(now);
    m_perMinute = perMinute;
    m_capacity = perMinute / 60.0 * windowSeconds;
    m_level = std::min(m_level, m_capacity);
}

double SimBucket::level(TimePoint now) const
{
    if (now <= m_at)
        return m_level;
    return std::min(m_capacity, m_level + toSeconds(now - m_at) * ratePerSecond());
}

Duration SimBucket::timeUntil(double cost, TimePoint now) const
{
    const double need = std::min(cost, m_capacity) - level(now);
    if (need <= kEpsilon)
        return Duration::zero();
    return fromSeconds(need / ratePerSecond());
}

bool SimBucket::take(double cost, TimePoint now)
{
    if (timeUntil(cost, now) > Duration::zero())
        return false;
    advance(now);
    m_level -= cost;
    return true;
}

void SimBucket::settle(double amount, TimePoint now)
{
    advance(now);
    m_level = std::min(m_capacity, m_level + amount);
}

TimePoint SimBucket::fullAt(TimePoint now) const
{
    const double missing = m_capacity - level(now);
    if (missing <= kEpsilon)
        return now;
    return now + fromSeconds(missing / ratePerSecond());
}

void SimBucket::advance(TimePoint now)
{
    if (now <= m_at)
        return;
    m_level = level(now);
    m_at = now;
}

} // namespace sluice::sim
