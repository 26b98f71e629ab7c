#pragma once
// BackoffPolicy: how long a request waits before its next attempt.
//
// Design note. A pure object in the gRPC manner: options in, a delay out, no timers and no per-request state.
// The exponential part is base(n) = initialDelay * multiplier^(n-1) for retry n (1 = the first retry), capped
// at maxDelay. It is computed in double and compared with the cap before converting back, so a huge n or
// multiplier gives maxDelay, never an overflow. Jitter then spreads retries so that many requests failing
// together do not come back together:
//   None          base(n)
//   Proportional  base(n) * (1 + f * u), u uniform in [-1, 1], f = jitterFraction. Applied to the capped
//   value, so
//                 at the cap the spread survives and the longest wait is maxDelay * (1 + f), as in gRPC.
//   Full          uniform in [0, base(n)]                         (AWS "full jitter": least total work)
//   Equal         base(n)/2 + uniform in [0, base(n)/2]
//   Decorrelated  min(maxDelay, uniform in [initialDelay, 3 * previous]) where previous is the delay this
//   request
//                 waited last time (initialDelay before its first retry). n is not used: the chain is the
//                 state, and the caller keeps it (one Duration per request), so one policy serves every
//                 request.
// A server's own wait (retry-after-ms / retry-after, parsed by the transport) wins over all of this, even
// when it is shorter, clamped to [0, maxServerDelay]: the server knows when capacity returns.
//
// The RNG is std::mt19937_64, seeded from BackoffOptions::seed (0 = std::random_device); draws are turned
// into doubles by hand (53 high bits), not by std::uniform_*_distribution, so a seed gives the same delays
// with any standard library.
//
// Worked example, defaults (initial 500 ms, multiplier 2, max 30 s, Full jitter, 5 attempts):
//   base: retry 1 -> 500 ms, 2 -> 1 s, 3 -> 2 s, 4 -> 4 s; retry 8 would be 64 s -> capped to 30 s.
//   Full jitter on retry 3 draws uniformly in [0, 2 s], mean 1 s.
//   canRetry(4) is true (a 5th attempt is allowed), canRetry(5) is false.
//   delay(2, 7s) -> 7 s whatever the jitter: the server said so; delay(2, 10min) -> 120 s (maxServerDelay).
//
// Threading: not thread-safe (the RNG); one policy belongs to the dispatcher's thread.

#include "clock.h"
#include "options.h"

#include <optional>
#include <random>

namespace sluice {

class BackoffPolicy
{
public:
    explicit BackoffPolicy(BackoffOptions options = {});

    const BackoffOptions &options() const { return m_options; }
    // Takes effect for the next delay. Reseeds only if the seed changed.
    void setOptions(const BackoffOptions &options);

    // The un-jittered delay before retry `retry` (1 = first retry; values below 1 count as 1): initialDelay *
    // multiplier^(retry-1), capped at maxDelay, never negative. Deterministic.
    Duration baseDelay(int retry) const;

    // The delay before retry `retry`, jittered per options().jitter. `serverWait`, when the server sent one,
    // wins and is clamped to [0, maxServerDelay] (no jitter: the server's moment is a moment, not a hint).
    // `previous` is the delay this request waited before its last attempt, used by Decorrelated only (zero or
    // negative = none yet). Never negative.
    Duration delay(int retry, std::optional<Duration> serverWait = std::nullopt,
                   Duration previous = Duration::zero());

    // True when a request that has made `attemptsMade` attempts (the first one included) may make another:
    // attemptsMade < maxAttempts. 429s are not counted by the caller (see RetryPolicy).
    bool canRetry(int attemptsMade) const { return attemptsMade < m_options.maxAttempts; }

private:
    double uniform01(); // in [0, 1)
    Duration clampToRange(double ns, Duration lo, Duration hi) const;

    BackoffOptions m_options;
    std::mt19937_64 m_rng;
};

} // namespace sluice
