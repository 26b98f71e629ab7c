#pragma once
// Transport: the one interface through which the dispatcher sends attempts (its tests script a fake one).
//
// Design note. The dispatcher decides when a request goes out; a Transport only carries one attempt there and
// back. Each send() starts one HTTP attempt and returns its id at once; the attempt ends with exactly one
// finished() for that id, whatever happens (success, HTTP error, network error, timeout, refusal before
// sending, or cancel()), so the dispatcher can release the attempt's concurrency slot and settle its tokens
// in one place. For a streamed request (body["stream"] == true) textDelta() reports text as it arrives,
// before finished().
//
// finished() is never emitted from inside send() or cancel(): a refusal or a cancellation is delivered from
// the event loop, so the caller always holds the id before it can hear about it, and never re-enters itself.
//
// Worked example:
//   const AttemptId id = transport->send(body);  // id = 1; returns immediately
//   ... textDelta(1, "Hel"), textDelta(1, "lo")  // only when body["stream"] is true
//   ... finished(1, outcome)                     // outcome.ok(), outcome.text == "Hello", outcome.usage
//   transport->cancel(2);                        // for another attempt: later finished(2, kind Cancelled)
//
// Threading: a QObject of the thread it lives in (the main thread in the app); call it there only.

#include "transport/attemptoutcome.h"

#include <QJsonObject>
#include <QObject>

namespace sluice {

class Transport : public QObject
{
    Q_OBJECT
public:
    using AttemptId = sluice::AttemptId; // so that Transport::AttemptId works as well
    using QObject::QObject;
    ~Transport() override = default;

    // Starts one attempt of a full Messages request body (model, max_tokens, messages, ...; streamed when
    // body["stream"] is true). Returns at once; the result comes as finished(id, ...), exactly once.
    virtual AttemptId send(const QJsonObject &body) = 0;
    // Aborts the attempt if it is still running: no textDelta() follows, and finished(id) comes with
    // ErrorKind::Cancelled. Unknown or already finished ids are ignored.
    virtual void cancel(AttemptId id) = 0;

signals:
    // A piece of streamed text, in order; the pieces of one attempt add up to its outcome's text.
    void textDelta(sluice::AttemptId id, const QString &text);
    // The attempt is over; emitted exactly once per send().
    void finished(sluice::AttemptId id, const sluice::AttemptOutcome &outcome);
};

} // namespace sluice
