#pragma once
// BatchIo: reads Message Batches JSONL input lines and writes result lines (../shared/API-NOTES.md).
//
// Design note. Headless mode promises that every input line is accounted for by exactly one result line, so
// the reader never throws a line away silently: a line it cannot use becomes an error that names the line and
// the problem, and the runner writes it as an `errored` result while the rest of the batch goes on.
//   - Lines are physical lines of the file, numbered from 1. A line that is empty or only whitespace is
//   skipped
//     (it is no request and gets no result) but still counts, so "line 7" is what an editor shows as line 7.
//     A trailing "\r" (CRLF files) and a UTF-8 byte order mark are ignored.
//   - A usable line is a JSON object with a string `custom_id` not seen on an earlier line, a `params` object
//     (the Messages request body, checked further by Dispatcher::submit) and an optional integer `priority`
//     (higher runs first; absent means 0). Other top-level keys are ignored.
//   - A result line for a line without a usable custom_id (missing, not a string, or a duplicate) carries
//     "custom_id": null rather than an invented one: a consumer keying results by custom_id must not have a
//     line's success overwritten by a later duplicate's error. Every result line carries "sluice": {"line":
//     N}, so every input line can still be matched to its result.
//   - Result lines keep the Batches API's shapes exactly, and add one top-level "sluice" object with what
//   Sluice
//     knows about the request: line, attempts, queue_wait_ms, latency_ms (last answered attempt), request_id,
//     error_kind, finished_ms (since the run started), and for `canceled` the reason (the Batches API's
//     canceled result has no field for one).
//   - The API key never appears in a result: the writer replaces every occurrence of it in the serialised
//   line,
//     whatever field an echo might have put it in.
//
// Worked example:
//   BatchReader reader;
//   reader.parse(R"({"custom_id":"q-1","params":{...},"priority":5})", 1)
//       -> Request {line 1, customId "q-1", priority 5}
//   reader.parse("", 2)                                  -> Blank
//   reader.parse(R"({"custom_id":"q-1","params":{...}})", 3)
//       -> Error {line 3, "line 3: custom_id \"q-1\" duplicates line 1"}
//   reader.parse("{oops", 4)          -> Error {"line 4: not JSON (unterminated object at character 3)"}
//   BatchResult r{.customId = "q-1", .type = Succeeded, .message = {...}, .meta = {.line = 1, .attempts =
//   2}}; BatchResultWriter(key).line(r)
//       ->
//       {"custom_id":"q-1","result":{"type":"succeeded","message":{...}},"sluice":{"line":1,"attempts":2,...}}\n
//
// Threading: plain values and functions; BatchReader is not shared between threads.

#include <QByteArray>
#include <QHash>
#include <QJsonObject>
#include <QJsonValue>
#include <QString>

namespace sluice {

// One usable input line.
struct BatchLine
{
    int line = 0; // physical line number, 1-based
    QString customId;
    QJsonObject params;
    int priority = 0;
};

class BatchReader
{
public:
    enum class Kind
    {
        Request, // `request` is filled
        Blank,   // empty or whitespace only: no request, no result
        Error,   // `error` says "line N: why"; `customId` is the line's custom_id if it had a usable one
    };
    struct Parsed
    {
        Kind kind = Kind::Blank;
        BatchLine request;
        QString error;
        QJsonValue customId = QJsonValue::Null; // for the result line: a string, or null when none is usable
    };

    // Parses the physical line `lineNumber` (1-based; the text without its "\n"). Duplicates are detected
    // against every earlier line given to this reader; expected O(length of the line).
    Parsed parse(const QByteArray &text, int lineNumber);

private:
    QHash<QString, int> m_seen; // custom_id -> the line that used it first
};

// The metadata Sluice adds to each result line.
struct BatchMeta
{
    int line = 0;
    int attempts = 0;
    qint64 queueWaitMs = 0;
    qint64 latencyMs = 0;
    qint64 finishedMs = 0; // milliseconds since the run started
    QString requestId;     // the server's request-id of the last answered attempt (empty: none)
    QString errorKind;     // errorKindName() of why it did not succeed (empty when it did)
    QString reason;        // canceled: why
};

struct BatchResult
{
    enum class Type
    {
        Succeeded,
        Errored,
        Canceled,
    };
    QJsonValue customId = QJsonValue::Null;
    Type type = Type::Errored;
    QJsonObject message;  // succeeded: the Messages response
    QString errorType;    // errored: the API's error type ("invalid_request_error", "overloaded_error", ...)
    QString errorMessage; // errored: for people; names the line
    BatchMeta meta;
};

class BatchResultWriter
{
public:
    // `secret` (the API key; may be empty) is replaced by "[redacted]" wherever it would appear.
    explicit BatchResultWriter(const QString &secret = {});

    // One compact JSON result line, ending in "\n".
    QByteArray line(const BatchResult &result) const;
    // The same as a JSON object (not scrubbed: for tests and callers that serialise themselves).
    static QJsonObject toJson(const BatchResult &result);

private:
    QByteArray m_secret;
};

} // namespace sluice
