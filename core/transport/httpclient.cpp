#include "httpclient.h"

#include "transport/httpconnection.h"

#include <QMetaObject>

#include <algorithm>
#include <utility>

namespace sluice {

namespace {

bool isTokenChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           QByteArrayView("!#$%&'*+-.^_`|~").contains(c);
}

// Empty when the header may go out as given; otherwise why not.
QString headerProblem(const RawHeader &h)
{
    if (h.first.isEmpty() || !std::all_of(h.first.begin(), h.first.end(), isTokenChar))
        return QStringLiteral("invalid header name \"%1\"")
            .arg(QString::fromLatin1(h.first.toPercentEncoding()));
    for (const char *ours : {"host", "content-length", "connection", "transfer-encoding", "expect"})
        if (QByteArrayView(h.first).compare(ours, Qt::CaseInsensitive) == 0)
            return QStringLiteral("header %1 is set by HttpClient").arg(QString::fromLatin1(h.first));
    if (h.second.contains('\r') || h.second.contains('\n') || h.second.contains('\0'))
        return QStringLiteral("the value of header %1 contains CR, LF or NUL")
            .arg(QString::fromLatin1(h.first));
    return {};
}

int defaultPort(const QString &scheme)
{
    return scheme == QLatin1String("https") ? 443 : 80;
}

} // namespace

// ---- HttpExchange
// -------------------------------------------------------------------------------------------

HttpExchange::HttpExchange(HttpClient *client, const QUrl &url, QByteArray request)
    : QObject(client)
    , m_client(client)
    , m_url(url)
    , m_originKey(HttpClient::originKey(url))
    , m_request(std::move(request))
{}

HttpExchange::~HttpExchange()
{
    abort();
}

void HttpExchange::abort()
{
    if (m_state != State::Running)
        return;
    m_state = State::Aborted;
    if (HttpConnection *c = std::exchange(m_connection, nullptr))
        c->dropExchange();
    else if (m_client)
        m_client->withdraw(this);
}

void HttpExchange::noteWritten(qint64 total)
{
    m_written = total;
    emit uploadProgress(total, m_request.size());
}

void HttpExchange::deliverHead(const HttpResponseHead &head)
{
    m_head = head;
    m_hasHead = true;
    emit headReceived();
}

void HttpExchange::deliverData(const QByteArray &data)
{
    emit dataReceived(data);
}

void HttpExchange::deliverFinished(const RawHeaders &trailers)
{
    if (m_state != State::Running)
        return;
    m_trailers = trailers;
    m_state = State::Finished;
    emit finished();
}

void HttpExchange::deliverFailure(Error error, const QString &message)
{
    if (m_state != State::Running)
        return;
    m_state = State::Failed;
    m_error = error;
    m_errorString = message;
    emit failed(error, message);
}

// ---- HttpClient
// ---------------------------------------------------------------------------------------------

HttpClient::HttpClient(const HttpClientOptions &options, QObject *parent)
    : QObject(parent)
    , m_options(options)
{}

HttpClient::~HttpClient()
{
    for (Origin &o : m_origins)
        for (HttpConnection *c : std::as_const(o.all))
            disconnect(c, nullptr, this, nullptr);
    const QList<HttpExchange *> exchanges = findChildren<HttpExchange *>(Qt::FindDirectChildrenOnly);
    for (HttpExchange *e : exchanges)
        e->abort();
    for (Origin &o : m_origins)
        for (HttpConnection *c : std::as_const(o.all))
            c->dropExchange();
}

QString HttpClient::originKey(const QUrl &url)
{
    const QString scheme = url.scheme().toLower();
    return QStringLiteral("%1://%2:%3")
        .arg(scheme, url.host(QUrl::FullyEncoded).toLower())
        .arg(url.port(defaultPort(scheme)));
}

HttpExchange *HttpClient::post(const QUrl &url, const RawHeaders &headers, const QByteArray &body)
{
    const QString scheme = url.scheme().toLower();
    QString problem;
    if (!url.isValid() || url.host().isEmpty() ||
        (scheme != QLatin1String("http") && scheme != QLatin1String("https")))
        problem =
            QStringLiteral("not an http or https URL: %1").arg(url.toDisplayString(QUrl::RemoveUserInfo));
    for (const RawHeader &h : headers)
        if (problem.isEmpty())
            problem = headerProblem(h);

    QByteArray request;
    if (problem.isEmpty()) {
        QByteArray target = url.path(QUrl::FullyEncoded).toLatin1();
        if (target.isEmpty())
            target = "/";
        if (url.hasQuery())
            target += '?' + url.query(QUrl::FullyEncoded).toLatin1();
        QByteArray host = url.host(QUrl::FullyEncoded).toLatin1();
        if (host.contains(':'))
            host = '[' + host + ']'; // an IPv6 literal
        if (const int port = url.port(); port != -1 && port != defaultPort(scheme))
            host += ':' + QByteArray::number(port);

        request.reserve(256 + body.size());
        request += "POST " + target + " HTTP/1.1\r\nHost: " + host +
                   "\r\nContent-Length: " + QByteArray::number(body.size()) +
                   "\r\nConnection: keep-alive\r\n";
        for (const RawHeader &h : headers)
            request += h.first + ": " + h.second + "\r\n";
        request += "\r\n";
        request += body;
    }

    auto *exchange = new HttpExchange(this, url, std::move(request));
    if (!problem.isEmpty()) {
        failLater(exchange, HttpExchange::Error::NotSent, problem);
        return exchange;
    }
    m_origins[exchange->m_originKey].waiting.push_back(exchange);
    schedulePump();
    return exchange;
}

int HttpClient::connectionCount() const
{
    int n = 0;
    for (const Origin &o : m_origins)
        n += int(o.all.size());
    return n;
}

int HttpClient::idleConnectionCount() const
{
    int n = 0;
    for (const Origin &o : m_origins)
        n += int(o.idle.size());
    return n;
}

void HttpClient::closeIdleConnections()
{
    QList<HttpConnection *> idle;
    for (const Origin &o : std::as_const(m_origins))
        idle += o.idle;
    for (HttpConnection *c : std::as_const(idle))
        c->dropExchange(); // closes it; closed() removes it
}

void HttpClient::failLater(HttpExchange *exchange, HttpExchange::Error error, const QString &message)
{
    const QPointer<HttpExchange> guard(exchange);
    QMetaObject::invokeMethod(
        this,
        [guard, error, message] {
            if (guard)
                guard->deliverFailure(error, message);
        },
        Qt::QueuedConnection);
}

void HttpClient::schedulePump()
{
    if (m_pumpScheduled)
        return;
    m_pumpScheduled = true;
    QMetaObject::invokeMethod(this, &HttpClient::pump, Qt::QueuedConnection);
}

void HttpClient::pump()
{
    m_pumpScheduled = false;
    const QPointer<HttpClient> self(this);
    const QStringList keys = m_origins.keys();
    for (const QString &key : keys) {
        for (;;) {
            // Looked up afresh each time: starting an exchange can fail at once and change the pool.
            const auto it = m_origins.find(key);
            if (it == m_origins.end())
                break;
            Origin &o = *it;
            while (!o.waiting.empty() && (!o.waiting.front() || o.waiting.front()->isFinished()))
                o.waiting.pop_front();
            if (o.waiting.empty())
                break;
            HttpConnection *c = nullptr;
            if (!o.idle.isEmpty()) {
                c = o.idle.takeLast(); // the most recently used: the least likely to be closed by now
            } else if (o.all.size() < m_options.maxConnectionsPerHost) {
                HttpExchange *first = o.waiting.front();
                QUrl origin;
                origin.setScheme(first->m_url.scheme().toLower());
                origin.setHost(first->m_url.host());
                origin.setPort(first->m_url.port());
                c = new HttpConnection(origin, m_options, this);
                connect(c, &HttpConnection::becameIdle, this, &HttpClient::onIdle);
                connect(c, &HttpConnection::closed, this, &HttpClient::onClosed);
                o.all.append(c);
                m_connectionsOpened += 1;
            } else {
                break; // the rest wait for a connection to come free, in order
            }
            HttpExchange *exchange = o.waiting.front();
            o.waiting.pop_front();
            c->start(exchange);
            if (!self)
                return;
        }
    }
    // Forget origins with nothing left, so that the table does not grow with every host ever used.
    for (auto it = m_origins.begin(); it != m_origins.end();) {
        if (it->all.isEmpty() && it->waiting.empty())
            it = m_origins.erase(it);
        else
            ++it;
    }
}

void HttpClient::withdraw(HttpExchange *exchange)
{
    const auto it = m_origins.find(exchange->m_originKey);
    if (it == m_origins.end())
        return;
    auto &waiting = it->waiting;
    waiting.erase(std::remove(waiting.begin(), waiting.end(), exchange), waiting.end());
}

void HttpClient::onIdle(HttpConnection *connection)
{
    for (Origin &o : m_origins) {
        if (o.all.contains(connection)) {
            o.idle.append(connection);
            break;
        }
    }
    schedulePump();
}

void HttpClient::onClosed(HttpConnection *connection)
{
    for (Origin &o : m_origins) {
        o.idle.removeAll(connection);
        o.all.removeAll(connection);
    }
    connection->deleteLater();
    schedulePump();
}

} // namespace sluice
