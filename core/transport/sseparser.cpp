#include "sseparser.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QJsonValue>

#include <cmath>

namespace sluice {

// -----------------------------------------------------------------------------------------------------------
// SseParser

SseParser::SseParser(qsizetype maxEventBytes)
    : m_maxEventBytes(maxEventBytes)
{}

QList<SseEvent> SseParser::feed(QByteArrayView chunk)
{
    QList<SseEvent> out;
    if (m_overflowed || chunk.isEmpty())
        return out;
    qsizetype i = 0;
    const qsizetype n = chunk.size();
    if (m_skipLeadingLf) {
        m_skipLeadingLf = false;
        if (chunk[0] == '\n')
            i = 1;
    }
    while (i < n) {
        qsizetype j = i;
        while (j < n && chunk[j] != '\n' && chunk[j] != '\r')
            ++j;
        if (m_line.size() + (j - i) > m_maxEventBytes) {
            m_overflowed = true;
            reset();
            return out;
        }
        m_line.append(chunk.data() + i, j - i);
        if (j == n)
            break; // the line continues in the next chunk
        processLine(m_line, out);
        m_line.clear();
        if (m_overflowed)
            return out;
        if (chunk[j] == '\r') {
            if (j + 1 < n) {
                if (chunk[j + 1] == '\n')
                    ++j;
            } else {
                m_skipLeadingLf = true; // the LF of this CRLF, if any, is in the next chunk
            }
        }
        i = j + 1;
    }
    return out;
}

void SseParser::processLine(QByteArrayView line, QList<SseEvent> &out)
{
    if (m_firstLine) {
        m_firstLine = false;
        if (line.startsWith(QByteArrayView("\xEF\xBB\xBF")))
            line = line.sliced(3);
    }
    if (line.isEmpty()) {
        // Dispatch.
        if (!m_data.isEmpty()) {
            SseEvent e;
            e.event = m_eventType.isEmpty() ? QStringLiteral("message") : QString::fromUtf8(m_eventType);
            e.data = QString::fromUtf8(m_data.constData(), m_data.size() - 1); // drop the last '\n'
            e.id = m_lastEventId;
            out.append(e);
        }
        m_data.clear();
        m_eventType.clear();
        return;
    }
    if (line.front() == ':')
        return; // comment (the API's keep-alives may look like this)
    const qsizetype colon = line.indexOf(':');
    QByteArrayView field = line;
    QByteArrayView value;
    if (colon >= 0) {
        field = line.first(colon);
        value = line.sliced(colon + 1);
        if (value.startsWith(' '))
            value = value.sliced(1);
    }
    if (field == QByteArrayView("event")) {
        m_eventType = value.toByteArray();
    } else if (field == QByteArrayView("data")) {
        if (m_data.size() + value.size() + 1 > m_maxEventBytes) {
            m_overflowed = true;
            reset();
            return;
        }
        m_data.append(value.data(), value.size());
        m_data.append('\n');
    } else if (field == QByteArrayView("id")) {
        if (!value.contains('\0'))
            m_lastEventId = QString::fromUtf8(value);
    } else if (field == QByteArrayView("retry")) {
        bool allDigits = !value.isEmpty() && value.size() <= 15;
        for (char c : value)
            allDigits = allDigits && c >= '0' && c <= '9';
        if (allDigits)
            m_retryMs = QByteArray(value.data(), value.size()).toLongLong();
    }
    // Any other field is ignored, as the spec says.
}

bool SseParser::finish()
{
    const bool clean = !m_overflowed && m_line.isEmpty() && m_data.isEmpty() && m_eventType.isEmpty();
    reset();
    m_lastEventId.clear();
    m_retryMs.reset();
    m_firstLine = true;
    m_overflowed = false;
    return clean;
}

void SseParser::reset()
{
    m_line.clear();
    m_data.clear();
    m_eventType.clear();
    m_skipLeadingLf = false;
}

// -----------------------------------------------------------------------------------------------------------
// StreamAssembler

namespace {

const QLatin1String kType("type");
const QLatin1String kIndex("index");
const QLatin1String kText("text");

// Block indexes are small; anything else is a broken stream, not a reason to allocate.
constexpr int kMaxBlocks = 100000;

} // namespace

void StreamAssembler::fail(State state, const QString &type, const QString &message)
{
    m_state = state;
    m_errorType = type;
    m_errorMessage = message;
}

QString StreamAssembler::consume(const SseEvent &event)
{
    if (m_state != State::Open)
        return {};
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(event.data.toUtf8(), &err);
    const bool isObject = err.error == QJsonParseError::NoError && doc.isObject();
    const QJsonObject data = doc.object();
    // The API names every event twice (SSE event name and data "type"); a stream without event names still
    // works.
    QString type = event.event;
    if (type == QLatin1String("message") && isObject)
        type = data.value(kType).toString();

    if (type == QLatin1String("ping"))
        return {};
    if (type == QLatin1String("error")) {
        const QJsonObject e = data.value(QLatin1String("error")).toObject();
        const QString message = e.value(QLatin1String("message")).toString();
        fail(State::Failed, e.value(kType).toString(),
             message.isEmpty() ? QStringLiteral("the stream reported an error") : message);
        return {};
    }
    static const QStringList known = {
        QStringLiteral("message_start"),       QStringLiteral("content_block_start"),
        QStringLiteral("content_block_delta"), QStringLiteral("content_block_stop"),
        QStringLiteral("message_delta"),       QStringLiteral("message_stop")};
    if (!known.contains(type))
        return {}; // unknown event types are ignored: the API may add some
    if (type == QLatin1String("message_start")) {
        if (m_started) {
            fail(State::Malformed, {}, QStringLiteral("a second message_start in one stream"));
            return {};
        }
        const QJsonObject message = data.value(QLatin1String("message")).toObject();
        if (!isObject || message.isEmpty()) {
            fail(State::Malformed, {}, QStringLiteral("message_start without a message object"));
            return {};
        }
        m_started = true;
        m_message = message;
        m_usage = message.value(QLatin1String("usage")).toObject();
        // Its content is always [] : blocks arrive through content_block_start, so every character of text is
        // reported as a delta exactly once.
        m_message.remove(QLatin1String("content"));
        return {};
    }
    if (!m_started) {
        fail(State::Malformed, {}, type + QStringLiteral(" before message_start"));
        return {};
    }
    if (type == QLatin1String("message_stop")) {
        m_state = State::Complete;
        return {};
    }
    if (!isObject) {
        fail(State::Malformed, {}, type + QStringLiteral(": the data is not a JSON object"));
        return {};
    }
    if (type == QLatin1String("content_block_start"))
        return startBlock(data);
    if (type == QLatin1String("content_block_delta"))
        return applyDelta(data);
    if (type == QLatin1String("content_block_stop")) {
        stopBlock(data);
        return {};
    }
    // message_delta: top-level changes (stop_reason, stop_sequence) and the cumulative usage so far.
    const QJsonObject delta = data.value(QLatin1String("delta")).toObject();
    for (auto it = delta.begin(); it != delta.end(); ++it)
        m_message.insert(it.key(), it.value());
    const QJsonObject usage = data.value(QLatin1String("usage")).toObject();
    for (auto it = usage.begin(); it != usage.end(); ++it)
        if (!it.value().isNull())
            m_usage.insert(it.key(), it.value());
    return {};
}

std::optional<int> StreamAssembler::blockIndex(const QJsonObject &data, bool mustExist)
{
    const QJsonValue v = data.value(kIndex);
    const double d = v.toDouble(-1);
    if (!v.isDouble() || d < 0 || d >= kMaxBlocks || d != std::floor(d)) {
        fail(State::Malformed, {}, QStringLiteral("a content block event without a valid index"));
        return std::nullopt;
    }
    const int index = int(d);
    if (m_blocks.contains(index) != mustExist) {
        fail(State::Malformed, {},
             mustExist ? QStringLiteral("content block %1 was never started").arg(index)
                       : QStringLiteral("content block %1 started twice").arg(index));
        return std::nullopt;
    }
    return index;
}

QString StreamAssembler::startBlock(const QJsonObject &data)
{
    const auto index = blockIndex(data, false);
    if (!index)
        return {};
    const QJsonValue block = data.value(QLatin1String("content_block"));
    if (!block.isObject()) {
        fail(State::Malformed, {}, QStringLiteral("content_block_start without a content_block object"));
        return {};
    }
    const QJsonObject b = block.toObject();
    m_blocks.insert(*index, b);
    return b.value(kType).toString() == kText ? b.value(kText).toString() : QString();
}

QString StreamAssembler::applyDelta(const QJsonObject &data)
{
    const auto index = blockIndex(data, true);
    if (!index)
        return {};
    QJsonObject &block = m_blocks[*index];
    const QJsonObject delta = data.value(QLatin1String("delta")).toObject();
    const QString kind = delta.value(kType).toString();
    auto appendString = [&](QLatin1String field, QLatin1String from) {
        const QString piece = delta.value(from).toString();
        block.insert(field, block.value(field).toString() + piece);
        return piece;
    };
    if (kind == QLatin1String("text_delta")) {
        const QString piece = appendString(kText, kText);
        // Only text blocks make up the message's text; a text_delta elsewhere is kept but not reported.
        return block.value(kType).toString() == kText ? piece : QString();
    }
    if (kind == QLatin1String("input_json_delta"))
        m_partialJson[*index] += delta.value(QLatin1String("partial_json")).toString();
    else if (kind == QLatin1String("thinking_delta"))
        appendString(QLatin1String("thinking"), QLatin1String("thinking"));
    else if (kind == QLatin1String("signature_delta"))
        block.insert(QLatin1String("signature"), delta.value(QLatin1String("signature")));
    else if (kind == QLatin1String("citations_delta")) {
        QJsonArray citations = block.value(QLatin1String("citations")).toArray();
        citations.append(delta.value(QLatin1String("citation")));
        block.insert(QLatin1String("citations"), citations);
    }
    // Unknown delta types are ignored, like unknown events.
    return {};
}

void StreamAssembler::stopBlock(const QJsonObject &data)
{
    const auto index = blockIndex(data, true);
    if (!index)
        return;
    const QString json = m_partialJson.take(*index);
    if (json.isEmpty())
        return;
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(json.toUtf8(), &err);
    if (err.error != QJsonParseError::NoError || !doc.isObject()) {
        fail(State::Malformed, {},
             QStringLiteral("content block %1: its streamed input is not JSON").arg(*index));
        return;
    }
    m_blocks[*index].insert(QLatin1String("input"), doc.object());
}

void StreamAssembler::finish()
{
    if (m_state == State::Open)
        fail(State::Malformed, {}, QStringLiteral("the stream ended before message_stop"));
}

QJsonObject StreamAssembler::message() const
{
    QJsonObject m = m_message;
    QJsonArray content;
    for (const QJsonObject &b : m_blocks)
        content.append(b);
    m.insert(QLatin1String("content"), content);
    m.insert(QLatin1String("usage"), m_usage);
    return m;
}

QString StreamAssembler::text() const
{
    QString t;
    for (const QJsonObject &b : m_blocks)
        if (b.value(kType).toString() == kText)
            t += b.value(kText).toString();
    return t;
}

} // namespace sluice
