// libFuzzer target for HttpResponseParser (built by scripts/fuzz, not part of the default build).
//
// Design note. The parser's central promise is that the way bytes arrive does not matter, so the target feeds
// the same response three ways, whole, cut once, and in alternating pieces of two sizes, and demands the same
// head, trailers, body, framing, end and error each time (the differential check). Beyond that it checks what
// must hold at every step of every way, and traps on the first violation:
//   - events come in order: at most one Head, no Body before it, nothing but Complete after Complete and
//     nothing but Error (with the same, non-empty message) after Error, even when more bytes or the end
//     follow;
//   - bytesReceived() is exactly what was fed, and the body handed out never exceeds it (nor the
//     Content-Length, and a complete length-framed body is exactly that long);
//   - the head cap holds in memory: while no head is reported and nothing failed, the unfinished head cannot
//     hold more than maxHeadBytes, measured independently as the bytes fed since the last blank line (a head
//     in progress has none, and interim heads end with one); reported heads and trailers fit the cap too;
//   - a reported head is a final response (200..599) and keepAlive() implies a complete response.
//
// Input layout: byte 0 holds flags (bit 0: the connection ends after the bytes; bit 1: the default 64 KiB
// head cap, else a small cap of 16 + 32 * (byte0 >> 2) bytes so the cap paths are reached), bytes 1-2 the cut
// point (little-endian, modulo the length + 1), bytes 3-4 the two piece sizes (1 + b % 64). The rest is the
// wire.
//
// Worked example: prefix 03 05 00 07 0b then "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi" (40 bytes):
// the end follows, 64 KiB cap, cut after "HTTP/" (5), pieces of 8 and 12 bytes alternately; every way gives
// the head 200 with one header, the body "hi", Complete, Framing::Length, keepAlive.

#include "transport/httpresponseparser.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace sluice;

namespace {

using Event = HttpResponseParser::Event;
using Framing = HttpResponseParser::Framing;

// Everything the parser reported over one response, compared across the ways of feeding it.
struct Seen
{
    int heads = 0;
    int versionMinor = -1;
    int status = 0;
    QByteArray reason;
    RawHeaders headers;
    RawHeaders trailers;
    QByteArray body;
    bool complete = false;
    QString error;
    int framing = -1;
    bool keepAlive = false;
    bool excess = false;
    bool operator==(const Seen &) const = default;
};

[[noreturn]] void violated(const char *what)
{
    std::fprintf(stderr, "fuzz_httpresponseparser: invariant violated: %s\n", what);
    std::abort();
}

void require(bool ok, const char *what)
{
    if (!ok)
        violated(what);
}

// The bytes of `wire` since the end of its last blank line (LF LF or LF CR LF), i.e. an upper bound on
// what a head still in progress can span.
qsizetype sinceLastBlankLine(QByteArrayView wire)
{
    for (qsizetype i = wire.size() - 1; i >= 1; --i) {
        if (wire[i] != '\n')
            continue;
        if (wire[i - 1] == '\n' || (i >= 2 && wire[i - 1] == '\r' && wire[i - 2] == '\n'))
            return wire.size() - (i + 1);
    }
    return wire.size();
}

qsizetype fieldBytes(const RawHeaders &headers)
{
    qsizetype n = 0;
    for (const RawHeader &h : headers)
        n += h.first.size() + h.second.size();
    return n;
}

class Feeder
{
public:
    Feeder(qsizetype cap, QByteArrayView wire)
        : m_parser(cap)
        , m_cap(cap)
        , m_wire(wire)
    {}

    void add(QByteArrayView piece)
    {
        m_parser.addData(piece);
        m_fed += piece.size();
        drain();
    }
    void finish()
    {
        m_parser.finish();
        m_finished = true;
        drain();
    }
    Seen result()
    {
        m_seen.trailers = m_parser.trailers();
        m_seen.framing = m_seen.heads ? int(m_parser.framing()) : -1;
        m_seen.keepAlive = m_parser.keepAlive();
        m_seen.excess = m_parser.hasExcess();
        require(m_parser.bytesReceived() == m_wire.size(), "bytesReceived() differs from the bytes fed");
        return m_seen;
    }
    HttpResponseParser &parser() { return m_parser; }

private:
    void drain()
    {
        require(m_parser.bytesReceived() == m_fed, "bytesReceived() differs from the bytes fed");
        for (int guard = 0;; ++guard) {
            require(guard < 1000, "next() keeps reporting events without new input");
            const Event e = m_parser.next();
            checkState(e);
            switch (e) {
            case Event::NeedMore:
                require(!m_seen.complete && m_seen.error.isEmpty(), "NeedMore after the end");
                require(!m_parser.isComplete() && !m_parser.hasError(), "NeedMore but the parser has ended");
                checkHeadInMemory();
                return;
            case Event::Head:
                require(m_seen.heads == 0, "a second Head event");
                require(m_seen.error.isEmpty() && !m_seen.complete, "Head after the end");
                ++m_seen.heads;
                m_seen.versionMinor = m_parser.head().versionMinor;
                m_seen.status = m_parser.head().status;
                m_seen.reason = m_parser.head().reason;
                m_seen.headers = m_parser.head().headers;
                checkHead();
                break;
            case Event::Body: {
                require(m_seen.heads == 1, "Body before Head");
                require(m_seen.error.isEmpty() && !m_seen.complete, "Body after the end");
                const QByteArray piece = m_parser.takeBody();
                require(!piece.isEmpty(), "an empty Body event");
                require(m_parser.takeBody().isEmpty(), "takeBody() returned the same bytes twice");
                m_seen.body += piece;
                require(m_seen.body.size() <= m_fed, "more body bytes than were fed");
                break;
            }
            case Event::Complete:
                require(m_seen.error.isEmpty(), "Complete after Error");
                require(m_seen.heads == 1, "Complete without a Head");
                m_seen.complete = true;
                checkComplete();
                require(m_parser.next() == Event::Complete, "Complete did not stay Complete");
                return;
            case Event::Error: {
                require(!m_seen.complete, "Error after Complete");
                const QString message = m_parser.errorString();
                require(!message.isEmpty(), "Error with an empty message");
                require(m_seen.error.isEmpty() || m_seen.error == message, "the error message changed");
                m_seen.error = message;
                require(!m_parser.keepAlive(), "keepAlive() after an error");
                require(m_parser.next() == Event::Error && m_parser.errorString() == message,
                        "Error did not stay Error");
                return;
            }
            }
        }
    }

    void checkState(Event e)
    {
        require(!(m_parser.isComplete() && m_parser.hasError()), "both complete and failed");
        require(!m_parser.keepAlive() || m_parser.isComplete(), "keepAlive() before the end");
        require(!m_parser.hasExcess() || m_parser.isComplete(), "hasExcess() before the end");
        require(m_parser.headReceived() || (e != Event::Head && e != Event::Body && e != Event::Complete),
                "an event that needs a head without headReceived()");
        if (!m_seen.error.isEmpty())
            require(e == Event::Error, "an event other than Error after Error");
        if (m_seen.complete)
            require(e == Event::Complete, "an event other than Complete after Complete");
    }

    // The unfinished head is somewhere in the bytes since the last blank line; while the parser neither
    // reported a head nor failed, it may not have accepted more of it than the cap.
    void checkHeadInMemory()
    {
        if (m_parser.headReceived() || m_parser.hasError())
            return;
        require(sinceLastBlankLine(m_wire.first(m_fed)) <= m_cap, "a head in progress passed the cap");
    }

    void checkHead()
    {
        const HttpResponseHead &h = m_parser.head();
        require(h.status >= 200 && h.status <= 599, "a reported head that is not a final response");
        require(h.versionMinor >= 0 && h.versionMinor <= 9, "a version that is not one digit");
        require(h.reason.size() + fieldBytes(h.headers) <= m_cap, "a reported head larger than the cap");
        for (const RawHeader &header : h.headers)
            require(!header.first.isEmpty(), "a header without a name");
    }

    void checkComplete()
    {
        require(fieldBytes(m_parser.trailers()) <= m_cap, "trailers larger than the cap");
        const HttpResponseHead &h = m_parser.head();
        switch (m_parser.framing()) {
        case Framing::None:
            require(h.status == 204 || h.status == 304, "no body framing for a status that has a body");
            require(m_seen.body.isEmpty(), "a body on a response without one");
            break;
        case Framing::Length: {
            // Every non-empty Content-Length element agreed (else Error), so the first one is the length.
            // Empty elements are skipped, as the parser does ("Content-Length: ,5" is 5).
            std::optional<qint64> length;
            for (const QByteArray &value : h.headerValues("content-length"))
                for (const QByteArray &element : value.split(','))
                    if (!length && !element.trimmed().isEmpty())
                        length = element.trimmed().toLongLong();
            require(length && *length == m_seen.body.size(), "a length-framed body of the wrong size");
            break;
        }
        case Framing::Chunked:
            require(m_seen.body.size() < m_fed, "a chunked body as long as the bytes fed");
            break;
        case Framing::UntilClose:
            require(m_finished, "a close-delimited body completed before the end of the connection");
            require(!m_parser.keepAlive(), "keepAlive() on a close-delimited body");
            break;
        }
    }

    HttpResponseParser m_parser;
    qsizetype m_cap;
    QByteArrayView m_wire;
    qsizetype m_fed = 0;
    bool m_finished = false;
    Seen m_seen;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    constexpr size_t kPrefix = 5;
    if (size < kPrefix)
        return 0;
    const bool eof = data[0] & 1;
    const qsizetype cap = (data[0] & 2) ? HttpResponseParser::kDefaultMaxHeadBytes : 16 + 32 * (data[0] >> 2);
    const QByteArrayView wire(reinterpret_cast<const char *>(data) + kPrefix, qsizetype(size - kPrefix));
    const qsizetype cut = (data[1] | (data[2] << 8)) % (wire.size() + 1);
    const qsizetype stepA = 1 + data[3] % 64;
    const qsizetype stepB = 1 + data[4] % 64;

    Feeder whole(cap, wire);
    whole.add(wire);
    if (eof)
        whole.finish();
    const Seen reference = whole.result();

    Feeder split(cap, wire);
    split.add(wire.first(cut));
    split.add(wire.sliced(cut));
    if (eof)
        split.finish();
    require(split.result() == reference, "cut once gives a different result than whole");

    Feeder pieces(cap, wire);
    bool useA = true;
    for (qsizetype at = 0; at < wire.size(); useA = !useA) {
        const qsizetype n = std::min(useA ? stepA : stepB, wire.size() - at);
        pieces.add(wire.sliced(at, n));
        at += n;
    }
    if (eof)
        pieces.finish();
    require(pieces.result() == reference, "alternating pieces give a different result than whole");

    // After the end nothing changes: more bytes are excess after Complete and ignored after Error.
    HttpResponseParser &p = whole.parser();
    if (reference.complete) {
        p.addData("HTTP/1.1 200 OK\r\n");
        require(p.next() == Event::Complete && p.hasExcess() && !p.keepAlive(), "bytes after Complete");
    } else if (!reference.error.isEmpty()) {
        p.addData("\r\n\r\n0\r\n\r\n");
        p.finish();
        require(p.next() == Event::Error && p.errorString() == reference.error, "bytes after Error");
    }
    return 0;
}
