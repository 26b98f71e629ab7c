#pragma once
// MessagesClient: the real Transport, POST {base}/v1/messages over our own HTTP/1.1 client (HttpClient).
//
// Design note. One HttpClient carries every attempt, so kept-alive connections are reused. Each attempt
// keeps its own small state (buffer, SSE parser, assembler, inactivity timer) keyed by its AttemptId;
// whatever way the attempt ends, one function turns that state and the exchange into an AttemptOutcome and
// emits it exactly once.
//
// Why not QNetworkAccessManager, as before: when a server resets or closes the connection after the request
// was written but before any response byte, Qt 6.4's HTTP/1.1 engine silently sends the POST again on a new
// connection (there is no public switch to stop it). Against the simulator with 5 % injected resets the
// server admitted and billed attempts we never reserved (our rate accounting fell behind it: a 429), our
// attempt counts and logs never showed the reset, and against the real API a request could run, and be
// billed, twice. HttpClient sends each attempt exactly once; a reset becomes ErrorKind::Network with
// httpStatus 0 and a message that starts "no response:" and says the server may or may not have processed
// it, and the dispatcher decides about a retry as for any network error. What we give up: HTTP/2, which
// QNetworkAccessManager negotiated over TLS and which multiplexed concurrent attempts over one connection;
// now each concurrent attempt has its own HTTP/1.1 connection (as the official Python SDK's httpx default
// does), and the dispatcher's concurrency limit bounds how many there are. Also response compression
// (we ask for identity) and TLS session resumption across connections.
//
// Timeout: an inactivity timer of TransportOptions::requestTimeout, restarted whenever bytes move (request
// bytes written, response head or body received), so a long stream that keeps talking lives on while a
// stalled one ends as ErrorKind::Timeout. (A non-streamed request receives nothing until it is done, so there
// the limit is the whole attempt.) Ending an attempt (timeout, cancel) aborts its exchange and drops its
// connection.
//
// Safety: the key goes out only over https, or plain http to a loopback address (endpointProblem(); otherwise
// the attempt is refused before anything is sent). TLS errors are never ignored (HttpClient verifies every
// peer: the handshake fails, each TLS error is logged as a warning and the attempt ends as Network).
// Redirects are not followed, as they could carry the x-api-key header elsewhere: a 3xx is just a non-2xx
// status. Every string that leaves this class is scrubbed of the key, in case a server or proxy echoes it
// back. Log lines use the "sluice.transport" category and never include the key or a body.
//
// Classification: no HTTP response -> Network (or Timeout), httpStatus 0 ("no response: ..." when the
// request had been written, "could not connect ..." or "SSL handshake ... failed" when nothing was sent, then
// outcome.notSent is true); a non-2xx status -> errorKindForStatus(), with the API's error type and message
// from the body; a 200 whose JSON does not parse, or a stream whose events break the protocol -> Malformed; a
// stream that stops before message_stop -> Network ("the connection broke mid-stream: ..." when its chunked
// framing broke, "the stream ended before message_stop" when the connection simply closed), as the answer
// was cut off either way; an `error` event after a 200 -> the kind (and equivalent status) of its type, with
// the 200's headers. The headers of every response (request-id, retry hint, rate limits) are kept, whatever
// the outcome. Bodies over 32 MB are refused locally as TooLarge (the API's own limit), without sending.
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
#include "transport/httpclient.h"
#include "transport/transport.h"

#include <QLoggingCategory>
#include <QUrl>

#include <memory>
#include <unordered_map>

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
    // The connection pool every attempt goes through (for its counters; owned by the client).
    const HttpClient *httpClient() const { return m_http; }

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
    void onHead(AttemptId id);
    void onData(AttemptId id, const QByteArray &chunk);
    void onTimeout(AttemptId id);
    void onExchangeEnded(AttemptId id);
    void onExchangeFailed(AttemptId id, HttpExchange::Error error, const QString &message);
    AttemptOutcome outcomeOf(Attempt &a);
    void finishAttempt(AttemptId id, AttemptOutcome outcome);
    void deliver(AttemptId id);
    void release(Attempt &a);
    QString scrub(QString s) const;
    Attempt *find(AttemptId id);

    HttpClient *m_http;
    QUrl m_baseUrl;
    QByteArray m_apiKey;
    QList<QByteArray> m_oldKeys; // keys replaced by setEndpoint(), still scrubbed from messages
    TransportOptions m_options;
    const Clock &m_clock;
    AttemptId m_nextId = 1;
    std::unordered_map<AttemptId, std::unique_ptr<Attempt>> m_attempts;
};

} // namespace sluice
