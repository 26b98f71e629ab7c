#include "simhttp.h"

#include <QHttpServerRequest>
#include <QTcpSocket>

#ifdef Q_OS_UNIX
#include <sys/socket.h>
#endif

namespace sluice::sim {

namespace {

QByteArray methodName(QHttpServerRequest::Method m)
{
    switch (m) {
    case QHttpServerRequest::Method::Get:
        return "GET";
    case QHttpServerRequest::Method::Put:
        return "PUT";
    case QHttpServerRequest::Method::Delete:
        return "DELETE";
    case QHttpServerRequest::Method::Post:
        return "POST";
    case QHttpServerRequest::Method::Head:
        return "HEAD";
    case QHttpServerRequest::Method::Options:
        return "OPTIONS";
    case QHttpServerRequest::Method::Patch:
        return "PATCH";
    case QHttpServerRequest::Method::Connect:
        return "CONNECT";
    case QHttpServerRequest::Method::Trace:
        return "TRACE";
    default:
        break;
    }
    return "UNKNOWN";
}

QByteArray head(int status, const HttpHeaders &headers)
{
    QByteArray out = "HTTP/1.1 " + QByteArray::number(status) + ' ' + SimHttp::reasonPhrase(status) + "\r\n";
    for (const auto &h : headers)
        out += h.first + ": " + h.second + "\r\n";
    return out;
}

} // namespace

QByteArray SimHttpRequest::header(const QByteArray &lowerCaseName) const
{
    for (const auto &h : headers) {
        if (h.first == lowerCaseName)
            return h.second;
    }
    return {};
}

bool SimHttpRequest::wantsClose() const
{
    return header("connection").trimmed().toLower() == "close";
}

SimHttpFrontend::SimHttpFrontend(Handler handler, QObject *parent)
    : QAbstractHttpServer(parent)
    , m_handler(std::move(handler))
{}

bool SimHttpFrontend::handleRequest(const QHttpServerRequest &request, QTcpSocket *socket)
{
    SimHttpRequest r;
    r.method = methodName(request.method());
    r.path = request.url().path();
    for (const auto &h : request.headers())
        r.headers.append({h.first.toLower(), h.second});
    r.body = request.body();
    m_handler(r, socket);
    return true;
}

void SimHttpFrontend::missingHandler(const QHttpServerRequest &, QTcpSocket *socket)
{
    // handleRequest() takes every request, so this only runs if that contract is broken: answer rather than
    // hang.
    SimHttp::writeResponse(socket, 500, {{"content-type", "text/plain"}}, "no handler\n", true);
}

namespace SimHttp {

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 529:
        return "Site Overloaded";
    default:
        break;
    }
    return "Unknown";
}

void writeResponse(QTcpSocket *socket, int status, const HttpHeaders &headers, const QByteArray &body,
                   bool close)
{
    QByteArray out = head(status, headers);
    out += "content-length: " + QByteArray::number(body.size()) + "\r\n";
    out += close ? "connection: close\r\n" : "connection: keep-alive\r\n";
    out += "\r\n";
    out += body;
    socket->write(out);
    if (close)
        socket->disconnectFromHost();
}

void writeChunkedHead(QTcpSocket *socket, int status, const HttpHeaders &headers)
{
    QByteArray out = head(status, headers);
    out += "transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n";
    socket->write(out);
}

void writeChunk(QTcpSocket *socket, const QByteArray &data)
{
    if (data.isEmpty())
        return; // an empty chunk would end the body
    socket->write(QByteArray::number(data.size(), 16) + "\r\n" + data + "\r\n");
}

void endChunks(QTcpSocket *socket, bool close)
{
    socket->write("0\r\n\r\n");
    if (close)
        socket->disconnectFromHost();
}

void reset(QTcpSocket *socket)
{
#ifdef Q_OS_UNIX
    // With linger on and a zero timeout, close() discards unsent data and sends RST instead of FIN.
    const qintptr fd = socket->socketDescriptor();
    if (fd != -1) {
        linger l{1, 0};
        ::setsockopt(int(fd), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
#endif
    socket->abort();
}

} // namespace SimHttp

} // namespace sluice::sim
