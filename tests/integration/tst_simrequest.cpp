// SimRequest: the simulator's validation (the API's wording) and its input-token heuristic. Pure: no sockets.
#include "simrequest.h"

#include <QJsonDocument>
#include <QTest>

using namespace sluice::sim;

class TestSimRequest : public QObject
{
    Q_OBJECT
private slots:
    void rejects_data();
    void rejects();
    void accepts_data();
    void accepts();
    void countTokensNeedsNoMaxTokens();
    void promptHashDependsOnPromptOnly();
};

void TestSimRequest::rejects_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("message");
    const QByteArray msgs = R"("messages":[{"role":"user","content":"Hi"}])";
    QTest::addRow("not json") << QByteArray("{nope") << QString(); // message checked by prefix below
    QTest::addRow("not an object") << QByteArray("[1]")
                                   << "Input should be a valid dictionary or object to extract fields from";
    QTest::addRow("model missing") << ("{\"max_tokens\":5," + msgs + "}") << "model: Field required";
    QTest::addRow("model not string")
        << ("{\"model\":5,\"max_tokens\":5," + msgs + "}") << "model: Input should be a valid string";
    QTest::addRow("model empty") << ("{\"model\":\"\",\"max_tokens\":5," + msgs + "}")
                                 << "model: String should have at least 1 character";
    QTest::addRow("max_tokens missing") << ("{\"model\":\"m\"," + msgs + "}") << "max_tokens: Field required";
    QTest::addRow("max_tokens string") << ("{\"model\":\"m\",\"max_tokens\":\"5\"," + msgs + "}")
                                       << "max_tokens: Input should be a valid integer";
    QTest::addRow("max_tokens fraction") << ("{\"model\":\"m\",\"max_tokens\":2.5," + msgs + "}")
                                         << "max_tokens: Input should be a valid integer";
    QTest::addRow("max_tokens 0") << ("{\"model\":\"m\",\"max_tokens\":0," + msgs + "}")
                                  << "max_tokens: Input should be greater than or equal to 1";
    QTest::addRow("max_tokens too large")
        << ("{\"model\":\"m\",\"max_tokens\":70000," + msgs + "}")
        << "max_tokens: 70000 > 64000, which is the maximum allowed number of "
           "output tokens for m";
    QTest::addRow("messages missing")
        << QByteArray(R"({"model":"m","max_tokens":5})") << "messages: Field required";
    QTest::addRow("messages not a list") << QByteArray(R"({"model":"m","max_tokens":5,"messages":{}})")
                                         << "messages: Input should be a valid list";
    QTest::addRow("messages empty") << QByteArray(R"({"model":"m","max_tokens":5,"messages":[]})")
                                    << "messages: at least one message is required";
    QTest::addRow("bad role")
        << QByteArray(R"({"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]})")
        << "messages.0.role: Input should be 'user' or 'assistant'";
    QTest::addRow("role missing") << QByteArray(
                                         R"({"model":"m","max_tokens":5,"messages":[{"content":"x"}]})")
                                  << "messages.0.role: Field required";
    QTest::addRow("first not user")
        << QByteArray(
               R"({"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":"x"},{"role":"user","content":"y"}]})")
        << "messages: first message must use the \"user\" role";
    QTest::addRow("content number")
        << QByteArray(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":5}]})")
        << "messages.0.content: Input should be a valid string or a list of content blocks";
    QTest::addRow("content missing") << QByteArray(
                                            R"({"model":"m","max_tokens":5,"messages":[{"role":"user"}]})")
                                     << "messages.0.content: Field required";
    QTest::addRow("block without type")
        << QByteArray(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"text":"x"}]}]})")
        << "messages.0.content.0.type: Field required";
    QTest::addRow("empty user content")
        << QByteArray(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":""}]})")
        << "messages.0: all messages must have non-empty content except for the optional final assistant "
           "message";
    QTest::addRow("temperature high")
        << ("{\"model\":\"m\",\"max_tokens\":5,\"temperature\":1.5," + msgs + "}")
        << "temperature: Input should be less than or equal to 1";
    QTest::addRow("temperature negative")
        << ("{\"model\":\"m\",\"max_tokens\":5,\"temperature\":-0.1," + msgs + "}")
        << "temperature: Input should be greater than or equal to 0";
    QTest::addRow("stream not bool") << ("{\"model\":\"m\",\"max_tokens\":5,\"stream\":1," + msgs + "}")
                                     << "stream: Input should be a valid boolean";
}

void TestSimRequest::rejects()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, message);
    SimRequest r;
    QString error;
    QVERIFY(!SimRequest::parse(body, SimRequest::Kind::Messages, 64000, &r, &error));
    if (message.isEmpty())
        QVERIFY2(error.startsWith("There was an error parsing the body of your request"), qPrintable(error));
    else
        QCOMPARE(error, message);
}

void TestSimRequest::accepts_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("inputTokens");
    QTest::addColumn<bool>("stream");
    QTest::addRow("hello world")
        << QByteArray(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hello, world"}]})")
        << 10 << false;
    // 3 + (2 + ceil(13/4)=4) + (4 + ceil(5/4)=2) = 15
    QTest::addRow("system prompt")
        << QByteArray(
               R"({"model":"m","max_tokens":5,"system":"You are terse","messages":[{"role":"user","content":"Hello"}]})")
        << 15 << false;
    // 3 + (4 + 1 + 1) + (4 + 1) = 14: two text blocks of 1 token each, then a one-token assistant turn
    QTest::addRow("blocks and turns")
        << QByteArray(
               R"({"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"ab"},{"type":"text","text":"cd"}]},{"role":"assistant","content":"ok"}]})")
        << 14 << true;
    // A non-text block counts as its compact JSON: {"source":{"data":"x"},"type":"image"} is 38 chars -> 10
    // tokens.
    QTest::addRow("image block")
        << QByteArray(
               R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"data":"x"}}]}]})")
        << 3 + 4 + 10 << false;
    QTest::addRow("final assistant may be empty")
        << QByteArray(
               R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":""}]})")
        << 3 + 5 + 4 << false;
}

void TestSimRequest::accepts()
{
    QFETCH(QByteArray, body);
    QFETCH(int, inputTokens);
    QFETCH(bool, stream);
    SimRequest r;
    QString error;
    QVERIFY2(SimRequest::parse(body, SimRequest::Kind::Messages, 64000, &r, &error), qPrintable(error));
    QCOMPARE(r.inputTokens, inputTokens);
    QCOMPARE(r.stream, stream);
    QCOMPARE(r.maxTokens, 5);
    QCOMPARE(r.model, QStringLiteral("m"));
}

void TestSimRequest::countTokensNeedsNoMaxTokens()
{
    SimRequest r;
    QString error;
    const QByteArray body =
        R"({"model":"m","stream":true,"messages":[{"role":"user","content":"Hello, world"}]})";
    QVERIFY2(SimRequest::parse(body, SimRequest::Kind::CountTokens, 64000, &r, &error), qPrintable(error));
    QCOMPARE(r.inputTokens, 10);
    QCOMPARE(r.stream, false);
    QVERIFY(!SimRequest::parse(body, SimRequest::Kind::Messages, 64000, &r, &error));
    QCOMPARE(error, QStringLiteral("max_tokens: Field required"));
}

void TestSimRequest::promptHashDependsOnPromptOnly()
{
    SimRequest a, b, c;
    QString error;
    QVERIFY(SimRequest::parse(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]})",
                              SimRequest::Kind::Messages, 64000, &a, &error));
    QVERIFY(SimRequest::parse(
        R"({"model":"n","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"Hi"}]})",
        SimRequest::Kind::Messages, 64000, &b, &error));
    QVERIFY(SimRequest::parse(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Ho"}]})",
                              SimRequest::Kind::Messages, 64000, &c, &error));
    QCOMPARE(a.promptHash, b.promptHash);
    QVERIFY(a.promptHash != c.promptHash);
}

QTEST_GUILESS_MAIN(TestSimRequest)
#include "tst_simrequest.moc"
