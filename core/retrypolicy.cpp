#include "retrypolicy.h"

#include <algorithm>

namespace sluice {

namespace {

// Token arithmetic is in double so that fractional costs can be configured; integer costs stay exact, and
// this slack only absorbs the rounding of fractional ones (0.1 * 3 != 0.3).
constexpr double kSlack = 1e-9;

bool retryableStatus(int status)
{
    return status == 408 || status == 409 || status == 429 || status >= 500;
}

bool retryableKind(ErrorKind kind)
{
    switch (kind) {
    case ErrorKind::RateLimited:
    case ErrorKind::Overloaded:
    case ErrorKind::Server:
    case ErrorKind::Network:
    case ErrorKind::Timeout:
    case ErrorKind::Conflict:
    case ErrorKind::Malformed:
        return true;
    case ErrorKind::None:
    case ErrorKind::BadRequest:
    case ErrorKind::Auth:
    case ErrorKind::Permission:
    case ErrorKind::NotFound:
    case ErrorKind::TooLarge:
    case ErrorKind::Cancelled:
    case ErrorKind::BudgetExhausted:
    case ErrorKind::CircuitOpen:
    case ErrorKind::Other:
        return false;
    }
    return false;
}

QString describe(const FailureInfo &f)
{
    return f.httpStatus ? QStringLiteral("HTTP %1 (%2)").arg(f.httpStatus).arg(errorKindName(f.kind))
                        : errorKindName(f.kind);
}

RetryDecision giveUp(ErrorKind reason, QString text)
{
    RetryDecision d;
    d.verdict = RetryVerdict::GiveUp;
    d.reason = reason;
    d.text = std::move(text);
    return d;
}

} // namespace

// --- RetryBudget
// --------------------------------------------------------------------------------------------------

RetryBudget::RetryBudget(RetryBudgetOptions options)
    : m_options(options)
    , m_level(std::max(options.capacity, 0.0))
{}

void RetryBudget::setOptions(const RetryBudgetOptions &options)
{
    m_options = options;
    m_level = std::clamp(m_level, 0.0, std::max(options.capacity, 0.0));
}

double RetryBudget::costOf(ErrorKind failure) const
{
    return std::max(failure == ErrorKind::Timeout ? m_options.timeoutRetryCost : m_options.retryCost, 0.0);
}

bool RetryBudget::canAfford(ErrorKind failure) const
{
    return !m_options.enabled || m_level + kSlack >= costOf(failure);
}

std::optional<double> RetryBudget::tryAcquire(ErrorKind failure)
{
    if (!m_options.enabled)
        return 0.0;
    if (!canAfford(failure))
        return std::nullopt;
    const double cost = costOf(failure);
    m_level = std::max(m_level - cost, 0.0);
    return cost;
}

void RetryBudget::recordSuccess(double paidForThisAttempt)
{
    if (!m_options.enabled)
        return;
    const double back = paidForThisAttempt > 0 ? paidForThisAttempt : m_options.successRefund;
    m_level = std::clamp(m_level + std::max(back, 0.0), 0.0, std::max(m_options.capacity, 0.0));
}

// --- RetryPolicy
// --------------------------------------------------------------------------------------------------

RetryPolicy::RetryPolicy(RetryOptions options)
    : m_options(options)
{}

bool RetryPolicy::isRetryable(const FailureInfo &failure)
{
    if (failure.kind == ErrorKind::Cancelled)
        return false; // the user's word outranks the server's
    if (failure.shouldRetry)
        return *failure.shouldRetry;
    if (failure.httpStatus >= 300)
        return retryableStatus(failure.httpStatus);
    return retryableKind(failure.kind);
}

bool RetryPolicy::isRateLimit(const FailureInfo &failure)
{
    return failure.httpStatus == 429 || (failure.httpStatus < 300 && failure.kind == ErrorKind::RateLimited);
}

RetryDecision RetryPolicy::decide(const FailureInfo &failure, const RetryContext &context,
                                  RetryBudget &budget) const
{
    if (!isRetryable(failure)) {
        if (failure.kind == ErrorKind::Cancelled)
            return giveUp(failure.kind, QStringLiteral("cancelled"));
        if (failure.shouldRetry == false)
            return giveUp(failure.kind,
                          QStringLiteral("%1: the server said x-should-retry: false").arg(describe(failure)));
        return giveUp(failure.kind, QStringLiteral("%1 is not retryable").arg(describe(failure)));
    }

    RetryDecision d;
    d.verdict = RetryVerdict::Retry;
    d.reason = failure.kind;
    // Debits one retry from the budget into `d`; false (and nothing debited) when the budget cannot pay.
    auto pay = [&] {
        const auto paid = budget.tryAcquire(failure.kind);
        if (paid)
            d.budgetSpent = *paid;
        return paid.has_value();
    };
    auto budgetExhausted = [&] {
        return giveUp(ErrorKind::BudgetExhausted,
                      QStringLiteral("%1: retry budget exhausted (%2 tokens left, a retry costs %3)")
                          .arg(describe(failure))
                          .arg(budget.level())
                          .arg(budget.costOf(failure.kind)));
    };

    if (isRateLimit(failure)) {
        if (context.consecutiveRateLimits > m_options.maxRateLimitWaits)
            return giveUp(ErrorKind::RateLimited,
                          QStringLiteral("gave up after %1 rate-limit responses in a row (limit %2)")
                              .arg(context.consecutiveRateLimits)
                              .arg(m_options.maxRateLimitWaits));
        d.countsAsAttempt = false;
        if (context.rateLimitSpendsBudget && !pay())
            return budgetExhausted();
        d.text = QStringLiteral("%1: waiting (rate-limit wait %2 of %3, not an attempt)")
                     .arg(describe(failure))
                     .arg(context.consecutiveRateLimits)
                     .arg(m_options.maxRateLimitWaits);
        return d;
    }

    if (context.attemptsMade >= context.maxAttempts)
        return giveUp(failure.kind, QStringLiteral("%1: out of attempts (%2 of %3)")
                                        .arg(describe(failure))
                                        .arg(context.attemptsMade)
                                        .arg(context.maxAttempts));

    if (!pay())
        return budgetExhausted();
    d.text = QStringLiteral("%1: retrying (attempt %2 of %3 next)")
                 .arg(describe(failure))
                 .arg(context.attemptsMade + 1)
                 .arg(context.maxAttempts);
    return d;
}

} // namespace sluice
