// HttpClient over real loopback sockets against a scripted server that sees every connection and request.
// The first test is the reason HttpClient exists: a server that resets the connection after reading a POST
// must see that POST once, never again (QNetworkAccessManager in Qt 6.4 sent it a second time). Every wait is
// bounded (QSignalSpy::wait, QTRY_*).
#include "transport/httpclient.h"

#include <QFile>
#include <QNetworkProxy>
#include <QSignalSpy>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslServer>
#include <QSslSocket>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QTimer>

#include <functional>
#include <memory>

#ifdef Q_OS_UNIX
#include <sys/socket.h>
#endif

using namespace sluice;
using namespace std::chrono_literals;

namespace {

constexpr int kWaitMs = 5000;
// How long a test waits, after the client gave up, for a request that must not come.
constexpr int kResendWatchMs = 300;

// Closes with RST instead of FIN: linger on with a zero timeout discards unsent data.
void resetConnection(QTcpSocket *s)
{
#ifdef Q_OS_UNIX
    if (const qintptr fd = s->socketDescriptor(); fd != -1) {
        linger l{1, 0};
        ::setsockopt(int(fd), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
#endif
    s->abort();
}

QByteArray readTestFile(const QString &relative)
{
    QFile f(QFINDTESTDATA(QStringLiteral("../data/") + relative));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot open test data %s", qPrintable(relative));
    return f.readAll();
}

QByteArray ok(const QByteArray &body, const QByteArray &extraHeaders = {})
{
    return "HTTP/1.1 200 OK\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\n" + extraHeaders +
           "\r\n" + body;
}

// A scripted HTTP/1.1 server: reads requests (head and Content-Length body) from each connection and hands
// each complete one to `onRequest`, which answers through the socket as the test wishes.
class ScriptServer
{
public:
    struct Request
    {
        int connection = 0; // 1-based number of the connection it came on
        QByteArray head;
        QByteArray body;
    };
    using Handler = std::function<void(QTcpSocket *socket, const Request &request)>;
    // Sees every read, with what the connection has buffered so far (requests not yet complete included).
    using BytesHandler = std::function<void(QTcpSocket *socket, const QByteArray &buffered)>;

    explicit ScriptServer(std::unique_ptr<QTcpServer> server = std::make_unique<QTcpServer>())
        : m_server(std::move(server))
    {
        QObject::connect(m_server.get(), &QTcpServer::pendingConnectionAvailable, m_server.get(), [this] {
            while (QTcpSocket *s = m_server->nextPendingConnection())
                serve(s);
        });
    }
    bool listen() { return m_server->listen(QHostAddress::LocalHost); }
    QUrl url(const QString &path = QStringLiteral("/v1/messages"),
             const QString &scheme = QStringLiteral("http")) const
    {
        return QUrl(QStringLiteral("%1://127.0.0.1:%2%3").arg(scheme).arg(m_server->serverPort()).arg(path));
    }
    QTcpServer *server() const { return m_server.get(); }

    Handler onRequest;
    BytesHandler onBytes;
    QList<Request> requests;
    int connections = 0;
    int disconnections = 0;
    QList<QPointer<QTcpSocket>> sockets;

private:
    void serve(QTcpSocket *s)
    {
        const int number = ++connections;
        sockets << s;
        auto buffer = std::make_shared<QByteArray>();
        QObject::connect(s, &QTcpSocket::readyRead, s, [this, s, buffer, number] {
            *buffer += s->readAll();
            if (onBytes) {
                onBytes(s, *buffer);
                if (s->state() != QAbstractSocket::ConnectedState)
                    return;
            }
            for (;;) {
                const qsizetype headEnd = buffer->indexOf("\r\n\r\n");
                if (headEnd < 0)
                    return;
                qsizetype length = 0;
                for (const QByteArray &line : buffer->left(headEnd).split('\n'))
                    if (line.toLower().startsWith("content-length:"))
                        length = line.mid(15).trimmed().toLongLong();
                if (buffer->size() < headEnd + 4 + length)
                    return;
                Request r{number, buffer->left(headEnd + 4), buffer->mid(headEnd + 4, length)};
                buffer->remove(0, headEnd + 4 + length);
                requests << r;
                if (onRequest)
                    onRequest(s, r);
                if (s->state() != QAbstractSocket::ConnectedState)
                    return;
            }
        });
        QObject::connect(s, &QTcpSocket::disconnected, s, [this, s] {
            ++disconnections;
            s->deleteLater();
        });
    }

    std::unique_ptr<QTcpServer> m_server;
};

// What one exchange reported, recorded as it happened.
struct Record
{
    QList<QByteArray> pieces;
    bool head = false;
    bool finished = false;
    bool failed = false;
    HttpExchange::Error error = HttpExchange::Error::None;
    QString message;
    bool signalAfterEnd = false;
    QByteArray body() const { return pieces.join(); }
    bool ended() const { return finished || failed; }
};

std::shared_ptr<Record> watch(HttpExchange *x)
{
    auto r = std::make_shared<Record>();
    QObject::connect(x, &HttpExchange::headReceived, x, [r] {
        r->signalAfterEnd |= r->ended();
        r->head = true;
    });
    QObject::connect(x, &HttpExchange::dataReceived, x, [r](const QByteArray &d) {
        r->signalAfterEnd |= r->ended();
        r->pieces << d;
    });
    QObject::connect(x, &HttpExchange::finished, x, [r] {
        r->signalAfterEnd |= r->ended();
        r->finished = true;
    });
    QObject::connect(x, &HttpExchange::failed, x, [r](HttpExchange::Error e, const QString &m) {
        r->signalAfterEnd |= r->ended();
        r->failed = true;
        r->error = e;
        r->message = m;
    });
    return r;
}

const RawHeaders kHeaders{{"content-type", "application/json"}, {"x-api-key", "k"}};

} // namespace

class TestHttpClient : public QObject
{
    Q_OBJECT
private slots:
    // ---- Never a second request ---------------------------------------------------------------------------
    void resetAfterTheRequestIsReportedAndNotResent_data()
    {
        QTest::addColumn<bool>("rst");       // RST (else FIN)
        QTest::addColumn<bool>("keptAlive"); // the failing request goes over a reused connection
        QTest::addRow("reset") << true << false;
        QTest::addRow("close") << false << false;
        QTest::addRow("reset on a kept-alive connection") << true << true;
        QTest::addRow("close on a kept-alive connection") << false << true;
    }
    void resetAfterTheRequestIsReportedAndNotResent()
    {
        QFETCH(bool, rst);
        QFETCH(bool, keptAlive);
        ScriptServer server;
        QVERIFY(server.listen());
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &r) {
            if (r.body == "warm-up")
                s->write(ok("{}"));
            else if (rst)
                resetConnection(s);
            else
                s->disconnectFromHost();
        };
        HttpClient client;
        if (keptAlive) {
            HttpExchange *warm = client.post(server.url(), kHeaders, "warm-up");
            QSignalSpy warmed(warm, &HttpExchange::finished);
            QVERIFY(warmed.wait(kWaitMs));
            QCOMPARE(client.idleConnectionCount(), 1);
        }
        const QByteArray body = "{\"model\":\"m\",\"prompt\":\"bill me once\"}";
        HttpExchange *x = client.post(server.url(), kHeaders, body);
        const auto rec = watch(x);
        QTRY_VERIFY_WITH_TIMEOUT(rec->ended(), kWaitMs);
        QVERIFY(rec->failed);
        QCOMPARE(rec->error, HttpExchange::Error::NoResponse);
        QVERIFY2(rec->message.startsWith(
                     QStringLiteral("no response: the server closed or reset the connection after ")),
                 qPrintable(rec->message));
        QVERIFY2(rec->message.contains(QStringLiteral("may or may not have processed the request")),
                 qPrintable(rec->message));
        QVERIFY(!rec->head);
        QVERIFY(!x->hasHead());
        QCOMPARE(x->error(), HttpExchange::Error::NoResponse);
        QCOMPARE(x->bytesWritten(), x->requestSize());
        QCOMPARE(x->reusedConnection(), keptAlive);

        QTest::qWait(kResendWatchMs); // bounded: a resend would arrive within this
        const qsizetype expected = keptAlive ? 2 : 1;
        QCOMPARE(server.requests.size(), expected);
        QCOMPARE(server.requests.last().body, body);
        QCOMPARE(server.connections, 1);
        QVERIFY(!rec->signalAfterEnd);
        QCOMPARE(client.connectionCount(), 0);
    }

    void resetWhileTheRequestIsBeingRead()
    {
        // The server resets after the head, before a 4 MB body is through: still reported, still once.
        ScriptServer server;
        QVERIFY(server.listen());
        qsizetype heads = -1;
        server.onBytes = [&](QTcpSocket *s, const QByteArray &buffered) {
            if (heads < 0 && buffered.contains("\r\n\r\n")) {
                heads = buffered.count("POST ");
                resetConnection(s);
            }
        };
        HttpClient client;
        const QByteArray body(4 * 1024 * 1024, 'b');
        HttpExchange *x = client.post(server.url(), kHeaders, body);
        const auto rec = watch(x);
        QTRY_VERIFY_WITH_TIMEOUT(rec->ended(), kWaitMs);
        QCOMPARE(rec->error, HttpExchange::Error::NoResponse);
        QVERIFY(x->bytesWritten() > 0);
        QVERIFY2(rec->message.startsWith(QStringLiteral("no response:")), qPrintable(rec->message));
        QTest::qWait(kResendWatchMs);
        QCOMPARE(heads, 1);
        QCOMPARE(server.connections, 1);
        QCOMPARE(server.requests.size(), 0); // never a complete request
    }

    // ---- Keep-alive ---------------------------------------------------------------------------------------
    void keepAliveReusesTheConnection_data()
    {
        QTest::addColumn<QByteArray>("response");
        QTest::addRow("content-length") << ok("hello");
        QTest::addRow("chunked") << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                               "3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n");
        QTest::addRow("100 continue first") << "HTTP/1.1 100 Continue\r\n\r\n" + ok("hello");
    }
    void keepAliveReusesTheConnection()
    {
        QFETCH(QByteArray, response);
        ScriptServer server;
        QVERIFY(server.listen());
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) { s->write(response); };
        HttpClient client;
        for (int i = 1; i <= 3; ++i) {
            HttpExchange *x = client.post(server.url(), kHeaders, "request " + QByteArray::number(i));
            const auto rec = watch(x);
            QTRY_VERIFY_WITH_TIMEOUT(rec->ended(), kWaitMs);
            QVERIFY2(rec->finished, qPrintable(rec->message));
            QCOMPARE(rec->body(), QByteArray("hello"));
            QCOMPARE(x->head().status, 200);
            QCOMPARE(x->reusedConnection(), i > 1);
            QCOMPARE(client.idleConnectionCount(), 1);
            x->deleteLater();
        }
        QCOMPARE(server.connections, 1);
        QCOMPARE(server.requests.size(), 3);
        QCOMPARE(server.requests.at(2).body, QByteArray("request 3"));
        QCOMPARE(server.requests.at(2).connection, 1);
        QCOMPARE(client.connectionsOpened(), 1);
    }

    void followUpPostedFromFinishedReusesTheConnection()
    {
        ScriptServer server;
        QVERIFY(server.listen());
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) { s->write(ok("x")); };
        HttpClient client;
        HttpExchange *first = client.post(server.url(), kHeaders, "one");
        std::shared_ptr<Record> second;
        QObject::connect(first, &HttpExchange::finished, first,
                         [&] { second = watch(client.post(server.url(), kHeaders, "two")); });
        QTRY_VERIFY_WITH_TIMEOUT(second && second->ended(), kWaitMs);
        QVERIFY(second->finished);
        QCOMPARE(server.connections, 1);
    }

    void serverClosedIdleConnectionIsNotReused()
    {
        ScriptServer server;
        QVERIFY(server.listen());
        // Keep-alive by the headers, but the server hangs up right after the response.
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) {
            s->write(ok("bye"));
            s->disconnectFromHost();
        };
        HttpClient client;
        const auto first = watch(client.post(server.url(), kHeaders, "one"));
        QTRY_VERIFY_WITH_TIMEOUT(first->ended(), kWaitMs);
        QVERIFY(first->finished);
        QTRY_COMPARE_WITH_TIMEOUT(client.connectionCount(), 0, kWaitMs); // noticed the close
        HttpExchange *x = client.post(server.url(), kHeaders, "two");
        const auto second = watch(x);
        QTRY_VERIFY_WITH_TIMEOUT(second->ended(), kWaitMs);
        QVERIFY2(second->finished, qPrintable(second->message));
        QCOMPARE(second->body(), QByteArray("bye"));
        QVERIFY(!x->reusedConnection());
        QCOMPARE(server.connections, 2);
        QCOMPARE(server.requests.size(), 2);
    }

    void unsolicitedBytesDropAnIdleConnection()
    {
        ScriptServer server;
        QVERIFY(server.listen());
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) {
            s->write(ok("fine"));
            QTimer::singleShot(50, s, [s] { s->write("HTTP/1.1 408 Request Timeout\r\n\r\n"); });
        };
        HttpClient client;
        const auto first = watch(client.post(server.url(), kHeaders, "one"));
        QTRY_VERIFY_WITH_TIMEOUT(first->finished, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(client.connectionCount(), 0, kWaitMs);
        const auto second = watch(client.post(server.url(), kHeaders, "two"));
        QTRY_VERIFY_WITH_TIMEOUT(second->ended(), kWaitMs);
        QVERIFY(second->finished);
        QCOMPARE(server.connections, 2);
    }

    void closingResponsesAreHonoured_data()
    {
        QTest::addColumn<QByteArray>("response");
        QTest::addColumn<QByteArray>("body");
        QTest::addRow("connection: close") << ok("abc", "Connection: close\r\n") << QByteArray("abc");
        QTest::addRow("http/1.0") << QByteArray("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc")
                                  << QByteArray("abc");
        QTest::addRow("close-delimited")
            << QByteArray("HTTP/1.1 200 OK\r\n\r\nuntil the end") << QByteArray("until the end");
    }
    void closingResponsesAreHonoured()
    {
        QFETCH(QByteArray, response);
        QFETCH(QByteArray, body);
        ScriptServer server;
        QVERIFY(server.listen());
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) {
            s->write(response);
            if (response.contains("until the end"))
                s->disconnectFromHost(); // the end of the body
        };
        HttpClient client;
        for (int i = 0; i < 2; ++i) {
            const auto rec = watch(client.post(server.url(), kHeaders, "x"));
            QTRY_VERIFY_WITH_TIMEOUT(rec->ended(), kWaitMs);
            QVERIFY2(rec->finished, qPrintable(rec->message));
            QCOMPARE(rec->body(), body);
            QCOMPARE(client.idleConnectionCount(), 0);
        }
        QCOMPARE(server.connections, 2);
        QTRY_COMPARE_WITH_TIMEOUT(server.disconnections, 2, kWaitMs);
    }

    void idleConnectionsExpire()
    {
        ScriptServer server;
        QVERIFY(server.listen());
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) { s->write(ok("x")); };
        HttpClient client(HttpClientOptions{.idleTimeout = 200ms});
        QCOMPARE(client.options().idleTimeout, 200ms);
        const auto rec = watch(client.post(server.url(), kHeaders, "x"));
        QTRY_VERIFY_WITH_TIMEOUT(rec->finished, kWaitMs);
        QCOMPARE(client.idleConnectionCount(), 1);
        QTest::qWait(50);
        QCOMPARE(client.idleConnectionCount(), 1); // not before its time
        QTRY_COMPARE_WITH_TIMEOUT(client.connectionCount(), 0, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(server.disconnections, 1, kWaitMs); // we hung up, not the server
    }

    void requestsBeyondTheCapWaitInOrder()
    {
        ScriptServer server;
        QVERIFY(server.listen());
        // Answers each request 20 ms later, so the others have to wait for the one connection.
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &r) {
            QTimer::singleShot(20, s, [s, body = r.body] { s->write(ok("re " + body)); });
        };
        HttpClient client(HttpClientOptions{.maxConnectionsPerHost = 1});
        QList<QByteArray> order;
        QList<std::shared_ptr<Record>> recs;
        for (int i = 1; i <= 4; ++i) {
            HttpExchange *x = client.post(server.url(), kHeaders, QByteArray::number(i));
            recs << watch(x);
            QObject::connect(x, &HttpExchange::finished, x,
                             [&order, x] { order << x->property("n").toByteArray(); });
            x->setProperty("n", QByteArray::number(i));
        }
        QTRY_COMPARE_WITH_TIMEOUT(order.size(), 4, kWaitMs);
        QCOMPARE(order, (QList<QByteArray>{"1", "2", "3", "4"}));
        QCOMPARE(recs.at(3)->body(), QByteArray("re 4"));
        QCOMPARE(server.connections, 1);
        QCOMPARE(client.connectionsOpened(), 1);
    }

    void concurrentRequestsOpenConnections()
    {
        ScriptServer server;
        QVERIFY(server.listen());
        QList<QPointer<QTcpSocket>> held;
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) { held << s; };
        HttpClient client;
        QList<std::shared_ptr<Record>> recs;
        for (int i = 0; i < 3; ++i)
            recs << watch(client.post(server.url(), kHeaders, "c"));
        QTRY_COMPARE_WITH_TIMEOUT(held.size(), 3, kWaitMs); // all three in flight at once
        QCOMPARE(server.connections, 3);
        for (const QPointer<QTcpSocket> &s : std::as_const(held))
            s->write(ok("done"));
        QTRY_VERIFY_WITH_TIMEOUT(recs.at(0)->finished && recs.at(1)->finished && recs.at(2)->finished,
                                 kWaitMs);
        QCOMPARE(client.idleConnectionCount(), 3);
    }

    // ---- Streaming, abort, errors -------------------------------------------------------------------------
    void bodyArrivesInPiecesBeforeTheEnd_data()
    {
        QTest::addColumn<bool>("chunked");
        QTest::addRow("chunked") << true;
        QTest::addRow("close-delimited") << false;
    }
    void bodyArrivesInPiecesBeforeTheEnd()
    {
        QFETCH(bool, chunked);
        ScriptServer server;
        QVERIFY(server.listen());
        QPointer<QTcpSocket> socket;
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) {
            socket = s;
            s->write(chunked ? "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: "
                               "chunked\r\n\r\n"
                               "e\r\nevent: first\n\n\r\n"
                             : "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nevent: first\n\n");
        };
        HttpClient client;
        HttpExchange *x = client.post(server.url(), kHeaders, "stream");
        const auto rec = watch(x);
        QTRY_COMPARE_WITH_TIMEOUT(rec->pieces.size(), 1, kWaitMs);
        QVERIFY(rec->head);
        QCOMPARE(x->head().header("content-type"), std::optional<QByteArray>("text/event-stream"));
        QCOMPARE(rec->pieces.first(), QByteArray("event: first\n\n"));
        QVERIFY(!rec->ended()); // the first piece came while the response was still open
        QVERIFY(socket);
        socket->write(chunked ? "d\r\nevent: last\n\n\r\n0\r\n\r\n" : "event: last\n\n");
        if (!chunked)
            socket->disconnectFromHost();
        QTRY_VERIFY_WITH_TIMEOUT(rec->ended(), kWaitMs);
        QVERIFY2(rec->finished, qPrintable(rec->message));
        QCOMPARE(rec->pieces.size(), 2);
        QCOMPARE(rec->body(), QByteArray("event: first\n\nevent: last\n\n"));
        QCOMPARE(client.idleConnectionCount(), chunked ? 1 : 0);
    }

    void abortMidResponse()
    {
        ScriptServer server;
        QVERIFY(server.listen());
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) {
            s->write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
        };
        HttpClient client;
        HttpExchange *x = client.post(server.url(), kHeaders, "abort me");
        const auto rec = watch(x);
        QTRY_COMPARE_WITH_TIMEOUT(rec->pieces.size(), 1, kWaitMs);
        x->abort();
        QVERIFY(x->isFinished());
        x->abort();                                                   // again: nothing
        QTRY_COMPARE_WITH_TIMEOUT(server.disconnections, 1, kWaitMs); // the connection went with it
        QTest::qWait(100);                                            // bounded: nothing more may be reported
        QVERIFY(!rec->ended());
        QCOMPARE(client.connectionCount(), 0);
        delete x;
    }

    void deleteWhileWaitingAndFromASignal()
    {
        ScriptServer server;
        QVERIFY(server.listen());
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) { s->write(ok("data")); };
        HttpClient client(HttpClientOptions{.maxConnectionsPerHost = 1});
        HttpExchange *a = client.post(server.url(), kHeaders, "a");
        HttpExchange *b = client.post(server.url(), kHeaders, "b"); // waits behind a
        HttpExchange *c = client.post(server.url(), kHeaders, "c");
        delete b;                                                               // leaves the queue
        QObject::connect(a, &HttpExchange::dataReceived, a, [a] { delete a; }); // from inside its own signal
        const auto recC = watch(c);
        QTRY_VERIFY_WITH_TIMEOUT(recC->ended(), kWaitMs);
        QVERIFY2(recC->finished, qPrintable(recC->message));
        QCOMPARE(server.requests.size(), 2);
        QCOMPARE(server.requests.at(1).body, QByteArray("c"));
        QCOMPARE(server.connections, 2); // a's connection could not be reused: its response was not read
    }

    void responseCutOff()
    {
        ScriptServer server;
        QVERIFY(server.listen());
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) {
            s->write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
            s->flush();
            // A moment later, so that the client has read what came first (a reset discards unread data).
            QTimer::singleShot(50, s, [s] { resetConnection(s); });
        };
        HttpClient client;
        HttpExchange *x = client.post(server.url(), kHeaders, "cut");
        const auto rec = watch(x);
        QTRY_VERIFY_WITH_TIMEOUT(rec->ended(), kWaitMs);
        QCOMPARE(rec->error, HttpExchange::Error::ResponseCut);
        QCOMPARE(
            rec->message,
            QStringLiteral("response cut off: the connection closed 5 bytes before the end of the body"));
        QVERIFY(x->hasHead());
        QCOMPARE(x->head().status, 200);
        QCOMPARE(rec->body(), QByteArray("hello"));
        QTest::qWait(kResendWatchMs);
        QCOMPARE(server.requests.size(), 1);
    }

    void garbageIsAProtocolError()
    {
        ScriptServer server;
        QVERIFY(server.listen());
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) {
            s->write("SPDY/3 200 OK\r\n\r\n");
        };
        HttpClient client;
        HttpExchange *x = client.post(server.url(), kHeaders, "x");
        const auto rec = watch(x);
        QTRY_VERIFY_WITH_TIMEOUT(rec->ended(), kWaitMs);
        QCOMPARE(rec->error, HttpExchange::Error::Protocol);
        QCOMPARE(rec->message,
                 QStringLiteral("invalid HTTP response: not an HTTP/1.x status line: \"SPDY/3 200 OK\""));
        QVERIFY(!x->hasHead());
        QCOMPARE(client.connectionCount(), 0);
    }

    void oversizedHeadIsRefused()
    {
        ScriptServer server;
        QVERIFY(server.listen());
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) {
            s->write("HTTP/1.1 200 OK\r\nX-Endless: " + QByteArray(2000, 'z'));
        };
        HttpClient client(HttpClientOptions{.maxHeadBytes = 1024});
        const auto rec = watch(client.post(server.url(), kHeaders, "x"));
        QTRY_VERIFY_WITH_TIMEOUT(rec->ended(), kWaitMs);
        QCOMPARE(rec->error, HttpExchange::Error::Protocol);
        QCOMPARE(rec->message,
                 QStringLiteral("invalid HTTP response: the response head is longer than 1024 bytes"));
    }

    void wireFormat()
    {
        ScriptServer server;
        QVERIFY(server.listen());
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) { s->write(ok("{}")); };
        HttpClient client;
        const QByteArray body = "{\"a\":1}";
        QUrl url = server.url(QStringLiteral("/prefix/v1/messages"));
        url.setQuery(QStringLiteral("beta=true&x=a b"));
        const auto rec =
            watch(client.post(url, {{"x-api-key", "secret"}, {"anthropic-version", "2023-06-01"}}, body));
        QTRY_VERIFY_WITH_TIMEOUT(rec->finished, kWaitMs);
        QCOMPARE(server.requests.size(), 1);
        const QByteArray expected = "POST /prefix/v1/messages?beta=true&x=a%20b HTTP/1.1\r\n"
                                    "Host: 127.0.0.1:" +
                                    QByteArray::number(server.server()->serverPort()) +
                                    "\r\n"
                                    "Content-Length: 7\r\n"
                                    "Connection: keep-alive\r\n"
                                    "x-api-key: secret\r\n"
                                    "anthropic-version: 2023-06-01\r\n\r\n";
        QCOMPARE(server.requests.first().head, expected);
        QCOMPARE(server.requests.first().body, body);
    }

    void badRequestsFailFromTheEventLoop_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<QByteArray>("name");
        QTest::addColumn<QByteArray>("value");
        QTest::addColumn<QString>("message");
        QTest::addRow("our header") << "http://127.0.0.1:1/" << QByteArray("Content-Length")
                                    << QByteArray("3") << "header Content-Length is set by HttpClient";
        QTest::addRow("expect") << "http://127.0.0.1:1/" << QByteArray("expect") << QByteArray("100-continue")
                                << "header expect is set by HttpClient";
        QTest::addRow("header injection")
            << "http://127.0.0.1:1/" << QByteArray("x-a") << QByteArray("1\r\nHost: evil")
            << "the value of header x-a contains CR, LF or NUL";
        QTest::addRow("bad name") << "http://127.0.0.1:1/" << QByteArray("x a") << QByteArray("1")
                                  << "invalid header name \"x%20a\"";
        QTest::addRow("ftp") << "ftp://127.0.0.1/x" << QByteArray("x-a") << QByteArray("1")
                             << "not an http or https URL: ftp://127.0.0.1/x";
    }
    void badRequestsFailFromTheEventLoop()
    {
        QFETCH(QString, url);
        QFETCH(QByteArray, name);
        QFETCH(QByteArray, value);
        QFETCH(QString, message);
        HttpClient client;
        HttpExchange *x = client.post(QUrl(url), {{name, value}}, "x");
        QSignalSpy failed(x, &HttpExchange::failed);
        QCOMPARE(failed.size(), 0); // never from inside post()
        QVERIFY(failed.wait(kWaitMs));
        QCOMPARE(failed.first().at(0).value<HttpExchange::Error>(), HttpExchange::Error::NotSent);
        QCOMPARE(failed.first().at(1).toString(), message);
        QCOMPARE(client.connectionsOpened(), 0);
    }

    void connectionRefused()
    {
        quint16 port = 0;
        {
            QTcpServer probe; // a port that was free a moment ago and is closed now
            QVERIFY(probe.listen(QHostAddress::LocalHost));
            port = probe.serverPort();
        }
        HttpClient client;
        HttpExchange *x = client.post(QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(port)), kHeaders, "x");
        const auto rec = watch(x);
        QTRY_VERIFY_WITH_TIMEOUT(rec->ended(), kWaitMs);
        QCOMPARE(rec->error, HttpExchange::Error::NotSent);
        QCOMPARE(rec->message,
                 QStringLiteral("could not connect to 127.0.0.1:%1: Connection refused").arg(port));
        QCOMPARE(x->bytesWritten(), 0);
    }

    // ---- Proxies ------------------------------------------------------------------------------------------
    void httpsGoesThroughTheApplicationProxyAndHttpDoesNot()
    {
        // A stand-in for an HTTP proxy: records what it is asked and refuses.
        ScriptServer proxy;
        QVERIFY(proxy.listen());
        QByteArray asked;
        proxy.onBytes = [&](QTcpSocket *s, const QByteArray &buffered) {
            if (!buffered.contains("\r\n\r\n"))
                return;
            asked = buffered.left(buffered.indexOf("\r\n"));
            s->write("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            s->disconnectFromHost();
        };
        ScriptServer direct;
        QVERIFY(direct.listen());
        direct.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) { s->write(ok("direct")); };

        QNetworkProxy::setApplicationProxy(QNetworkProxy(
            QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), proxy.server()->serverPort()));
        auto restore = qScopeGuard([] { QNetworkProxy::setApplicationProxy(QNetworkProxy::DefaultProxy); });
        HttpClient client;

        const QUrl target(QStringLiteral("https://api.example.test:8443/v1/messages"));
        const auto viaProxy = watch(client.post(target, kHeaders, "secret body"));
        QTRY_VERIFY_WITH_TIMEOUT(viaProxy->ended(), kWaitMs);
        QCOMPARE(asked, QByteArray("CONNECT api.example.test:8443 HTTP/1.1")); // a tunnel, named by host
        QCOMPARE(viaProxy->error, HttpExchange::Error::NotSent);
        QVERIFY2(viaProxy->message.startsWith(QStringLiteral("could not connect to api.example.test:8443: ")),
                 qPrintable(viaProxy->message));

        const auto plain = watch(client.post(direct.url(), kHeaders, "x")); // loopback http: never proxied
        QTRY_VERIFY_WITH_TIMEOUT(plain->ended(), kWaitMs);
        QVERIFY2(plain->finished, qPrintable(plain->message));
        QCOMPARE(plain->body(), QByteArray("direct"));
        QCOMPARE(proxy.connections, 1);
    }

    // ---- TLS ----------------------------------------------------------------------------------------------
    void tls_data()
    {
        QTest::addColumn<bool>("trusted");
        QTest::addRow("trusted") << true;
        QTest::addRow("untrusted") << false;
    }
    void tls()
    {
        QFETCH(bool, trusted);
        const QSslConfiguration saved = QSslConfiguration::defaultConfiguration();
        auto restore = qScopeGuard([&] { QSslConfiguration::setDefaultConfiguration(saved); });
        if (trusted) {
            QSslConfiguration trusting = saved;
            trusting.addCaCertificates(
                QSslCertificate::fromData(readTestFile(QStringLiteral("tls/selfsigned.crt"))));
            QSslConfiguration::setDefaultConfiguration(trusting);
        }
        auto *tlsServer = new QSslServer;
        QSslConfiguration serverConfig = QSslConfiguration::defaultConfiguration();
        serverConfig.setLocalCertificate(QSslCertificate(readTestFile(QStringLiteral("tls/selfsigned.crt"))));
        serverConfig.setPrivateKey(QSslKey(readTestFile(QStringLiteral("tls/selfsigned.key")), QSsl::Rsa));
        serverConfig.setPeerVerifyMode(QSslSocket::VerifyNone);
        serverConfig.setAllowedNextProtocols({"h2", QSslConfiguration::NextProtocolHttp1_1});
        tlsServer->setSslConfiguration(serverConfig);
        ScriptServer server{std::unique_ptr<QTcpServer>(tlsServer)};
        QVERIFY(server.listen());
        QByteArray alpn;
        server.onRequest = [&](QTcpSocket *s, const ScriptServer::Request &) {
            alpn = qobject_cast<QSslSocket *>(s)->sslConfiguration().nextNegotiatedProtocol();
            s->write(ok("secure"));
        };
        HttpClient client;
        HttpExchange *x = client.post(server.url(QStringLiteral("/v1/messages"), QStringLiteral("https")),
                                      kHeaders, "over tls");
        const auto rec = watch(x);
        QTRY_VERIFY_WITH_TIMEOUT(rec->ended(), kWaitMs);
        if (trusted) {
            QVERIFY2(rec->finished, qPrintable(rec->message));
            QCOMPARE(rec->body(), QByteArray("secure"));
            QCOMPARE(alpn, QByteArray("http/1.1")); // never h2, though the server offers it
            QCOMPARE(server.requests.size(), 1);
            QCOMPARE(client.idleConnectionCount(), 1);
        } else {
            QCOMPARE(rec->error, HttpExchange::Error::NotSent);
            QVERIFY2(rec->message.startsWith(QStringLiteral("SSL handshake with 127.0.0.1:")),
                     qPrintable(rec->message));
            QVERIFY(!x->sslErrors().isEmpty());
            QVERIFY2(rec->message.contains(x->sslErrors().first().errorString()), qPrintable(rec->message));
            QTest::qWait(100);
            QCOMPARE(server.requests.size(), 0); // nothing crossed the failed handshake
        }
    }
};

QTEST_GUILESS_MAIN(TestHttpClient)
#include "tst_httpclient.moc"
