// Tests for RetryPolicy (classification, the whole decision) and RetryBudget (AWS "standard" arithmetic).
#include "retrypolicy.h"

#include <QTest>

using namespace sluice;

Q_DECLARE_METATYPE(sluice::ErrorKind)
Q_DECLARE_METATYPE(sluice::RetryVerdict)
Q_DECLARE_METATYPE(std::optional<bool>)

namespace QTest {
template<> char *toString(const ErrorKind &k)
{
    return qstrdup(errorKindName(k).toUtf8());
}
} // namespace QTest

class TestRetryPolicy : public QObject
{
    Q_OBJECT

private slots:
    void classification_data();
    void classification();
    void rateLimitRecognised_data();
    void rateLimitRecognised();

    void budgetHundredRetriesDrainExactly();
    void budgetTimeoutsCostTen();
    void budgetSuccessRefundsUpToCapacity();
    void budgetExhaustionChangesNothing();
    void budgetDisabledAlwaysAllows();
    void budgetConfigurableNumbers();
    void budgetSetOptionsClampsLevel();

    void decide_data();
    void decide();
    void decideRateLimitSpendsBudgetWhenAsked();
    void decideTranscriptUntilBudgetRunsOut();
};

void TestRetryPolicy::classification_data()
{
    QTest::addColumn<ErrorKind>("kind");
    QTest::addColumn<int>("status");
    QTest::addColumn<std::optional<bool>>("shouldRetry");
    QTest::addColumn<bool>("retry");
    const std::optional<bool> none, yes(true), no(false);
    using K = ErrorKind;

    // The API's table, by status with the kind the transport gives it.
    QTest::addRow("400") << K::BadRequest << 400 << none << false;
    QTest::addRow("401") << K::Auth << 401 << none << false;
    QTest::addRow("403") << K::Permission << 403 << none << false;
    QTest::addRow("404") << K::NotFound << 404 << none << false;
    QTest::addRow("413") << K::TooLarge << 413 << none << false;
    QTest::addRow("408") << K::Timeout << 408 << none << true;
    QTest::addRow("409") << K::Conflict << 409 << none << true;
    QTest::addRow("429") << K::RateLimited << 429 << none << true;
    QTest::addRow("500") << K::Server << 500 << none << true;
    QTest::addRow("502") << K::Server << 502 << none << true;
    QTest::addRow("503") << K::Server << 503 << none << true;
    QTest::addRow("529") << K::Overloaded << 529 << none << true;
    QTest::addRow("other 4xx (422)") << K::Other << 422 << none << false;
    QTest::addRow("3xx") << K::Other << 302 << none << false;
    // No HTTP status: the kind decides.
    QTest::addRow("network") << K::Network << 0 << none << true;
    QTest::addRow("local timeout") << K::Timeout << 0 << none << true;
    QTest::addRow("malformed 200 body") << K::Malformed << 200 << none << true;
    QTest::addRow("malformed, no status") << K::Malformed << 0 << none << true;
    QTest::addRow("overloaded event after 200") << K::Overloaded << 200 << none << true;
    QTest::addRow("api_error event after 200") << K::Server << 200 << none << true;
    QTest::addRow("cancelled") << K::Cancelled << 0 << none << false;
    QTest::addRow("local bad request") << K::BadRequest << 0 << none << false;
    QTest::addRow("other, no status") << K::Other << 0 << none << false;
    QTest::addRow("success is not a failure") << K::None << 200 << none << false;
    QTest::addRow("budget exhausted") << K::BudgetExhausted << 0 << none << false;
    QTest::addRow("circuit open") << K::CircuitOpen << 0 << none << false;
    // x-should-retry decides first.
    QTest::addRow("500 + x-should-retry: false") << K::Server << 500 << no << false;
    QTest::addRow("529 + x-should-retry: false") << K::Overloaded << 529 << no << false;
    QTest::addRow("429 + x-should-retry: false") << K::RateLimited << 429 << no << false;
    QTest::addRow("400 + x-should-retry: true") << K::BadRequest << 400 << yes << true;
    QTest::addRow("404 + x-should-retry: true") << K::NotFound << 404 << yes << true;
    QTest::addRow("500 + x-should-retry: true") << K::Server << 500 << yes << true;
    // ...except over the user's own cancel.
    QTest::addRow("cancelled + x-should-retry: true") << K::Cancelled << 0 << yes << false;
}

void TestRetryPolicy::classification()
{
    QFETCH(ErrorKind, kind);
    QFETCH(int, status);
    QFETCH(std::optional<bool>, shouldRetry);
    QFETCH(bool, retry);
    QCOMPARE(RetryPolicy::isRetryable(FailureInfo{kind, status, shouldRetry}), retry);
}

void TestRetryPolicy::rateLimitRecognised_data()
{
    QTest::addColumn<ErrorKind>("kind");
    QTest::addColumn<int>("status");
    QTest::addColumn<bool>("rateLimit");
    QTest::addRow("429") << ErrorKind::RateLimited << 429 << true;
    QTest::addRow("429 whatever the kind") << ErrorKind::Other << 429 << true;
    QTest::addRow("rate_limit_error event after 200") << ErrorKind::RateLimited << 200 << true;
    QTest::addRow("529 is not pacing") << ErrorKind::Overloaded << 529 << false;
    QTest::addRow("500") << ErrorKind::Server << 500 << false;
}

void TestRetryPolicy::rateLimitRecognised()
{
    QFETCH(ErrorKind, kind);
    QFETCH(int, status);
    QFETCH(bool, rateLimit);
    QCOMPARE(RetryPolicy::isRateLimit(FailureInfo{kind, status, {}}), rateLimit);
}

void TestRetryPolicy::budgetHundredRetriesDrainExactly()
{
    RetryBudget b; // 500, 5 per retry
    QCOMPARE(b.level(), 500.0);
    for (int i = 1; i <= 100; ++i) {
        QVERIFY(b.canAfford(ErrorKind::Server));
        QCOMPARE(b.tryAcquire(ErrorKind::Server), std::optional<double>(5.0));
        QCOMPARE(b.level(), 500.0 - 5.0 * i);
    }
    QCOMPARE(b.level(), 0.0);
    QVERIFY(!b.canAfford(ErrorKind::Server));
    QCOMPARE(b.tryAcquire(ErrorKind::Server), std::nullopt);
    QCOMPARE(b.level(), 0.0);
}

void TestRetryPolicy::budgetTimeoutsCostTen()
{
    RetryBudget b;
    QCOMPARE(b.costOf(ErrorKind::Timeout), 10.0);
    QCOMPARE(b.costOf(ErrorKind::Server), 5.0);
    QCOMPARE(b.costOf(ErrorKind::Network), 5.0);
    QCOMPARE(b.tryAcquire(ErrorKind::Timeout), std::optional<double>(10.0));
    QCOMPARE(b.level(), 490.0);
    for (int i = 0; i < 48; ++i)
        QVERIFY(b.tryAcquire(ErrorKind::Timeout));
    QCOMPARE(b.level(), 10.0);
    QVERIFY(b.tryAcquire(ErrorKind::Timeout));
    QCOMPARE(b.level(), 0.0);
    // 50 timeouts drained what 100 ordinary retries would.
    QVERIFY(!b.tryAcquire(ErrorKind::Timeout));
}

void TestRetryPolicy::budgetSuccessRefundsUpToCapacity()
{
    RetryBudget b;
    b.recordSuccess(); // already full: stays at the cap
    QCOMPARE(b.level(), 500.0);
    QVERIFY(b.tryAcquire(ErrorKind::Server));
    QVERIFY(b.tryAcquire(ErrorKind::Server));
    QCOMPARE(b.level(), 490.0);
    for (int i = 1; i <= 9; ++i) {
        b.recordSuccess(); // first-try successes: 1 each
        QCOMPARE(b.level(), 490.0 + i);
    }
    b.recordSuccess();
    QCOMPARE(b.level(), 500.0);
    b.recordSuccess();
    QCOMPARE(b.level(), 500.0); // capped
    // A successful retry gives back what it cost (AWS standard mode).
    const auto paid = b.tryAcquire(ErrorKind::Timeout);
    QCOMPARE(b.level(), 490.0);
    b.recordSuccess(*paid);
    QCOMPARE(b.level(), 500.0);
    // From empty, it takes 5 first-try successes to afford one retry.
    for (int i = 0; i < 100; ++i)
        b.tryAcquire(ErrorKind::Server);
    QCOMPARE(b.level(), 0.0);
    for (int i = 0; i < 4; ++i)
        b.recordSuccess();
    QVERIFY(!b.canAfford(ErrorKind::Server));
    b.recordSuccess();
    QVERIFY(b.canAfford(ErrorKind::Server));
    QVERIFY(!b.canAfford(ErrorKind::Timeout));
}

void TestRetryPolicy::budgetExhaustionChangesNothing()
{
    RetryBudgetOptions o;
    o.capacity = 13;
    RetryBudget b(o);
    QVERIFY(b.tryAcquire(ErrorKind::Server));                 // 8
    QCOMPARE(b.tryAcquire(ErrorKind::Timeout), std::nullopt); // needs 10
    QCOMPARE(b.level(), 8.0);
    QVERIFY(b.tryAcquire(ErrorKind::Network)); // 3
    QCOMPARE(b.tryAcquire(ErrorKind::Server), std::nullopt);
    QCOMPARE(b.level(), 3.0);
    b.refill();
    QCOMPARE(b.level(), 13.0);
}

void TestRetryPolicy::budgetDisabledAlwaysAllows()
{
    RetryBudgetOptions o;
    o.enabled = false;
    o.capacity = 0;
    RetryBudget b(o);
    for (int i = 0; i < 1000; ++i) {
        QVERIFY(b.canAfford(ErrorKind::Timeout));
        QCOMPARE(b.tryAcquire(ErrorKind::Timeout), std::optional<double>(0.0));
    }
    b.recordSuccess();
    QCOMPARE(b.level(), 0.0);
}

void TestRetryPolicy::budgetConfigurableNumbers()
{
    RetryBudgetOptions o;
    o.capacity = 10;
    o.retryCost = 3;
    o.timeoutRetryCost = 4;
    o.successRefund = 0.5;
    RetryBudget b(o);
    QVERIFY(b.tryAcquire(ErrorKind::Server));
    QVERIFY(b.tryAcquire(ErrorKind::Server));
    QVERIFY(b.tryAcquire(ErrorKind::Server));
    QCOMPARE(b.level(), 1.0);
    QVERIFY(!b.tryAcquire(ErrorKind::Server));
    for (int i = 0; i < 4; ++i)
        b.recordSuccess();
    QCOMPARE(b.level(), 3.0);
    QVERIFY(!b.canAfford(ErrorKind::Timeout));
    QVERIFY(b.tryAcquire(ErrorKind::Server));
    // Fractional costs do not strand a rounding crumb: 0.1 three times from 0.3.
    o.capacity = 0.3;
    o.retryCost = 0.1;
    RetryBudget f(o);
    QVERIFY(f.tryAcquire(ErrorKind::Server));
    QVERIFY(f.tryAcquire(ErrorKind::Server));
    QVERIFY(f.tryAcquire(ErrorKind::Server));
    QVERIFY(!f.tryAcquire(ErrorKind::Server));
}

void TestRetryPolicy::budgetSetOptionsClampsLevel()
{
    RetryBudget b;
    RetryBudgetOptions o;
    o.capacity = 100;
    b.setOptions(o);
    QCOMPARE(b.level(), 100.0);
    o.capacity = 1000;
    b.setOptions(o);
    QCOMPARE(b.level(), 100.0); // a bigger bucket is not a gift of tokens
    b.recordSuccess();
    QCOMPARE(b.level(), 101.0);
}

void TestRetryPolicy::decide_data()
{
    QTest::addColumn<ErrorKind>("kind");
    QTest::addColumn<int>("status");
    QTest::addColumn<std::optional<bool>>("shouldRetry");
    QTest::addColumn<int>("attemptsMade");
    QTest::addColumn<int>("consecutive429");
    QTest::addColumn<double>("budgetLevel");
    QTest::addColumn<RetryVerdict>("verdict");
    QTest::addColumn<ErrorKind>("reason");
    QTest::addColumn<bool>("countsAsAttempt");
    QTest::addColumn<double>("levelAfter");
    const std::optional<bool> none;
    using K = ErrorKind;
    const auto R = RetryVerdict::Retry, G = RetryVerdict::GiveUp;

    QTest::addRow("500, attempt 1") << K::Server << 500 << none << 1 << 0 << 500.0 << R << K::Server << true
                                    << 495.0;
    QTest::addRow("timeout, attempt 2")
        << K::Timeout << 0 << none << 2 << 0 << 495.0 << R << K::Timeout << true << 485.0;
    QTest::addRow("529, attempt 4 of 5")
        << K::Overloaded << 529 << none << 4 << 0 << 500.0 << R << K::Overloaded << true << 495.0;
    QTest::addRow("529, attempt 5 of 5")
        << K::Overloaded << 529 << none << 5 << 0 << 500.0 << G << K::Overloaded << true << 500.0;
    QTest::addRow("400") << K::BadRequest << 400 << none << 1 << 0 << 500.0 << G << K::BadRequest << true
                         << 500.0;
    QTest::addRow("401") << K::Auth << 401 << none << 1 << 0 << 500.0 << G << K::Auth << true << 500.0;
    QTest::addRow("500, x-should-retry false") << K::Server << 500 << std::optional<bool>(false) << 1 << 0
                                               << 500.0 << G << K::Server << true << 500.0;
    QTest::addRow("400, x-should-retry true") << K::BadRequest << 400 << std::optional<bool>(true) << 1 << 0
                                              << 500.0 << R << K::BadRequest << true << 495.0;
    QTest::addRow("500, budget 4") << K::Server << 500 << none << 1 << 0 << 4.0 << G << K::BudgetExhausted
                                   << true << 4.0;
    QTest::addRow("500, budget exactly 5")
        << K::Server << 500 << none << 1 << 0 << 5.0 << R << K::Server << true << 0.0;
    QTest::addRow("timeout, budget 9")
        << K::Timeout << 0 << none << 1 << 0 << 9.0 << G << K::BudgetExhausted << true << 9.0;
    QTest::addRow("out of attempts beats empty budget")
        << K::Server << 500 << none << 5 << 0 << 0.0 << G << K::Server << true << 0.0;
    // 429: pacing. No attempt, no budget, a cap on how many in a row.
    QTest::addRow("429 #1") << K::RateLimited << 429 << none << 1 << 1 << 500.0 << R << K::RateLimited
                            << false << 500.0;
    QTest::addRow("429 at attempt 5 of 5")
        << K::RateLimited << 429 << none << 5 << 3 << 500.0 << R << K::RateLimited << false << 500.0;
    QTest::addRow("429 with empty budget")
        << K::RateLimited << 429 << none << 1 << 1 << 0.0 << R << K::RateLimited << false << 0.0;
    QTest::addRow("429 #50 (the cap)")
        << K::RateLimited << 429 << none << 1 << 50 << 500.0 << R << K::RateLimited << false << 500.0;
    QTest::addRow("429 #51") << K::RateLimited << 429 << none << 1 << 51 << 500.0 << G << K::RateLimited
                             << true << 500.0;
    QTest::addRow("cancelled") << K::Cancelled << 0 << none << 1 << 0 << 500.0 << G << K::Cancelled << true
                               << 500.0;
}

void TestRetryPolicy::decide()
{
    QFETCH(ErrorKind, kind);
    QFETCH(int, status);
    QFETCH(std::optional<bool>, shouldRetry);
    QFETCH(int, attemptsMade);
    QFETCH(int, consecutive429);
    QFETCH(double, budgetLevel);
    QFETCH(RetryVerdict, verdict);
    QFETCH(ErrorKind, reason);
    QFETCH(bool, countsAsAttempt);
    QFETCH(double, levelAfter);

    RetryBudget budget;
    for (double spend = 500.0 - budgetLevel; spend >= 5.0; spend -= 5.0)
        budget.tryAcquire(ErrorKind::Server);
    if (budget.level() > budgetLevel) { // levels that are not a multiple of 5: shrink the bucket instead
        RetryBudgetOptions o;
        o.capacity = budgetLevel;
        budget.setOptions(o);
    }
    QCOMPARE(budget.level(), budgetLevel);

    RetryPolicy policy; // 50 rate-limit waits
    RetryContext ctx;
    ctx.attemptsMade = attemptsMade;
    ctx.maxAttempts = 5;
    ctx.consecutiveRateLimits = consecutive429;
    const RetryDecision d = policy.decide(FailureInfo{kind, status, shouldRetry}, ctx, budget);
    QCOMPARE(d.verdict, verdict);
    QCOMPARE(d.retry(), verdict == RetryVerdict::Retry);
    QCOMPARE(d.reason, reason);
    QCOMPARE(d.countsAsAttempt, countsAsAttempt);
    QCOMPARE(budget.level(), levelAfter);
    QCOMPARE(d.budgetSpent, budgetLevel - levelAfter);
    QVERIFY(!d.text.isEmpty());
}

void TestRetryPolicy::decideRateLimitSpendsBudgetWhenAsked()
{
    RetryBudgetOptions bo;
    bo.capacity = 7;
    RetryBudget budget(bo);
    RetryPolicy policy;
    RetryContext ctx;
    ctx.consecutiveRateLimits = 1;
    ctx.rateLimitSpendsBudget = true;
    const FailureInfo f{ErrorKind::RateLimited, 429, {}};
    RetryDecision d = policy.decide(f, ctx, budget);
    QVERIFY(d.retry());
    QVERIFY(!d.countsAsAttempt);
    QCOMPARE(d.budgetSpent, 5.0);
    QCOMPARE(budget.level(), 2.0);
    ctx.consecutiveRateLimits = 2;
    d = policy.decide(f, ctx, budget);
    QCOMPARE(d.verdict, RetryVerdict::GiveUp);
    QCOMPARE(d.reason, ErrorKind::BudgetExhausted);
    QCOMPARE(budget.level(), 2.0);
}

// The header's worked example as a transcript, ending when the budget runs dry.
void TestRetryPolicy::decideTranscriptUntilBudgetRunsOut()
{
    RetryPolicy policy;
    RetryBudget budget;
    RetryContext ctx;
    const FailureInfo server{ErrorKind::Server, 500, {}};
    const FailureInfo timeout{ErrorKind::Timeout, 0, {}};

    RetryDecision d = policy.decide(server, ctx, budget);
    QVERIFY(d.retry());
    QCOMPARE(budget.level(), 495.0);
    QVERIFY(d.text.contains(QStringLiteral("attempt 2 of 5")));
    ctx.attemptsMade = 2;
    d = policy.decide(timeout, ctx, budget);
    QVERIFY(d.retry());
    QCOMPARE(budget.level(), 485.0);
    ctx.attemptsMade = 5;
    d = policy.decide(FailureInfo{ErrorKind::Overloaded, 529, {}}, ctx, budget);
    QCOMPARE(d.reason, ErrorKind::Overloaded);
    QVERIFY(d.text.contains(QStringLiteral("out of attempts")));
    QCOMPARE(budget.level(), 485.0);

    // Many requests failing on their first attempt: 97 more retries fit (485 / 5), the 98th does not.
    ctx.attemptsMade = 1;
    for (int i = 0; i < 97; ++i)
        QVERIFY(policy.decide(server, ctx, budget).retry());
    QCOMPARE(budget.level(), 0.0);
    d = policy.decide(server, ctx, budget);
    QCOMPARE(d.verdict, RetryVerdict::GiveUp);
    QCOMPARE(d.reason, ErrorKind::BudgetExhausted);
    QVERIFY(d.text.contains(QStringLiteral("budget")));
    // Successes earn it back.
    for (int i = 0; i < 5; ++i)
        budget.recordSuccess();
    QVERIFY(policy.decide(server, ctx, budget).retry());
}

QTEST_APPLESS_MAIN(TestRetryPolicy)
#include "tst_retrypolicy.moc"
