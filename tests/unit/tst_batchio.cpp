// BatchReader and BatchResultWriter: every malformed line names its line and its problem; result lines have
// the Batches API's exact shapes plus Sluice's metadata; the API key never reaches the output.
#include "batchio.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace sluice;

namespace {

const QByteArray kParams =
    R"({"model":"claude-sim","max_tokens":16,"messages":[{"role":"user","content":"hi"}]})";

QByteArray lineWith(const QByteArray &fields)
{
    return "{" + fields + "}";
}

QJsonObject parseLine(const QByteArray &line)
{
    QJsonParseError e{};
    const QJsonDocument doc = QJsonDocument::fromJson(line, &e);
    if (e.error != QJsonParseError::NoError)
        qWarning() << "not JSON:" << line;
    return doc.object();
}

} // namespace

class TestBatchIo : public QObject
{
    Q_OBJECT

private slots:
    void parsesAGoodLine_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("customId");
        QTest::addColumn<int>("priority");
        QTest::addRow("no priority") << lineWith(R"("custom_id":"q-1","params":)" + kParams) << "q-1" << 0;
        QTest::addRow("priority 5") << lineWith(R"("custom_id":"q-1","priority":5,"params":)" + kParams)
                                    << "q-1" << 5;
        QTest::addRow("negative") << lineWith(R"("custom_id":"q-1","priority":-3,"params":)" + kParams)
                                  << "q-1" << -3;
        QTest::addRow("integral float")
            << lineWith(R"("custom_id":"a b","priority":2.0,"params":)" + kParams) << "a b" << 2;
        QTest::addRow("CRLF") << lineWith(R"("custom_id":"q-1","params":)" + kParams) + "\r"
                              << "q-1" << 0;
        QTest::addRow("unknown key ignored")
            << lineWith(R"("custom_id":"q-1","extra":[1],"params":)" + kParams) << "q-1" << 0;
    }
    void parsesAGoodLine()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, customId);
        QFETCH(int, priority);
        BatchReader reader;
        const BatchReader::Parsed p = reader.parse(text, 12);
        QCOMPARE(p.kind, BatchReader::Kind::Request);
        QCOMPARE(p.request.line, 12);
        QCOMPARE(p.request.customId, customId);
        QCOMPARE(p.request.priority, priority);
        QCOMPARE(p.request.params, QJsonDocument::fromJson(kParams).object());
        QCOMPARE(p.customId, QJsonValue(customId));
        QVERIFY(p.error.isEmpty());
    }

    void byteOrderMarkIsIgnored()
    {
        const QByteArray text = "\xEF\xBB\xBF" + lineWith(R"("custom_id":"q-1","params":)" + kParams);
        BatchReader reader;
        const BatchReader::Parsed p = reader.parse(text, 1);
        QCOMPARE(p.kind, BatchReader::Kind::Request);
        QCOMPARE(p.request.customId, QStringLiteral("q-1"));
    }

    void blankLinesAreSkipped_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addRow("empty") << QByteArray();
        QTest::addRow("spaces") << QByteArray("   ");
        QTest::addRow("tabs and CR") << QByteArray("\t \r");
    }
    void blankLinesAreSkipped()
    {
        QFETCH(QByteArray, text);
        BatchReader reader;
        const BatchReader::Parsed p = reader.parse(text, 3);
        QCOMPARE(p.kind, BatchReader::Kind::Blank);
        QVERIFY(p.error.isEmpty());
    }

    void malformedLinesNameTheLine_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("error");
        QTest::addColumn<QJsonValue>("customId");
        const QJsonValue none(QJsonValue::Null);
        QTest::addRow("not JSON") << QByteArray("{oops")
                                  << "line 7: not JSON (unterminated object at character 3)" << none;
        QTest::addRow("truncated") << QByteArray(R"({"custom_id":"q-1")")
                                   << "line 7: not JSON (unterminated string at character 19)" << none;
        QTest::addRow("array") << QByteArray("[1,2]") << "line 7: not a JSON object (got an array)" << none;
        QTest::addRow("custom_id missing")
            << lineWith(R"("params":)" + kParams) << "line 7: custom_id is missing" << none;
        QTest::addRow("custom_id number") << lineWith(R"("custom_id":5,"params":)" + kParams)
                                          << "line 7: custom_id must be a string, got a number" << none;
        QTest::addRow("custom_id null") << lineWith(R"("custom_id":null,"params":)" + kParams)
                                        << "line 7: custom_id must be a string, got null" << none;
        QTest::addRow("custom_id empty")
            << lineWith(R"("custom_id":"","params":)" + kParams) << "line 7: custom_id is empty" << none;
        QTest::addRow("params missing")
            << lineWith(R"("custom_id":"q-1")") << "line 7: params is missing" << QJsonValue("q-1");
        QTest::addRow("params string")
            << lineWith(R"("custom_id":"q-1","params":"hello")")
            << "line 7: params must be an object, got a string" << QJsonValue("q-1");
        QTest::addRow("params array")
            << lineWith(R"("custom_id":"q-1","params":[])")
            << "line 7: params must be an object, got an array" << QJsonValue("q-1");
        QTest::addRow("priority string")
            << lineWith(R"("custom_id":"q-1","priority":"high","params":)" + kParams)
            << "line 7: priority must be an integer, got a string" << QJsonValue("q-1");
        QTest::addRow("priority bool")
            << lineWith(R"("custom_id":"q-1","priority":true,"params":)" + kParams)
            << "line 7: priority must be an integer, got a boolean" << QJsonValue("q-1");
        QTest::addRow("priority fraction")
            << lineWith(R"("custom_id":"q-1","priority":1.5,"params":)" + kParams)
            << "line 7: priority must be an integer, got 1.5" << QJsonValue("q-1");
        QTest::addRow("priority huge")
            << lineWith(R"("custom_id":"q-1","priority":1e12,"params":)" + kParams)
            << "line 7: priority 1000000000000 is out of range (-2147483648..2147483647)"
            << QJsonValue("q-1");
    }
    void malformedLinesNameTheLine()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, error);
        QFETCH(QJsonValue, customId);
        BatchReader reader;
        const BatchReader::Parsed p = reader.parse(text, 7);
        QCOMPARE(p.kind, BatchReader::Kind::Error);
        QCOMPARE(p.error, error);
        QCOMPARE(p.customId, customId);
    }

    void duplicateCustomIdNamesTheFirstLine()
    {
        BatchReader reader;
        QCOMPARE(reader.parse(lineWith(R"("custom_id":"q-1","params":)" + kParams), 2).kind,
                 BatchReader::Kind::Request);
        QCOMPARE(reader.parse(lineWith(R"("custom_id":"q-2","params":)" + kParams), 3).kind,
                 BatchReader::Kind::Request);
        const BatchReader::Parsed dup = reader.parse(lineWith(R"("custom_id":"q-1","params":)" + kParams), 9);
        QCOMPARE(dup.kind, BatchReader::Kind::Error);
        QCOMPARE(dup.error, QStringLiteral("line 9: custom_id \"q-1\" duplicates line 2"));
        // No usable id: its result must not overwrite line 2's under the same key.
        QCOMPARE(dup.customId, QJsonValue(QJsonValue::Null));
    }

    void aBadLineStillClaimsItsCustomId()
    {
        BatchReader reader;
        QCOMPARE(reader.parse(lineWith(R"("custom_id":"q-1")"), 1).kind, BatchReader::Kind::Error);
        const BatchReader::Parsed again =
            reader.parse(lineWith(R"("custom_id":"q-1","params":)" + kParams), 2);
        QCOMPARE(again.error, QStringLiteral("line 2: custom_id \"q-1\" duplicates line 1"));
    }

    void succeededShape()
    {
        BatchResult r;
        r.customId = QStringLiteral("q-1");
        r.type = BatchResult::Type::Succeeded;
        r.message = QJsonObject{{"id", "msg_1"}, {"type", "message"}, {"content", QJsonArray{}}};
        r.meta = BatchMeta{4, 2, 1500, 210, 3000, "req_abc", {}, {}};
        const QByteArray text = BatchResultWriter().line(r);
        QVERIFY(text.endsWith('\n'));
        QCOMPARE(text.count('\n'), 1);
        const QJsonObject o = parseLine(text);
        QCOMPARE(o.keys(), (QStringList{"custom_id", "result", "sluice"}));
        QCOMPARE(o["custom_id"].toString(), QStringLiteral("q-1"));
        QCOMPARE(o["result"].toObject(), (QJsonObject{{"type", "succeeded"}, {"message", r.message}}));
        QCOMPARE(o["sluice"].toObject(), (QJsonObject{{"line", 4},
                                                      {"attempts", 2},
                                                      {"queue_wait_ms", 1500},
                                                      {"latency_ms", 210},
                                                      {"finished_ms", 3000},
                                                      {"request_id", "req_abc"},
                                                      {"error_kind", QJsonValue::Null}}));
    }

    void erroredShape()
    {
        BatchResult r;
        r.customId = QJsonValue::Null;
        r.type = BatchResult::Type::Errored;
        r.errorType = QStringLiteral("invalid_request_error");
        r.errorMessage = QStringLiteral("line 3: custom_id is missing");
        r.meta.line = 3;
        r.meta.errorKind = QStringLiteral("bad_request");
        const QJsonObject o = parseLine(BatchResultWriter().line(r));
        QVERIFY(o["custom_id"].isNull());
        QCOMPARE(o["result"].toObject(),
                 (QJsonObject{
                     {"type", "errored"},
                     {"error",
                      QJsonObject{{"type", "error"},
                                  {"error", QJsonObject{{"type", "invalid_request_error"},
                                                        {"message", "line 3: custom_id is missing"}}}}}}));
        const QJsonObject meta = o["sluice"].toObject();
        QCOMPARE(meta["line"].toInt(), 3);
        QCOMPARE(meta["attempts"].toInt(), 0);
        QCOMPARE(meta["error_kind"].toString(), QStringLiteral("bad_request"));
        QVERIFY(meta["request_id"].isNull());
        QVERIFY(!meta.contains("reason"));
    }

    void canceledShape()
    {
        BatchResult r;
        r.customId = QStringLiteral("q-9");
        r.type = BatchResult::Type::Canceled;
        r.meta.line = 11;
        r.meta.errorKind = QStringLiteral("cancelled");
        r.meta.reason = QStringLiteral("interrupted before it was sent");
        const QJsonObject o = parseLine(BatchResultWriter().line(r));
        QCOMPARE(o["result"].toObject(), (QJsonObject{{"type", "canceled"}}));
        QCOMPARE(o["sluice"].toObject()["reason"].toString(),
                 QStringLiteral("interrupted before it was sent"));
        QCOMPARE(o["sluice"].toObject()["line"].toInt(), 11);
    }

    void keyNeverWritten_data()
    {
        QTest::addColumn<int>("type");
        QTest::addRow("succeeded") << int(BatchResult::Type::Succeeded);
        QTest::addRow("errored") << int(BatchResult::Type::Errored);
        QTest::addRow("canceled") << int(BatchResult::Type::Canceled);
    }
    void keyNeverWritten()
    {
        QFETCH(int, type);
        const QString key = QStringLiteral("sk-ant-api03-SECRET_key-123");
        BatchResult r;
        r.customId = QStringLiteral("echo ") + key;
        r.type = BatchResult::Type(type);
        r.message = QJsonObject{
            {"content", QJsonArray{QJsonObject{{"type", "text"}, {"text", "your key is " + key}}}}};
        r.errorType = QStringLiteral("authentication_error");
        r.errorMessage = QStringLiteral("invalid x-api-key: ") + key;
        r.meta.requestId = key;
        r.meta.reason = key;
        const QByteArray text = BatchResultWriter(key).line(r);
        QVERIFY2(!text.contains(key.toUtf8()), text.constData());
        QVERIFY2(!text.contains("SECRET"), text.constData());
        QVERIFY(text.contains("[redacted]"));
        QVERIFY(!parseLine(text).isEmpty()); // still valid JSON
    }

    void emptySecretChangesNothing()
    {
        BatchResult r;
        r.customId = QStringLiteral("q-1");
        r.type = BatchResult::Type::Errored;
        r.errorMessage = QStringLiteral("boom");
        QCOMPARE(BatchResultWriter().line(r), BatchResultWriter(QString()).line(r));
        QVERIFY(!BatchResultWriter().line(r).contains("redacted"));
    }
};

QTEST_GUILESS_MAIN(TestBatchIo)
#include "tst_batchio.moc"
