#pragma once
// SseParser and StreamAssembler: a streamed Messages response, from raw bytes to the final message.
//
// Design note. The network hands us bytes in chunks of any size, cut anywhere: in the middle of a field name,
// of a multi-byte UTF-8 character, or between the CR and the LF of a CRLF. SseParser is the WHATWG
// "server-sent events" parsing algorithm made incremental: it keeps only the unfinished line and the event
// being built, so feeding a stream in one piece, byte by byte or cut at any position gives the same events
// (the tests check every cut of a recorded stream). A CR at the end of a chunk ends its line at once; a LF at
// the start of the next chunk is then recognised as the second half of that CRLF and skipped, so nothing
// waits on bytes that may never come. Lines are decoded as UTF-8 only once complete, which is why a character
// split across chunks survives.
//   - line ends are LF, CR or CRLF; a line starting with ':' is a comment;
//   - "field: value" drops one leading space; a line with no colon is a field with an empty value;
//   - "data" lines join with '\n'; a blank line dispatches; an event with no data is not dispatched;
//   - the event name defaults to "message"; "id" persists across events;
//   - a leading UTF-8 BOM is dropped; an event left unfinished at end of stream is discarded (finish()).
// A byte budget (default 16 MiB for one line or one event) bounds memory against a hostile server: past it
// the parser stops and reports overflowed().
//
// StreamAssembler consumes those events as the Messages API defines them: message_start, then per content
// block content_block_start, content_block_delta x N, content_block_stop, then message_delta (stop_reason and
// the cumulative usage.output_tokens) and message_stop. ping and unknown event types are ignored (the API may
// add some). An `error` event (it can come after the 200) ends the stream as Failed, with the API's error
// type and message. A stream that ends without message_stop, or whose events contradict the protocol (a delta
// for a block that never started, JSON that does not parse), is Malformed.
//
// Worked example: the events (SSE framing left out)
//   message_start        {"message":{..., "content":[], "usage":{"input_tokens":12,"output_tokens":1}}}
//   content_block_start  {"index":0,"content_block":{"type":"text","text":""}}
//   content_block_delta  {"index":0,"delta":{"type":"text_delta","text":"Hel"}}
//   content_block_delta  {"index":0,"delta":{"type":"text_delta","text":"lo"}}
//   content_block_stop   {"index":0}
//   message_delta        {"delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":6}}
//   message_stop         {}
// give consume() results "", "", "Hel", "lo", "", "", "" and then state() = Complete, text() = "Hello",
// usage() = {inputTokens 12, outputTokens 6}, message()["content"] = [{"type":"text","text":"Hello"}].
//
// Threading: both are plain objects for one thread at a time; no signals, no timers.

#include "transport/attemptoutcome.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QString>

#include <optional>

namespace sluice {

struct SseEvent
{
    QString event; // the event type; "message" when the stream named none
    QString data;  // the data lines joined with '\n' (no trailing newline)
    QString id;    // the last event id seen so far in the stream (ids persist across events)
    bool operator==(const SseEvent &) const = default;
};

class SseParser
{
public:
    static constexpr qsizetype kDefaultMaxEventBytes = 16 * 1024 * 1024;
    explicit SseParser(qsizetype maxEventBytes = kDefaultMaxEventBytes);

    // Parses the next chunk (any size, cut anywhere) and returns the events it completed, in order.
    QList<SseEvent> feed(QByteArrayView chunk);
    // The stream is over. Returns true when it ended on an event boundary; false when an unfinished line or
    // event was left (it is discarded, as the spec says). The parser can then be reused for a new stream.
    bool finish();
    // A line or event grew past maxEventBytes; the parser has stopped and feed() returns nothing more.
    bool overflowed() const { return m_overflowed; }
    // The last `retry:` field (the server's reconnection time in ms), if any.
    std::optional<qint64> retryMs() const { return m_retryMs; }

private:
    void processLine(QByteArrayView line, QList<SseEvent> &out);
    void reset();

    qsizetype m_maxEventBytes;
    QByteArray m_line;      // the unfinished line
    QByteArray m_data;      // data buffer of the event being built (UTF-8), each line followed by '\n'
    QByteArray m_eventType; // event type buffer
    QString m_lastEventId;
    std::optional<qint64> m_retryMs;
    bool m_skipLeadingLf = false; // the previous chunk ended with CR: a LF now is its CRLF partner
    bool m_firstLine = true;      // the BOM check applies to the stream's first line only
    bool m_overflowed = false;
};

class StreamAssembler
{
public:
    enum class State
    {
        Open,      // more events expected
        Complete,  // message_stop seen: the message is final
        Failed,    // an `error` event arrived: errorType()/errorMessage() are the API's
        Malformed, // the events broke the protocol, or the stream ended early: errorMessage() says how
    };

    // Consumes one event and returns the text it appended to the message's text blocks (usually empty).
    // Events after the stream is no longer Open are ignored.
    QString consume(const SseEvent &event);
    // The byte stream ended: an Open stream becomes Malformed (no message_stop).
    void finish();

    State state() const { return m_state; }
    bool isComplete() const { return m_state == State::Complete; }
    // The message assembled so far, shaped like a non-streamed response (content blocks in index order,
    // usage, stop_reason, stop_sequence).
    QJsonObject message() const;
    // The text blocks' text, concatenated in block order.
    QString text() const;
    Usage usage() const { return Usage::fromJson(m_usage); }
    QString stopReason() const { return m_message.value(QLatin1String("stop_reason")).toString(); }
    QString errorType() const { return m_errorType; }
    QString errorMessage() const { return m_errorMessage; }

private:
    void fail(State state, const QString &type, const QString &message);
    QString startBlock(const QJsonObject &data);
    QString applyDelta(const QJsonObject &data);
    void stopBlock(const QJsonObject &data);
    std::optional<int> blockIndex(const QJsonObject &data, bool mustExist);

    State m_state = State::Open;
    bool m_started = false; // message_start seen
    QJsonObject m_message;
    QJsonObject m_usage;
    QMap<int, QJsonObject> m_blocks;
    QMap<int, QString> m_partialJson; // tool_use input arrives as JSON text in pieces
    QString m_errorType;
    QString m_errorMessage;
};

} // namespace sluice
