#pragma once
// HttpClient: a small HTTP/1.1 client for POST requests that never sends a request twice.
//
// Design note. Why not QNetworkAccessManager: when a server resets or closes a connection after the request
// was written but before any response byte, Qt 6.4's HTTP/1.1 engine quietly opens a new connection and sends
// the same POST again (QHttpNetworkConnectionChannel's reconnect attempts), although a POST is not
// idempotent. The server then admits, and bills, an attempt that our dispatcher never reserved, and we never
// hear of the reset. Here every byte goes out exactly once: an exchange that loses its connection fails, and
// says whether any response byte had come (Error::NoResponse: "the server may or may not have processed
// it"), so that the caller decides, and counts, any retry.
//
// How it works. post() queues an HttpExchange for its origin (scheme, host, port) and returns it at once;
// from the event loop the exchange takes an idle kept-alive connection of that origin (the most recently
// used one), or opens a new one, or waits in FIFO order when maxConnectionsPerHost are open. One exchange at
// a time per connection (no pipelining), so a connection carries `POST path HTTP/1.1` with Host,
// Content-Length, `Connection: keep-alive` and the caller's headers (never `Expect: 100-continue`), and an
// HttpResponseParser reads the answer; the head, then body bytes as they arrive (so an event stream is read
// while it flows), then the end. A connection goes back to the pool only when its response was read to the
// end of a known length (Content-Length or chunked), the server did not ask to close, and the whole request
// was written. An idle connection is dropped when the server closes it or sends anything, and after
// idleTimeout (4 s by default: shorter than the keep-alive timeouts servers commonly use, 5 s and up, so we
// hang up first instead of racing the server's close with a new request).
//
// https: QSslSocket::connectToHostEncrypted (SNI and the host name check), the application's default
// QSslConfiguration (its CA set), peer verification always on, ALPN offering "http/1.1" only. TLS errors are
// never ignored: the handshake fails, and the exchange with it (Error::NotSent, sslErrors() says why).
// Proxies as QNetworkAccessManager chose them: QNetworkProxyFactory::proxyForQuery for the request's URL
// (so https_proxy and the like apply when Qt uses the system configuration), the first proxy that can
// tunnel (none, HTTP CONNECT, SOCKS5); plain http never uses a proxy (our callers allow http only to
// loopback).
//
// What it does not do: HTTP/2 (one connection per concurrent request instead, as the official Python SDK's
// httpx default), redirects (a 3xx is an ordinary response), compression, cookies, authentication, TLS
// session resumption across connections.
//
// Worked example:
//   HttpClient http;                                  // idleTimeout 4 s
//   HttpExchange *x = http.post(QUrl("https://api.anthropic.com/v1/messages"),
//                               {{"content-type", "application/json"}}, body);
//   -> uploadProgress(1200, 1200), headReceived() (x->head().status == 200), dataReceived("{\"id\":..."),
//      finished(); a second post() within 4 s reuses the connection (x->reusedConnection() == true).
//   The server resets the connection after reading the request: failed(Error::NoResponse, "no response:
//   ..."); the server saw one request, never two.
//
// Threading: HttpClient and its exchanges live in one thread (the main thread in the app) and are used there.

#include "transport/httpresponseparser.h"

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QUrl>
#include <QtNetwork/qtnetworkglobal.h>

#if QT_CONFIG(ssl)
#include <QSslError>
#endif

#include <chrono>
#include <deque>

namespace sluice {

class HttpClient;
class HttpConnection;

struct HttpClientOptions
{
    // An idle kept-alive connection is closed after this long; 0 closes each connection after its response.
    std::chrono::milliseconds idleTimeout{4000};
    // Connections open at once to one origin; further requests wait, first come first served.
    int maxConnectionsPerHost = 256;
    // The longest response head (status line and headers) or trailer section accepted, in bytes.
    qsizetype maxHeadBytes = HttpResponseParser::kDefaultMaxHeadBytes;
};

// One request and its response. Created by HttpClient::post(), a child of the client. Delete it (deleteLater
// from inside its own signals) when done; deleting or abort()ing it before its end drops the connection.
// Exactly one of finished() and failed() ends it, never from inside post(); nothing follows either, nor
// abort().
class HttpExchange : public QObject
{
    Q_OBJECT
public:
    enum class Error
    {
        None,
        NotSent,     // no byte of the request was written: bad request, connection, proxy or TLS failure,
                     // or a kept-alive connection that was gone; the server cannot have seen it
        NoResponse,  // the request was (partly) written, then the connection ended before any response byte:
                     // the server may or may not have processed it
        ResponseCut, // the connection ended after part of the response
        Protocol,    // the response is not valid HTTP/1.1 (errorString() names what was wrong)
    };
    Q_ENUM(Error)

    ~HttpExchange() override;

    QUrl url() const { return m_url; }
    // Ends the exchange without any further signal and closes its connection. No-op once it has ended.
    void abort();

    bool hasHead() const { return m_hasHead; }
    const HttpResponseHead &head() const { return m_head; }   // from headReceived() on
    const RawHeaders &trailers() const { return m_trailers; } // after finished(), chunked responses only
    bool isFinished() const { return m_state != State::Running; }
    Error error() const { return m_error; }
    QString errorString() const { return m_errorString; }
#if QT_CONFIG(ssl)
    QList<QSslError> sslErrors() const
    {
        return m_sslErrors;
    } // why the TLS handshake failed
#endif
    qint64 requestSize() const
    {
        return m_request.size();
    } // head and body, bytes
    qint64 bytesWritten() const
    {
        return m_written;
    } // of requestSize()
    qint64 bytesReceived() const
    {
        return m_received;
    } // response bytes on the wire, framing included
    bool reusedConnection() const
    {
        return m_reused;
    } // sent over a kept-alive connection

signals:
    // Request bytes were handed to the connection (head and body; `total` = requestSize()).
    void uploadProgress(qint64 written, qint64 total);
    // The final response's status line and headers (interim 1xx responses are not reported).
    void headReceived();
    // The next piece of the decoded body, in order.
    void dataReceived(const QByteArray &data);
    // The response is complete.
    void finished();
    // The exchange failed; `message` is errorString().
    void failed(sluice::HttpExchange::Error error, const QString &message);

private:
    friend class HttpClient;
    friend class HttpConnection;
    enum class State
    {
        Running,
        Finished,
        Failed,
        Aborted
    };

    HttpExchange(HttpClient *client, const QUrl &url, QByteArray request);
    void noteWritten(qint64 total);
    void noteReceived(qint64 total)
    {
        m_received = total;
    }
    void deliverHead(const HttpResponseHead &head);
    void deliverData(const QByteArray &data);
    void deliverFinished(const RawHeaders &trailers);
    void deliverFailure(Error error, const QString &message);

    QPointer<HttpClient> m_client;
    HttpConnection *m_connection = nullptr; // while it carries this exchange
    QUrl m_url;
    QString m_originKey;
    QByteArray m_request; // the whole request, head and body, as it goes on the wire
    State m_state = State::Running;
    bool m_hasHead = false;
    bool m_reused = false;
    HttpResponseHead m_head;
    RawHeaders m_trailers;
    Error m_error = Error::None;
    QString m_errorString;
#if QT_CONFIG(ssl)
    QList<QSslError> m_sslErrors;
#endif
    qint64 m_written = 0;
    qint64 m_received = 0;
};

class HttpClient : public QObject
{
    Q_OBJECT
public:
    explicit HttpClient(const HttpClientOptions &options = {}, QObject *parent = nullptr);
    ~HttpClient() override; // aborts every exchange (without signals) and closes every connection

    // POST `body` to `url` (http or https) with `headers` added to the request. Host, Content-Length,
    // Connection, Transfer-Encoding and Expect are ours to set; passing one of them, a header name that is
    // not a token or a value with CR, LF or NUL fails the exchange (NotSent). Returns at once; the exchange
    // reports from the event loop.
    HttpExchange *post(const QUrl &url, const RawHeaders &headers, const QByteArray &body);

    HttpClientOptions options() const { return m_options; }
    // Open connections (busy, connecting or idle), over all origins.
    int connectionCount() const;
    // Idle kept-alive connections, over all origins.
    int idleConnectionCount() const;
    // Connections opened since construction (a measure of reuse).
    int connectionsOpened() const { return m_connectionsOpened; }
    // Closes every idle connection now.
    void closeIdleConnections();

    // "scheme://host:port" with the scheme and host in lower case and the port made explicit.
    static QString originKey(const QUrl &url);

private:
    friend class HttpExchange;
    struct Origin
    {
        QList<HttpConnection *> all;  // open connections, idle ones included
        QList<HttpConnection *> idle; // most recently idle last
        std::deque<QPointer<HttpExchange>> waiting;
    };

    void schedulePump();
    void pump();
    void withdraw(HttpExchange *exchange); // a queued exchange was aborted
    void onIdle(HttpConnection *connection);
    void onClosed(HttpConnection *connection);
    void failLater(HttpExchange *exchange, HttpExchange::Error error, const QString &message);

    HttpClientOptions m_options;
    QHash<QString, Origin> m_origins;
    bool m_pumpScheduled = false;
    int m_connectionsOpened = 0;
};

} // namespace sluice
