#include "backoff.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sluice {

namespace {

quint64 seedFrom(quint64 seed)
{
    if (seed != 0)
        return seed;
    std::random_device rd;
    return (quint64(rd()) << 32) ^ quint64(rd());
}

double ns(Duration d)
{
    return double(d.count());
}

} // namespace

BackoffPolicy::BackoffPolicy(BackoffOptions options)
    : m_options(options)
    , m_rng(seedFrom(options.seed))
{}

void BackoffPolicy::setOptions(const BackoffOptions &options)
{
    const bool reseed = options.seed != m_options.seed;
    m_options = options;
    if (reseed)
        m_rng.seed(seedFrom(options.seed));
}

Duration BackoffPolicy::baseDelay(int retry) const
{
    const Duration cap = std::max(m_options.maxDelay, Duration::zero());
    const int n = std::max(retry, 1);
    // In double, and compared with the cap before converting back: 2^10000 is inf here, not undefined
    // behaviour.
    const double d = ns(m_options.initialDelay) * std::pow(m_options.multiplier, double(n - 1));
    if (!(d < ns(cap))) // also catches inf and NaN
        return cap;
    if (!(d > 0))
        return Duration::zero();
    return Duration(qint64(std::llround(d)));
}

Duration BackoffPolicy::delay(int retry, std::optional<Duration> serverWait, Duration previous)
{
    if (serverWait)
        return std::clamp(*serverWait, Duration::zero(),
                          std::max(m_options.maxServerDelay, Duration::zero()));

    const Duration base = baseDelay(retry);
    switch (m_options.jitter) {
    case JitterMode::None:
        return base;
    case JitterMode::Proportional: {
        const double f = std::clamp(m_options.jitterFraction, 0.0, 1.0);
        const double u = 2.0 * uniform01() - 1.0; // [-1, 1)
        return clampToRange(ns(base) * (1.0 + f * u), Duration::zero(), Duration::max());
    }
    case JitterMode::Full:
        return clampToRange(ns(base) * uniform01(), Duration::zero(), base);
    case JitterMode::Equal:
        return clampToRange(ns(base) / 2 + ns(base) / 2 * uniform01(), Duration::zero(), base);
    case JitterMode::Decorrelated: {
        const Duration cap = std::max(m_options.maxDelay, Duration::zero());
        const Duration lo = std::clamp(m_options.initialDelay, Duration::zero(), cap);
        const Duration prev = previous > Duration::zero() ? previous : lo;
        const double hi = std::max(ns(lo), 3.0 * ns(prev));
        return clampToRange(ns(lo) + (hi - ns(lo)) * uniform01(), lo, cap);
    }
    }
    return base;
}

double BackoffPolicy::uniform01()
{
    // The top 53 bits make every double in [0, 1) with a step of 2^-53 equally likely.
    return double(m_rng() >> 11) * 0x1.0p-53;
}

Duration BackoffPolicy::clampToRange(double value, Duration lo, Duration hi) const
{
    if (!(value <
          ns(hi))) // ns(Duration::max()) rounds up to 2^63, so this also keeps the cast below in range
        return hi;
    if (!(value > ns(lo)))
        return lo;
    return Duration(qint64(std::llround(value)));
}

} // namespace sluice
