#pragma once
// RateLimiter: the one interface both local limiters implement, so LimitSet can pick one per limit.
//
// Design note. A limiter holds `capacity` units and gets them back at some sustained rate. It never says just
// "yes" or "no": timeUntil() answers how long until an amount fits, so the dispatcher can arm one timer for
// the exact moment instead of polling. An empty answer means "never": the amount is larger than the limiter
// can ever hold (or a limiter that does not refill is short). Two ways to spend:
//   - tryTake: all or nothing, only when timeUntil() is zero;
//   - takeIntoDebt: always, the level may go below zero; later amounts wait until the debt is paid back. Used
//   when
//     the server reports more usage than we reserved, and for a request larger than the local burst.
// refund gives units back (a 429 the server did not count, a reservation larger than the actual usage) and
// never lifts the level above the capacity; lowerTo adopts a lower level the server reported (its
// `-remaining` header) and never raises it.
//
// Every call takes `now`. If `now` is earlier than a time the limiter has already seen, it is treated as that
// time: a clock running backwards means "no time passed", so it can neither refill nor free anything.
//
// Worked example (either implementation, 5 per second, capacity 1):
//   tryTake(1, 0 ms) -> true        level 0
//   timeUntil(1, 0 ms) -> 200 ms
//   timeUntil(2, 0 ms) -> empty     2 > capacity 1: can never fit
//   takeIntoDebt(1, 0 ms)           level -1
//   timeUntil(1, 0 ms) -> 400 ms
//
// Units: amounts are whatever the limit counts (requests, tokens), as doubles: fractional units are allowed.
// Threading: not thread-safe; one owner (the dispatcher, main thread) calls everything.

#include "clock.h"
#include "options.h"

#include <optional>

namespace sluice {

class RateLimiter
{
public:
    virtual ~RateLimiter() = default;

    virtual LimiterKind kind() const = 0;

    // Units available at `now`: at most capacity(), negative while in debt.
    virtual double level(TimePoint now) const = 0;
    // The most units the limiter can hold at once (the burst).
    virtual double capacity() const = 0;
    // How long from `now` until `amount` fits: zero if it fits now, empty if it never will (amount >
    // capacity(), or a limiter that does not refill is short). Never negative; clamped to about 100 years.
    virtual std::optional<Duration> timeUntil(double amount, TimePoint now) const = 0;
    // Takes `amount` if it fits now (timeUntil is zero); otherwise changes nothing and returns false.
    virtual bool tryTake(double amount, TimePoint now) = 0;
    // Takes `amount` whether it fits or not; the level may go negative.
    virtual void takeIntoDebt(double amount, TimePoint now) = 0;
    // Gives `amount` back, never above the capacity.
    virtual void refund(double amount, TimePoint now) = 0;
    // Adopts `level` if it is lower than the current level (the server knows better); never raises the level.
    virtual void lowerTo(double level, TimePoint now) = 0;
    // New limit at runtime: hold at most `capacity` units, get `perSecond` units back each second on average.
    // The current level is kept, clamped to the new capacity. perSecond 0: nothing ever comes back.
    virtual void setLimit(double capacity, double perSecond, TimePoint now) = 0;
};

// Durations that limiters compute are clamped to this, so huge amounts or tiny rates cannot overflow a
// TimePoint.
inline constexpr Duration kMaxLimiterWait = std::chrono::hours(24 * 365 * 100);

} // namespace sluice
