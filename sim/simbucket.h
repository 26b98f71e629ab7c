#pragma once
// SimBucket: the simulator's own continuously refilled bucket for one per-minute limit.
//
// Design note. The API enforces a per-minute limit L as a bucket that holds L/60 * window units and refills
// at L/60 units per second, so 60 RPM over a 1 s window admits one request per second, not 60 at once. The
// bucket stores only its level at one instant and derives the level at any later instant from the refill rate
// (time running backwards adds nothing). take() is all-or-nothing against the current level, except that a
// cost larger than the capacity is accepted when the bucket is full and leaves it negative: the debt is
// repaid by refill before anything else fits, so oversize requests are paced at the average rate instead of
// being refused for ever. settle() moves the level by a signed amount without a check (refunds, and output
// that exceeded its reservation).
//
// It is deliberately separate from core's limiter: the simulator must not share the client's accounting, or a
// bug in one would be mirrored in the other and no test could catch it.
//
// Worked example: L = 60/min, window 1 s: capacity 1, refill 1 per second.
//   SimBucket b(60, 1.0, t0);      // level 1
//   b.take(1, t0);                 // true, level 0
//   b.timeUntil(1, t0 + 10ms);     // 990 ms
//   b.take(1, t0 + 1s);            // true
// With L = 6,000 tokens/min and window 1 s (capacity 100, 100 per second), take(250) on a full bucket
// succeeds and leaves -150: the next take(1) waits 1.51 s.
//
// Threading: not thread-safe; the SimServer's thread only. Units: whatever the limit counts (requests,
// tokens).

#include "core/clock.h"

namespace sluice::sim {

class SimBucket
{
public:
    // perMinute > 0, windowSeconds > 0. Starts full.
    SimBucket(double perMinute, double windowSeconds, TimePoint now);

    // New limit or window; the current level is kept, clamped to the new capacity.
    void reconfigure(double perMinute, double windowSeconds, TimePoint now);

    double perMinute() const { return m_perMinute; }
    double capacity() const { return m_capacity; }
    // The level at `now` (units; negative while in debt, never above capacity()).
    double level(TimePoint now) const;
    // How long until take(cost) would succeed; zero if it would succeed now.
    Duration timeUntil(double cost, TimePoint now) const;
    // Takes `cost` if it fits now (see the design note for costs above capacity); false and no change
    // otherwise.
    bool take(double cost, TimePoint now);
    // Adds `amount` (may be negative) without a check; the level never exceeds capacity().
    void settle(double amount, TimePoint now);
    // When the bucket will be full again if nothing more is taken (now itself if it is full).
    TimePoint fullAt(TimePoint now) const;

private:
    void advance(TimePoint now);
    double ratePerSecond() const { return m_perMinute / 60.0; }

    double m_perMinute;
    double m_capacity;
    double m_level;
    TimePoint m_at;
};

} // namespace sluice::sim
