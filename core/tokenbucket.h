#pragma once
// TokenBucket: a continuously refilled bucket, the model the Claude API uses for its own limits.
//
// Design note (folly's TokenBucket). The bucket keeps no token count and no "last refill" time: it stores ONE
// timestamp, the zero time, the moment at which the bucket was (or will be) empty if nothing had been taken
// since:
//     level(now) = min(capacity, (now - zeroTime) * rate)
// Taking n units moves the zero time n/rate later; a zero time in the future is debt (the level is negative
// until then). A full bucket is any zero time at or before now - capacity/rate, so before taking, the zero
// time is first pulled up to that point (the refill stops at the capacity). Nothing ever has to "tick": the
// level is a function of now, and timeUntil(n) is simply zeroTime + n/rate - now. Decisions are made in the
// time domain, never by comparing floating token counts: "n fits" means zeroTime + cost(n) <= now, with
// cost(n) = n/rate rounded to the nanosecond once. timeUntil() and tryTake() use the same arithmetic, so
// waiting exactly timeUntil() always makes tryTake() succeed.
//
// A clock running backwards adds nothing: the latest `now` seen is remembered and an earlier one is treated
// as it. A zero rate is a bucket that never refills: the level is then kept as a plain number (one timestamp
// cannot carry it), and timeUntil() is empty whenever the amount does not fit now. Durations are clamped to
// kMaxLimiterWait and the zero time saturates, so huge amounts or tiny rates cannot overflow.
//
// Worked example: capacity 1, rate 5 per second.
//   t = 0.000 s  full, zero time = -0.200 s     tryTake(1) -> true, zero time = 0.000 s, level 0
//   t = 0.100 s  level 0.5                      timeUntil(1) -> 100 ms, tryTake(1) -> false
//   t = 0.200 s  level 1                        tryTake(1) -> true, zero time = 0.200 s
//   t = 0.200 s  takeIntoDebt(2)                zero time = 0.600 s, level -2, timeUntil(1) -> 600 ms
//   t = 0.300 s  refund(1)                      zero time = 0.400 s, level -0.5
// So ten requests at 5/s leave at exactly 0, 200, 400, ..., 1800 ms.
//
// Threading: not thread-safe; one owner calls everything.

#include "ratelimiter.h"

namespace sluice {

class TokenBucket final : public RateLimiter
{
public:
    // Starts full. capacity: units (>= 0); perSecond: units refilled per second (>= 0; 0 never refills).
    TokenBucket(double capacity, double perSecond);

    LimiterKind kind() const override { return LimiterKind::TokenBucket; }
    double level(TimePoint now) const override;
    double capacity() const override { return m_capacity; }
    std::optional<Duration> timeUntil(double amount, TimePoint now) const override;
    bool tryTake(double amount, TimePoint now) override;
    void takeIntoDebt(double amount, TimePoint now) override;
    void refund(double amount, TimePoint now) override;
    void lowerTo(double level, TimePoint now) override;
    void setLimit(double capacity, double perSecond, TimePoint now) override;

    // Units refilled per second.
    double rate() const { return m_rate; }
    // Runtime changes: the level is kept, clamped to the (new) capacity.
    void setCapacity(double capacity, TimePoint now) { setLimit(capacity, m_rate, now); }
    void setRate(double perSecond, TimePoint now) { setLimit(m_capacity, perSecond, now); }

private:
    // The time `amount` units take to refill, rounded to the nanosecond and clamped to kMaxLimiterWait.
    Duration cost(double amount) const;
    // `now`, but never earlier than the latest time seen.
    TimePoint effective(TimePoint now) const { return now < m_latest ? m_latest : now; }
    // The zero time with the refill stopped at the capacity (the bucket cannot be fuller than full).
    TimePoint clampedZero(TimePoint now) const;
    void setLevel(double level, TimePoint now);
    void observe(TimePoint now);

    double m_capacity;
    double m_rate;
    Duration m_capacityCost; // cost(m_capacity): how long an empty bucket takes to fill
    TimePoint m_zeroTime;    // the whole state of a refilling bucket
    double m_frozenLevel;    // the level when m_rate == 0 (unused otherwise)
    TimePoint m_latest;      // latest `now` seen, so that time running backwards adds nothing
};

} // namespace sluice
