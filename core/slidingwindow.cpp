#include "slidingwindow.h"

#include <QtGlobal>

#include <algorithm>
#include <cmath>

namespace sluice {

namespace {

Duration clampedDuration(double ns)
{
    if (!(ns > 0))
        return Duration::zero();
    if (!(ns < double(kMaxLimiterWait.count())))
        return kMaxLimiterWait;
    return Duration(std::llround(ns));
}

} // namespace

SlidingWindowLimiter::SlidingWindowLimiter(double limit, Duration window)
    : m_limit(std::max(0.0, limit))
    , m_window(std::clamp(window, Duration::zero(), kMaxLimiterWait))
    , m_latest(TimePoint::min())
{
    Q_ASSERT(std::isfinite(limit));
}

void SlidingWindowLimiter::observe(TimePoint now)
{
    m_latest = std::max(m_latest, now);
}

double SlidingWindowLimiter::tolerance() const
{
    // Sums of fractional amounts drift by a few ulps; without this, 0.1 + 0.2 units would not fit in 0.3.
    return 1e-9 * std::max(1.0, m_limit);
}

TimePoint SlidingWindowLimiter::leavesAt(TimePoint takenAt, double excess) const
{
    if (m_limit <= 0)
        return takenAt + kMaxLimiterWait;
    const double stretch = 1.0 + std::max(0.0, excess) / m_limit;
    return takenAt + clampedDuration(double(m_window.count()) * stretch);
}

void SlidingWindowLimiter::prune(TimePoint now)
{
    while (!m_entries.empty() && m_entries.front().leavesAt <= now) {
        m_sum -= m_entries.front().amount;
        m_entries.pop_front();
    }
    if (m_entries.empty())
        m_sum = 0; // forget any rounding drift
}

double SlidingWindowLimiter::used(TimePoint now) const
{
    double sum = m_sum;
    for (const Entry &e : m_entries) {
        if (e.leavesAt > now)
            break;
        sum -= e.amount;
    }
    return std::max(0.0, sum);
}

double SlidingWindowLimiter::level(TimePoint now) const
{
    return m_limit - used(effective(now));
}

std::optional<Duration> SlidingWindowLimiter::timeUntil(double amount, TimePoint now) const
{
    if (amount <= 0)
        return Duration::zero();
    if (amount > m_limit)
        return std::nullopt;
    const TimePoint n = effective(now);
    const double room = m_limit - amount + tolerance();
    double remaining = used(n);
    if (remaining <= room)
        return Duration::zero();
    // An endless window (perSecond 0) never lets anything leave.
    if (m_window >= kMaxLimiterWait)
        return std::nullopt;
    for (const Entry &e : m_entries) {
        if (e.leavesAt <= n)
            continue;
        remaining -= e.amount;
        if (remaining <= room)
            return std::min(e.leavesAt - n, kMaxLimiterWait);
    }
    // Unreachable but for rounding: once every entry has left, anything up to the limit fits.
    return std::min(m_entries.back().leavesAt - n, kMaxLimiterWait);
}

bool SlidingWindowLimiter::tryTake(double amount, TimePoint now)
{
    const TimePoint n = effective(now);
    observe(n);
    if (amount <= 0)
        return true;
    prune(n);
    const std::optional<Duration> wait = timeUntil(amount, n);
    if (!wait || *wait > Duration::zero())
        return false;
    record(amount, n);
    return true;
}

void SlidingWindowLimiter::takeIntoDebt(double amount, TimePoint now)
{
    const TimePoint n = effective(now);
    observe(n);
    if (amount <= 0)
        return;
    prune(n);
    record(amount, n);
}

void SlidingWindowLimiter::record(double amount, TimePoint now)
{
    // Called after prune(now): m_sum is what the window holds.
    double excess = std::clamp(m_sum + amount - m_limit, 0.0, amount);
    if (excess <= tolerance())
        excess = 0; // a rounding crumb must not stretch the stay

    insertSorted(Entry{now, amount, excess, leavesAt(now, excess)});
    m_sum += amount;
}

void SlidingWindowLimiter::insertSorted(const Entry &entry)
{
    // Nearly always the last place: entries are taken in time order and mostly leave one window later.
    auto it = m_entries.end();
    while (it != m_entries.begin() && std::prev(it)->leavesAt > entry.leavesAt)
        --it;
    m_entries.insert(it, entry);
}

void SlidingWindowLimiter::refund(double amount, TimePoint now)
{
    const TimePoint n = effective(now);
    observe(n);
    prune(n);
    while (amount > 0 && !m_entries.empty()) {
        Entry e = m_entries.back();
        m_entries.pop_back();
        const double r = std::min(amount, e.amount);
        amount -= r;
        m_sum -= r;
        e.amount -= r;
        if (e.amount <= tolerance()) {
            m_sum -= e.amount; // wholly refunded: drop a rounding crumb too
            continue;
        }
        // The refund comes out of the part above the limit first, which shortens a stretched stay.
        e.excess = std::max(0.0, e.excess - r);
        e.leavesAt = std::min(e.leavesAt, leavesAt(e.takenAt, e.excess));
        insertSorted(e);
    }
    if (m_entries.empty())
        m_sum = 0;
}

void SlidingWindowLimiter::lowerTo(double level, TimePoint now)
{
    const TimePoint n = effective(now);
    observe(n);
    prune(n);
    const double current = m_limit - m_sum;
    if (level < current)
        record(current - level, n);
}

void SlidingWindowLimiter::setLimit(double capacity, double perSecond, TimePoint now)
{
    const Duration window =
        perSecond > 0 ? clampedDuration(std::max(0.0, capacity) / perSecond * 1e9) : kMaxLimiterWait;
    setWindow(capacity, window, now);
}

void SlidingWindowLimiter::setWindow(double limit, Duration window, TimePoint now)
{
    Q_ASSERT(std::isfinite(limit));
    const TimePoint n = effective(now);
    observe(n);
    prune(n);
    m_limit = std::max(0.0, limit);
    m_window = std::clamp(window, Duration::zero(), kMaxLimiterWait);
    for (Entry &e : m_entries)
        e.leavesAt = std::max(e.leavesAt, leavesAt(e.takenAt, e.excess));
    std::stable_sort(m_entries.begin(), m_entries.end(),
                     [](const Entry &a, const Entry &b) { return a.leavesAt < b.leavesAt; });
}

} // namespace sluice
