#pragma once
// ErrorKind: how one attempt at a request failed, as a value (outcomes are values, not exceptions).
//
// Design note. The transport maps every way an attempt can end badly onto one of these kinds, keeping the HTTP status,
// the API's own error type and message and the request-id beside it; RetryPolicy decides from the kind (and the
// server's x-should-retry) whether to try again; the UI and the journal show errorKindName(). New API error types map
// to the kind of their HTTP status, so an unknown type never breaks classification.
//
// Worked example: a 529 with {"type":"error","error":{"type":"overloaded_error",...}} is ErrorKind::Overloaded,
// retryable; a 401 is ErrorKind::Auth, not retryable, and opens the circuit breaker.

#include <QString>

namespace sluice {

enum class ErrorKind {
    None,            // no error: the attempt succeeded
    RateLimited,     // 429 rate_limit_error
    Overloaded,      // 529 overloaded_error (also an `error` event of that type mid-stream)
    Server,          // 500 api_error and any other 5xx
    Network,         // connection refused/reset, DNS, TLS: no HTTP response at all
    Timeout,         // the per-attempt transfer timeout fired (or 408 from the server)
    BadRequest,      // 400 invalid_request_error (also our own validation before sending)
    Auth,            // 401 authentication_error
    Permission,      // 403 permission_error
    NotFound,        // 404 not_found_error
    TooLarge,        // 413 request_too_large
    Conflict,        // 409 (the SDKs retry it)
    Malformed,       // a response we could not parse (bad JSON, broken SSE)
    Cancelled,       // the user cancelled the request
    BudgetExhausted, // would retry, but the retry budget is empty
    CircuitOpen,     // refused locally because the circuit breaker is open
    Other,           // any other HTTP status
};

// A stable, lower-case name for logs, the journal and JSON ("rate_limited", "overloaded", ...).
inline QString errorKindName(ErrorKind k)
{
    switch (k) {
    case ErrorKind::None: return QStringLiteral("none");
    case ErrorKind::RateLimited: return QStringLiteral("rate_limited");
    case ErrorKind::Overloaded: return QStringLiteral("overloaded");
    case ErrorKind::Server: return QStringLiteral("server_error");
    case ErrorKind::Network: return QStringLiteral("network_error");
    case ErrorKind::Timeout: return QStringLiteral("timeout");
    case ErrorKind::BadRequest: return QStringLiteral("bad_request");
    case ErrorKind::Auth: return QStringLiteral("authentication_error");
    case ErrorKind::Permission: return QStringLiteral("permission_error");
    case ErrorKind::NotFound: return QStringLiteral("not_found");
    case ErrorKind::TooLarge: return QStringLiteral("request_too_large");
    case ErrorKind::Conflict: return QStringLiteral("conflict");
    case ErrorKind::Malformed: return QStringLiteral("malformed_response");
    case ErrorKind::Cancelled: return QStringLiteral("cancelled");
    case ErrorKind::BudgetExhausted: return QStringLiteral("retry_budget_exhausted");
    case ErrorKind::CircuitOpen: return QStringLiteral("circuit_open");
    case ErrorKind::Other: return QStringLiteral("other");
    }
    return QStringLiteral("other");
}

// The kind an HTTP error status maps to when nothing more specific is known.
inline ErrorKind errorKindForStatus(int status)
{
    switch (status) {
    case 400: return ErrorKind::BadRequest;
    case 401: return ErrorKind::Auth;
    case 403: return ErrorKind::Permission;
    case 404: return ErrorKind::NotFound;
    case 408: return ErrorKind::Timeout;
    case 409: return ErrorKind::Conflict;
    case 413: return ErrorKind::TooLarge;
    case 429: return ErrorKind::RateLimited;
    case 529: return ErrorKind::Overloaded;
    default: break;
    }
    if (status >= 500 && status <= 599)
        return ErrorKind::Server;
    if (status >= 200 && status <= 299)
        return ErrorKind::None;
    return ErrorKind::Other;
}

} // namespace sluice
