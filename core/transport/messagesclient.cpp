#include "messagesclient.h"

#include "transport/httpclient.h"
#include "transport/sseparser.h"

#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QMetaObject>
#include <QTimer>

#include <algorithm>
#include <limits>

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "dev"
#endif

Q_LOGGING_CATEGORY(lcTransport, "sluice.transport", QtInfoMsg)

namespace sluice {

namespace {

// A reply body larger than this is not a Messages response; stop reading rather than exhaust memory.
constexpr qsizetype kMaxResponseBytes = 64 * 1024 * 1024;
// How much of a non-JSON error body (an HTML page from a proxy, say) goes into the error message.
constexpr qsizetype kBodySnippetChars = 200;

const QLatin1String kMessagesPath("/v1/messages");
const QLatin1String kCountTokensPath("/v1/messages/count_tokens");

bool isLoopbackHost(const QString &host)
{
    if (host.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0)
        return true;
    QHostAddress address;
    return address.setAddress(host) && address.isLoopback();
}

QString textOf(const QJsonObject &message)
{
    QString text;
    const QJsonArray content = message.value(QLatin1String("content")).toArray();
    for (const QJsonValue &block : content) {
        const QJsonObject b = block.toObject();
        if (b.value(QLatin1String("type")).toString() == QLatin1String("text"))
            text += b.value(QLatin1String("text")).toString();
    }
    return text;
}

} // namespace

struct MessagesClient::Attempt
{
    AttemptId id = 0;
    bool counting = false;        // count_tokens, reported by tokensCounted()
    bool streamRequested = false; // body["stream"] == true
    bool sse = false;             // the reply is being read as an event stream (a 2xx to a streamed request)
    bool timedOut = false;
    bool overflowed = false;                // the reply body passed kMaxResponseBytes
    std::optional<AttemptOutcome> resolved; // decided without a reply to read; delivered from the event loop
    HttpExchange *exchange = nullptr;
    HttpExchange::Error failure = HttpExchange::Error::None; // how the exchange failed, if it did
    QString failureMessage;
    QTimer *timer = nullptr;
    QByteArray body; // a non-streamed reply body, as it arrives
    SseParser parser;
    StreamAssembler assembler;
};

MessagesClient::MessagesClient(const QUrl &baseUrl, const QString &apiKey, const TransportOptions &options,
                               const Clock &clock, QObject *parent)
    : Transport(parent)
    , m_http(new HttpClient(HttpClientOptions{}, this))
    , m_baseUrl(baseUrl)
    , m_apiKey(apiKey.toUtf8())
    , m_options(options)
    , m_clock(clock)
{}

MessagesClient::~MessagesClient()
{
    for (auto &[id, attempt] : m_attempts)
        release(*attempt);
}

QString MessagesClient::endpointProblem(const QUrl &baseUrl)
{
    if (!baseUrl.isValid() || baseUrl.host().isEmpty())
        return QStringLiteral("the API base URL is not a valid absolute URL");
    if (!baseUrl.userInfo().isEmpty())
        return QStringLiteral("the API base URL must not contain a user name or password");
    const QString scheme = baseUrl.scheme().toLower();
    if (scheme == QLatin1String("https"))
        return {};
    if (scheme == QLatin1String("http")) {
        if (isLoopbackHost(baseUrl.host()))
            return {};
        return QStringLiteral("refusing to send the API key over plain http to %1: use https (plain http is "
                              "allowed only to a loopback address such as 127.0.0.1)")
            .arg(baseUrl.host());
    }
    return QStringLiteral("unsupported scheme \"%1\" in the API base URL: use https").arg(scheme);
}

QUrl MessagesClient::endpoint(const QUrl &baseUrl, const QString &path)
{
    QUrl url = baseUrl;
    QString prefix = url.path();
    while (prefix.endsWith(QLatin1Char('/')))
        prefix.chop(1);
    url.setPath(prefix + path);
    url.setFragment({});
    return url;
}

AttemptId MessagesClient::send(const QJsonObject &body)
{
    return start(body, false);
}

AttemptId MessagesClient::countTokens(const QJsonObject &body)
{
    // count_tokens takes the request's input only; these generation settings make it answer 400.
    QJsonObject input = body;
    for (const char *field : {"max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences",
                              "metadata", "service_tier"})
        input.remove(QLatin1String(field));
    return start(input, true);
}

AttemptId MessagesClient::start(const QJsonObject &body, bool counting)
{
    const AttemptId id = m_nextId++;
    auto owned = std::make_unique<Attempt>();
    Attempt &a = *owned;
    a.id = id;
    a.counting = counting;
    a.streamRequested = !counting && body.value(QLatin1String("stream")).toBool();
    m_attempts.emplace(id, std::move(owned));

    if (const QString problem = endpointProblem(m_baseUrl); !problem.isEmpty()) {
        refuse(a, ErrorKind::BadRequest, QStringLiteral("insecure_endpoint"), problem);
        return id;
    }
    const QByteArray payload = QJsonDocument(body).toJson(QJsonDocument::Compact);
    if (payload.size() > kMaxRequestBytes) {
        refuse(a, ErrorKind::TooLarge, QStringLiteral("request_too_large"),
               QStringLiteral("the request body is %1 bytes; the API accepts at most %2")
                   .arg(payload.size())
                   .arg(kMaxRequestBytes));
        return id;
    }

    const QUrl url = endpoint(m_baseUrl, counting ? QString(kCountTokensPath) : QString(kMessagesPath));
    // HttpClient follows no redirect (they could carry x-api-key elsewhere), verifies every certificate and
    // never sends the request a second time by itself.
    const RawHeaders headers{
        {"content-type", "application/json"},
        {"user-agent", "sluice/" SLUICE_VERSION},
        {"x-api-key", m_apiKey},
        {"anthropic-version", "2023-06-01"},
        {"accept", a.streamRequested ? "text/event-stream" : "application/json"},
        {"accept-encoding",
         "identity"}, // no compressed bodies: we would have to decode them, and streams flow better
    };
    qCDebug(lcTransport).noquote() << "attempt" << id << "POST"
                                   << scrub(url.toDisplayString(QUrl::RemoveUserInfo))
                                   << (a.streamRequested ? "(stream)" : "") << payload.size() << "bytes";

    HttpExchange *exchange = m_http->post(url, headers, payload);
    a.exchange = exchange;
    connect(exchange, &HttpExchange::headReceived, this, [this, id] { onHead(id); });
    connect(exchange, &HttpExchange::dataReceived, this,
            [this, id](const QByteArray &data) { onData(id, data); });
    connect(exchange, &HttpExchange::finished, this, [this, id] { onExchangeEnded(id); });
    connect(exchange, &HttpExchange::failed, this,
            [this, id](HttpExchange::Error error, const QString &message) {
                onExchangeFailed(id, error, message);
            });
    connect(exchange, &HttpExchange::uploadProgress, this, [this, id] {
        if (Attempt *p = find(id); p && p->timer)
            p->timer->start();
    });

    const qint64 timeoutMs = std::chrono::ceil<std::chrono::milliseconds>(m_options.requestTimeout).count();
    if (timeoutMs > 0) {
        a.timer = new QTimer(this);
        a.timer->setSingleShot(true);
        a.timer->setInterval(int(std::min<qint64>(timeoutMs, std::numeric_limits<int>::max())));
        connect(a.timer, &QTimer::timeout, this, [this, id] { onTimeout(id); });
        a.timer->start();
    }
    return id;
}

void MessagesClient::cancel(AttemptId id)
{
    Attempt *a = find(id);
    if (!a || a->resolved)
        return;
    const bool sent = a->exchange && a->exchange->bytesWritten() > 0;
    release(*a);
    AttemptOutcome o;
    o.notSent = !sent;
    o.kind = ErrorKind::Cancelled;
    o.errorType = QStringLiteral("cancelled");
    o.errorMessage = QStringLiteral("cancelled before the response was complete");
    a->resolved = o;
    QMetaObject::invokeMethod(
        this, [this, id] { deliver(id); }, Qt::QueuedConnection);
}

void MessagesClient::refuse(Attempt &a, ErrorKind kind, const QString &type, const QString &message)
{
    AttemptOutcome o;
    o.kind = kind;
    o.notSent = true;
    o.errorType = type;
    o.errorMessage = scrub(message);
    a.resolved = o;
    const AttemptId id = a.id;
    QMetaObject::invokeMethod(
        this, [this, id] { deliver(id); }, Qt::QueuedConnection);
}

MessagesClient::Attempt *MessagesClient::find(AttemptId id)
{
    const auto it = m_attempts.find(id);
    return it == m_attempts.end() ? nullptr : it->second.get();
}

void MessagesClient::onHead(AttemptId id)
{
    Attempt *a = find(id);
    if (!a || !a->exchange || a->resolved)
        return;
    if (a->timer)
        a->timer->start();
    if (!a->streamRequested)
        return;
    const HttpResponseHead &head = a->exchange->head();
    const QByteArray type = head.header("content-type").value_or(QByteArray()).toLower();
    // A 2xx to a streamed request is an event stream, unless the server plainly answered with JSON instead.
    a->sse = head.status >= 200 && head.status <= 299 && !type.startsWith("application/json");
}

void MessagesClient::onData(AttemptId id, const QByteArray &chunk)
{
    Attempt *a = find(id);
    if (!a || !a->exchange || a->resolved)
        return;
    if (a->timer)
        a->timer->start();
    if (!a->sse) {
        if (a->body.size() + chunk.size() > kMaxResponseBytes) {
            a->overflowed = true;
            finishAttempt(id, outcomeOf(*a));
            return;
        }
        a->body += chunk;
        return;
    }
    const QList<SseEvent> events = a->parser.feed(chunk);
    for (const SseEvent &event : events) {
        const QString delta = a->assembler.consume(event);
        if (!delta.isEmpty()) {
            emit textDelta(id, delta);
            a = find(id); // a receiver may have cancelled the attempt
            if (!a || a->resolved)
                return;
        }
        const auto state = a->assembler.state();
        if (state == StreamAssembler::State::Failed || state == StreamAssembler::State::Malformed) {
            finishAttempt(id, outcomeOf(*a)); // no need to wait for the server to close
            return;
        }
    }
    if (a->parser.overflowed())
        finishAttempt(id, outcomeOf(*a));
}

void MessagesClient::onTimeout(AttemptId id)
{
    Attempt *a = find(id);
    if (!a || !a->exchange || a->resolved)
        return;
    a->timedOut = true;
    finishAttempt(id, outcomeOf(*a));
}

void MessagesClient::onExchangeEnded(AttemptId id)
{
    Attempt *a = find(id);
    if (!a || !a->exchange || a->resolved)
        return;
    finishAttempt(id, outcomeOf(*a));
}

void MessagesClient::onExchangeFailed(AttemptId id, HttpExchange::Error error, const QString &message)
{
    Attempt *a = find(id);
    if (!a || !a->exchange || a->resolved)
        return;
#if QT_CONFIG(ssl)
    // Never ignored: the handshake failed and the attempt ends as a network error.
    for (const QSslError &e : a->exchange->sslErrors())
        qCWarning(lcTransport) << "attempt" << id << "TLS error:" << e.errorString();
#endif
    a->failure = error;
    a->failureMessage = message;
    finishAttempt(id, outcomeOf(*a));
}

AttemptOutcome MessagesClient::outcomeOf(Attempt &a)
{
    AttemptOutcome o;
    const HttpExchange *x = a.exchange;
    const bool hasStatus = x->hasHead();
    o.notSent = x->bytesWritten() == 0;
    if (hasStatus) {
        o.httpStatus = x->head().status;
        const RawHeaders &headers = x->head().headers;
        o.requestId = QString::fromLatin1(findHeader(headers, "request-id").value_or(QByteArray()));
        o.rateLimits = RateLimitHeaders::parse(headers);
        o.retry = ServerRetryHint::parse(headers, m_clock.wallTime(m_clock.now()));
    }
    auto failWith = [&](ErrorKind kind, const QString &type, const QString &message) {
        o.kind = kind;
        o.errorType = type;
        o.errorMessage = message;
    };
    const bool success = o.httpStatus >= 200 && o.httpStatus <= 299;
    const bool streamDone = a.sse && a.assembler.state() != StreamAssembler::State::Open;

    if (a.timedOut && !streamDone) {
        failWith(ErrorKind::Timeout, QStringLiteral("timeout"),
                 QStringLiteral("no data for %1 s (the request timeout)")
                     .arg(toSeconds(m_options.requestTimeout)));
    } else if (a.overflowed || a.parser.overflowed()) {
        failWith(ErrorKind::Malformed, QStringLiteral("malformed_response"),
                 QStringLiteral("the response is larger than %1 MiB").arg(kMaxResponseBytes / (1024 * 1024)));
    } else if (!hasStatus) {
        // Nothing, or no complete head, came back. For a reset after the request was written the message
        // says so ("no response: ... it may or may not have processed the request"): it was not sent again.
        failWith(ErrorKind::Network, QStringLiteral("network_error"),
                 a.failureMessage.isEmpty() ? QStringLiteral("no response") : a.failureMessage);
    } else if (success) {
        // The connection broke, or the framing went wrong, after the status line.
        const bool cut = a.failure != HttpExchange::Error::None;
        if (a.sse) {
            a.parser.finish();
            if (a.assembler.state() == StreamAssembler::State::Open) {
                // Cut off before message_stop: a broken chunked body is an error of the exchange, while a
                // close-delimited stream merely stops; both are a broken connection (retryable).
                failWith(ErrorKind::Network, QStringLiteral("network_error"),
                         cut ? QStringLiteral("the connection broke mid-stream: ") + a.failureMessage
                             : QStringLiteral(
                                   "the stream ended before message_stop (the connection closed early)"));
            } else {
                a.assembler.finish();
                switch (a.assembler.state()) {
                case StreamAssembler::State::Open:
                case StreamAssembler::State::Complete:
                    o.message = a.assembler.message();
                    o.text = a.assembler.text();
                    o.usage = a.assembler.usage();
                    o.stopReason = a.assembler.stopReason();
                    break;
                case StreamAssembler::State::Failed: {
                    // An error event after the 200 is treated like the status its type stands for.
                    const QString type = a.assembler.errorType();
                    failWith(errorKindForApiErrorType(type, ErrorKind::Server), type,
                             a.assembler.errorMessage());
                    o.errorInStream = true;
                    if (const int equivalent = statusForApiErrorType(type))
                        o.httpStatus = equivalent;
                    break;
                }
                case StreamAssembler::State::Malformed:
                    failWith(ErrorKind::Malformed, QStringLiteral("malformed_response"),
                             QStringLiteral("broken event stream: ") + a.assembler.errorMessage());
                    break;
                }
            }
        } else if (cut) {
            failWith(ErrorKind::Network, QStringLiteral("network_error"),
                     QStringLiteral("the connection broke before the response was complete: ") +
                         a.failureMessage);
        } else {
            QJsonParseError err{};
            const QJsonDocument doc = QJsonDocument::fromJson(a.body, &err);
            const QJsonObject obj = doc.object();
            if (err.error != QJsonParseError::NoError || !doc.isObject()) {
                failWith(ErrorKind::Malformed, QStringLiteral("malformed_response"),
                         QStringLiteral("the response body is not a JSON object (%1 bytes): %2")
                             .arg(a.body.size())
                             .arg(err.errorString()));
            } else if (a.counting && !obj.value(QLatin1String("input_tokens")).isDouble()) {
                failWith(ErrorKind::Malformed, QStringLiteral("malformed_response"),
                         QStringLiteral("the count_tokens response has no input_tokens number"));
            } else if (!a.counting && !obj.value(QLatin1String("content")).isArray()) {
                failWith(ErrorKind::Malformed, QStringLiteral("malformed_response"),
                         QStringLiteral("the response has no content array"));
            } else if (a.counting) {
                o.message = obj;
                o.usage = Usage::fromJson(obj); // {"input_tokens": N} reads like a usage object
            } else {
                o.message = obj;
                o.text = textOf(obj);
                o.usage = Usage::fromJson(obj.value(QLatin1String("usage")).toObject());
                o.stopReason = obj.value(QLatin1String("stop_reason")).toString();
            }
        }
    } else {
        // An HTTP error: {"type":"error","error":{"type":..., "message":...},"request_id":...}
        o.kind = errorKindForStatus(o.httpStatus);
        const QJsonObject obj = QJsonDocument::fromJson(a.body).object();
        const QJsonObject error = obj.value(QLatin1String("error")).toObject();
        o.errorType = error.value(QLatin1String("type")).toString();
        o.errorMessage = error.value(QLatin1String("message")).toString();
        if (o.requestId.isEmpty())
            o.requestId = obj.value(QLatin1String("request_id")).toString();
        if (o.errorMessage.isEmpty()) {
            const QString reason = QString::fromLatin1(x->head().reason);
            QString snippet = QString::fromUtf8(a.body.left(4 * kBodySnippetChars)).simplified();
            if (snippet.size() > kBodySnippetChars)
                snippet = snippet.left(kBodySnippetChars) + QStringLiteral("...");
            o.errorMessage = QStringLiteral("HTTP %1 %2").arg(o.httpStatus).arg(reason).trimmed();
            if (!snippet.isEmpty())
                o.errorMessage += QStringLiteral(": ") + snippet;
        }
    }
    return o;
}

void MessagesClient::setEndpoint(const QUrl &baseUrl, const QString &apiKey)
{
    if (!m_apiKey.isEmpty() && m_apiKey != apiKey.toUtf8())
        m_oldKeys.append(m_apiKey);
    m_baseUrl = baseUrl;
    m_apiKey = apiKey.toUtf8();
}

QString MessagesClient::scrub(QString s) const
{
    if (!m_apiKey.isEmpty())
        s.replace(QString::fromUtf8(m_apiKey), QStringLiteral("[redacted]"), Qt::CaseInsensitive);
    for (const QByteArray &old : m_oldKeys)
        s.replace(QString::fromUtf8(old), QStringLiteral("[redacted]"), Qt::CaseInsensitive);
    return s;
}

void MessagesClient::release(Attempt &a)
{
    if (a.exchange) {
        disconnect(a.exchange, nullptr, this, nullptr);
        a.exchange->abort();       // no-op when it has ended; otherwise its connection goes with it
        a.exchange->deleteLater(); // we may be inside one of its signals
        a.exchange = nullptr;
    }
    if (a.timer) {
        a.timer->stop();
        a.timer->deleteLater(); // we may be inside its timeout()
        a.timer = nullptr;
    }
}

void MessagesClient::finishAttempt(AttemptId id, AttemptOutcome outcome)
{
    Attempt *a = find(id);
    if (!a)
        return;
    release(*a);
    a->resolved = std::move(outcome);
    deliver(id);
}

void MessagesClient::deliver(AttemptId id)
{
    const auto it = m_attempts.find(id);
    if (it == m_attempts.end())
        return;
    const std::unique_ptr<Attempt> a = std::move(it->second);
    m_attempts.erase(it);
    AttemptOutcome o = a->resolved.value_or(AttemptOutcome{});
    o.errorType = scrub(o.errorType);
    o.errorMessage = scrub(o.errorMessage);
    o.requestId = scrub(o.requestId);
    if (o.ok())
        qCDebug(lcTransport) << "attempt" << id << "ok" << o.httpStatus << o.requestId;
    else
        qCInfo(lcTransport).noquote() << "attempt" << id << o.summary();
    if (a->counting)
        emit tokensCounted(id, o);
    else
        emit finished(id, o);
}

} // namespace sluice
