#pragma once
// Options: the plain settings of every primitive, in one place, with their defaults and units.
//
// Design note. Each primitive takes its options struct by value and can be given a new one at runtime (the limits
// panel, a learned server limit); Config (config.h) reads and validates all of them from JSON, the environment and the
// command line. Keeping them as aggregates with defaults here means a default is written exactly once: the JSON
// loader, the documentation of the example config and the tests all read it from these initialisers.
//
// Worked example: a tier-1 Sonnet key (50 RPM, 30,000 ITPM, 8,000 OTPM) paced smoothly:
//   LimitOptions o;
//   o.requests.perMinute = 50;        // capacity 50/60 * burstSeconds(1) = 0.83 request: one at a time,
//   o.inputTokens.perMinute = 30000;  // refilled every 1.2 s
//   o.outputTokens.perMinute = 8000;
//   o.concurrency = 4;

#include "clock.h"

#include <QByteArray>
#include <QString>
#include <QtGlobal>

#include <chrono>

namespace sluice {

using namespace std::chrono_literals;

// How one per-minute limit is enforced locally.
enum class LimiterKind {
    TokenBucket,   // continuously refilled bucket (the API's own model): smooth, allows a burst of burstSeconds
    SlidingWindow, // at most `limit` in any window of burstSeconds: exact, can be burstier at window edges
};

struct RateLimitOptions
{
    double perMinute = 0; // units per minute (requests or tokens); 0 means this limit is off
    LimiterKind kind = LimiterKind::TokenBucket;
    bool enabled() const { return perMinute > 0; }
    bool operator==(const RateLimitOptions &) const = default;
};

struct LimitOptions
{
    RateLimitOptions requests;     // requests per minute
    RateLimitOptions inputTokens;  // input tokens per minute (estimate reserved, settled to usage)
    RateLimitOptions outputTokens; // output tokens per minute (max_tokens reserved, settled to usage)
    int concurrency = 8;           // requests in flight at once; 0 means unlimited
    qint64 dailyQuota = 0;         // requests per calendar day; 0 means unlimited
    QByteArray dailyQuotaTimeZone = "UTC"; // IANA id; the quota resets at midnight there
    // Pacing: a bucket holds burstSeconds' worth of its per-minute rate (limit/60 * burstSeconds), because the API
    // may enforce a per-minute limit over intervals as short as a second. 60 = the whole minute as one burst.
    double burstSeconds = 1.0;
    bool operator==(const LimitOptions &) const = default;
};

enum class JitterMode {
    None,         // exactly initial * multiplier^n, capped
    Proportional, // d * (1 ± jitterFraction), uniform: the classic "±10 %"
    Full,         // uniform in [0, d]  (AWS "full jitter": least total work)
    Equal,        // d/2 + uniform in [0, d/2]
    Decorrelated, // uniform in [initial, previous * 3], capped (AWS "decorrelated jitter")
};

struct BackoffOptions
{
    Duration initialDelay = 500ms;
    double multiplier = 2.0;
    Duration maxDelay = 30s;
    int maxAttempts = 5;            // attempts in all, the first included; 1 means never retry
    JitterMode jitter = JitterMode::Full;
    double jitterFraction = 0.1;    // for Proportional only, in [0, 1]
    Duration maxServerDelay = 120s; // a server's retry-after is obeyed up to this
    quint64 seed = 0;               // 0: seed from the system's entropy; anything else: repeatable draws
    bool operator==(const BackoffOptions &) const = default;
};

struct RetryBudgetOptions
{
    bool enabled = true;
    double capacity = 500;     // AWS "standard" retry mode's numbers
    double retryCost = 5;
    double timeoutRetryCost = 10;
    double successRefund = 1;  // given back per success on the first try
    bool operator==(const RetryBudgetOptions &) const = default;
};

struct RetryOptions
{
    RetryBudgetOptions budget;
    // A 429 does not spend an attempt (it is pacing, not failure); this caps consecutive 429s of one request so a
    // server that never admits cannot hold it forever.
    int maxRateLimitWaits = 50;
    bool operator==(const RetryOptions &) const = default;
};

struct CircuitBreakerOptions
{
    int failureThreshold = 5; // consecutive server errors (5xx, 529, network, timeout) that open the circuit
    Duration coolOff = 30s;   // open -> half-open after this; one probe request then decides
    bool operator==(const CircuitBreakerOptions &) const = default;
};

struct QueueOptions
{
    qsizetype capacity = 1'000'000; // queued requests (priority + delay queue together); beyond it, submit is refused
    bool operator==(const QueueOptions &) const = default;
};

struct TransportOptions
{
    Duration requestTimeout = 600s; // per attempt, as the official SDKs
    bool operator==(const TransportOptions &) const = default;
};

} // namespace sluice
