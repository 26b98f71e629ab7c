#pragma once
// LimitSet: every local limit a request must pass before it is sent, decided all at once.
//
// Design note. Five limits, each optional (0 = off): requests, input tokens and output tokens per minute
// (each a RateLimiter: TokenBucket or SlidingWindowLimiter, per LimitOptions), requests in flight
// (concurrency) and requests per calendar day (daily quota, reset at midnight of an IANA time zone).
// Admission is all-or-nothing: a request takes its cost from every limit at once or from none, so one limit
// refusing never leaves another half-charged.
//
// Pacing. The API may enforce a per-minute limit over intervals as short as a second, so each rate limit
// holds only burstSeconds' worth: capacity = perMinute / 60 * burstSeconds, refilled at perMinute / 60 per
// second (a sliding window: at most that capacity in any window of burstSeconds). A cost larger than that
// burst but not larger than the whole minute's limit (which the server's own bucket holds) is admitted once
// that limit is full, and taken into debt: the level goes negative and later requests wait until it is paid
// back, so the long-run rate is still perMinute. Only a cost larger than max(capacity, perMinute) is Never:
// the server could not accept it either.
//
// Accounting. The caller reserves a Cost per attempt: 1 request, an estimate of the input tokens and
// max_tokens as output tokens. tryAdmit() also takes a concurrency slot and one daily unit. Afterwards:
//   - release()               when the attempt is over, whatever its outcome (frees the slot);
//   - settle(reserved, actual) when the server reported usage: the difference is refunded, or taken into
//   debt;
//   - refund(reserved)        on a 429: the server did not count the request, so requests, tokens and the
//   daily unit
//                             come back.
// The server is the final authority: lowerLevel() adopts its lower `-remaining`; setOptions() applies new
// limits (a learned smaller limit, the limits panel) keeping the levels, clamped to the new capacities.
//
// Verdicts. check() answers Now; Later with the wait until ALL limits admit (the largest single wait) and the
// limit that binds; WhenSlotFrees when concurrency is full (no timer can help; the wait then says how long
// the rate limits still need, counted from now); Never with the limit that is too small. A used-up daily
// quota is Later until the next local midnight, which is computed once per day and cached, so check() stays a
// handful of comparisons.
//
// Worked example: 60 RPM, 30,000 ITPM, 8,000 OTPM, burstSeconds 1, concurrency 4.
//   requests: capacity 1, 1 per second        -> one request every 1.000 s
//   input:    capacity 500, 500 per second     -> a 2,000-token request waits for a full bucket and leaves it
//   at
//                                                 -1,500: the next one waits (1,500 + 500) / 500 = 4 s. 2,000
//                                                 tokens every 4 s is exactly 30,000 per minute.
//   output:   capacity 133.3, 133.3 per second -> max_tokens 1,024 leaves -890.7
//   t = 0 s  check({1, 2000, 1024}) -> Now; tryAdmit -> true (in flight 1)
//   t = 0 s  check(same)            -> Later 7.68 s, binding OutputTokens (input needs 4 s, requests 1 s)
//   t = 2 s  settle({1, 2000, 1024}, {1, 1800, 200}): input +200 -> -300; output +824 -> full (133.3,
//   clamped)
//            release()              -> in flight 0
//   t = 2 s  check({1, 2000, 1024}) -> Later 1.6 s, binding InputTokens ((500 + 300) / 500)
//
// Threading: not thread-safe; the dispatcher's thread (main) calls everything, the UI reads snapshot() there
// too.

#include "clock.h"
#include "options.h"
#include "ratelimiter.h"

#include <QString>
#include <QTimeZone>

#include <array>
#include <memory>
#include <optional>

namespace sluice {

enum class LimitId
{
    Requests,
    InputTokens,
    OutputTokens,
    Concurrency,
    DailyQuota,
};

// A stable, lower-case name for logs, the UI and JSON: "requests", "input_tokens", "output_tokens",
// "concurrency", "daily_quota".
QString limitIdName(LimitId id);

// What one attempt costs the per-minute limits. Units: requests and tokens.
struct Cost
{
    double requests = 1;
    double inputTokens = 0; // an estimate when reserving, usage.input_tokens (+ cache creation) when settling
    double outputTokens = 0; // max_tokens when reserving, usage.output_tokens when settling
    bool operator==(const Cost &) const = default;
};

enum class Verdict
{
    Now,           // every limit admits it at `now`
    Later,         // every limit will admit it after `wait` (if nothing else is admitted first)
    WhenSlotFrees, // concurrency is full: retry when an attempt finishes (and `wait` has passed)
    Never,         // larger than `binding` can ever hold: do not queue it
};

struct Admission
{
    Verdict verdict = Verdict::Now;
    // The limit that decided: the one with the longest wait (Later), Concurrency (WhenSlotFrees), the one too
    // small (Never). Empty for Now.
    std::optional<LimitId> binding;
    // Later: from `now` until every time-based limit admits; never zero. WhenSlotFrees: the same (zero if
    // only the slot is missing). Now, Never: zero.
    Duration wait = Duration::zero();
    bool operator==(const Admission &) const = default;
};

class LimitSet
{
public:
    struct RateSnapshot
    {
        bool enabled = false;
        LimiterKind kind = LimiterKind::TokenBucket;
        double level = 0;     // units available now; negative while in debt
        double capacity = 0;  // the burst: perMinute / 60 * burstSeconds
        double perMinute = 0; // the configured limit
    };
    struct Snapshot
    {
        RateSnapshot requests;
        RateSnapshot inputTokens;
        RateSnapshot outputTokens;
        int inFlight = 0;
        int concurrency = 0; // 0: unlimited
        qint64 dailyUsed = 0;
        qint64 dailyQuota = 0; // 0: unlimited
        std::optional<TimePoint>
            dailyReset; // when dailyUsed goes back to 0 (known after the first admission)
        const RateSnapshot &rate(LimitId id) const; // Requests, InputTokens or OutputTokens only
    };

    // `clock` maps TimePoints to wall time for the daily quota only (Clock::wallTime); it must outlive the
    // set.
    LimitSet(const LimitOptions &options, const Clock &clock);
    ~LimitSet();
    LimitSet(const LimitSet &) = delete;
    LimitSet &operator=(const LimitSet &) = delete;

    const LimitOptions &options() const { return m_options; }
    // New limits at runtime. Levels, the slots in flight and today's count are kept (levels clamped to the
    // new capacities); a limit switched to the other LimiterKind is rebuilt with its level carried over; a
    // limit turned on starts full.
    void setOptions(const LimitOptions &options, TimePoint now);

    // Whether `cost` can go at `now`, and if not, until when and because of which limit. Changes nothing;
    // cheap (a few comparisons and one timeUntil per enabled rate limit).
    Admission check(const Cost &cost, TimePoint now) const;
    // check(), and when the verdict is Now, takes the cost from every rate limit, a concurrency slot and a
    // daily unit. Otherwise changes nothing.
    Admission admit(const Cost &cost, TimePoint now);
    // admit(cost, now).verdict == Verdict::Now.
    bool tryAdmit(const Cost &cost, TimePoint now) { return admit(cost, now).verdict == Verdict::Now; }

    // An admitted attempt is over (any outcome): frees its concurrency slot.
    void release();
    // The server reported the usage of an admitted attempt: per rate limit, reserved - actual is refunded
    // (when positive) or taken into debt (when negative). The slot and the daily unit are untouched.
    void settle(const Cost &reserved, const Cost &actual, TimePoint now);
    // The server did not count an admitted attempt (a 429): its cost goes back to the rate limits (clamped to
    // their capacities) and its daily unit to the quota. Call release() too.
    void refund(const Cost &reserved, TimePoint now);
    // The server's `-remaining` for one rate limit: adopted when lower than the local level, ignored
    // otherwise (and for Concurrency, DailyQuota and limits that are off). Units: requests or tokens.
    void lowerLevel(LimitId id, double remaining, TimePoint now);

    // For the UI gauges (read several times a second): no allocation, no time zone arithmetic.
    Snapshot snapshot(TimePoint now) const;
    int inFlight() const { return m_inFlight; }
    // Requests admitted today (the quota's day); 0 once `now` has passed the reset.
    qint64 dailyUsed(TimePoint now) const;
    // The limiter behind a rate limit, or nullptr when that limit is off (or for Concurrency, DailyQuota).
    const RateLimiter *limiter(LimitId id) const;

private:
    struct Rate
    {
        std::unique_ptr<RateLimiter> limiter;
        double perMinute = 0;
        double capacity = 0;
    };

    static double amountFor(const Cost &cost, int index);
    double burstSeconds() const;
    std::unique_ptr<RateLimiter> makeLimiter(LimiterKind kind, double capacity, double perSecond) const;
    void applyRate(int index, const RateLimitOptions &options, TimePoint now);
    void rollDay(TimePoint now);
    TimePoint nextMidnight(TimePoint now) const;
    RateSnapshot rateSnapshot(int index, TimePoint now) const;

    const Clock &m_clock;
    LimitOptions m_options;
    std::array<Rate, 3> m_rates; // indexed by LimitId::Requests, InputTokens, OutputTokens
    int m_inFlight = 0;
    qint64 m_dailyUsed = 0;
    QTimeZone m_zone;
    std::optional<TimePoint> m_nextReset; // the next local midnight, once the first admission asked for it
};

} // namespace sluice
