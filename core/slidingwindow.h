#pragma once
// SlidingWindowLimiter: at most `limit` units in any window of `window` length; the alternative to
// TokenBucket.
//
// Design note. Every take is recorded as an entry (when, how much); an entry counts against the limit until
// it leaves the window, and the level is limit minus what the entries still in the window add up to. It is
// exact ("never more than 5 in any 1 s") where a token bucket is smooth, and it frees capacity in steps:
// timeUntil(n) walks the entries in the order they leave until enough have gone for n to fit.
//
// Debt. A take into debt (the server counted more than we reserved, or a request larger than the window's
// limit) is recorded anyway, and to keep the long-run rate at limit/window the part above the limit stretches
// the entry's stay:
//     leaves at = taken at + window * (1 + excess / limit)
// where excess is how far the entry pushed the sum above the limit. So 3 units into a 1-unit, 1 s window stay
// 3 s. Entries are kept sorted by when they leave. A refund takes units back from the entries that leave last
// (the newest, or a debt that holds the window longest) and shortens a stretched stay accordingly, never
// below one window. A runtime change of limit or window keeps every entry and recomputes when it leaves, but
// never earlier than before: a change of settings frees nothing. lowerTo(level) records the difference as an
// entry "the server counted".
//
// A clock running backwards frees nothing: the latest `now` seen is remembered and an earlier one is treated
// as it.
//
// Worked example: limit 5, window 1 s (300 per minute paced with a 1 s burst).
//   t = 0.0 s  tryTake(1) x5 -> true     level 0
//   t = 0.4 s  timeUntil(1) -> 600 ms    (the first entry leaves at 1.0 s)
//   t = 1.0 s  level 5, tryTake(2) -> true
//   t = 1.0 s  takeIntoDebt(5)           sum 7, excess 2: that entry leaves at 1.0 + 1 x (1 + 2/5) = 2.4 s,
//   level -2 t = 2.0 s  level 0 (the 2 taken at 1.0 s left); timeUntil(1) -> 400 ms
//
// Units: amounts as doubles (fractional units allowed). Memory: one entry per take still in the window.
// Threading: not thread-safe; one owner calls everything.

#include "ratelimiter.h"

#include <deque>

namespace sluice {

class SlidingWindowLimiter final : public RateLimiter
{
public:
    // Starts empty (level == limit). limit: units (>= 0); window: > 0 (a zero window limits nothing).
    SlidingWindowLimiter(double limit, Duration window);

    LimiterKind kind() const override { return LimiterKind::SlidingWindow; }
    double level(TimePoint now) const override;
    double capacity() const override { return m_limit; }
    std::optional<Duration> timeUntil(double amount, TimePoint now) const override;
    bool tryTake(double amount, TimePoint now) override;
    void takeIntoDebt(double amount, TimePoint now) override;
    void refund(double amount, TimePoint now) override;
    void lowerTo(double level, TimePoint now) override;
    // Window = capacity / perSecond (perSecond 0: an endless window: nothing ever leaves).
    void setLimit(double capacity, double perSecond, TimePoint now) override;

    Duration window() const { return m_window; }
    // New limit and window at runtime: entries are kept; none leaves earlier than it would have.
    void setWindow(double limit, Duration window, TimePoint now);
    // Entries currently stored (for tests and memory checks).
    qsizetype entryCount() const { return qsizetype(m_entries.size()); }

private:
    struct Entry
    {
        TimePoint takenAt;
        double amount;
        double excess; // the part of amount that was above the limit when taken
        TimePoint leavesAt;
    };

    TimePoint effective(TimePoint now) const { return now < m_latest ? m_latest : now; }
    void observe(TimePoint now);
    // Drops the entries that have left by `now` (mutating calls only; const ones skip them while summing).
    void prune(TimePoint now);
    // What the entries still in the window at `now` add up to.
    double used(TimePoint now) const;
    TimePoint leavesAt(TimePoint takenAt, double excess) const;
    void record(double amount, TimePoint now);
    void insertSorted(const Entry &entry);
    double tolerance() const;

    double m_limit;
    Duration m_window;
    std::deque<Entry> m_entries; // sorted by leavesAt
    double m_sum = 0;            // sum of m_entries' amounts
    TimePoint m_latest;
};

} // namespace sluice
