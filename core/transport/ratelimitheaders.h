#pragma once
// RateLimitHeaders and ServerRetryHint: what the server tells us about its limits and about retrying.
//
// Design note. Every Messages API response carries twelve anthropic-ratelimit-* headers, four groups
// (requests, tokens, input-tokens, output-tokens) of three values each (limit, remaining, reset). The
// dispatcher lowers its local buckets to `remaining` and adopts a smaller `limit`, so a value it cannot trust
// must be absent rather than guessed: every field is an optional, and a header that is missing, empty,
// negative, fractional where an integer belongs, out of range or otherwise garbage simply leaves its field
// empty. Parsing never throws, asserts or crashes on any input (a libFuzzer target in core/fuzz/ holds us to
// that). Header names match case-insensitively, as HTTP says; when a header repeats, the first occurrence
// wins.
//
// `reset` is RFC 3339 ("2026-01-01T00:00:05Z", fractions and numeric offsets allowed) and is converted to
// UTC. It is parsed by hand, strictly: a date without a time or without a zone is not RFC 3339 and is
// rejected, instead of being read in the machine's local zone.
//
// ServerRetryHint holds the retry advice: `retry-after-ms` (milliseconds, may be fractional) wins over
// `retry-after` (seconds, may be fractional, or an HTTP date, which is turned into a delay against the
// caller's wall-clock "now"; a date in the past means "retry now", 0 ms). `x-should-retry: true|false` is
// separate, because the SDKs obey it before anything else. Capping the delay is the retry policy's business,
// not the parser's.
//
// Worked example: a 429 received at wall time 2026-01-01T00:00:00Z with
//   retry-after: Thu, 01 Jan 2026 00:00:07 GMT      -> retry.retryAfter = 7 s
//   retry-after-ms: 1250.5                          -> retry.retryAfter = 1.2505 s  (wins over retry-after)
//   x-should-retry: true                            -> retry.shouldRetry = true
//   anthropic-ratelimit-requests-limit: 50          -> requests.limit = 50
//   anthropic-ratelimit-requests-remaining: 0       -> requests.remaining = 0  (the limit that tripped)
//   anthropic-ratelimit-requests-reset: 2026-01-01T00:00:01.2Z   -> requests.reset = 00:00:01.200 UTC
//   anthropic-ratelimit-tokens-remaining: lots      -> tokens.remaining empty (garbage)
//
// Threading: plain values and pure functions; use from any thread.

#include "clock.h"

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QPair>
#include <QString>

#include <optional>

namespace sluice {

// One raw header as QNetworkReply::rawHeaderPairs() returns it: (name, value), bytes as received.
using RawHeader = QPair<QByteArray, QByteArray>;
using RawHeaders = QList<RawHeader>;

// One of the four groups of anthropic-ratelimit-* headers.
struct RateLimitGroup
{
    std::optional<qint64> limit; // units per minute (requests or tokens); never negative
    std::optional<qint64>
        remaining;                  // units left now (token counts are rounded by the server); never negative
    std::optional<QDateTime> reset; // UTC instant at which the bucket is full again
    bool isEmpty() const { return !limit && !remaining && !reset; }
    bool operator==(const RateLimitGroup &) const = default;
};

struct RateLimitHeaders
{
    RateLimitGroup requests;     // anthropic-ratelimit-requests-*
    RateLimitGroup tokens;       // anthropic-ratelimit-tokens-* (the most restrictive token limit in force)
    RateLimitGroup inputTokens;  // anthropic-ratelimit-input-tokens-*
    RateLimitGroup outputTokens; // anthropic-ratelimit-output-tokens-*

    bool isEmpty() const
    {
        return requests.isEmpty() && tokens.isEmpty() && inputTokens.isEmpty() && outputTokens.isEmpty();
    }
    bool operator==(const RateLimitHeaders &) const = default;

    // Reads all twelve headers from a response's raw header pairs. Never fails: unusable values stay empty.
    static RateLimitHeaders parse(const RawHeaders &headers);

    // The building blocks, public so the tests and the fuzzer can hit them directly.
    // A non-negative decimal integer (surrounding blanks allowed), else empty.
    static std::optional<qint64> parseCount(QByteArrayView value);
    // An RFC 3339 date-time with a zone ("Z" or "+hh:mm"), returned in UTC; else empty.
    static std::optional<QDateTime> parseRfc3339(QByteArrayView value);
};

struct ServerRetryHint
{
    std::optional<Duration> retryAfter; // how long the server asks us to wait; never negative
    std::optional<bool> shouldRetry;    // x-should-retry, when it said exactly true or false
    bool isEmpty() const { return !retryAfter && !shouldRetry; }
    bool operator==(const ServerRetryHint &) const = default;

    // Reads retry-after-ms, retry-after and x-should-retry. `wallNow` (UTC) turns an HTTP-date retry-after
    // into a delay; pass the Clock's wallTime(now).
    static ServerRetryHint parse(const RawHeaders &headers, const QDateTime &wallNow);

    // retry-after-ms: a non-negative, finite number of milliseconds, possibly fractional.
    static std::optional<Duration> parseRetryAfterMs(QByteArrayView value);
    // retry-after: non-negative (fractional) seconds, or an HTTP date (IMF-fixdate, RFC 850 or asctime form).
    static std::optional<Duration> parseRetryAfter(QByteArrayView value, const QDateTime &wallNow);
    // An HTTP date in any of the three forms RFC 9110 requires recipients to accept, as UTC; else empty.
    static std::optional<QDateTime> parseHttpDate(QByteArrayView value);
};

// The first header named `name` (ASCII case-insensitive), or empty when there is none.
std::optional<QByteArray> findHeader(const RawHeaders &headers, QByteArrayView name);

} // namespace sluice
