// RateLimitHeaders and ServerRetryHint: good, missing and garbage values never crash and never invent
// numbers.
#include "transport/ratelimitheaders.h"

#include <QTest>

using namespace sluice;
using namespace std::chrono_literals;

namespace {

QDateTime utc(int y, int mo, int d, int h, int mi, int s, int ms = 0)
{
    return QDateTime(QDate(y, mo, d), QTime(h, mi, s, ms), QTimeZone::utc());
}

const QDateTime kNow = utc(2026, 1, 1, 0, 0, 0);

RawHeaders allTwelve()
{
    return {
        {"anthropic-ratelimit-requests-limit", "50"},
        {"anthropic-ratelimit-requests-remaining", "49"},
        {"anthropic-ratelimit-requests-reset", "2026-01-01T00:00:01Z"},
        {"anthropic-ratelimit-tokens-limit", "38000"},
        {"anthropic-ratelimit-tokens-remaining", "37000"},
        {"anthropic-ratelimit-tokens-reset", "2026-01-01T00:00:02.5Z"},
        {"anthropic-ratelimit-input-tokens-limit", "30000"},
        {"anthropic-ratelimit-input-tokens-remaining", "29000"},
        {"anthropic-ratelimit-input-tokens-reset", "2026-01-01T00:00:03Z"},
        {"anthropic-ratelimit-output-tokens-limit", "8000"},
        {"anthropic-ratelimit-output-tokens-remaining", "0"},
        {"anthropic-ratelimit-output-tokens-reset", "2026-01-01T00:00:04Z"},
    };
}

} // namespace

class TestRateLimitHeaders : public QObject
{
    Q_OBJECT
private slots:
    void allTwelveHeaders()
    {
        const RateLimitHeaders h = RateLimitHeaders::parse(allTwelve());
        QCOMPARE(h.requests.limit, 50);
        QCOMPARE(h.requests.remaining, 49);
        QCOMPARE(h.requests.reset, utc(2026, 1, 1, 0, 0, 1));
        QCOMPARE(h.tokens.limit, 38000);
        QCOMPARE(h.tokens.remaining, 37000);
        QCOMPARE(h.tokens.reset, utc(2026, 1, 1, 0, 0, 2, 500));
        QCOMPARE(h.inputTokens.limit, 30000);
        QCOMPARE(h.inputTokens.remaining, 29000);
        QCOMPARE(h.inputTokens.reset, utc(2026, 1, 1, 0, 0, 3));
        QCOMPARE(h.outputTokens.limit, 8000);
        QCOMPARE(h.outputTokens.remaining, 0);
        QCOMPARE(h.outputTokens.reset, utc(2026, 1, 1, 0, 0, 4));
        QCOMPARE(h.outputTokens.reset->offsetFromUtc(), 0);
        QVERIFY(!h.isEmpty());
    }

    void namesAreCaseInsensitiveAndFirstWins()
    {
        const RawHeaders raw = {{"Anthropic-RateLimit-Requests-Limit", "60"},
                                {"anthropic-ratelimit-requests-limit", "70"},
                                {"ANTHROPIC-RATELIMIT-OUTPUT-TOKENS-REMAINING", "1000"}};
        const RateLimitHeaders h = RateLimitHeaders::parse(raw);
        QCOMPARE(h.requests.limit, 60);
        QCOMPARE(h.outputTokens.remaining, 1000);
    }

    void missingHeadersStayEmpty()
    {
        QVERIFY(RateLimitHeaders::parse({}).isEmpty());
        const RateLimitHeaders h = RateLimitHeaders::parse(
            {{"anthropic-ratelimit-tokens-remaining", "5000"}, {"content-type", "application/json"}});
        QCOMPARE(h.tokens.remaining, 5000);
        QVERIFY(!h.tokens.limit);
        QVERIFY(!h.tokens.reset);
        QVERIFY(h.requests.isEmpty());
        QVERIFY(h.inputTokens.isEmpty());
        QVERIFY(h.outputTokens.isEmpty());
    }

    void counts_data()
    {
        QTest::addColumn<QByteArray>("value");
        QTest::addColumn<qint64>("expected"); // -1: must be empty
        QTest::addRow("plain") << QByteArray("4000") << qint64(4000);
        QTest::addRow("zero") << QByteArray("0") << qint64(0);
        QTest::addRow("blanks") << QByteArray(" \t 12 ") << qint64(12);
        QTest::addRow("large") << QByteArray("400000000000") << qint64(400000000000);
        QTest::addRow("leading zeros") << QByteArray("007") << qint64(7);
        QTest::addRow("empty") << QByteArray("") << qint64(-1);
        QTest::addRow("blank") << QByteArray("   ") << qint64(-1);
        QTest::addRow("negative") << QByteArray("-5") << qint64(-1);
        QTest::addRow("plus") << QByteArray("+5") << qint64(-1);
        QTest::addRow("fraction") << QByteArray("12.5") << qint64(-1);
        QTest::addRow("word") << QByteArray("lots") << qint64(-1);
        QTest::addRow("trailing junk") << QByteArray("12abc") << qint64(-1);
        QTest::addRow("hex") << QByteArray("0x10") << qint64(-1);
        QTest::addRow("inner space") << QByteArray("1 000") << qint64(-1);
        QTest::addRow("overflow") << QByteArray("99999999999999999999999") << qint64(-1);
        QTest::addRow("nul") << QByteArray("12\0", 3) << qint64(-1);
    }
    void counts()
    {
        QFETCH(QByteArray, value);
        QFETCH(qint64, expected);
        const auto got = RateLimitHeaders::parseCount(value);
        if (expected < 0)
            QVERIFY2(!got, qPrintable(QString::number(got.value_or(0))));
        else
            QCOMPARE(got, expected);
        // The same value through the full parser lands in the same field.
        const auto h = RateLimitHeaders::parse({{"anthropic-ratelimit-input-tokens-limit", value}});
        QCOMPARE(h.inputTokens.limit, got);
    }

    void resets_data()
    {
        QTest::addColumn<QByteArray>("value");
        QTest::addColumn<QDateTime>("expected"); // invalid: must be empty
        QTest::addRow("Z") << QByteArray("2026-01-01T00:00:05Z") << utc(2026, 1, 1, 0, 0, 5);
        QTest::addRow("lower t z") << QByteArray("2026-01-01t00:00:05z") << utc(2026, 1, 1, 0, 0, 5);
        QTest::addRow("space sep") << QByteArray("2026-01-01 00:00:05Z") << utc(2026, 1, 1, 0, 0, 5);
        QTest::addRow("millis") << QByteArray("2026-01-01T00:00:05.123Z") << utc(2026, 1, 1, 0, 0, 5, 123);
        QTest::addRow("one digit fraction")
            << QByteArray("2026-01-01T00:00:05.2Z") << utc(2026, 1, 1, 0, 0, 5, 200);
        QTest::addRow("micros") << QByteArray("2026-01-01T00:00:05.123456Z") << utc(2026, 1, 1, 0, 0, 5, 123);
        QTest::addRow("plus offset") << QByteArray("2026-01-01T02:00:05+02:00") << utc(2026, 1, 1, 0, 0, 5);
        QTest::addRow("minus offset, day before")
            << QByteArray("2025-12-31T19:30:00-04:30") << utc(2026, 1, 1, 0, 0, 0);
        QTest::addRow("blanks") << QByteArray("  2026-01-01T00:00:05Z ") << utc(2026, 1, 1, 0, 0, 5);
        QTest::addRow("leap second") << QByteArray("2016-12-31T23:59:60Z")
                                     << utc(2016, 12, 31, 23, 59, 59, 999);
        QTest::addRow("leap day") << QByteArray("2028-02-29T12:00:00Z") << utc(2028, 2, 29, 12, 0, 0);
        QTest::addRow("no zone") << QByteArray("2026-01-01T00:00:05") << QDateTime();
        QTest::addRow("date only") << QByteArray("2026-01-01") << QDateTime();
        QTest::addRow("not a leap day") << QByteArray("2026-02-29T00:00:00Z") << QDateTime();
        QTest::addRow("month 13") << QByteArray("2026-13-01T00:00:00Z") << QDateTime();
        QTest::addRow("hour 24") << QByteArray("2026-01-01T24:00:00Z") << QDateTime();
        QTest::addRow("short year") << QByteArray("26-01-01T00:00:00Z") << QDateTime();
        QTest::addRow("empty fraction") << QByteArray("2026-01-01T00:00:05.Z") << QDateTime();
        QTest::addRow("bad offset") << QByteArray("2026-01-01T00:00:05+0200") << QDateTime();
        QTest::addRow("trailing junk") << QByteArray("2026-01-01T00:00:05Zx") << QDateTime();
        QTest::addRow("epoch number") << QByteArray("1767225605") << QDateTime();
        QTest::addRow("http date") << QByteArray("Thu, 01 Jan 2026 00:00:05 GMT") << QDateTime();
        QTest::addRow("empty") << QByteArray() << QDateTime();
        QTest::addRow("garbage") << QByteArray("\xff\xfe soon") << QDateTime();
    }
    void resets()
    {
        QFETCH(QByteArray, value);
        QFETCH(QDateTime, expected);
        const auto got = RateLimitHeaders::parseRfc3339(value);
        if (!expected.isValid()) {
            QVERIFY2(!got, qPrintable(got ? got->toString(Qt::ISODateWithMs) : QString()));
        } else {
            QVERIFY(got);
            QCOMPARE(*got, expected);
            QCOMPARE(got->offsetFromUtc(), 0);
        }
        const auto h = RateLimitHeaders::parse({{"anthropic-ratelimit-requests-reset", value}});
        QCOMPARE(h.requests.reset, got);
    }

    void garbageInEveryHeaderLeavesAllEmpty()
    {
        RawHeaders raw = allTwelve();
        for (RawHeader &h : raw)
            h.second = "n/a";
        QVERIFY(RateLimitHeaders::parse(raw).isEmpty());
    }

    void retryAfter_data()
    {
        QTest::addColumn<RawHeaders>("headers");
        QTest::addColumn<qint64>("expectedUs"); // microseconds; -1: must be empty
        QTest::addRow("seconds") << RawHeaders{{"retry-after", "7"}} << qint64(7'000'000);
        QTest::addRow("fractional seconds") << RawHeaders{{"retry-after", "1.5"}} << qint64(1'500'000);
        QTest::addRow("zero") << RawHeaders{{"retry-after", "0"}} << qint64(0);
        QTest::addRow("ms") << RawHeaders{{"retry-after-ms", "250"}} << qint64(250'000);
        QTest::addRow("fractional ms") << RawHeaders{{"retry-after-ms", "1250.5"}} << qint64(1'250'500);
        QTest::addRow("ms wins") << RawHeaders{{"retry-after", "30"}, {"retry-after-ms", "100"}}
                                 << qint64(100'000);
        QTest::addRow("garbage ms falls back")
            << RawHeaders{{"retry-after-ms", "soon"}, {"retry-after", "2"}} << qint64(2'000'000);
        QTest::addRow("IMF date") << RawHeaders{{"Retry-After", "Thu, 01 Jan 2026 00:00:07 GMT"}}
                                  << qint64(7'000'000);
        QTest::addRow("RFC 850 date")
            << RawHeaders{{"retry-after", "Thursday, 01-Jan-26 00:01:00 GMT"}} << qint64(60'000'000);
        QTest::addRow("asctime date")
            << RawHeaders{{"retry-after", "Thu Jan  1 00:00:03 2026"}} << qint64(3'000'000);
        QTest::addRow("date in the past")
            << RawHeaders{{"retry-after", "Wed, 31 Dec 2025 23:59:00 GMT"}} << qint64(0);
        QTest::addRow("huge is clamped")
            << RawHeaders{{"retry-after", "99999999999999999999"}} << qint64(365LL * 24 * 3600 * 1'000'000);
        QTest::addRow("negative") << RawHeaders{{"retry-after", "-3"}} << qint64(-1);
        QTest::addRow("word") << RawHeaders{{"retry-after", "later"}} << qint64(-1);
        QTest::addRow("exponent") << RawHeaders{{"retry-after-ms", "1e3"}} << qint64(-1);
        QTest::addRow("nan") << RawHeaders{{"retry-after-ms", "nan"}} << qint64(-1);
        QTest::addRow("inf") << RawHeaders{{"retry-after", "inf"}} << qint64(-1);
        QTest::addRow("two dots") << RawHeaders{{"retry-after", "1.2.3"}} << qint64(-1);
        QTest::addRow("date, bad month")
            << RawHeaders{{"retry-after", "Thu, 01 Foo 2026 00:00:07 GMT"}} << qint64(-1);
        QTest::addRow("date, not GMT")
            << RawHeaders{{"retry-after", "Thu, 01 Jan 2026 00:00:07 PST"}} << qint64(-1);
        QTest::addRow("date, bad day")
            << RawHeaders{{"retry-after", "Thu, 32 Jan 2026 00:00:07 GMT"}} << qint64(-1);
        QTest::addRow("empty") << RawHeaders{{"retry-after", ""}} << qint64(-1);
        QTest::addRow("absent") << RawHeaders{} << qint64(-1);
    }
    void retryAfter()
    {
        QFETCH(RawHeaders, headers);
        QFETCH(qint64, expectedUs);
        const ServerRetryHint hint = ServerRetryHint::parse(headers, kNow);
        if (expectedUs < 0) {
            QVERIFY(!hint.retryAfter);
        } else {
            QVERIFY(hint.retryAfter);
            QCOMPARE(std::chrono::duration_cast<std::chrono::microseconds>(*hint.retryAfter).count(),
                     expectedUs);
        }
        QVERIFY(!hint.shouldRetry);
    }

    void httpDateNeedsAValidNow()
    {
        QVERIFY(!ServerRetryHint::parseRetryAfter("Thu, 01 Jan 2026 00:00:07 GMT", QDateTime()));
        QCOMPARE(ServerRetryHint::parseRetryAfter("4", QDateTime()), std::optional<Duration>(4s));
    }

    void shouldRetry_data()
    {
        QTest::addColumn<QByteArray>("value");
        QTest::addColumn<int>("expected"); // 1 true, 0 false, -1 empty
        QTest::addRow("true") << QByteArray("true") << 1;
        QTest::addRow("false") << QByteArray("false") << 0;
        QTest::addRow("TRUE") << QByteArray("TRUE") << 1;
        QTest::addRow("padded") << QByteArray(" false ") << 0;
        QTest::addRow("one") << QByteArray("1") << -1;
        QTest::addRow("yes") << QByteArray("yes") << -1;
        QTest::addRow("empty") << QByteArray("") << -1;
        QTest::addRow("truex") << QByteArray("truex") << -1;
    }
    void shouldRetry()
    {
        QFETCH(QByteArray, value);
        QFETCH(int, expected);
        const ServerRetryHint hint = ServerRetryHint::parse({{"X-Should-Retry", value}}, kNow);
        if (expected < 0)
            QVERIFY(!hint.shouldRetry);
        else
            QCOMPARE(hint.shouldRetry, expected == 1);
        QVERIFY(!hint.retryAfter);
    }

    void fullRateLimitedResponse()
    {
        RawHeaders raw = allTwelve();
        raw.append(RawHeader("retry-after", "3"));
        raw.append(RawHeader("x-should-retry", "true"));
        raw.append(RawHeader("request-id", "req_1"));
        const ServerRetryHint hint = ServerRetryHint::parse(raw, kNow);
        QCOMPARE(hint.retryAfter, std::optional<Duration>(3s));
        QCOMPARE(hint.shouldRetry, true);
        QCOMPARE(findHeader(raw, "REQUEST-ID"), QByteArray("req_1"));
        QVERIFY(!findHeader(raw, "request-i"));
    }
};

QTEST_APPLESS_MAIN(TestRateLimitHeaders)
#include "tst_ratelimitheaders.moc"
