// HttpResponseParser: every response in the table is fed whole, cut at every byte into two pieces, and one
// byte at a time; each way must give the same head, body, end and error. Plus the header cap, trailers,
// repeated headers and body bytes handed out before the response ends.
#include "transport/httpresponseparser.h"

#include <QTest>

using namespace sluice;

namespace {

using Framing = HttpResponseParser::Framing;
using Event = HttpResponseParser::Event;

// What a parser reported over one response.
struct Seen
{
    int heads = 0;
    int status = 0;
    QByteArray body;
    bool bodyBeforeHead = false;
    bool complete = false;
    QString error;
    bool operator==(const Seen &) const = default;
};

void drain(HttpResponseParser &p, Seen &seen)
{
    for (int guard = 0; guard < 100000; ++guard) {
        switch (p.next()) {
        case Event::NeedMore:
            return;
        case Event::Head:
            ++seen.heads;
            seen.status = p.head().status;
            break;
        case Event::Body:
            if (seen.heads == 0)
                seen.bodyBeforeHead = true;
            seen.body += p.takeBody();
            break;
        case Event::Complete:
            seen.complete = true;
            return;
        case Event::Error:
            seen.error = p.errorString();
            return;
        }
    }
    QFAIL("the parser never stopped producing events");
}

// Feeds `wire` in the given pieces, then the end of the connection when `eof`.
Seen feed(HttpResponseParser &p, const QList<QByteArrayView> &pieces, bool eof)
{
    Seen seen;
    for (const QByteArrayView piece : pieces) {
        p.addData(piece);
        drain(p, seen);
    }
    if (eof) {
        p.finish();
        drain(p, seen);
    }
    return seen;
}

const QByteArray kBigHeader = "X-Big: " + QByteArray(70 * 1024, 'a') + "\r\n";

} // namespace

class TestHttpResponseParser : public QObject
{
    Q_OBJECT
private slots:
    void everySplit_data()
    {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<bool>("eof");        // the connection ends after the bytes
        QTest::addColumn<int>("status");      // 0: no head
        QTest::addColumn<QByteArray>("body"); // decoded
        QTest::addColumn<int>("framing");
        QTest::addColumn<bool>("keepAlive");
        QTest::addColumn<QString>("error"); // empty: completes

        const auto ok = [](const char *name, const QByteArray &wire, bool eof, int status,
                           const QByteArray &body, Framing framing, bool keepAlive) {
            QTest::addRow("%s", name)
                << wire << eof << status << body << int(framing) << keepAlive << QString();
        };
        const auto bad = [](const char *name, const QByteArray &wire, bool eof, int status,
                            const QString &error) {
            QTest::addRow("%s", name)
                << wire << eof << status << QByteArray() << int(Framing::None) << false << error;
        };

        ok("content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
           false, 200, "hello", Framing::Length, true);
        ok("content-length zero", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 200, "",
           Framing::Length, true);
        ok("repeated equal lengths",
           "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc", false, 200, "abc",
           Framing::Length, true);
        ok("connection close",
           "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\nConnection: Close\r\n\r\n{}", false,
           500, "{}", Framing::Length, false);
        ok("connection close among tokens",
           "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nConnection: foo, close\r\nContent-Length: 1\r\n\r\nx",
           false, 200, "x", Framing::Length, false);
        ok("http/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 200, "ok",
           Framing::Length, false);
        ok("http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
           false, 200, "ok", Framing::Length, true);
        ok("chunked",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n",
           false, 200, "hello, world", Framing::Chunked, true);
        ok("chunked upper-case hex, extensions, trailers",
           "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n"
           "A;name=value\r\n0123456789\r\n1 ; quoted=\"a;b\"\r\n!\r\n0;last\r\nX-Trailer: t1\r\nX-Other: "
           "t2\r\n\r\n",
           false, 200, "0123456789!", Framing::Chunked, true);
        ok("chunked with bare LF", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n", false, 200,
           "abc", Framing::Chunked, true);
        ok("close-delimited",
           "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\ndata: 2\n\n", true, 200,
           "data: 1\n\ndata: 2\n\n", Framing::UntilClose, false);
        ok("close-delimited empty", "HTTP/1.1 200 OK\r\n\r\n", true, 200, "", Framing::UntilClose, false);
        ok("100 continue first",
           "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nhi", false, 201,
           "hi", Framing::Length, true);
        ok("two interim responses",
           "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!",
           false, 200, "!", Framing::Length, true);
        ok("204 ignores a length", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", false, 204, "",
           Framing::None, true);
        ok("304 without body", "HTTP/1.1 304 Not Modified\r\n\r\n", false, 304, "", Framing::None, true);
        ok("no reason phrase", "HTTP/1.1 429\r\nContent-Length: 0\r\n\r\n", false, 429, "", Framing::Length,
           true);
        ok("empty reason phrase", "HTTP/1.1 529 \r\nContent-Length: 0\r\n\r\n", false, 529, "",
           Framing::Length, true);
        ok("folded header", "HTTP/1.1 200 OK\r\nX-Long: one\r\n  two\r\nContent-Length: 0\r\n\r\n", false,
           200, "", Framing::Length, true);
        ok("excess bytes", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n", false, 200,
           "ok", Framing::Length, false);

        bad("nothing at all", "", true, 0, "the connection closed before any response");
        bad("http/2 status line", "HTTP/2 200 OK\r\n\r\n", false, 0,
            "not an HTTP/1.x status line: \"HTTP/2 200 OK\"");
        bad("not http", "ICY 200 OK\r\n\r\n", false, 0, "not an HTTP/1.x status line: \"ICY 200 OK\"");
        bad("two-digit status", "HTTP/1.1 20 OK\r\n\r\n", false, 0,
            "not an HTTP/1.x status line: \"HTTP/1.1 20 OK\"");
        bad("status out of range", "HTTP/1.1 600 Nope\r\n\r\n", false, 0, "invalid status code 600");
        bad("binary garbage", QByteArray("\x16\x03\x01\x02\x00\n", 6), false, 0,
            "not an HTTP/1.x status line: \"\\x16\\x03\\x01\\x02\\x00\"");
        bad("101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", false, 0,
            "unexpected 101 Switching Protocols");
        bad("header without colon", "HTTP/1.1 200 OK\r\nContent-Length 5\r\n\r\nhello", false, 0,
            "a header line without a name and colon: \"Content-Length 5\"");
        bad("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello", false, 0,
            "whitespace before the colon in header \"Content-Length\"");
        bad("control character in value", "HTTP/1.1 200 OK\r\nX-A: a\x01z\r\n\r\n", false, 0,
            "control character in the value of header X-A");
        bad("fold first", "HTTP/1.1 200 OK\r\n folded\r\n\r\n", false, 0,
            "a folded header line with no header before it");
        bad("length not a number", "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello", false, 200,
            "invalid Content-Length \"5x\"");
        bad("negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, 200,
            "invalid Content-Length \"-1\"");
        bad("empty length beside a valid one",
            "HTTP/1.1 200 OK\r\nContent-Length: \r\nContent-Length: 2\r\n\r\nok", false, 200,
            "invalid Content-Length \"\"");
        bad("empty element in a length list", "HTTP/1.1 200 OK\r\nContent-Length: ,2,\r\n\r\nok", false, 200,
            "invalid Content-Length \"\"");
        bad("conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
            false, 200, "conflicting Content-Length values 5 and 6");
        bad("both framings", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            false, 200, "both Transfer-Encoding and Content-Length in one response");
        bad("gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, 200,
            "unsupported Transfer-Encoding \"gzip, chunked\"");
        bad("chunk size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, 200,
            "invalid chunk size line \"zz\"");
        bad("chunk size with junk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n",
            false, 200, "invalid chunk size line \"5 x\"");
        bad("chunk size too large",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", false, 200,
            "chunk size \"1000000000000000\" is too large");
        bad("chunk without CRLF",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", false, 200,
            "chunk data not followed by CRLF");
        bad("chunk with CR only", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\rX0\r\n\r\n",
            false, 200, "chunk data not followed by CRLF");
        bad("closed in the head", "HTTP/1.1 200 OK\r\nContent-Len", true, 0,
            "the connection closed in the middle of the response head");
        bad("closed mid-length", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", true, 200,
            "the connection closed 5 bytes before the end of the body");
        bad("closed mid-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", true, 200,
            "the connection closed in the middle of the chunked body");
        bad("closed before the last CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r",
            true, 200, "the connection closed in the middle of the chunked body");
        bad("closed in the trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n",
            true, 200, "the connection closed in the middle of the chunked body");
    }
    void everySplit()
    {
        QFETCH(QByteArray, wire);
        QFETCH(bool, eof);
        QFETCH(int, status);
        QFETCH(QByteArray, body);
        QFETCH(int, framing);
        QFETCH(bool, keepAlive);
        QFETCH(QString, error);

        // The body of a failed response is whatever was decodable before the failure; it is not compared.
        auto check = [&](HttpResponseParser &p, Seen seen, const QString &how) {
            const QByteArray context = how.toUtf8();
            QVERIFY2(!seen.bodyBeforeHead, context);
            QCOMPARE(seen.error, error);
            QVERIFY2(seen.heads == (status ? 1 : 0), context);
            QVERIFY2(seen.status == status, context);
            if (!error.isEmpty()) {
                QVERIFY2(!seen.complete && p.hasError() && !p.keepAlive(), context);
                return;
            }
            QVERIFY2(seen.complete && p.isComplete(), context);
            QVERIFY2(seen.body == body, context + " body: " + seen.body);
            QVERIFY2(int(p.framing()) == framing, context);
            QVERIFY2(p.keepAlive() == keepAlive, context);
            QVERIFY2(p.bytesReceived() == wire.size(), context);
        };

        {
            HttpResponseParser p;
            check(p, feed(p, {wire}, eof), QStringLiteral("whole"));
        }
        for (qsizetype cut = 0; cut <= wire.size(); ++cut) {
            HttpResponseParser p;
            const QByteArrayView w(wire);
            check(p, feed(p, {w.first(cut), w.sliced(cut)}, eof), QStringLiteral("cut at %1").arg(cut));
        }
        {
            HttpResponseParser p;
            QList<QByteArrayView> bytes;
            for (qsizetype i = 0; i < wire.size(); ++i)
                bytes << QByteArrayView(wire).sliced(i, 1);
            check(p, feed(p, bytes, eof), QStringLiteral("byte by byte"));
        }
    }

    void headersAreKeptInOrderAndLookedUpCaseInsensitively()
    {
        HttpResponseParser p;
        p.addData("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nx-multi: a\r\nRequest-Id: req_1\r\n"
                  "X-Multi: b, c\r\nX-Long: one\r\n\ttwo  \r\nContent-Length: 0\r\n\r\n");
        QCOMPARE(p.next(), Event::Head);
        const HttpResponseHead &h = p.head();
        QCOMPARE(h.status, 429);
        QCOMPARE(h.reason, QByteArray("Too Many Requests"));
        QCOMPARE(h.versionMinor, 1);
        QCOMPARE(h.headers.size(), 6);
        QCOMPARE(h.headers.at(0), RawHeader("Retry-After", "3"));
        QCOMPARE(h.header("retry-after"), std::optional<QByteArray>("3"));
        QCOMPARE(h.header("REQUEST-ID"), std::optional<QByteArray>("req_1"));
        QCOMPARE(h.header("missing"), std::nullopt);
        QCOMPARE(h.headerValues("x-multi"), (QList<QByteArray>{"a", "b, c"}));
        QVERIFY(h.hasToken("x-multi", "C"));
        QVERIFY(!h.hasToken("x-multi", "b, c"));
        QCOMPARE(h.header("x-long"), std::optional<QByteArray>("one two"));
        QCOMPARE(p.next(), Event::Complete);
        QCOMPARE(p.next(), Event::Complete); // stays complete
    }

    void interimHeadersAreDropped()
    {
        HttpResponseParser p;
        p.addData(
            "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        QCOMPARE(p.next(), Event::Head);
        QCOMPARE(p.head().status, 200);
        QCOMPARE(p.head().headers, (RawHeaders{{"Content-Length", "0"}}));
    }

    void trailersAreKept()
    {
        HttpResponseParser p;
        p.addData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Checksum: abc\r\n"
                  "X-Two: 2\r\n\r\n");
        QCOMPARE(p.next(), Event::Head);
        QCOMPARE(p.next(), Event::Body);
        QCOMPARE(p.takeBody(), QByteArray("ok"));
        QCOMPARE(p.next(), Event::Complete);
        QCOMPARE(p.trailers(), (RawHeaders{{"X-Checksum", "abc"}, {"X-Two", "2"}}));
        QCOMPARE(p.head().headers.size(), 1); // trailers do not join the head
    }

    void bodyComesOutBeforeTheEnd_data()
    {
        QTest::addColumn<QByteArray>("head");
        QTest::addColumn<QByteArray>("first");
        QTest::addColumn<QByteArray>("rest");
        QTest::addRow("length") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
                                << QByteArray("event") << QByteArray("s!!!!");
        QTest::addRow("chunked") << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                                 << QByteArray("5\r\nevent\r\n5\r\ns") << QByteArray("!!!!\r\n0\r\n\r\n");
        QTest::addRow("until close") << QByteArray("HTTP/1.1 200 OK\r\n\r\n") << QByteArray("event")
                                     << QByteArray("s!!!!");
    }
    void bodyComesOutBeforeTheEnd()
    {
        QFETCH(QByteArray, head);
        QFETCH(QByteArray, first);
        QFETCH(QByteArray, rest);
        HttpResponseParser p;
        p.addData(head + first);
        QCOMPARE(p.next(), Event::Head);
        QCOMPARE(p.next(), Event::Body);
        const QByteArray early = p.takeBody();
        QVERIFY2(early.startsWith("event"), early);
        QCOMPARE(p.next(), Event::NeedMore);
        p.addData(rest);
        QByteArray late;
        Event e = p.next();
        if (e == Event::Body) {
            late = p.takeBody();
            e = p.next();
        }
        if (p.framing() == Framing::UntilClose) {
            QCOMPARE(e, Event::NeedMore);
            p.finish();
            e = p.next();
        }
        QCOMPARE(e, Event::Complete);
        QCOMPARE(early + late, QByteArray("events!!!!"));
    }

    void headCap_data()
    {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<QString>("error");
        const QString headError = QStringLiteral("the response head is longer than 65536 bytes");
        QTest::addRow("one endless header line")
            << QByteArray("HTTP/1.1 200 OK\r\n") + kBigHeader << headError;
        QTest::addRow("endless status line") << QByteArray(70 * 1024, 'H') << headError;
        QByteArray many = "HTTP/1.1 200 OK\r\n";
        for (int i = 0; i < 3000; ++i)
            many += "X-Header-" + QByteArray::number(i) + ": some value\r\n";
        QTest::addRow("many headers") << many << headError;
        QTest::addRow("endless trailers")
            << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n") + kBigHeader
            << QStringLiteral("the trailer section is longer than 65536 bytes");
        QTest::addRow("endless chunk line")
            << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;") + QByteArray(5000, 'e')
            << QStringLiteral("the chunk size line is longer than 4096 bytes");
    }
    void headCap()
    {
        QFETCH(QByteArray, wire);
        QFETCH(QString, error);
        // Fed in 1 KiB pieces and never terminated: the parser must give up instead of buffering on.
        HttpResponseParser p;
        Seen seen;
        for (qsizetype at = 0; at < wire.size() && seen.error.isEmpty(); at += 1024) {
            p.addData(QByteArrayView(wire).sliced(at, std::min<qsizetype>(1024, wire.size() - at)));
            drain(p, seen);
        }
        QCOMPARE(seen.error, error);
        QCOMPARE(p.next(), Event::Error); // stays failed
    }

    void headAtTheCapIsFine()
    {
        // A head of exactly 1000 bytes passes a 1000-byte cap; one more byte does not.
        QByteArray head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: ";
        const QByteArray end = "\r\n\r\n";
        head += QByteArray(1000 - head.size() - end.size(), 'p') + end;
        QCOMPARE(head.size(), 1000);
        {
            HttpResponseParser p(1000);
            p.addData(head);
            QCOMPARE(p.next(), Event::Head);
            QCOMPARE(p.next(), Event::Complete);
        }
        {
            HttpResponseParser p(999);
            p.addData(head);
            QCOMPARE(p.next(), Event::Error);
            QCOMPARE(p.errorString(), QStringLiteral("the response head is longer than 999 bytes"));
        }
    }

    void excessAfterCompleteIsReported()
    {
        HttpResponseParser p;
        p.addData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
        QCOMPARE(p.next(), Event::Head);
        QCOMPARE(p.next(), Event::Body);
        QCOMPARE(p.takeBody(), QByteArray("x"));
        QCOMPARE(p.next(), Event::Complete);
        QVERIFY(p.keepAlive());
        QVERIFY(!p.hasExcess());
        p.addData("y"); // a server speaking out of turn: the connection cannot be trusted any more
        QCOMPARE(p.next(), Event::Complete);
        QVERIFY(p.hasExcess());
        QVERIFY(!p.keepAlive());
    }
};

QTEST_GUILESS_MAIN(TestHttpResponseParser)
#include "tst_httpresponseparser.moc"
