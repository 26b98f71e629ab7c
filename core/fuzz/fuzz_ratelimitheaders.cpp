// libFuzzer target for RateLimitHeaders and ServerRetryHint (built by scripts/fuzz, not part of the default
// build).
//
// Design note. The input is read as HTTP header lines ("name: value", split on '\n'), so the fuzzer can build
// the twelve anthropic-ratelimit-* headers and the retry hints from the seed corpus and mutate their values.
// Beyond "never crash", the target checks the parser's promises: counts are never negative, resets are valid
// UTC instants, a retry delay is never negative, and parsing is deterministic. The whole input also goes to
// each field parser directly, so the number, RFC 3339 and HTTP-date grammars see arbitrary bytes.
//
// Worked example: "anthropic-ratelimit-requests-limit: 50\nretry-after: Thu, 01 Jan 2026 00:00:07 GMT\n"
// gives requests.limit = 50 and, against the fixed "now" 2026-01-01T00:00:00Z, retryAfter = 7 s.

#include "transport/ratelimitheaders.h"

#include <QTimeZone>

#include <cstddef>
#include <cstdint>

using namespace sluice;

namespace {

void checkGroup(const RateLimitGroup &g)
{
    if ((g.limit && *g.limit < 0) || (g.remaining && *g.remaining < 0))
        __builtin_trap();
    if (g.reset && (!g.reset->isValid() || g.reset->offsetFromUtc() != 0))
        __builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    static const QDateTime now(QDate(2026, 1, 1), QTime(0, 0), QTimeZone::utc());

    RawHeaders headers;
    for (const QByteArray &line : input.toByteArray().split('\n')) {
        const qsizetype colon = line.indexOf(':');
        if (colon < 0)
            headers.append({line, QByteArray()});
        else
            headers.append({line.first(colon), line.sliced(colon + 1).trimmed()});
    }

    const RateLimitHeaders limits = RateLimitHeaders::parse(headers);
    checkGroup(limits.requests);
    checkGroup(limits.tokens);
    checkGroup(limits.inputTokens);
    checkGroup(limits.outputTokens);
    if (!(RateLimitHeaders::parse(headers) == limits))
        __builtin_trap();

    const ServerRetryHint hint = ServerRetryHint::parse(headers, now);
    if (hint.retryAfter && hint.retryAfter->count() < 0)
        __builtin_trap();

    if (const auto n = RateLimitHeaders::parseCount(input); n && *n < 0)
        __builtin_trap();
    if (const auto t = RateLimitHeaders::parseRfc3339(input); t && !t->isValid())
        __builtin_trap();
    if (const auto d = ServerRetryHint::parseRetryAfter(input, now); d && d->count() < 0)
        __builtin_trap();
    if (const auto d = ServerRetryHint::parseRetryAfterMs(input); d && d->count() < 0)
        __builtin_trap();
    if (const auto t = ServerRetryHint::parseHttpDate(input); t && !t->isValid())
        __builtin_trap();
    return 0;
}
