#pragma once
// RetryPolicy and RetryBudget: whether a failed attempt is tried again.
//
// Design note. Three questions, kept apart so each can be tested alone:
//  1. Classification (RetryPolicy::isRetryable): could this failure succeed on another try? The rules of the
//  official
//     SDKs, in order: a user's cancel never retries; the server's `x-should-retry: true|false` decides next
//     when it was sent; then an HTTP error status decides (408, 409, 429 and every 5xx, 529 included, retry;
//     400, 401, 403, 404, 413 and any other 4xx do not); with no HTTP error status (status 0: no response at
//     all, or a 2xx whose body or stream went wrong) the kind decides: Network, Timeout, Malformed (an
//     unparseable 200 body), Overloaded / Server (an `error` event after the 200) retry.
//  2. The retry budget (RetryBudget), AWS SDK "standard" mode: a bucket of 500 tokens shared by every
//  request; each
//     retry costs 5 (10 after a timeout, which is the costliest way to fail); each success on the first try
//     gives 1 back, a successful retry gives back what it cost; never above the capacity. When a shared
//     outage makes every request fail, retries stop after ~100 of them instead of multiplying the load on a
//     struggling server, while a healthy stream of successes keeps the bucket full. No budget, no retry. A
//     disabled budget always allows.
//  3. The decision (RetryPolicy::decide) puts 1 and 2 together with the request's own counts.
//
// A 429 is pacing, not failure: the server is telling us when, not that. It does not spend one of the
// request's attempts; instead RetryOptions::maxRateLimitWaits caps the 429s a request may meet *in a row*, so
// a server that never admits cannot hold it forever. Whether a 429 retry also spends retry budget is the
// dispatcher's choice (RetryContext::rateLimitSpendsBudget, off by default: the global cooldown already stops
// a 429 storm, and a budget drained by pacing would then refuse retries of real failures).
//
// Worked example, defaults (5 attempts, 50 rate-limit waits, budget 500/5/10/1):
//   500, attempt 1 of 5        -> Retry, budget 500 -> 495
//   timeout, attempt 2 of 5    -> Retry, budget 495 -> 485
//   529, attempt 5 of 5        -> GiveUp (overloaded, "out of attempts")
//   429 #12 in a row           -> Retry, no attempt spent, budget untouched
//   400                        -> GiveUp (bad_request, not retryable)
//   500 with x-should-retry: false -> GiveUp;  400 with x-should-retry: true -> Retry
//   after 99 more retries of 5 tokens the bucket holds 0: the next 500 -> GiveUp (retry_budget_exhausted)
//
// Threading: not thread-safe; both live on the dispatcher's thread.

#include "errorkind.h"
#include "options.h"

#include <QString>

#include <optional>

namespace sluice {

// How one attempt failed, as the transport reports it.
struct FailureInfo
{
    ErrorKind kind = ErrorKind::Other;
    int httpStatus = 0;              // 0: no HTTP response (network error, local timeout)
    std::optional<bool> shouldRetry; // the response's x-should-retry header, when it had one
};

class RetryBudget
{
public:
    explicit RetryBudget(RetryBudgetOptions options = {});

    const RetryBudgetOptions &options() const { return m_options; }
    // Keeps the current level, clamped to the new capacity.
    void setOptions(const RetryBudgetOptions &options);

    bool enabled() const { return m_options.enabled; }
    // Tokens left, in [0, capacity].
    double level() const { return m_level; }
    // What a retry after this kind of failure costs: timeoutRetryCost after a Timeout, retryCost otherwise.
    double costOf(ErrorKind failure) const;
    // True when a retry after `failure` is allowed now (always, when disabled). Changes nothing.
    bool canAfford(ErrorKind failure) const;
    // Debits the cost of one retry. Returns the amount debited (0 when disabled), or nothing when the bucket
    // cannot pay (then nothing is debited). Keep the amount with the request: a successful retry gives it
    // back.
    std::optional<double> tryAcquire(ErrorKind failure);
    // A request succeeded. `paidForThisAttempt` is what tryAcquire debited for the attempt that succeeded (0
    // for a first-try success): that much comes back, or successRefund for a first try. Never above capacity.
    void recordSuccess(double paidForThisAttempt = 0);
    // Full again (the user's "reset" after fixing whatever failed).
    void refill() { m_level = m_options.capacity; }

private:
    RetryBudgetOptions m_options;
    double m_level;
};

enum class RetryVerdict
{
    Retry,
    GiveUp
};

struct RetryDecision
{
    RetryVerdict verdict = RetryVerdict::GiveUp;
    // Retry: the failure's kind. GiveUp: the kind the request fails with, i.e. the failure's own kind, or
    // BudgetExhausted when only the budget said no.
    ErrorKind reason = ErrorKind::None;
    QString text;                // one line for the log and the UI
    bool countsAsAttempt = true; // false for a 429 wait: the next attempt has the same attempt number
    double budgetSpent = 0;      // debited from the RetryBudget by this decision
    bool retry() const { return verdict == RetryVerdict::Retry; }
};

// The request's own counts at the moment of the decision.
struct RetryContext
{
    int attemptsMade = 1;          // attempts that counted (429s excluded), the one that just failed included
    int maxAttempts = 5;           // BackoffOptions::maxAttempts
    int consecutiveRateLimits = 0; // 429s in a row for this request, this one included if it is a 429
    bool rateLimitSpendsBudget = false; // the dispatcher's choice, see the design note
};

class RetryPolicy
{
public:
    explicit RetryPolicy(RetryOptions options = {});

    const RetryOptions &options() const { return m_options; }
    void setOptions(const RetryOptions &options) { m_options = options; }

    // Classification only (question 1 of the design note). Pure.
    static bool isRetryable(const FailureInfo &failure);
    // A 429 by status or kind: pacing rather than failure.
    static bool isRateLimit(const FailureInfo &failure);

    // The whole decision, in this order: not retryable -> GiveUp(failure kind); a 429 -> Retry while
    // consecutiveRateLimits <= maxRateLimitWaits, else GiveUp(RateLimited), without touching attempts (and
    // the budget only if rateLimitSpendsBudget); out of attempts -> GiveUp(failure kind); the budget cannot
    // pay -> GiveUp(BudgetExhausted); otherwise Retry with the cost debited from `budget`.
    RetryDecision decide(const FailureInfo &failure, const RetryContext &context, RetryBudget &budget) const;

private:
    RetryOptions m_options;
};

} // namespace sluice
