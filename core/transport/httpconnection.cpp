#include "httpconnection.h"

#include <QNetworkProxy>
#include <QNetworkProxyFactory>
#include <QPointer>
#include <QTcpSocket>

#if QT_CONFIG(ssl)
#include <QSslConfiguration>
#include <QSslSocket>
#endif

#include <algorithm>

namespace sluice {

HttpConnection::HttpConnection(const QUrl &origin, const HttpClientOptions &options, QObject *parent)
    : QObject(parent)
    , m_origin(origin)
    , m_options(options)
    , m_tls(origin.scheme().compare(QLatin1String("https"), Qt::CaseInsensitive) == 0)
{
    m_idleTimer.setSingleShot(true);
    connect(&m_idleTimer, &QTimer::timeout, this, [this] { close(true); });
}

HttpConnection::~HttpConnection()
{
    if (m_exchange)
        m_exchange->m_connection = nullptr;
    if (m_socket)
        disconnect(m_socket, nullptr, this, nullptr);
}

void HttpConnection::start(HttpExchange *exchange)
{
    Q_ASSERT(!m_exchange && !m_closed);
    m_idleTimer.stop();
    m_exchange = exchange;
    exchange->m_connection = this;
    exchange->m_reused = m_carried > 0;
    ++m_carried;
    m_parser.emplace(m_options.maxHeadBytes);
    m_written = 0;
    if (!m_socket)
        connectSocket();
    else if (m_established)
        onEstablished();
}

void HttpConnection::dropExchange()
{
    if (m_exchange) {
        m_exchange->m_connection = nullptr;
        m_exchange = nullptr;
    }
    close(false);
}

void HttpConnection::connectSocket()
{
    const QString host = m_origin.host();
    const quint16 port = quint16(m_origin.port(m_tls ? 443 : 80));
    QNetworkProxy proxy(QNetworkProxy::NoProxy);
    if (m_tls) {
        // As QNetworkAccessManager did for an encrypted request: the proxies the application's factory gives
        // for the URL, and the first of them that can tunnel a TCP connection (none, CONNECT, SOCKS5).
        const QList<QNetworkProxy> proxies =
            QNetworkProxyFactory::proxyForQuery(QNetworkProxyQuery(m_exchange->url()));
        const auto usable = std::find_if(proxies.begin(), proxies.end(), [](const QNetworkProxy &p) {
            return p.type() != QNetworkProxy::DefaultProxy && p.isTransparentProxy();
        });
        if (usable == proxies.end()) {
            failExchange(HttpExchange::Error::NotSent,
                         QStringLiteral("no suitable proxy found for %1:%2").arg(host).arg(port));
            return;
        }
        proxy = *usable;
    }

#if QT_CONFIG(ssl)
    if (m_tls) {
        auto *tls = new QSslSocket(this);
        // The application's default configuration, so its CA set applies; verification is never off.
        QSslConfiguration config = QSslConfiguration::defaultConfiguration();
        config.setPeerVerifyMode(QSslSocket::VerifyPeer);
        config.setAllowedNextProtocols({QSslConfiguration::NextProtocolHttp1_1});
        tls->setSslConfiguration(config);
        // Never ignored: without ignoreSslErrors() the handshake fails and errorOccurred() follows.
        connect(tls, &QSslSocket::sslErrors, this,
                [this](const QList<QSslError> &errors) { m_sslErrors = errors; });
        connect(tls, &QSslSocket::encrypted, this, &HttpConnection::onEstablished);
        m_socket = tls;
    }
#endif
    if (!m_socket && m_tls) {
        failExchange(HttpExchange::Error::NotSent,
                     QStringLiteral("https is not available: Qt was built without TLS"));
        return;
    }
    if (!m_socket) {
        m_socket = new QTcpSocket(this);
        connect(m_socket, &QTcpSocket::connected, this, &HttpConnection::onEstablished);
    }
    m_socket->setProxy(proxy);
    connect(m_socket, &QTcpSocket::readyRead, this, &HttpConnection::onReadyRead);
    connect(m_socket, &QTcpSocket::bytesWritten, this, &HttpConnection::onBytesWritten);
    connect(m_socket, &QTcpSocket::errorOccurred, this, &HttpConnection::onSocketEnded);
    connect(m_socket, &QTcpSocket::disconnected, this, &HttpConnection::onSocketEnded);
#if QT_CONFIG(ssl)
    if (auto *tls = qobject_cast<QSslSocket *>(m_socket)) {
        tls->connectToHostEncrypted(host, port);
        return;
    }
#endif
    m_socket->connectToHost(host, port);
}

void HttpConnection::onEstablished()
{
    m_established = true;
    if (m_exchange)
        m_socket->write(m_exchange->m_request); // once; whatever happens next, it is never written again
}

void HttpConnection::onBytesWritten(qint64 bytes)
{
    m_written += bytes;
    if (m_exchange)
        m_exchange->noteWritten(m_written);
}

void HttpConnection::onReadyRead()
{
    const QByteArray data = m_socket->readAll();
    if (!m_exchange) {
        // A server speaking on an idle connection is out of step with us: do not send anything over it.
        if (!data.isEmpty())
            close(false);
        return;
    }
    m_parser->addData(data);
    m_exchange->noteReceived(m_parser->bytesReceived());
    process();
}

void HttpConnection::onSocketEnded()
{
    if (m_closed)
        return;
    if (!m_exchange) {
        close(false); // an idle connection the server closed
        return;
    }
    if (!m_established) {
        failExchange(HttpExchange::Error::NotSent, connectError());
        return;
    }
    if (m_socket->bytesAvailable() > 0) {
        m_parser->addData(m_socket->readAll());
        m_exchange->noteReceived(m_parser->bytesReceived());
        if (!process())
            return;
    }
    m_eof = true;
    m_parser->finish();
    process();
}

bool HttpConnection::process()
{
    const QPointer<HttpConnection> self(this);
    HttpExchange *const exchange = m_exchange;
    for (;;) {
        switch (m_parser->next()) {
        case HttpResponseParser::Event::NeedMore:
            return true;
        case HttpResponseParser::Event::Head:
            exchange->deliverHead(m_parser->head());
            break;
        case HttpResponseParser::Event::Body:
            exchange->deliverData(m_parser->takeBody());
            break;
        case HttpResponseParser::Event::Complete:
            completeExchange();
            return false;
        case HttpResponseParser::Event::Error: {
            const QString error = m_parser->errorString();
            if (!m_eof) {
                failExchange(HttpExchange::Error::Protocol,
                             QStringLiteral("invalid HTTP response: ") + error);
            } else if (m_parser->bytesReceived() > 0) {
                failExchange(HttpExchange::Error::ResponseCut, QStringLiteral("response cut off: ") + error);
            } else {
                const QString how = m_socket->error() == QAbstractSocket::UnknownSocketError
                                        ? QString()
                                        : QStringLiteral(" (%1)").arg(m_socket->errorString());
                if (m_written > 0)
                    failExchange(
                        HttpExchange::Error::NoResponse,
                        QStringLiteral("no response: the server closed or reset the connection after %1 "
                                       "of %2 request bytes were sent, before any response byte%3; it "
                                       "may or may not have processed the request")
                            .arg(m_written)
                            .arg(exchange->requestSize())
                            .arg(how));
                else
                    failExchange(
                        HttpExchange::Error::NotSent,
                        QStringLiteral("the connection closed before the request was sent%1; nothing "
                                       "was sent")
                            .arg(how));
            }
            return false;
        }
        }
        // A receiver may have aborted or deleted the exchange, or deleted the whole client.
        if (!self || m_exchange != exchange)
            return false;
    }
}

void HttpConnection::completeExchange()
{
    HttpExchange *const exchange = m_exchange;
    const RawHeaders trailers = m_parser->trailers();
    const bool reusable = m_parser->keepAlive() && !m_eof && m_options.idleTimeout.count() > 0 &&
                          m_written == exchange->requestSize() && m_socket->bytesToWrite() == 0 &&
                          m_socket->state() == QAbstractSocket::ConnectedState;
    m_exchange = nullptr;
    exchange->m_connection = nullptr;
    if (reusable) {
        m_parser.reset();
        m_idleTimer.start(m_options.idleTimeout);
        emit becameIdle(this);
    } else {
        close(true);
    }
    exchange->deliverFinished(trailers); // after the connection is free, so that a follow-up can reuse it
}

void HttpConnection::failExchange(HttpExchange::Error error, const QString &message)
{
    HttpExchange *const exchange = m_exchange;
    m_exchange = nullptr;
    exchange->m_connection = nullptr;
#if QT_CONFIG(ssl)
    exchange->m_sslErrors = m_sslErrors;
#endif
    close(false);
    exchange->deliverFailure(error, message);
}

QString HttpConnection::connectError() const
{
    const QString where = QStringLiteral("%1:%2").arg(m_origin.host()).arg(m_origin.port(m_tls ? 443 : 80));
#if QT_CONFIG(ssl)
    if (!m_sslErrors.isEmpty()) {
        QStringList reasons;
        for (const QSslError &e : m_sslErrors)
            reasons << e.errorString();
        return QStringLiteral("SSL handshake with %1 failed: %2")
            .arg(where, reasons.join(QStringLiteral("; ")));
    }
#endif
    if (m_socket->error() == QAbstractSocket::SslHandshakeFailedError)
        return QStringLiteral("SSL handshake with %1 failed: %2").arg(where, m_socket->errorString());
    return QStringLiteral("could not connect to %1: %2").arg(where, m_socket->errorString());
}

void HttpConnection::close(bool graceful)
{
    if (m_closed)
        return;
    m_closed = true;
    m_idleTimer.stop();
    if (m_socket) {
        disconnect(m_socket, nullptr, this, nullptr);
        if (graceful && m_socket->state() == QAbstractSocket::ConnectedState)
            m_socket->disconnectFromHost();
        else
            m_socket->abort();
    }
    emit closed(this);
}

} // namespace sluice
