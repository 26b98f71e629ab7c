#include "httpresponseparser.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace sluice {

namespace {

// A chunk-size line with extensions longer than this is not a real server's.
constexpr qsizetype kMaxChunkLineBytes = 4096;
// At most 15 hex digits, so the size fits a qint64 without overflow checks.
constexpr qsizetype kMaxChunkSizeDigits = 15;
// Content-Length digits; 18 decimal digits always fit a qint64.
constexpr qsizetype kMaxLengthDigits = 18;

bool isTokenChar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

// Field values and reason phrases: visible characters, SP, HT and obs-text; no other control character.
bool isFieldText(QByteArrayView s)
{
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f)
            return false;
    }
    return true;
}

bool isBlank(char c)
{
    return c == ' ' || c == '\t';
}

QByteArray trimBlanks(QByteArrayView s)
{
    qsizetype b = 0;
    qsizetype e = s.size();
    while (b < e && isBlank(s[b]))
        ++b;
    while (e > b && isBlank(s[e - 1]))
        --e;
    return s.sliced(b, e - b).toByteArray();
}

// The comma-separated elements of every occurrence of a list header, trimmed, empty elements dropped.
QList<QByteArray> listElements(const QList<QByteArray> &values)
{
    QList<QByteArray> out;
    for (const QByteArray &v : values)
        for (const QByteArray &element : v.split(','))
            if (QByteArray t = trimBlanks(element); !t.isEmpty())
                out << t;
    return out;
}

QString printable(QByteArrayView bytes)
{
    constexpr qsizetype kShown = 40;
    QString s;
    for (const char c : bytes.first(std::min(bytes.size(), kShown))) {
        const auto u = static_cast<unsigned char>(c);
        s += (u >= 0x20 && u < 0x7f) ? QString(QLatin1Char(c))
                                     : QStringLiteral("\\x%1").arg(u, 2, 16, QLatin1Char('0'));
    }
    if (bytes.size() > kShown)
        s += QStringLiteral("...");
    return s;
}

} // namespace

QList<QByteArray> HttpResponseHead::headerValues(QByteArrayView name) const
{
    QList<QByteArray> values;
    for (const RawHeader &h : headers)
        if (QByteArrayView(h.first).compare(name, Qt::CaseInsensitive) == 0)
            values << h.second;
    return values;
}

bool HttpResponseHead::hasToken(QByteArrayView name, QByteArrayView token) const
{
    const QList<QByteArray> elements = listElements(headerValues(name));
    return std::any_of(elements.begin(), elements.end(), [&](const QByteArray &e) {
        return QByteArrayView(e).compare(token, Qt::CaseInsensitive) == 0;
    });
}

HttpResponseParser::HttpResponseParser(qsizetype maxHeadBytes)
    : m_maxHeadBytes(maxHeadBytes)
{}

void HttpResponseParser::addData(QByteArrayView data)
{
    m_received += data.size();
    m_buffer.append(data);
}

void HttpResponseParser::finish()
{
    m_eof = true;
}

QByteArray HttpResponseParser::takeBody()
{
    return std::exchange(m_body, QByteArray());
}

bool HttpResponseParser::keepAlive() const
{
    if (!isComplete() || hasExcess() || m_framing == Framing::UntilClose)
        return false;
    if (m_head.versionMinor >= 1)
        return !m_head.hasToken("connection", "close");
    return m_head.hasToken("connection", "keep-alive");
}

HttpResponseParser::Event HttpResponseParser::fail(const QString &message)
{
    if (m_state != State::Failed) {
        m_state = State::Failed;
        m_error = message;
    }
    return Event::Error;
}

void HttpResponseParser::compact()
{
    if (m_pos == m_buffer.size()) {
        m_buffer.clear();
        m_pos = 0;
    } else if (m_pos > 64 * 1024 && m_pos > m_buffer.size() / 2) {
        m_buffer.remove(0, m_pos);
        m_pos = 0;
    }
}

std::optional<QByteArray> HttpResponseParser::takeLine(qsizetype limit, qsizetype cap, const char *what)
{
    const qsizetype lf = m_buffer.indexOf('\n', m_pos);
    const qsizetype length = (lf < 0 ? m_buffer.size() : lf + 1) - m_pos; // with the LF
    if (length > limit) {
        fail(QStringLiteral("the %1 is longer than %2 bytes").arg(QLatin1String(what)).arg(cap));
        return std::nullopt;
    }
    if (lf < 0)
        return std::nullopt;
    qsizetype end = lf;
    if (end > m_pos && m_buffer.at(end - 1) == '\r')
        --end;
    QByteArray line = m_buffer.sliced(m_pos, end - m_pos);
    m_pos = lf + 1;
    m_headBytes += length;
    return line;
}

bool HttpResponseParser::parseStatusLine(const QByteArray &line)
{
    // HTTP/1.x SP 3DIGIT [SP reason]
    const bool versionOk = line.size() >= 12 && line.startsWith("HTTP/1.") && std::isdigit(uchar(line[7])) &&
                           line[8] == ' ' && std::isdigit(uchar(line[9])) && std::isdigit(uchar(line[10])) &&
                           std::isdigit(uchar(line[11])) && (line.size() == 12 || line[12] == ' ');
    if (!versionOk) {
        fail(QStringLiteral("not an HTTP/1.x status line: \"%1\"").arg(printable(line)));
        return false;
    }
    const int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (status < 100 || status > 599) {
        fail(QStringLiteral("invalid status code %1").arg(status));
        return false;
    }
    const QByteArray reason = line.mid(13);
    if (!isFieldText(reason)) {
        fail(QStringLiteral("control character in the reason phrase"));
        return false;
    }
    m_head = HttpResponseHead{};
    m_head.versionMinor = line[7] - '0';
    m_head.status = status;
    m_head.reason = reason;
    return true;
}

bool HttpResponseParser::parseHeaderLine(const QByteArray &line, RawHeaders &into)
{
    if (isBlank(line.front())) {
        // Obsolete line folding: the line continues the previous field's value.
        if (into.isEmpty()) {
            fail(QStringLiteral("a folded header line with no header before it"));
            return false;
        }
        const QByteArray more = trimBlanks(line);
        if (!isFieldText(more)) {
            fail(QStringLiteral("control character in the value of header %1")
                     .arg(QString::fromLatin1(into.back().first)));
            return false;
        }
        if (!more.isEmpty())
            into.back().second += ' ' + more;
        return true;
    }
    const qsizetype colon = line.indexOf(':');
    if (colon <= 0) {
        fail(QStringLiteral("a header line without a name and colon: \"%1\"").arg(printable(line)));
        return false;
    }
    const QByteArray name = line.first(colon);
    for (const char c : name) {
        if (!isTokenChar(c)) {
            fail(isBlank(c) ? QStringLiteral("whitespace before the colon in header \"%1\"")
                                  .arg(printable(trimBlanks(name)))
                            : QStringLiteral("invalid character in header name \"%1\"").arg(printable(name)));
            return false;
        }
    }
    const QByteArray value = trimBlanks(QByteArrayView(line).sliced(colon + 1));
    if (!isFieldText(value)) {
        fail(QStringLiteral("control character in the value of header %1").arg(QString::fromLatin1(name)));
        return false;
    }
    into.append({name, value});
    return true;
}

bool HttpResponseParser::startBody()
{
    m_remaining = 0;
    if (m_head.status == 204 || m_head.status == 304) {
        m_framing = Framing::None;
        m_state = State::Done;
        return true;
    }
    const QList<QByteArray> encodings = listElements(m_head.headerValues("transfer-encoding"));
    if (!m_head.headerValues("transfer-encoding").isEmpty()) {
        if (!m_head.headerValues("content-length").isEmpty()) {
            fail(QStringLiteral("both Transfer-Encoding and Content-Length in one response"));
            return false;
        }
        // We never send TE or Accept-Encoding, so "chunked" alone is the only coding a server may use.
        if (encodings.size() != 1 || encodings.front().compare("chunked", Qt::CaseInsensitive) != 0) {
            fail(QStringLiteral("unsupported Transfer-Encoding \"%1\"")
                     .arg(QString::fromLatin1(m_head.headerValues("transfer-encoding").join(", "))));
            return false;
        }
        m_framing = Framing::Chunked;
        m_state = State::ChunkSize;
        return true;
    }
    if (!m_head.headerValues("content-length").isEmpty()) {
        // Every element must be digits (RFC 9110: Content-Length = 1*DIGIT; a list of equal values is
        // tolerated), so an empty one fails here rather than being skipped as listElements() would.
        QList<QByteArray> elements;
        for (const QByteArray &value : m_head.headerValues("content-length"))
            for (const QByteArray &element : value.split(','))
                elements << trimBlanks(element);
        std::optional<qint64> length;
        for (const QByteArray &v : elements) {
            const bool digits = !v.isEmpty() && v.size() <= kMaxLengthDigits &&
                                std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
            if (!digits) {
                fail(QStringLiteral("invalid Content-Length \"%1\"").arg(printable(v)));
                return false;
            }
            const qint64 n = v.toLongLong();
            if (length && *length != n) {
                fail(QStringLiteral("conflicting Content-Length values %1 and %2").arg(*length).arg(n));
                return false;
            }
            length = n;
        }
        Q_ASSERT(length); // split() yields at least one element, and each was checked
        m_framing = Framing::Length;
        m_remaining = *length;
        m_state = m_remaining > 0 ? State::Body : State::Done;
        return true;
    }
    m_framing = Framing::UntilClose;
    m_state = State::Body;
    return true;
}

bool HttpResponseParser::parseChunkSize(const QByteArray &line)
{
    qsizetype i = 0;
    qint64 size = 0;
    while (i < line.size() && std::isxdigit(uchar(line[i]))) {
        if (i == kMaxChunkSizeDigits) {
            fail(QStringLiteral("chunk size \"%1\" is too large").arg(printable(line)));
            return false;
        }
        const char c = line[i];
        size = size * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        ++i;
    }
    qsizetype j = i;
    while (j < line.size() && isBlank(line[j]))
        ++j;
    // After the size: nothing, or extensions after a ';' (ignored, as RFC 9112 lets a recipient do).
    if (i == 0 || (j < line.size() && line[j] != ';') || !isFieldText(QByteArrayView(line).sliced(j))) {
        fail(QStringLiteral("invalid chunk size line \"%1\"").arg(printable(line)));
        return false;
    }
    m_remaining = size;
    if (size == 0) {
        m_headBytes = 0; // the trailers have their own allowance
        m_state = State::Trailers;
    } else {
        m_state = State::ChunkData;
    }
    return true;
}

HttpResponseParser::Event HttpResponseParser::next()
{
    bool progress = true;
    while (progress && m_state != State::Done && m_state != State::Failed) {
        progress = false;
        const qsizetype available = m_buffer.size() - m_pos;
        switch (m_state) {
        case State::StatusLine:
        case State::Headers: {
            const std::optional<QByteArray> line =
                takeLine(m_maxHeadBytes - m_headBytes, m_maxHeadBytes, "response head");
            if (!line)
                break;
            progress = true;
            if (m_state == State::StatusLine) {
                if (parseStatusLine(*line))
                    m_state = State::Headers;
            } else if (!line->isEmpty()) {
                parseHeaderLine(*line, m_head.headers);
            } else if (m_head.status < 200) {
                if (m_head.status == 101) {
                    fail(QStringLiteral("unexpected 101 Switching Protocols"));
                } else {
                    // An interim response (100 Continue, 103 Early Hints): the final one follows.
                    m_headBytes = 0;
                    m_state = State::StatusLine;
                }
            } else {
                m_headDone = true;
                startBody();
            }
            break;
        }
        case State::Body: {
            if (available == 0)
                break;
            qsizetype n = available;
            if (m_framing == Framing::Length)
                n = qsizetype(std::min<qint64>(n, m_remaining));
            m_body.append(QByteArrayView(m_buffer).sliced(m_pos, n));
            m_pos += n;
            progress = true;
            if (m_framing == Framing::Length) {
                m_remaining -= n;
                if (m_remaining == 0)
                    m_state = State::Done;
            }
            break;
        }
        case State::ChunkSize: {
            if (const std::optional<QByteArray> line =
                    takeLine(kMaxChunkLineBytes, kMaxChunkLineBytes, "chunk size line")) {
                parseChunkSize(*line);
                progress = true;
            }
            break;
        }
        case State::ChunkData: {
            if (available == 0)
                break;
            const qsizetype n = qsizetype(std::min<qint64>(available, m_remaining));
            m_body.append(QByteArrayView(m_buffer).sliced(m_pos, n));
            m_pos += n;
            m_remaining -= n;
            if (m_remaining == 0)
                m_state = State::ChunkDataEnd;
            progress = true;
            break;
        }
        case State::ChunkDataEnd: {
            if (available == 0)
                break;
            const char first = m_buffer.at(m_pos);
            if (first == '\n') {
                m_pos += 1;
            } else if (first != '\r') {
                fail(QStringLiteral("chunk data not followed by CRLF"));
                break;
            } else if (available < 2) {
                break;
            } else if (m_buffer.at(m_pos + 1) != '\n') {
                fail(QStringLiteral("chunk data not followed by CRLF"));
                break;
            } else {
                m_pos += 2;
            }
            m_state = State::ChunkSize;
            progress = true;
            break;
        }
        case State::Trailers: {
            const std::optional<QByteArray> line =
                takeLine(m_maxHeadBytes - m_headBytes, m_maxHeadBytes, "trailer section");
            if (!line)
                break;
            progress = true;
            if (line->isEmpty())
                m_state = State::Done;
            else
                parseHeaderLine(*line, m_trailers);
            break;
        }
        case State::Done:
        case State::Failed:
            break;
        }
    }
    compact();

    // At the end of the connection nothing more can arrive: what could not be parsed now never will.
    if (m_eof && m_state != State::Done && m_state != State::Failed) {
        if (m_state == State::Body && m_framing == Framing::UntilClose)
            m_state = State::Done;
        else if (m_received == 0)
            fail(QStringLiteral("the connection closed before any response"));
        else if (!m_headDone)
            fail(QStringLiteral("the connection closed in the middle of the response head"));
        else if (m_framing == Framing::Length)
            fail(
                QStringLiteral("the connection closed %1 bytes before the end of the body").arg(m_remaining));
        else
            fail(QStringLiteral("the connection closed in the middle of the chunked body"));
    }

    if (m_headDone && !m_headReported) {
        m_headReported = true;
        return Event::Head;
    }
    if (!m_body.isEmpty())
        return Event::Body;
    if (m_state == State::Failed)
        return Event::Error;
    if (m_state == State::Done)
        return Event::Complete;
    return Event::NeedMore;
}

} // namespace sluice
