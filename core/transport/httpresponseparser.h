#pragma once
// HttpResponseParser: reads one HTTP/1.1 response (RFC 9112) from bytes fed in pieces of any size.
//
// Design note. The parser owns no socket: the connection feeds it whatever arrived (addData) and pulls events
// (next) until it says NeedMore, so a unit test can feed the same response cut at every byte and must get the
// same head, the same body bytes and the same end. Interim 1xx responses (100 Continue, 103 Early Hints) are
// read and dropped; the first final response is the one reported. The body is framed, in this order, by:
// no body (204, 304), `Transfer-Encoding: chunked` (chunk extensions ignored, trailers kept), Content-Length
// (repeated values must agree), or else the end of the connection (finish()). It is strict: anything that
// does not parse is an Error naming what was wrong, never a guess, because a response we misread on a
// kept-alive connection would shift every later one. A head (and the trailers) may be at most maxHeadBytes
// long, so a server that never ends its headers cannot make us buffer without bound. Bare LF line ends are
// accepted (RFC 9112 allows it), obsolete folded header lines are unfolded.
//
// Body bytes are handed out as they come (one Body event per next() with everything decodable so far), which
// is what lets a streamed (SSE) answer reach its reader before the response ends.
//
// Worked example:
//   HttpResponseParser p;
//   p.addData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
//   p.next() -> Head      (p.head().status == 200, p.framing() == Framing::Chunked)
//   p.next() -> Body      (p.takeBody() == "hel")
//   p.next() -> NeedMore
//   p.addData("lo\r\n0\r\n\r\n");
//   p.next() -> Body      ("lo"), then Complete; p.keepAlive() == true, p.hasExcess() == false.
//
// Threading: a plain object; use it from one thread at a time.

#include "transport/ratelimitheaders.h" // RawHeaders

#include <QByteArray>
#include <QString>

namespace sluice {

// The status line and headers of a response.
struct HttpResponseHead
{
    int versionMinor = 1; // HTTP/1.<versionMinor>
    int status = 0;
    QByteArray reason;  // may be empty
    RawHeaders headers; // in arrival order, names as sent; repeated headers are kept as separate entries

    // The first value of header `name` (ASCII case-insensitive), or empty.
    std::optional<QByteArray> header(QByteArrayView name) const { return findHeader(headers, name); }
    // Every value of header `name`, in order.
    QList<QByteArray> headerValues(QByteArrayView name) const;
    // True when a comma-separated list header (Connection, Transfer-Encoding) contains `token` in any of its
    // occurrences, ASCII case-insensitive.
    bool hasToken(QByteArrayView name, QByteArrayView token) const;
};

class HttpResponseParser
{
public:
    enum class Event
    {
        NeedMore, // feed more bytes (or finish() at the end of the connection)
        Head,     // head() is the final response's head
        Body,     // takeBody() holds the body bytes decoded since the last Body
        Complete, // the response is over; later calls keep returning Complete
        Error,    // errorString() says why; later calls keep returning Error
    };
    enum class Framing
    {
        None,
        Length,
        Chunked,
        UntilClose
    };

    static constexpr qsizetype kDefaultMaxHeadBytes = 64 * 1024;

    explicit HttpResponseParser(qsizetype maxHeadBytes = kDefaultMaxHeadBytes);

    // Appends raw bytes from the connection. Bytes after the end of the response are kept aside (hasExcess).
    void addData(QByteArrayView data);
    // The connection reached its end (EOF): completes a body framed by the close, fails anything else.
    void finish();
    // Parses as far as the buffered bytes allow and reports the next thing that happened.
    Event next();

    QByteArray takeBody();
    const HttpResponseHead &head() const { return m_head; } // valid from the Head event on
    const RawHeaders &trailers() const { return m_trailers; }
    Framing framing() const { return m_framing; }
    bool headReceived() const { return m_headDone; }
    bool isComplete() const { return m_state == State::Done; }
    bool hasError() const { return m_state == State::Failed; }
    QString errorString() const { return m_error; }
    // Every byte that was fed, interim responses and framing included.
    qint64 bytesReceived() const { return m_received; }
    // Bytes that came after the complete response (a server must not send any on a non-pipelined connection).
    bool hasExcess() const { return isComplete() && m_pos < m_buffer.size(); }
    // The connection may carry another request after this response: it is complete, framed by its length,
    // HTTP/1.1 without "Connection: close" (or HTTP/1.0 with "Connection: keep-alive"), nothing in excess.
    bool keepAlive() const;

private:
    enum class State
    {
        StatusLine,
        Headers,
        Body,         // Length or UntilClose
        ChunkSize,    // expecting "hex[;ext] CRLF"
        ChunkData,    // m_remaining bytes of the chunk
        ChunkDataEnd, // the CRLF after a chunk's data
        Trailers,
        Done,
        Failed,
    };

    // A complete line (without its LF, and without a CR before it) or empty when none is buffered yet. Fails
    // when the line would pass `limit` bytes (what is left of the `cap` for a head, in the message).
    std::optional<QByteArray> takeLine(qsizetype limit, qsizetype cap, const char *what);
    bool parseStatusLine(const QByteArray &line);
    bool parseHeaderLine(const QByteArray &line, RawHeaders &into);
    bool startBody();
    bool parseChunkSize(const QByteArray &line);
    Event fail(const QString &message);
    void compact();

    qsizetype m_maxHeadBytes;
    QByteArray m_buffer;
    qsizetype m_pos = 0; // parsed up to here
    State m_state = State::StatusLine;
    qsizetype m_headBytes = 0; // of the current head (or the trailers)
    bool m_headDone = false;
    bool m_headReported = false;
    bool m_eof = false;
    Framing m_framing = Framing::None;
    qint64 m_remaining = 0; // of the Content-Length body or the current chunk
    qint64 m_received = 0;
    HttpResponseHead m_head;
    RawHeaders m_trailers;
    QByteArray m_body; // decoded, not yet taken
    QString m_error;
};

} // namespace sluice
