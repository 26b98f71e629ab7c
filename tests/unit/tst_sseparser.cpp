// SseParser and StreamAssembler: a stream cut anywhere parses the same; the Messages events assemble into the
// message a non-streamed request would have returned.
#include "transport/sseparser.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QTest>

using namespace sluice;

namespace {

QByteArray readData(const char *name)
{
    const QString path = QFINDTESTDATA(QStringLiteral("../data/") + QLatin1String(name));
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot open test data %s", name);
    return f.readAll();
}

// The same stream with every LF replaced by `eol`.
QByteArray withLineEnds(QByteArray lf, const QByteArray &eol)
{
    return lf.replace("\n", eol);
}

QList<SseEvent> parseInChunks(const QByteArray &bytes, const QList<qsizetype> &cuts)
{
    SseParser p;
    QList<SseEvent> out;
    qsizetype from = 0;
    for (qsizetype cut : cuts) {
        out += p.feed(QByteArrayView(bytes).sliced(from, cut - from));
        from = cut;
    }
    out += p.feed(QByteArrayView(bytes).sliced(from));
    return out;
}

QString describe(const QList<SseEvent> &events)
{
    QStringList parts;
    for (const SseEvent &e : events)
        parts << e.event + QLatin1Char('|') + e.data + QLatin1Char('|') + e.id;
    return parts.join(QLatin1String(" ; "));
}

struct Assembled
{
    QStringList deltas;
    StreamAssembler assembler;
};

Assembled assemble(const QList<SseEvent> &events, bool finish = true)
{
    Assembled a;
    for (const SseEvent &e : events)
        if (const QString d = a.assembler.consume(e); !d.isEmpty())
            a.deltas << d;
    if (finish)
        a.assembler.finish();
    return a;
}

SseEvent ev(const QString &event, const QByteArray &json)
{
    return SseEvent{event, QString::fromUtf8(json), QString()};
}

const QString kToolUseText =
    QString::fromUtf8("Okay, let's check the weather in Zürich — 日本語 too 🌤.");

} // namespace

class TestSseParser : public QObject
{
    Q_OBJECT
private slots:
    // ---- SseParser: the spec, line by line ----------------------------------------------------------------
    void spec_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QString>("expected"); // describe() of the events
        QTest::addRow("LF") << QByteArray("event: a\ndata: 1\n\n") << "a|1|";
        QTest::addRow("CRLF") << QByteArray("event: a\r\ndata: 1\r\n\r\n") << "a|1|";
        QTest::addRow("CR") << QByteArray("event: a\rdata: 1\r\r") << "a|1|";
        QTest::addRow("mixed") << QByteArray("event: a\r\ndata: 1\rdata: 2\n\r\n") << "a|1\n2|";
        QTest::addRow("default event name") << QByteArray("data: x\n\n") << "message|x|";
        QTest::addRow("comment") << QByteArray(": keep-alive\ndata: x\n: another\n\n") << "message|x|";
        QTest::addRow("comment only") << QByteArray(":\n\n") << "";
        QTest::addRow("multi-line data")
            << QByteArray("data: a\ndata: b\ndata:\ndata: c\n\n") << "message|a\nb\n\nc|";
        QTest::addRow("no space after colon") << QByteArray("data:x\n\n") << "message|x|";
        QTest::addRow("only one space stripped") << QByteArray("data:  x \n\n") << "message| x |";
        QTest::addRow("field without colon") << QByteArray("data\n\n") << "message||";
        QTest::addRow("event without colon resets name") << QByteArray("event\ndata: x\n\n") << "message|x|";
        QTest::addRow("no data, no event") << QByteArray("event: a\n\ndata: b\n\n") << "message|b|";
        QTest::addRow("unknown field ignored") << QByteArray("foo: bar\ndata: x\n\n") << "message|x|";
        QTest::addRow("id persists") << QByteArray("id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n")
                                     << "message|a|7 ; message|b|7 ; message|c|";
        QTest::addRow("id with NUL ignored")
            << QByteArray("id: 1\n\nid: 2\0x\ndata: a\n\n", 24) << "message|a|1";
        QTest::addRow("retry is not data") << QByteArray("retry: 3000\ndata: a\n\n") << "message|a|";
        QTest::addRow("colon in value")
            << QByteArray("data: {\"a\":\"b:c\"}\n\n") << "message|{\"a\":\"b:c\"}|";
        QTest::addRow("BOM") << QByteArray("\xEF\xBB\xBF"
                                           "data: x\n\n")
                             << "message|x|";
        QTest::addRow("blank lines between") << QByteArray("\n\n\ndata: x\n\n\n\n") << "message|x|";
        QTest::addRow("unfinished event not dispatched") << QByteArray("data: x\n") << "";
        QTest::addRow("UTF-8") << QByteArray("data: Zürich 🌤\n\n")
                               << QString::fromUtf8("message|Zürich 🌤|");
        QTest::addRow("two events") << QByteArray("event: a\ndata: 1\n\nevent: b\ndata: 2\n\n")
                                    << "a|1| ; b|2|";
        QTest::addRow("case matters") << QByteArray("Data: x\n\n") << "";
    }
    void spec()
    {
        QFETCH(QByteArray, input);
        QFETCH(QString, expected);
        SseParser whole;
        QCOMPARE(describe(whole.feed(input)), expected);
        // The same bytes one at a time give the same events.
        SseParser bytewise;
        QList<SseEvent> events;
        for (char c : input)
            events += bytewise.feed(QByteArrayView(&c, 1));
        QCOMPARE(describe(events), expected);
    }

    void retryField()
    {
        SseParser p;
        p.feed("retry: 2500\n\n");
        QCOMPARE(p.retryMs(), 2500);
        p.feed("retry: soon\n\n");
        QCOMPARE(p.retryMs(), 2500);
    }

    void crAtChunkEndThenLf()
    {
        // The CR of a CRLF ends one chunk: the LF that starts the next must not count as a second (blank)
        // line.
        SseParser p;
        QCOMPARE(p.feed("data: a\r").size(), 0);
        QCOMPARE(p.feed("\ndata: b\r").size(), 0);
        const QList<SseEvent> e = p.feed("\n\r\n");
        QCOMPARE(describe(e), QStringLiteral("message|a\nb|"));
        // Two CRs across a boundary are two line ends: the second dispatches.
        SseParser q;
        QCOMPARE(q.feed("data: a\r").size(), 0);
        QCOMPARE(describe(q.feed("\r")), QStringLiteral("message|a|"));
    }

    void finishReportsTruncation()
    {
        SseParser p;
        QCOMPARE(p.feed("data: a\n\ndata: b").size(), 1);
        QVERIFY(!p.finish());
        // Reusable afterwards; a clean end reports true.
        QCOMPARE(describe(p.feed("data: c\n\n")), QStringLiteral("message|c|"));
        QVERIFY(p.finish());
        SseParser q;
        q.feed("event: x\n");
        QVERIFY(!q.finish()); // an event name with no blank line yet is an unfinished event
    }

    void overflowStops()
    {
        SseParser p(16);
        QCOMPARE(p.feed("data: 0123456789\n\n").size(), 1); // the line is 16 bytes, the data 11: both fit
        QVERIFY(!p.overflowed());
        SseParser q(16);
        QCOMPARE(q.feed("data: 0123456789abcdef").size(), 0);
        QVERIFY(q.overflowed());
        QCOMPARE(q.feed("\n\ndata: x\n\n").size(), 0);
        SseParser r(10);
        QCOMPARE(r.feed("data: abc\ndata: def\ndata: ghi\n\n").size(),
                 0); // each line fits, the event does not
        QVERIFY(r.overflowed());
    }

    // ---- The recorded stream cut everywhere
    // ------------------------------------------------------------------
    void everySplitPosition_data()
    {
        QTest::addColumn<QByteArray>("eol");
        QTest::addRow("LF") << QByteArray("\n");
        QTest::addRow("CRLF") << QByteArray("\r\n");
        QTest::addRow("CR") << QByteArray("\r");
    }
    void everySplitPosition()
    {
        QFETCH(QByteArray, eol);
        const QByteArray stream = withLineEnds(readData("stream_tool_use.sse"), eol);
        const QList<SseEvent> reference = SseParser().feed(stream);
        QCOMPARE(reference.size(), 19);
        QCOMPARE(reference.first().event, QStringLiteral("message_start"));
        QCOMPARE(reference.last().event, QStringLiteral("message_stop"));
        const Assembled ref = assemble(reference);
        QVERIFY(ref.assembler.isComplete());
        QCOMPARE(ref.assembler.text(), kToolUseText);

        for (qsizetype cut = 0; cut <= stream.size(); ++cut) {
            const QList<SseEvent> events = parseInChunks(stream, {cut});
            if (events != reference)
                QFAIL(qPrintable(QStringLiteral("cut at byte %1 gives: %2").arg(cut).arg(describe(events))));
            const Assembled a = assemble(events);
            if (a.deltas.join(QString()) != kToolUseText || a.assembler.message() != ref.assembler.message())
                QFAIL(qPrintable(QStringLiteral("cut at byte %1: assembled differently").arg(cut)));
        }
    }

    void oneByteChunksAndRandomChunkings()
    {
        const QByteArray stream = withLineEnds(readData("stream_tool_use.sse"), "\r\n");
        const QList<SseEvent> reference = SseParser().feed(stream);
        QList<qsizetype> everyByte;
        for (qsizetype i = 1; i < stream.size(); ++i)
            everyByte << i;
        QCOMPARE(parseInChunks(stream, everyByte), reference);

        QRandomGenerator rng(20260101); // fixed seed: the same chunkings every run
        for (int round = 0; round < 300; ++round) {
            QList<qsizetype> cuts;
            for (qsizetype at = 0;;) {
                at += 1 + rng.bounded(int(std::min<qsizetype>(64, stream.size())));
                if (at >= stream.size())
                    break;
                cuts << at;
            }
            if (parseInChunks(stream, cuts) != reference)
                QFAIL(qPrintable(QStringLiteral("random chunking %1 differs").arg(round)));
        }
    }

    // ---- StreamAssembler
    // -------------------------------------------------------------------------------------
    void assemblesRecordedStream()
    {
        const Assembled a = assemble(SseParser().feed(readData("stream_tool_use.sse")));
        const StreamAssembler &s = a.assembler;
        QCOMPARE(s.state(), StreamAssembler::State::Complete);
        QCOMPARE(a.deltas,
                 (QStringList{QStringLiteral("Okay"), QStringLiteral(", let"),
                              QStringLiteral("'s check the weather"), QString::fromUtf8(" in Zürich — "),
                              QString::fromUtf8("日本語 too 🌤"), QStringLiteral(".")}));
        QCOMPARE(s.text(), kToolUseText);
        QCOMPARE(s.stopReason(), QStringLiteral("tool_use"));
        QCOMPARE(s.usage(), (Usage{472, 89, 0, 128}));
        const QJsonObject m = s.message();
        QCOMPARE(m.value("id").toString(), QStringLiteral("msg_01XFDUDYJgAACzvnptvVoYEL"));
        QCOMPARE(m.value("usage").toObject().value("output_tokens").toInt(), 89);
        const QJsonArray content = m.value("content").toArray();
        QCOMPARE(content.size(), 2);
        QCOMPARE(content.at(0).toObject(), (QJsonObject{{"type", "text"}, {"text", kToolUseText}}));
        const QJsonObject tool = content.at(1).toObject();
        QCOMPARE(tool.value("name").toString(), QStringLiteral("get_weather"));
        QCOMPARE(tool.value("input").toObject(),
                 (QJsonObject{{"location", QString::fromUtf8("Zürich, CH")}, {"unit", "celsius"}}));
        QVERIFY(s.errorType().isEmpty());
    }

    void errorEventAfterDeltas()
    {
        const Assembled a = assemble(SseParser().feed(readData("stream_overloaded.sse")));
        QCOMPARE(a.assembler.state(), StreamAssembler::State::Failed);
        QCOMPARE(a.deltas, QStringList{QStringLiteral("Partial")});
        QCOMPARE(a.assembler.errorType(), QStringLiteral("overloaded_error"));
        QCOMPARE(a.assembler.errorMessage(), QStringLiteral("Overloaded"));
        QCOMPARE(errorKindForApiErrorType(a.assembler.errorType(), ErrorKind::Server), ErrorKind::Overloaded);
    }

    void truncatedStreamIsMalformed()
    {
        const QByteArray stream = readData("stream_tool_use.sse");
        const qsizetype stop = stream.indexOf("event: message_stop");
        QVERIFY(stop > 0);
        SseParser p;
        Assembled a = assemble(p.feed(stream.left(stop)), false);
        QCOMPARE(a.assembler.state(), StreamAssembler::State::Open);
        QVERIFY(p.finish());
        a.assembler.finish();
        QCOMPARE(a.assembler.state(), StreamAssembler::State::Malformed);
        QCOMPARE(a.assembler.errorMessage(), QStringLiteral("the stream ended before message_stop"));
        // What arrived is still there for a caller that wants it.
        QCOMPARE(a.assembler.text(), kToolUseText);
    }

    void protocolViolations_data()
    {
        QTest::addColumn<QList<SseEvent>>("events");
        QTest::addColumn<QString>("problem");
        const SseEvent start =
            ev("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"content\":[],"
                                "\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}");
        const SseEvent block0 =
            ev("content_block_start",
               "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\"}}");
        QTest::addRow("delta before start")
            << QList<SseEvent>{ev("content_block_delta",
                                  "{\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}")}
            << "content_block_delta before message_start";
        QTest::addRow("delta for a block never started")
            << QList<SseEvent>{start,
                               ev("content_block_delta", "{\"index\":1,\"delta\":{\"type\":\"text_delta\"}}")}
            << "content block 1 was never started";
        QTest::addRow("block started twice")
            << QList<SseEvent>{start, block0, block0} << "content block 0 started twice";
        QTest::addRow("no index") << QList<SseEvent>{start,
                                                     ev("content_block_start", "{\"content_block\":{}}")}
                                  << "a content block event without a valid index";
        QTest::addRow("fractional index")
            << QList<SseEvent>{start, ev("content_block_start", "{\"index\":0.5,\"content_block\":{}}")}
            << "a content block event without a valid index";
        QTest::addRow("data not JSON") << QList<SseEvent>{start, ev("message_delta", "{not json")}
                                       << "message_delta: the data is not a JSON object";
        QTest::addRow("start without message")
            << QList<SseEvent>{ev("message_start", "{\"type\":\"message_start\"}")}
            << "message_start without a message object";
        QTest::addRow("two starts") << QList<SseEvent>{start, start}
                                    << "a second message_start in one stream";
        QTest::addRow("tool input not JSON")
            << QList<SseEvent>{start,
                               ev("content_block_start",
                                  "{\"index\":0,\"content_block\":{\"type\":\"tool_use\"}}"),
                               ev("content_block_delta", "{\"index\":0,\"delta\":{\"type\":\"input_json_"
                                                         "delta\",\"partial_json\":\"[1,\"}}"),
                               ev("content_block_stop", "{\"index\":0}")}
            << "content block 0: its streamed input is not JSON";
        QTest::addRow("stop without start")
            << QList<SseEvent>{ev("message_stop", "{}")} << "message_stop before message_start";
    }
    void protocolViolations()
    {
        QFETCH(QList<SseEvent>, events);
        QFETCH(QString, problem);
        const Assembled a = assemble(events, false);
        QCOMPARE(a.assembler.state(), StreamAssembler::State::Malformed);
        QCOMPARE(a.assembler.errorMessage(), problem);
    }

    void pingAndUnknownEventsAreIgnored()
    {
        const QList<SseEvent> events = {
            ev("ping", "{\"type\":\"ping\"}"),
            ev("message_start",
               "{\"type\":\"message_start\",\"message\":{\"content\":[],\"usage\":{\"input_tokens\":5}}}"),
            ev("future_event", "this is not even JSON"),
            ev("content_block_start", "{\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"Hi\"}}"),
            ev("ping", "{}"),
            ev("content_block_delta", "{\"index\":0,\"delta\":{\"type\":\"future_delta\",\"x\":1}}"),
            ev("content_block_delta",
               "{\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}"),
            ev("content_block_stop", "{\"index\":0}"),
            ev("message_delta", "{\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}"),
            ev("message_stop", "{\"type\":\"message_stop\"}"),
            ev("content_block_delta", "{\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"late\"}}"),
        };
        const Assembled a = assemble(events);
        QCOMPARE(a.assembler.state(), StreamAssembler::State::Complete);
        QCOMPARE(a.deltas, (QStringList{QStringLiteral("Hi"), QStringLiteral(" there")}));
        QCOMPARE(a.assembler.text(), QStringLiteral("Hi there"));
        QCOMPARE(a.assembler.usage(), (Usage{5, 2, 0, 0}));
        QCOMPARE(a.assembler.stopReason(), QStringLiteral("end_turn"));
    }

    void eventNamesMayBeMissing()
    {
        // Without "event:" lines every event is "message"; the data's own "type" names it.
        const QByteArray stream = readData("stream_tool_use.sse");
        QByteArray unnamed;
        for (const QByteArray &line : stream.split('\n'))
            if (!line.startsWith("event:"))
                unnamed += line + '\n';
        const Assembled a = assemble(SseParser().feed(unnamed));
        QCOMPARE(a.assembler.state(), StreamAssembler::State::Complete);
        QCOMPARE(a.assembler.text(), kToolUseText);
    }

    void errorEventWithoutDetails()
    {
        const Assembled a = assemble({ev("error", "garbage")});
        QCOMPARE(a.assembler.state(), StreamAssembler::State::Failed);
        QCOMPARE(a.assembler.errorType(), QString());
        QCOMPARE(a.assembler.errorMessage(), QStringLiteral("the stream reported an error"));
        QCOMPARE(errorKindForApiErrorType(a.assembler.errorType(), ErrorKind::Server), ErrorKind::Server);
    }
};

QTEST_APPLESS_MAIN(TestSseParser)
#include "tst_sseparser.moc"
