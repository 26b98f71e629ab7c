#pragma once
// HttpConnection: one TCP (or TLS) connection of HttpClient, carrying one HttpExchange at a time.
//
// Design note. The connection is HttpClient's private helper (see httpclient.h for the whole design). It
// opens its socket when given its first exchange, writes that exchange's request once the connection (and the
// TLS handshake) is up, feeds what arrives to an HttpResponseParser and passes head, body and end on to the
// exchange. When the response is complete it either becomes idle (kept alive: complete with a known length,
// no "Connection: close", the whole request written, the socket still open) or closes; then, and only then,
// the exchange hears finished(), so that a follow-up request posted from that signal can reuse it. Whatever
// ends the socket (reset, close, error) ends the exchange with the error kind that matches how far it got:
// nothing written (NotSent), written but no response byte (NoResponse), part of a response (ResponseCut). It
// never writes a request a second time. An idle connection closes when the server closes it, when the server
// sends anything unasked, or after HttpClientOptions::idleTimeout.
//
// Worked example: a kept-alive connection to 127.0.0.1:8080 carries exchange A (200, Content-Length: 2),
// becomes idle, carries exchange B 1 s later (reusedConnection() == true); 4 s after B's response it closes.
//
// Threading: the thread of its HttpClient.

#include "transport/httpclient.h"

#include <QTimer>

#include <optional>

QT_BEGIN_NAMESPACE
class QTcpSocket;
QT_END_NAMESPACE

namespace sluice {

class HttpConnection : public QObject
{
    Q_OBJECT
public:
    HttpConnection(const QUrl &origin, const HttpClientOptions &options, QObject *parent);
    ~HttpConnection() override;

    // Carries `exchange`: connects first when the connection is new. The connection must be new or idle.
    void start(HttpExchange *exchange);
    // The exchange gave up (abort or deletion): the rest of its response is never read, so the connection
    // cannot carry another request; it closes at once.
    void dropExchange();
    bool isIdle() const { return !m_closed && m_established && !m_exchange; }

signals:
    // The response was read to its end and the connection may carry another request.
    void becameIdle(sluice::HttpConnection *connection);
    // The connection is closed; its owner removes and deletes it. Emitted once.
    void closed(sluice::HttpConnection *connection);

private:
    void connectSocket();
    void onEstablished();
    void onReadyRead();
    void onBytesWritten(qint64 bytes);
    void onSocketEnded();
    // Passes the parser's events on to the exchange; false when the exchange ended or went away meanwhile.
    bool process();
    void completeExchange();
    void failExchange(HttpExchange::Error error, const QString &message);
    QString connectError() const;
    void close(bool graceful);

    QUrl m_origin;
    HttpClientOptions m_options;
    bool m_tls = false;
    QTcpSocket *m_socket = nullptr;
    QTimer m_idleTimer;
    HttpExchange *m_exchange = nullptr;
    std::optional<HttpResponseParser> m_parser;
    bool m_established = false; // connected (and, for https, encrypted)
    bool m_closed = false;
    bool m_eof = false;
    qint64 m_written = 0; // of the current request
    int m_carried = 0;    // exchanges carried so far
#if QT_CONFIG(ssl)
    QList<QSslError> m_sslErrors;
#endif
};

} // namespace sluice
