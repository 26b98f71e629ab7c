#pragma once
// SimHttp: the simulator's HTTP/1.1 front end, on Qt's QAbstractHttpServer, writing its own responses.
//
// Design note. QHttpServer's routing and QHttpServerResponder write a whole response at once, which cannot
// express what the simulator needs: a response that starts only after a latency, SSE events spaced over time,
// a status 529 (not in QHttpServerResponder::StatusCode), a connection reset halfway through a stream, or a
// request that is never answered. So SimHttpFrontend subclasses QAbstractHttpServer (Qt 6.4): Qt parses each
// request (headers, body, keep-alive) and hands us the request together with its raw QTcpSocket; from there
// SimHttp writes the status line, headers and body itself, with Content-Length for whole bodies (the
// connection stays open for the next request) and Transfer-Encoding: chunked for streams, and reset() aborts
// the socket with SO_LINGER 0 so the peer sees a real RST rather than an orderly close. Qt deletes the socket
// after it disconnects: callers hold it in a QPointer.
//
// Worked example: a 429 is written as
//   HTTP/1.1 429 Too Many Requests | content-type: application/json | request-id: req_... | retry-after: 1 |
//   anthropic-ratelimit-... | content-length: 402 | connection: keep-alive | (blank line) | {"error":...}
// (each | a CRLF), and the same socket then serves the client's retry.
//
// Threading: the thread that owns the server; sockets are used from that thread only.

#include <QAbstractHttpServer>
#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>

#include <functional>

class QTcpSocket;

namespace sluice::sim {

using HttpHeaders = QList<QPair<QByteArray, QByteArray>>;

// A parsed request, copied out of Qt's (which Qt reuses for the connection's next request).
struct SimHttpRequest
{
    QByteArray method;   // "GET", "POST", ...
    QString path;        // without the query
    HttpHeaders headers; // names in lower case
    QByteArray body;
    QByteArray header(const QByteArray &lowerCaseName) const;
    bool wantsClose() const; // Connection: close
};

class SimHttpFrontend : public QAbstractHttpServer
{
    Q_OBJECT
public:
    using Handler = std::function<void(const SimHttpRequest &, QTcpSocket *)>;
    explicit SimHttpFrontend(Handler handler, QObject *parent = nullptr);

protected:
    bool handleRequest(const QHttpServerRequest &request, QTcpSocket *socket) override;
    void missingHandler(const QHttpServerRequest &request, QTcpSocket *socket) override;

private:
    Handler m_handler;
};

namespace SimHttp {
QByteArray reasonPhrase(int status);
// A whole response with Content-Length; closes the connection after it if `close`.
void writeResponse(QTcpSocket *socket, int status, const HttpHeaders &headers, const QByteArray &body,
                   bool close);
// Status line and headers of a chunked response; then writeChunk() any number of times and endChunks().
void writeChunkedHead(QTcpSocket *socket, int status, const HttpHeaders &headers);
void writeChunk(QTcpSocket *socket, const QByteArray &data);
void endChunks(QTcpSocket *socket, bool close);
// Drops the connection with a TCP RST and no response.
void reset(QTcpSocket *socket);
} // namespace SimHttp

} // namespace sluice::sim
