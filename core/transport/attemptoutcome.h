#pragma once
// AttemptOutcome: how one HTTP attempt at a Messages request ended, as a value that travels in signals.
//
// Design note. Every attempt ends in exactly one AttemptOutcome, success or failure, so the dispatcher has
// one code path: `kind` is ErrorKind::None on success (then `message`, `text`, `usage` and `stopReason` are
// filled) and the failure kind otherwise (then `errorType`/`errorMessage` say what the API, the network or
// our parser reported). Whatever the server sent alongside, on success and failure alike, is kept: the HTTP
// status, the request-id, the retry hint and the rate-limit headers, because a 200 lowers the local buckets
// as much as a 429 does.
//
// Worked example (a 429):
//   kind = RateLimited, httpStatus = 429, errorType = "rate_limit_error", requestId = "req_011...",
//   errorMessage = "This request would exceed the rate limit for your organization of 30,000 input ...",
//   retry.retryAfter = 3 s, retry.shouldRetry = true,
//   rateLimits.inputTokens.remaining = 0          -> it was the input-token limit that tripped.
// A streamed request that got a 200 and then an `error` event of type overloaded_error reads like a 529:
//   kind = Overloaded, httpStatus = 529, errorInStream = true, errorType = "overloaded_error".
//
// Threading: a plain value; copy it freely between threads.

#include "errorkind.h"
#include "transport/ratelimitheaders.h"

#include <QJsonObject>
#include <QMetaType>
#include <QString>

namespace sluice {

// Identifies one attempt (one HTTP request) of a Transport; unique per Transport instance, never 0.
using AttemptId = quint64;

struct Usage
{
    qint64 inputTokens = 0;              // usage.input_tokens
    qint64 outputTokens = 0;             // usage.output_tokens
    qint64 cacheCreationInputTokens = 0; // usage.cache_creation_input_tokens (counts toward ITPM)
    qint64 cacheReadInputTokens = 0;     // usage.cache_read_input_tokens
    bool operator==(const Usage &) const = default;

    // Reads a Messages `usage` object; missing, non-numeric or negative fields are 0 (never negative).
    static Usage fromJson(const QJsonObject &usage);
    // Overwrites only the fields present in `usage` (message_delta carries a partial, cumulative usage).
    void merge(const QJsonObject &usage);
};

struct AttemptOutcome
{
    ErrorKind kind = ErrorKind::None; // None = success
    int httpStatus = 0;   // 0 when no HTTP response arrived (network error, timeout, refused, cancelled)
    QJsonObject message;  // the assembled Messages response (for count_tokens: {"input_tokens": N})
    QString text;         // the message's text blocks, concatenated
    Usage usage;          // for count_tokens: usage.inputTokens = the count
    QString stopReason;   // "end_turn", "max_tokens", "stop_sequence", ...
    QString requestId;    // the request-id header (or the error body's request_id)
    QString errorType;    // the API's error type ("overloaded_error"), or ours ("network_error", ...)
    QString errorMessage; // human-readable; never contains the API key
    bool errorInStream =
        false; // the error came as an SSE `error` event after a 200 (httpStatus is the equivalent)
    // No byte of the request left this machine (refused locally, could not connect, TLS failure, cancelled
    // or timed out before sending): the server cannot have admitted or billed it. False when it may have.
    bool notSent = false;
    ServerRetryHint retry;
    RateLimitHeaders rateLimits;

    bool ok() const { return kind == ErrorKind::None; }
    // One line for logs and the UI: "overloaded (529 overloaded_error): Overloaded [req_123]". Never contains
    // the key.
    QString summary() const;
};

// The ErrorKind that an API error type stands for, independent of the HTTP status it came with
// ("overloaded_error" -> Overloaded). Unknown types give `fallback`.
ErrorKind errorKindForApiErrorType(const QString &type, ErrorKind fallback);
// The HTTP status that goes with an API error type (overloaded_error -> 529), or 0 when unknown.
int statusForApiErrorType(const QString &type);

} // namespace sluice

Q_DECLARE_METATYPE(sluice::AttemptOutcome)
