#pragma once
// MessagesClient: the real Transport, POST {base}/v1/messages over one QNetworkAccessManager.
//
// Design note. One QNetworkAccessManager carries every attempt, so connections (and TLS sessions) are reused
// and Qt's per-host connection pool applies. Each attempt keeps its own small state (buffer, SSE parser,
// assembler, inactivity timer) keyed by its AttemptId; whatever way the attempt ends, one function turns that
// state and the reply into an AttemptOutcome and emits it exactly once.
//
// Timeout: an inactivity timer of TransportOptions::requestTimeout, restarted whenever bytes move, so a long
// stream that keeps talking lives on while a stalled one ends as ErrorKind::Timeout. (A non-streamed request
// receives nothing until it is done, so there the limit is the whole attempt.) Our own timer, not
// QNetworkRequest::setTransferTimeout, because Qt 6.4 reports that as an ordinary "operation cancelled",
// which could not be told apart from cancel().
//
// Safety: the key goes out only over https, or plain http to a loopback address (endpointProblem(); otherwise
// the attempt is refused before anything is sent). TLS errors are never ignored (there is no ignoreSslErrors
// anywhere: the handshake fails and the attempt ends as Network). Redirects are not followed, as they could
// carry the x-api-key header elsewhere. Every string that leaves this class is scrubbed of the key, in case a
// server or proxy echoes it back. Log lines use the "sluice.transport" category and never include the key or
// a body.
//
// Classification: no HTTP response -> Network (or Timeout); a non-2xx status -> errorKindForStatus(), with
// the API's error type and message from the body; a 200 whose JSON does not parse, or a stream whose events
// break the protocol -> Malformed; a stream that stops before message_stop -> Network (Qt 6.4 does not
// reliably tell a reset mid-body from a clean close, and either way the answer was cut off); an `error` event
// after a 200 -> the kind (and equivalent status) of its type, with the 200's headers. The headers of every
// response (request-id, retry hint, rate limits) are kept, whatever the outcome. Bodies over 32 MB are
// refused locally as TooLarge (the API's own limit), without sending.
//
// Worked example:
//   SteadyClock clock;
//   TransportOptions options;
//   options.requestTimeout = 30s;
//   MessagesClient client(QUrl("https://api.anthropic.com"), key, options, clock);
//   client.send(body);          // -> AttemptId 1; later finished(1, outcome), outcome.usage = {12, 85, 0, 0}
//   client.countTokens(body);   // -> AttemptId 2; later tokensCounted(2, outcome), usage.inputTokens = 12
//   MessagesClient::endpointProblem(QUrl("http://example.com"))
//                               // -> "refusing to send the API key over plain http to example.com: ..."
//
// Threading: lives in one thread (the main thread in the app) and is used from that thread only.

#include "clock.h"
#include "options.h"
#include "transport/transport.h"

#include <QLoggingCategory>
#include <QUrl>

#include <memory>
#include <unordered_map>

QT_BEGIN_NAMESPACE
class QNetworkAccessManager;
class QNetworkReply;
QT_END_NAMESPACE

Q_DECLARE_LOGGING_CATEGORY(lcTransport)

namespace sluice {

class MessagesClient : public Transport
{
    Q_OBJECT
public:
    // The API's own request size limit for the Messages endpoint, in bytes.
    static constexpr qsizetype kMaxRequestBytes = 32 * 1000 * 1000;

    // `baseUrl` like "https://api.anthropic.com" (a path prefix is kept). `clock` must outlive the client; it
    // turns an HTTP-date retry-after into a delay.
    MessagesClient(const QUrl &baseUrl, const QString &apiKey, const TransportOptions &options,
                   const Clock &clock, QObject *parent = nullptr);
    ~MessagesClient() override; // aborts what is still running, without emitting

    AttemptId send(const QJsonObject &body) override;
    void cancel(AttemptId id) override;

    // POST {base}/v1/messages/count_tokens with the request's input (generation-only fields such as
    // max_tokens and stream are dropped, as the endpoint rejects them). Ends with tokensCounted(id, outcome):
    // on success outcome.usage.inputTokens is the count and outcome.message is {"input_tokens": N}.
    // cancel(id) works too.
    AttemptId countTokens(const QJsonObject &body);

    // Applies to attempts started afterwards.
    void setOptions(const TransportOptions &options) { m_options = options; }
    TransportOptions options() const { return m_options; }
    QUrl baseUrl() const { return m_baseUrl; }
    // A new endpoint and key (the settings dialog) for attempts started afterwards; attempts in flight finish
    // where they started. The old key stays scrubbed from messages of those late attempts.
    void setEndpoint(const QUrl &baseUrl, const QString &apiKey);
    // Attempts started and not yet finished (including refusals and cancellations not yet delivered).
    int inFlight() const { return int(m_attempts.size()); }

    // Empty when the key may be sent to `baseUrl`; otherwise why not. https anywhere; http only to a loopback
    // address (127.0.0.0/8, ::1, "localhost"); no other scheme; no user name or password in the URL.
    static QString endpointProblem(const QUrl &baseUrl);
    // `baseUrl` with `path` ("/v1/messages") appended to its own path.
    static QUrl endpoint(const QUrl &baseUrl, const QString &path);

signals:
    void tokensCounted(sluice::AttemptId id, const sluice::AttemptOutcome &outcome);

private:
    struct Attempt;

    AttemptId start(const QJsonObject &body, bool counting);
    void refuse(Attempt &a, ErrorKind kind, const QString &type, const QString &message);
    void onMetaData(AttemptId id);
    void onReadyRead(AttemptId id);
    void onTimeout(AttemptId id);
    void onReplyFinished(AttemptId id);
    AttemptOutcome outcomeOf(Attempt &a);
    void finishAttempt(AttemptId id, AttemptOutcome outcome);
    void deliver(AttemptId id);
    void release(Attempt &a);
    QString scrub(QString s) const;
    Attempt *find(AttemptId id);

    QNetworkAccessManager *m_nam;
    QUrl m_baseUrl;
    QByteArray m_apiKey;
    QList<QByteArray> m_oldKeys; // keys replaced by setEndpoint(), still scrubbed from messages
    TransportOptions m_options;
    const Clock &m_clock;
    AttemptId m_nextId = 1;
    std::unordered_map<AttemptId, std::unique_ptr<Attempt>> m_attempts;
};

} // namespace sluice
