// SimServer over real loopback sockets: shapes, limits, headers, faults, seeding, control, stats, keys.
// Talks HTTP with QNetworkAccessManager (and a raw QTcpSocket where framing itself is under test); every wait
// is bounded.
#include "simserver.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTest>

using namespace sluice::sim;

namespace {

constexpr int kWaitMs = 5000;

struct Response
{
    int status = 0;
    QNetworkReply::NetworkError error = QNetworkReply::NoError;
    QByteArray body;
    QHash<QByteArray, QByteArray> headers; // lower-case names
    qint64 elapsedMs = 0;
    const QJsonObject json() const { return QJsonDocument::fromJson(body).object(); }
    QByteArray header(const QByteArray &name) const { return headers.value(name); }
};

struct SseEvent
{
    QByteArray name;
    QByteArray data;
    const QJsonObject json() const { return QJsonDocument::fromJson(data).object(); }
};

QList<SseEvent> parseSse(const QByteArray &body)
{
    QList<SseEvent> events;
    for (const QByteArray &block : body.split('\n')) {
        if (block.startsWith("event: "))
            events.append({block.mid(7), {}});
        else if (block.startsWith("data: ") && !events.isEmpty())
            events.last().data = block.mid(6);
    }
    return events;
}

QByteArray messageBody(const QString &prompt, int maxTokens = 100, bool stream = false)
{
    QJsonObject body{{"model", "claude-sim"},
                     {"max_tokens", maxTokens},
                     {"messages", QJsonArray{QJsonObject{{"role", "user"}, {"content", prompt}}}}};
    if (stream)
        body.insert("stream", true);
    return QJsonDocument(body).toJson(QJsonDocument::Compact);
}

class Client
{
public:
    explicit Client(const QUrl &base)
        : m_base(base)
    {}

    QNetworkReply *start(const QByteArray &method, const QString &path, const QByteArray &body = {},
                         const QList<QPair<QByteArray, QByteArray>> &headers = {})
    {
        QNetworkRequest request(m_base.resolved(QUrl(path)));
        request.setHeader(QNetworkRequest::ContentTypeHeader, "application/json");
        request.setRawHeader("anthropic-version", "2023-06-01");
        for (const auto &h : headers)
            request.setRawHeader(h.first, h.second);
        return m_nam.sendCustomRequest(request, method, body);
    }

    static Response finish(QNetworkReply *reply, int timeoutMs = kWaitMs)
    {
        Response r;
        QElapsedTimer timer;
        timer.start();
        if (!reply->isFinished()) {
            QSignalSpy spy(reply, &QNetworkReply::finished);
            if (!spy.wait(timeoutMs)) {
                reply->abort();
                r.error = QNetworkReply::TimeoutError;
            }
        }
        r.elapsedMs = timer.elapsed();
        if (r.error == QNetworkReply::NoError)
            r.error = reply->error();
        r.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        r.body = reply->readAll();
        for (const auto &pair : reply->rawHeaderPairs())
            r.headers.insert(pair.first.toLower(), pair.second);
        reply->deleteLater();
        return r;
    }

    Response send(const QByteArray &method, const QString &path, const QByteArray &body = {},
                  const QList<QPair<QByteArray, QByteArray>> &headers = {})
    {
        QElapsedTimer timer;
        timer.start();
        Response r = finish(start(method, path, body, headers));
        r.elapsedMs = timer.elapsed();
        return r;
    }
    Response post(const QString &path, const QByteArray &body,
                  const QList<QPair<QByteArray, QByteArray>> &headers = {})
    {
        return send("POST", path, body, headers);
    }
    Response messages(const QByteArray &body) { return post("/v1/messages", body); }
    const QJsonObject stats() { return send("GET", "/stats").json(); }

private:
    QUrl m_base;
    QNetworkAccessManager m_nam;
};

// One HTTP/1.1 request written by hand, for tests of the framing itself.
QByteArray rawRequest(const QByteArray &body, quint16 port)
{
    return "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port) +
           "\r\ncontent-type: application/json\r\ncontent-length: " + QByteArray::number(body.size()) +
           "\r\n\r\n" + body;
}

// Reads one response with a Content-Length body from `socket`; empty if none arrives in time.
QByteArray readOneResponse(QTcpSocket &socket)
{
    QByteArray buffer;
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < kWaitMs) {
        buffer += socket.readAll();
        const qsizetype end = buffer.indexOf("\r\n\r\n");
        if (end >= 0) {
            const qsizetype at = buffer.toLower().indexOf("content-length: ");
            const qsizetype eol = buffer.indexOf("\r\n", at);
            const int length = buffer.mid(at + 16, eol - at - 16).toInt();
            if (buffer.size() >= end + 4 + length)
                return buffer.left(end + 4 + length);
        }
        // The server runs in this thread: wait in the event loop (QSignalSpy), never in waitForReadyRead().
        QSignalSpy readable(&socket, &QTcpSocket::readyRead);
        if (!readable.wait(100) && socket.state() != QAbstractSocket::ConnectedState)
            break;
    }
    return {};
}

} // namespace

class TestSimServer : public QObject
{
    Q_OBJECT
private:
    std::unique_ptr<SimServer> m_server;
    std::unique_ptr<Client> m_client;

    const QJsonObject serverStats() const { return m_server->stats(); }

    void start(const SimOptions &options)
    {
        m_client.reset();
        m_server = std::make_unique<SimServer>(options);
        QVERIFY(m_server->listen());
        QVERIFY(m_server->port() != 0);
        m_client = std::make_unique<Client>(m_server->baseUrl());
    }

private slots:
    void cleanup()
    {
        m_client.reset();
        m_server.reset();
    }

    void listensOnLoopbackAndReportsItsUrl();
    void messageShape();
    void maxTokensCapsTheReply();
    void streamShapeAndDeltasAddUp();
    void validationErrors_data();
    void validationErrors();
    void unknownRouteAndWrongMethod();
    void sixtyRpmAdmitsOnePerSecond();
    void rateLimitHeadersOnSuccess();
    void tokenRemainingIsRoundedUnlessAskedNotTo_data();
    void tokenRemainingIsRoundedUnlessAskedNotTo();
    void inputTokenLimit();
    void outputTokensReservedThenSettled();
    void concurrencyLimit();
    void countTokensMatchesUsage_data();
    void countTokensMatchesUsage();
    void countTokensHasItsOwnLimit();
    void faultStatuses_data();
    void faultStatuses();
    void faultResetDropsTheConnection_data();
    void faultResetDropsTheConnection();
    void faultStallNeverAnswers();
    void faultMalformedBody();
    void faultsMidStream_data();
    void faultsMidStream();
    void seededRunsRepeat();
    void optionsChangeAtRuntime();
    void controlRoute();
    void statsCounters();
    void apiKeyChecks_data();
    void apiKeyChecks();
    void keepAliveServesSeveralRequestsOnOneConnection();
    void latencyAndTimePerToken();
    void requestTooLarge();
    void optionsValidation_data();
    void optionsValidation();
    void optionsJsonRoundTrip();
};

void TestSimServer::listensOnLoopbackAndReportsItsUrl()
{
    start({});
    QCOMPARE(m_server->baseUrl(), QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_server->port())));
    SimServer second({});
    QVERIFY(!second.listen(m_server->port())); // taken
}

void TestSimServer::messageShape()
{
    SimOptions o;
    o.outputTokens = 5;
    start(o);
    const Response r = m_client->messages(messageBody("Hello, world"));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.header("content-type"), QByteArray("application/json"));
    QVERIFY(r.header("request-id").startsWith("req_"));
    const QJsonObject m = r.json();
    QVERIFY(m.value("id").toString().startsWith("msg_"));
    QCOMPARE(m.value("type").toString(), "message");
    QCOMPARE(m.value("role").toString(), "assistant");
    QCOMPARE(m.value("model").toString(), "claude-sim");
    QCOMPARE(m.value("stop_reason").toString(), "end_turn");
    QVERIFY(m.value("stop_sequence").isNull());
    const QJsonArray content = m.value("content").toArray();
    QCOMPARE(content.size(), 1);
    QCOMPARE(content.at(0)["type"].toString(), "text");
    QCOMPARE(content.at(0)["text"].toString().split(' ').size(), 5); // one word per token
    QCOMPARE(m["usage"]["input_tokens"].toInt(), 10);                // 3 + 4 + ceil(12 / 4)
    QCOMPARE(m["usage"]["output_tokens"].toInt(), 5);
}

void TestSimServer::maxTokensCapsTheReply()
{
    start({}); // natural length 16..48 tokens
    const QJsonObject m = m_client->messages(messageBody("Tell me a story", 3)).json();
    QCOMPARE(m["usage"]["output_tokens"].toInt(), 3);
    QCOMPARE(m["stop_reason"].toString(), "max_tokens");
}

void TestSimServer::streamShapeAndDeltasAddUp()
{
    SimOptions o;
    o.outputTokens = 7;
    start(o);
    const Response plain = m_client->messages(messageBody("Stream me"));
    const Response r = m_client->messages(messageBody("Stream me", 100, true));
    QCOMPARE(r.status, 200);
    QVERIFY(r.header("content-type").startsWith("text/event-stream"));
    QVERIFY(r.header("request-id").startsWith("req_"));
    QVERIFY(r.headers.contains("anthropic-ratelimit-requests-limit") == false); // no limits configured
    const QList<SseEvent> events = parseSse(r.body);
    QStringList names;
    QString text;
    for (const SseEvent &e : events) {
        names << QString::fromLatin1(e.name);
        QCOMPARE(e.json().value("type").toString(), QString::fromLatin1(e.name)); // every data is valid JSON
        if (e.name == "content_block_delta") {
            QCOMPARE(e.json()["delta"]["type"].toString(), "text_delta");
            text += e.json()["delta"]["text"].toString();
        }
    }
    // 7 tokens in deltas of up to 3: three deltas.
    QCOMPARE(names, QStringList({"message_start", "content_block_start", "ping", "content_block_delta",
                                 "content_block_delta", "content_block_delta", "content_block_stop",
                                 "message_delta", "message_stop"}));
    QCOMPARE(text, plain.json()["content"][0]["text"].toString());
    QCOMPARE(events.first().json()["message"]["usage"]["input_tokens"].toInt(), 10); // 3 + 4 + ceil(9 / 4)
    QCOMPARE(events.at(7).json()["usage"]["output_tokens"].toInt(), 7);
    QCOMPARE(events.at(7).json()["delta"]["stop_reason"].toString(), "end_turn");
}

void TestSimServer::validationErrors_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("message");
    QTest::addRow("max_tokens missing")
        << QByteArray(R"({"model":"m","messages":[{"role":"user","content":"x"}]})")
        << "max_tokens: Field required";
    QTest::addRow("messages empty") << QByteArray(R"({"model":"m","max_tokens":5,"messages":[]})")
                                    << "messages: at least one message is required";
    QTest::addRow("model missing") << QByteArray(
                                          R"({"max_tokens":5,"messages":[{"role":"user","content":"x"}]})")
                                   << "model: Field required";
    QTest::addRow("temperature")
        << QByteArray(
               R"({"model":"m","max_tokens":5,"temperature":2,"messages":[{"role":"user","content":"x"}]})")
        << "temperature: Input should be less than or equal to 1";
}

void TestSimServer::validationErrors()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, message);
    start({});
    const Response r = m_client->messages(body);
    QCOMPARE(r.status, 400);
    const QJsonObject e = r.json();
    QCOMPARE(e["type"].toString(), "error");
    QCOMPARE(e["error"]["type"].toString(), "invalid_request_error");
    QCOMPARE(e["error"]["message"].toString(), message);
    QCOMPARE(e["request_id"].toString().toLatin1(), r.header("request-id"));
    QCOMPARE(r.header("x-should-retry"), QByteArray("false"));
    QCOMPARE(m_client->stats()["errors"]["invalid_request_400"].toInt(), 1);
}

void TestSimServer::unknownRouteAndWrongMethod()
{
    start({});
    const Response missing = m_client->send("GET", "/v1/nothing");
    QCOMPARE(missing.status, 404);
    QCOMPARE(missing.json()["error"]["type"].toString(), "not_found_error");
    const Response wrong = m_client->send("GET", "/v1/messages");
    QCOMPARE(wrong.status, 405);
    QCOMPARE(wrong.json()["error"]["type"].toString(), "invalid_request_error");
    QCOMPARE(wrong.header("allow"), QByteArray("POST"));
}

void TestSimServer::sixtyRpmAdmitsOnePerSecond()
{
    SimOptions o;
    o.requestsPerMinute = 60;
    start(o);
    QElapsedTimer sinceFirst;
    sinceFirst.start();
    const Response first = m_client->messages(messageBody("one"));
    QCOMPARE(first.status, 200);
    QCOMPARE(first.header("anthropic-ratelimit-requests-limit"), QByteArray("60"));
    QCOMPARE(first.header("anthropic-ratelimit-requests-remaining"), QByteArray("0"));

    const Response second = m_client->messages(messageBody("two"));
    QCOMPARE(second.status, 429);
    QCOMPARE(second.header("retry-after"), QByteArray("1"));
    QCOMPARE(second.header("anthropic-ratelimit-requests-remaining"), QByteArray("0"));
    QCOMPARE(second.header("x-should-retry"), QByteArray("true"));
    const QJsonObject e = second.json();
    QCOMPARE(e["error"]["type"].toString(), "rate_limit_error");
    QVERIFY2(e["error"]["message"].toString().contains("60 requests per minute"),
             qPrintable(e["error"]["message"].toString()));
    QVERIFY(second.header("request-id").startsWith("req_"));

    // Retrying after retry-after succeeds (the bucket holds one request and refills one per second).
    QTest::qWait(int(std::max<qint64>(0, 1020 - sinceFirst.elapsed())));
    QCOMPARE(m_client->messages(messageBody("three")).status, 200);
    QCOMPARE(m_client->messages(messageBody("four")).status, 429);
    const QJsonObject s = m_client->stats();
    QCOMPARE(s["rate_limited"]["requests"].toInt(), 2);
    QCOMPARE(s["admitted"].toInt(), 2);
}

void TestSimServer::rateLimitHeadersOnSuccess()
{
    SimOptions o;
    o.requestsPerMinute = 600;      // capacity 10
    o.inputTokensPerMinute = 60000; // capacity 1000
    o.outputTokensPerMinute = 6000; // capacity 100: the most restrictive token limit
    o.roundTokenRemaining = false;
    o.outputTokens = 5;
    start(o);
    const QDateTime before = QDateTime::currentDateTimeUtc();
    const Response r = m_client->messages(messageBody("Hello, world", 50));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.header("anthropic-ratelimit-requests-limit"), QByteArray("600"));
    QCOMPARE(r.header("anthropic-ratelimit-requests-remaining"), QByteArray("9"));
    QCOMPARE(r.header("anthropic-ratelimit-input-tokens-limit"), QByteArray("60000"));
    QCOMPARE(r.header("anthropic-ratelimit-input-tokens-remaining"), QByteArray("990"));
    QCOMPARE(r.header("anthropic-ratelimit-output-tokens-limit"), QByteArray("6000"));
    QCOMPARE(r.header("anthropic-ratelimit-output-tokens-remaining"),
             QByteArray("50")); // max_tokens reserved
    QCOMPARE(r.header("anthropic-ratelimit-tokens-limit"), QByteArray("6000"));
    QCOMPARE(r.header("anthropic-ratelimit-tokens-remaining"), QByteArray("50"));
    for (const QByteArray name : {"requests", "input-tokens", "output-tokens", "tokens"}) {
        const QByteArray value = r.header("anthropic-ratelimit-" + name + "-reset");
        QVERIFY2(value.endsWith('Z'), value.constData());
        const QDateTime reset = QDateTime::fromString(QString::fromLatin1(value), Qt::ISODate);
        QVERIFY2(reset.isValid(), value.constData());
        QVERIFY(reset >= before.addSecs(-1));
        QVERIFY(reset <= before.addSecs(3));
    }
}

void TestSimServer::tokenRemainingIsRoundedUnlessAskedNotTo_data()
{
    QTest::addColumn<bool>("round");
    QTest::addColumn<QByteArray>("remaining");
    QTest::addRow("rounded to the nearest thousand") << true << QByteArray("10000");
    QTest::addRow("exact") << false << QByteArray("9990");
}

void TestSimServer::tokenRemainingIsRoundedUnlessAskedNotTo()
{
    QFETCH(bool, round);
    QFETCH(QByteArray, remaining);
    SimOptions o;
    o.inputTokensPerMinute = 600000; // capacity 10,000
    o.roundTokenRemaining = round;
    start(o);
    const Response r = m_client->messages(messageBody("Hello, world"));
    QCOMPARE(r.header("anthropic-ratelimit-input-tokens-remaining"), remaining);
}

void TestSimServer::inputTokenLimit()
{
    SimOptions o;
    o.inputTokensPerMinute = 600; // capacity 10 tokens, 10 per second
    o.roundTokenRemaining = false;
    start(o);
    QCOMPARE(m_client->messages(messageBody("Hello, world")).status, 200); // exactly 10 tokens
    const Response r = m_client->messages(messageBody("Hello, world"));
    QCOMPARE(r.status, 429);
    QCOMPARE(r.header("retry-after"), QByteArray("1"));
    QCOMPARE(r.header("anthropic-ratelimit-input-tokens-remaining"), QByteArray("0"));
    QVERIFY(r.json()["error"]["message"].toString().contains("600 input tokens per minute"));
    QCOMPARE(m_client->stats()["rate_limited"]["input_tokens"].toInt(), 1);
}

void TestSimServer::outputTokensReservedThenSettled()
{
    SimOptions o;
    o.outputTokensPerMinute = 6000; // capacity 100 tokens, 100 per second
    o.outputTokens = 5;
    o.roundTokenRemaining = false;
    start(o);
    // Reserves 100 (max_tokens), produces 5: 95 come back when the response ends.
    const Response first = m_client->messages(messageBody("a", 100));
    QCOMPARE(first.status, 200);
    QCOMPARE(first.header("anthropic-ratelimit-output-tokens-remaining"), QByteArray("0"));
    // 100 more does not fit at once (about 95 left)...
    const Response tooMuch = m_client->messages(messageBody("b", 100));
    QCOMPARE(tooMuch.status, 429);
    QCOMPARE(tooMuch.header("retry-after"), QByteArray("1"));
    QCOMPARE(tooMuch.header("anthropic-ratelimit-output-tokens-remaining"), QByteArray("0"));
    QVERIFY(tooMuch.json()["error"]["message"].toString().contains("6,000 output tokens per minute"));
    // ...but 90 does: the unused reservation was refunded.
    QCOMPARE(m_client->messages(messageBody("c", 90)).status, 200);
    const QJsonObject s = m_client->stats();
    QCOMPARE(s["rate_limited"]["output_tokens"].toInt(), 1);
    QCOMPARE(s["output_tokens_produced"].toInt(), 10);
}

void TestSimServer::concurrencyLimit()
{
    SimOptions o;
    o.concurrency = 1;
    o.latencyMeanMs = 400;
    start(o);
    QNetworkReply *slow = m_client->start("POST", "/v1/messages", messageBody("slow"));
    QTRY_COMPARE_WITH_TIMEOUT(serverStats()["in_flight"].toInt(), 1, kWaitMs);
    const Response refused = m_client->messages(messageBody("fast"));
    QCOMPARE(refused.status, 429);
    QCOMPARE(refused.header("retry-after"), QByteArray("1"));
    QVERIFY(refused.json()["error"]["message"].toString().contains("concurrent"));
    QCOMPARE(Client::finish(slow).status, 200);
    QCOMPARE(serverStats()["in_flight"].toInt(), 0);
    QCOMPARE(m_client->messages(messageBody("after")).status, 200);
    QCOMPARE(serverStats()["rate_limited"]["concurrency"].toInt(), 1);
}

void TestSimServer::countTokensMatchesUsage_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("expected");
    QTest::addRow("string")
        << QByteArray(R"({"model":"m","max_tokens":9,"messages":[{"role":"user","content":"Hello, world"}]})")
        << 10;
    QTest::addRow("system and turns")
        << QByteArray(
               R"({"model":"m","max_tokens":9,"system":"Be brief.","messages":[{"role":"user","content":"What is a sluice?"},{"role":"assistant","content":"A gate."},{"role":"user","content":[{"type":"text","text":"More, please."}]}]})")
        << 3 + (2 + 3) + (4 + 5) + (4 + 2) + (4 + 4);
    QTest::addRow("tools")
        << QByteArray(
               R"({"model":"m","max_tokens":9,"tools":[{"name":"t","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"Hi"}]})")
        << 3 + (4 + 1) + 12; // compact tools JSON is 47 characters
}

void TestSimServer::countTokensMatchesUsage()
{
    QFETCH(QByteArray, body);
    QFETCH(int, expected);
    start({});
    const Response counted = m_client->post("/v1/messages/count_tokens", body);
    QCOMPARE(counted.status, 200);
    QCOMPARE(counted.json()["input_tokens"].toInt(), expected);
    const Response used = m_client->messages(body);
    QCOMPARE(used.status, 200);
    QCOMPARE(used.json()["usage"]["input_tokens"].toInt(), expected);
}

void TestSimServer::countTokensHasItsOwnLimit()
{
    SimOptions o;
    o.requestsPerMinute = 60;
    o.countTokensRequestsPerMinute = 60;
    start(o);
    const QByteArray body = messageBody("Hello, world");
    QCOMPARE(m_client->post("/v1/messages/count_tokens", body).status, 200);
    const Response limited = m_client->post("/v1/messages/count_tokens", body);
    QCOMPARE(limited.status, 429);
    QCOMPARE(limited.header("retry-after"), QByteArray("1"));
    QCOMPARE(m_client->messages(body).status, 200); // the Messages bucket is untouched
    QCOMPARE(m_client->stats()["rate_limited"]["count_tokens_requests"].toInt(), 1);
}

void TestSimServer::faultStatuses_data()
{
    QTest::addColumn<QString>("option");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("type");
    QTest::addColumn<QString>("counter");
    QTest::addRow("500") << "p500" << 500 << "api_error"
                         << "api_error_500";
    QTest::addRow("529") << "p529" << 529 << "overloaded_error"
                         << "overloaded_529";
}

void TestSimServer::faultStatuses()
{
    QFETCH(QString, option);
    QFETCH(int, status);
    QFETCH(QString, type);
    QFETCH(QString, counter);
    SimOptions o;
    QString error;
    QVERIFY(SimOptions::fromJson(QJsonObject{{option, 1.0}}, SimOptions{}, &o, &error));
    start(o);
    for (bool stream : {false, true}) {
        const Response r = m_client->messages(messageBody("x", 10, stream));
        QCOMPARE(r.status, status);
        QCOMPARE(r.json()["type"].toString(), "error");
        QCOMPARE(r.json()["error"]["type"].toString(), type);
        QCOMPARE(r.header("x-should-retry"), QByteArray("true"));
    }
    QCOMPARE(m_client->stats()["faults"][counter].toInt(), 2);
}

void TestSimServer::faultResetDropsTheConnection_data()
{
    QTest::addColumn<bool>("stream");
    QTest::addColumn<int>("deltas");
    QTest::addRow("before the response") << false << 0;
    QTest::addRow("mid-stream, after two deltas") << true << 2;
}

void TestSimServer::faultResetDropsTheConnection()
{
    QFETCH(bool, stream);
    QFETCH(int, deltas);
    SimOptions o;
    o.pReset = 1;
    o.outputTokens = 12;
    start(o);
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, m_server->port());
    QVERIFY(socket.waitForConnected(kWaitMs));
    QSignalSpy disconnected(&socket, &QTcpSocket::disconnected);
    QByteArray received;
    connect(&socket, &QTcpSocket::readyRead, this, [&] { received += socket.readAll(); });
    socket.write(rawRequest(messageBody("x", 100, stream), m_server->port()));
    QVERIFY(disconnected.wait(kWaitMs));
    received += socket.readAll();
    QCOMPARE(socket.error(), QAbstractSocket::RemoteHostClosedError); // ECONNRESET
    if (stream) {
        QVERIFY(received.startsWith("HTTP/1.1 200 OK\r\n"));
        QVERIFY(!received.contains("message_stop"));
    } else {
        QCOMPARE(received, QByteArray()); // not one byte of a response
    }
    QCOMPARE(received.count("event: content_block_delta"), deltas);
    QCOMPARE(m_client->stats()["faults"]["reset"].toInt(), 1);
    QCOMPARE(m_client->stats()["in_flight"].toInt(), 0);
}

void TestSimServer::faultStallNeverAnswers()
{
    SimOptions o;
    o.pStall = 1;
    o.outputTokensPerMinute = 6000;
    o.roundTokenRemaining = false;
    start(o);
    QNetworkReply *reply = m_client->start("POST", "/v1/messages", messageBody("x", 40));
    QSignalSpy finished(reply, &QNetworkReply::finished);
    QVERIFY(!finished.wait(600)); // no answer
    QCOMPARE(serverStats()["in_flight"].toInt(), 1);
    reply
        ->abort(); // the client gives up: the server frees the slot and settles the reservation to 0 produced
    reply->deleteLater();
    QTRY_COMPARE_WITH_TIMEOUT(serverStats()["in_flight"].toInt(), 0, kWaitMs);
    QCOMPARE(serverStats()["faults"]["stall"].toInt(), 1);
    QCOMPARE(serverStats()["output_tokens_produced"].toInt(), 0);
}

void TestSimServer::faultMalformedBody()
{
    SimOptions o;
    o.pMalformed = 1;
    start(o);
    const Response r = m_client->messages(messageBody("x"));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.error, QNetworkReply::NoError); // framing is intact: only the JSON is broken
    QJsonParseError parse;
    QJsonDocument::fromJson(r.body, &parse);
    QVERIFY(parse.error != QJsonParseError::NoError);
    QVERIFY(r.body.startsWith("{"));
    QCOMPARE(m_client->stats()["faults"]["malformed"].toInt(), 1);
}

void TestSimServer::faultsMidStream_data()
{
    QTest::addColumn<QString>("option");
    QTest::addColumn<QString>("counter");
    QTest::addRow("error event") << "pStreamError"
                                 << "stream_error";
    QTest::addRow("malformed event") << "pMalformed"
                                     << "malformed";
    QTest::addRow("reset") << "pReset"
                           << "reset";
}

void TestSimServer::faultsMidStream()
{
    QFETCH(QString, option);
    QFETCH(QString, counter);
    SimOptions o;
    QString error;
    QVERIFY(SimOptions::fromJson(QJsonObject{{option, 1.0}, {"outputTokens", 12}}, SimOptions{}, &o, &error));
    start(o);
    const Response r = m_client->messages(messageBody("x", 100, true));
    QCOMPARE(r.status, 200);
    const QList<SseEvent> events = parseSse(r.body);
    QVERIFY(!events.isEmpty());
    QCOMPARE(events.first().name, QByteArray("message_start"));
    int deltas = 0;
    for (const SseEvent &e : events)
        deltas += e.name == "content_block_delta" && !e.json().isEmpty() ? 1 : 0;
    QCOMPARE(deltas, 2); // the fault comes after two deltas (of the four)
    QVERIFY(events.last().name != "message_stop");
    if (counter == "stream_error") {
        QCOMPARE(r.error, QNetworkReply::NoError);
        QCOMPARE(events.last().name, QByteArray("error"));
        QCOMPARE(events.last().json()["error"]["type"].toString(), "overloaded_error");
    } else if (counter == "malformed") {
        QCOMPARE(events.last().name, QByteArray("content_block_delta"));
        QVERIFY(events.last().json().isEmpty()); // its data is not JSON
    } else {
        // The RST itself is asserted in faultResetDropsTheConnection with a raw socket: Qt 6.4's QNAM reports
        // a chunked body cut off by a reset as complete (NoError), so a client must insist on message_stop.
        QVERIFY(!r.body.contains("message_stop"));
    }
    QCOMPARE(m_client->stats()["faults"][counter].toInt(), 1);
    QCOMPARE(m_client->stats()["output_tokens_produced"].toInt(), 6);
}

void TestSimServer::seededRunsRepeat()
{
    auto run = [this](quint64 seed) {
        SimOptions o;
        o.p500 = 0.3;
        o.p529 = 0.3;
        o.seed = seed;
        start(o);
        QList<int> statuses;
        QString firstText;
        for (int i = 0; i < 20; ++i) {
            const Response r = m_client->messages(messageBody(QStringLiteral("prompt %1").arg(i)));
            statuses << r.status;
            if (r.status == 200 && firstText.isEmpty())
                firstText = r.json()["content"][0]["text"].toString();
        }
        return std::make_pair(statuses, firstText);
    };
    const auto a = run(42);
    const auto b = run(42);
    const auto c = run(43);
    QCOMPARE(a, b);
    QVERIFY(a.first != c.first);
    QVERIFY(a.first.contains(200) && a.first.contains(500) && a.first.contains(529));
}

void TestSimServer::optionsChangeAtRuntime()
{
    SimOptions o;
    o.requestsPerMinute = 60;
    start(o);
    QCOMPARE(m_client->messages(messageBody("a")).status, 200);
    QCOMPARE(m_client->messages(messageBody("b")).status, 429);
    o.requestsPerMinute = 0; // unlimited
    QVERIFY(m_server->setOptions(o));
    QCOMPARE(m_client->messages(messageBody("c")).status, 200);
    o.p529 = 1;
    QVERIFY(m_server->setOptions(o));
    QCOMPARE(m_client->messages(messageBody("d")).status, 529);
    SimOptions bad = o;
    bad.p500 = 1.5;
    QVERIFY(!m_server->setOptions(bad));
    QCOMPARE(m_server->options().p500, 0.0);
    QCOMPARE(m_server->options(), o);
}

void TestSimServer::controlRoute()
{
    start({});
    const Response changed =
        m_client->post("/control", R"({"p500": 1, "requestsPerMinute": 120, "seed": "7"})");
    QCOMPARE(changed.status, 200);
    QCOMPARE(changed.json()["p500"].toDouble(), 1.0);
    QCOMPARE(changed.json()["requestsPerMinute"].toDouble(), 120.0);
    QCOMPARE(m_server->options().seed, quint64(7));
    QCOMPARE(m_client->messages(messageBody("x")).status, 500);

    const Response shown = m_client->send("GET", "/control");
    QCOMPARE(shown.json()["requestsPerMinute"].toDouble(), 120.0);
    QCOMPARE(shown.json()["apiKeyRequired"].toBool(), false);
    QVERIFY(!shown.json().contains("apiKey"));

    const Response bad = m_client->post("/control", R"({"pStall": 2})");
    QCOMPARE(bad.status, 400);
    QVERIFY2(bad.json()["error"]["message"].toString().contains("pStall"),
             qPrintable(bad.json()["error"]["message"].toString()));
    const Response unknown = m_client->post("/control", R"({"rpm": 2})");
    QCOMPARE(unknown.status, 400);
    QCOMPARE(unknown.json()["error"]["message"].toString(), "unknown option: rpm");
    QCOMPARE(m_server->options().pStall, 0.0);
}

void TestSimServer::statsCounters()
{
    SimOptions o;
    o.requestsPerMinute = 120; // capacity 2
    start(o);
    QCOMPARE(m_client->messages(messageBody("a")).status, 200);
    QCOMPARE(m_client->messages(messageBody("b", 10, true)).status, 200);
    QCOMPARE(m_client->messages(messageBody("c")).status, 429);
    QCOMPARE(m_client->messages(R"({"model":"m"})").status, 400);
    QCOMPARE(m_client->send("GET", "/nope").status, 404);
    const QJsonObject s = m_client->stats();
    QCOMPARE(s["received"].toInt(), 4);
    QCOMPARE(s["admitted"].toInt(), 2);
    QCOMPARE(s["succeeded"].toInt(), 2);
    QCOMPARE(s["rate_limited"]["total"].toInt(), 1);
    QCOMPARE(s["rate_limited"]["requests"].toInt(), 1);
    QCOMPARE(s["errors"]["invalid_request_400"].toInt(), 1);
    QCOMPARE(s["errors"]["not_found_404"].toInt(), 1);
    QCOMPARE(s["in_flight"].toInt(), 0);
    QCOMPARE(s["input_tokens_admitted"].toInt(), 16); // 3 + 4 + 1, twice
    int perSecond = 0;
    for (const QJsonValue &n : s["admissions_per_second"].toArray())
        perSecond += n.toInt();
    QCOMPARE(perSecond, 2);
    QCOMPARE(s["max_admissions_per_second"].toInt(), 2);

    QCOMPARE(m_client->post("/stats/reset", {}).status, 200);
    QCOMPARE(m_client->stats()["received"].toInt(), 0);
}

void TestSimServer::apiKeyChecks_data()
{
    QTest::addColumn<QByteArray>("header");
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("message");
    QTest::addRow("no key") << QByteArray() << QByteArray() << 401 << "x-api-key header is required";
    QTest::addRow("wrong x-api-key") << QByteArray("x-api-key") << QByteArray("sk-wrong") << 401
                                     << "invalid x-api-key";
    QTest::addRow("right x-api-key") << QByteArray("x-api-key") << QByteArray("sk-sim-test") << 200
                                     << QString();
    QTest::addRow("right bearer") << QByteArray("authorization") << QByteArray("Bearer sk-sim-test") << 200
                                  << QString();
    QTest::addRow("wrong bearer") << QByteArray("authorization") << QByteArray("Bearer sk-nope") << 401
                                  << "invalid x-api-key";
}

void TestSimServer::apiKeyChecks()
{
    QFETCH(QByteArray, header);
    QFETCH(QByteArray, value);
    QFETCH(int, status);
    QFETCH(QString, message);
    SimOptions o;
    o.apiKey = "sk-sim-test";
    start(o);
    QList<QPair<QByteArray, QByteArray>> headers;
    if (!header.isEmpty())
        headers.append({header, value});
    const Response r = m_client->post("/v1/messages", messageBody("x"), headers);
    QCOMPARE(r.status, status);
    if (status == 401) {
        QCOMPARE(r.json()["error"]["type"].toString(), "authentication_error");
        QCOMPARE(r.json()["error"]["message"].toString(), message);
        QVERIFY(!r.body.contains("sk-")); // the key is never echoed
    }
}

void TestSimServer::keepAliveServesSeveralRequestsOnOneConnection()
{
    SimOptions o;
    o.requestsPerMinute = 60;
    start(o);
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, m_server->port());
    QVERIFY(socket.waitForConnected(kWaitMs));
    socket.write(rawRequest(messageBody("one"), m_server->port()));
    const QByteArray first = readOneResponse(socket);
    QVERIFY2(first.startsWith("HTTP/1.1 200 OK\r\n"), first.left(40).constData());
    socket.write(rawRequest(messageBody("two"), m_server->port()));
    const QByteArray second = readOneResponse(socket);
    QVERIFY2(second.startsWith("HTTP/1.1 429 Too Many Requests\r\n"), second.left(40).constData());
    QVERIFY(second.contains("\r\nretry-after: 1\r\n"));
    QCOMPARE(socket.state(), QAbstractSocket::ConnectedState);
}

void TestSimServer::latencyAndTimePerToken()
{
    SimOptions o;
    o.latencyMeanMs = 150;
    o.msPerOutputToken = 20;
    o.outputTokens = 10;
    start(o);
    const Response plain = m_client->messages(messageBody("x"));
    QCOMPARE(plain.status, 200);
    QVERIFY2(plain.elapsedMs >= 345, qPrintable(QString::number(plain.elapsedMs))); // 150 + 10 * 20
    QVERIFY2(plain.elapsedMs < 3000, qPrintable(QString::number(plain.elapsedMs)));
    const Response streamed = m_client->messages(messageBody("x", 100, true));
    QCOMPARE(streamed.status, 200);
    QVERIFY2(streamed.elapsedMs >= 345, qPrintable(QString::number(streamed.elapsedMs)));
    // Errors that need no generation come back at once.
    const Response invalid = m_client->messages(R"({"model":"m"})");
    QCOMPARE(invalid.status, 400);
    QVERIFY2(invalid.elapsedMs < 140, qPrintable(QString::number(invalid.elapsedMs)));
}

void TestSimServer::requestTooLarge()
{
    SimOptions o;
    o.maxRequestBytes = 100;
    start(o);
    const Response r = m_client->messages(messageBody(QString(200, QLatin1Char('x'))));
    QCOMPARE(r.status, 413);
    QCOMPARE(r.json()["error"]["type"].toString(), "request_too_large");
    QCOMPARE(m_client->stats()["errors"]["too_large_413"].toInt(), 1);
    QCOMPARE(m_client->messages(messageBody("small")).status, 200);
}

void TestSimServer::optionsValidation_data()
{
    QTest::addColumn<QJsonObject>("json");
    QTest::addColumn<QString>("error");
    QTest::addRow("valid") << QJsonObject{{"p500", 0.5}, {"p529", 0.5}, {"concurrency", 4}} << QString();
    QTest::addRow("negative limit") << QJsonObject{{"requestsPerMinute", -1}}
                                    << "requestsPerMinute must be a number >= 0 (got -1)";
    QTest::addRow("probability above 1")
        << QJsonObject{{"pStall", 1.5}} << "pStall is a probability and must be in [0, 1] (got 1.5)";
    QTest::addRow("probabilities add up past 1") << QJsonObject{{"p500", 0.6}, {"p529", 0.6}}
                                                 << "the fault probabilities (p500 + p529 + pReset + pStall "
                                                    "+ pMalformed + pStreamError) add up to 1.2, "
                                                    "more than 1";
    QTest::addRow("zero window") << QJsonObject{{"enforcementWindowSeconds", 0}}
                                 << "enforcementWindowSeconds must be > 0 (got 0)";
    QTest::addRow("fractional concurrency")
        << QJsonObject{{"concurrency", 1.5}} << "concurrency: expected an integer";
    QTest::addRow("bad seed") << QJsonObject{{"seed", "x"}}
                              << "seed: expected a non-negative integer (number or decimal string)";
    QTest::addRow("unknown") << QJsonObject{{"bogus", 1}} << "unknown option: bogus";
}

void TestSimServer::optionsValidation()
{
    QFETCH(QJsonObject, json);
    QFETCH(QString, error);
    SimOptions out;
    QString message;
    QCOMPARE(SimOptions::fromJson(json, SimOptions{}, &out, &message), error.isEmpty());
    QCOMPARE(message, error);
}

void TestSimServer::optionsJsonRoundTrip()
{
    SimOptions o;
    o.requestsPerMinute = 50;
    o.outputTokensPerMinute = 8000;
    o.enforcementWindowSeconds = 2.5;
    o.concurrency = 3;
    o.p529 = 0.25;
    o.seed = 18446744073709551557ULL; // beyond a double's exact integers: written as a string
    o.roundTokenRemaining = false;
    o.apiKey = "sk-secret";
    const QJsonObject json = o.toJson();
    QVERIFY(!json.contains("apiKey"));
    QCOMPARE(json["apiKeyRequired"].toBool(), true);
    SimOptions back;
    QString error;
    QVERIFY2(SimOptions::fromJson(json, SimOptions{}, &back, &error), qPrintable(error));
    back.apiKey = o.apiKey; // never written out, so not read back
    QCOMPARE(back, o);
}

QTEST_GUILESS_MAIN(TestSimServer)
#include "tst_simserver.moc"
