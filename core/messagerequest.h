#pragma once
// MessageRequest: one prompt's whole life in Sluice, from submit to its recorded result.
//
// Design note. The dispatcher owns every MessageRequest for as long as it runs (the UI's queue table and the
// journal read them; nobody else writes them). A request is a Messages body plus what Sluice knows about it:
// its priority, what it reserves against the limits (the input-token estimate and max_tokens), where it is in
// its life cycle
// (../shared/ARCHITECTURE.md, "A request's life") and how its attempts went. Ids count up from 1 in submit
// order, so the UI can map row = id - 1 without a lookup.
//
// Worked example: submit({"model":"claude-sonnet-4-5","max_tokens":256,"messages":[...400 chars...]},
// priority 5)
//   -> id 1, Queued, estimatedInputTokens 108, reservation {1 request, 108 in, 256 out};
//   dispatched at t=0.000 s -> InFlight, attempts 1; 429 at t=0.180 s -> RetryWaiting (no attempt spent:
//   rateLimitWaits 1), next attempt at t=2.180 s; dispatched again, 200 -> Succeeded with usage {112 in, 87
//   out}.

#include "clock.h"
#include "errorkind.h"
#include "transport/attemptoutcome.h"

#include <QJsonObject>
#include <QString>

#include <optional>

namespace sluice {

using RequestId = quint64;

enum class RequestState
{
    Queued,       // waiting for every limit to admit it
    InFlight,     // an attempt is on the wire
    RetryWaiting, // waiting out a backoff (or a 429's retry-after) before it is queued again
    Succeeded,    // final: a message came back
    Failed,       // final: not retryable, out of attempts or budget, or invalid; `error` says why
    Cancelled,    // final: the user cancelled it
};

inline bool isFinal(RequestState s)
{
    return s == RequestState::Succeeded || s == RequestState::Failed || s == RequestState::Cancelled;
}

inline QString requestStateName(RequestState s)
{
    switch (s) {
    case RequestState::Queued:
        return QStringLiteral("queued");
    case RequestState::InFlight:
        return QStringLiteral("in flight");
    case RequestState::RetryWaiting:
        return QStringLiteral("retry wait");
    case RequestState::Succeeded:
        return QStringLiteral("succeeded");
    case RequestState::Failed:
        return QStringLiteral("failed");
    case RequestState::Cancelled:
        return QStringLiteral("cancelled");
    }
    return {};
}

struct MessageRequest
{
    RequestId id = 0;
    QString customId;                // the batch's custom_id, or "req-<id>" for requests typed in the console
    int priority = 0;                // higher goes first
    QJsonObject params;              // the Messages request body as it is sent
    double estimatedInputTokens = 0; // reserved against input tokens/min at dispatch
    qint64 maxTokens = 0;            // reserved against output tokens/min at dispatch

    RequestState state = RequestState::Queued;
    int attempts = 0;            // attempts sent, the 429ed ones included
    int retries = 0;             // attempts that failed and were retried (429s included)
    int rateLimitWaits = 0;      // consecutive 429s (they do not spend an attempt of the backoff policy)
    int freeAttempts = 0;        // attempts that ended in a 429 and so do not count against max_attempts
    Duration previousBackoff{0}; // for decorrelated jitter

    TimePoint submittedAt{};
    TimePoint queuedSince{};                // when it last entered the queue (submit or retry due)
    Duration queueWait{0};                  // total time spent Queued, summed over attempts
    std::optional<TimePoint> nextAttemptAt; // RetryWaiting: when it is due again
    std::optional<TimePoint> attemptStartedAt;
    std::optional<TimePoint> finishedAt;
    Duration lastLatency{0}; // duration of the last attempt that got an answer

    QString streamedText;   // text received so far (streaming), or the final text
    AttemptOutcome outcome; // the last attempt's outcome: the result on success, the reason on failure
    ErrorKind error = ErrorKind::None; // why it Failed (may differ from outcome.kind: BudgetExhausted, ...)
    QString errorMessage;              // a sentence for people, naming the request

    bool isStream() const { return params.value(QLatin1String("stream")).toBool(); }
};

} // namespace sluice
