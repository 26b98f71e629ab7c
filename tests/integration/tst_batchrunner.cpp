// BatchRunner end to end over loopback: an in-process SimServer, the real MessagesClient and the Dispatcher.
// Every input line gets exactly one result; errored results name their line and reason; priorities order the
// work; a refused key ends the run with every request failed; an interrupt writes the unfinished ones as
// canceled. Every wait is bounded.
#include "batchrunner.h"
#include "simserver.h"
#include "transport/messagesclient.h"

#include <QBuffer>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTest>

#include <map>
#include <memory>

using namespace sluice;
using sluice::sim::SimOptions;
using sluice::sim::SimServer;

namespace {

constexpr int kWaitMs = 15000;

QByteArray params(const QString &prompt, const QJsonObject &extra = {})
{
    QJsonObject p{{"model", "claude-sim"},
                  {"max_tokens", 32},
                  {"messages", QJsonArray{QJsonObject{{"role", "user"}, {"content", prompt}}}}};
    for (auto it = extra.begin(); it != extra.end(); ++it)
        p.insert(it.key(), it.value());
    return QJsonDocument(p).toJson(QJsonDocument::Compact);
}

QByteArray line(const QString &customId, int priority = 0, const QJsonObject &extra = {})
{
    return QJsonDocument(QJsonObject{{"custom_id", customId},
                                     {"priority", priority},
                                     {"params", QJsonDocument::fromJson(params(customId, extra)).object()}})
        .toJson(QJsonDocument::Compact);
}

// One run's parts, wired as headless mode wires them.
struct Rig
{
    explicit Rig(SimOptions simOptions, const QString &clientKey = QStringLiteral("test-key"),
                 DispatchOptions options = {})
        : sim(simOptions)
    {
        const bool listening = sim.listen();
        Q_ASSERT(listening);
        Q_UNUSED(listening);
        client = std::make_unique<MessagesClient>(sim.baseUrl(), clientKey, TransportOptions{}, clock);
        dispatcher = std::make_unique<Dispatcher>(*client, clock, options);
        runner = std::make_unique<BatchRunner>(*dispatcher, clock);
        runner->setSecret(clientKey);
    }

    bool start(const QByteArray &text)
    {
        input.setData(text);
        input.open(QIODevice::ReadOnly);
        output.open(QIODevice::WriteOnly);
        return runner->start(input, output);
    }

    QList<QJsonObject> results() const
    {
        QList<QJsonObject> out;
        for (const QByteArray &l : output.data().split('\n'))
            if (!l.isEmpty())
                out << QJsonDocument::fromJson(l).object();
        return out;
    }

    SteadyClock clock;
    SimServer sim;
    std::unique_ptr<MessagesClient> client;
    std::unique_ptr<Dispatcher> dispatcher;
    std::unique_ptr<BatchRunner> runner;
    QBuffer input, output;
};

SimOptions quickSim()
{
    SimOptions o;
    o.latencyMeanMs = 20;
    o.latencyJitterMs = 5;
    return o;
}

// Line number -> result, failing the test if a line has two results.
std::map<int, QJsonObject> byLine(const QList<QJsonObject> &results)
{
    std::map<int, QJsonObject> out;
    for (const QJsonObject &r : results) {
        const int line = r["sluice"].toObject()["line"].toInt();
        if (out.count(line))
            qWarning() << "two results for line" << line;
        out[line] = r;
    }
    return out;
}

QString typeOf(const QJsonObject &r)
{
    return r["result"].toObject()["type"].toString();
}

QString errorMessageOf(const QJsonObject &r)
{
    return r["result"].toObject()["error"].toObject()["error"].toObject()["message"].toString();
}

QString errorTypeOf(const QJsonObject &r)
{
    return r["result"].toObject()["error"].toObject()["error"].toObject()["type"].toString();
}

} // namespace

class TestBatchRunner : public QObject
{
    Q_OBJECT

private slots:
    void mixedBatchAccountsForEveryLine()
    {
        DispatchOptions options;
        options.limits.concurrency = 1; // one at a time: results come back in dispatch (priority) order
        Rig rig(quickSim(), QStringLiteral("test-key"), options);
        QSignalSpy done(rig.runner.get(), &BatchRunner::finished);
        const QByteArray input = line("q-1", 0) + "\n"                         // 1
                                 + "\n"                                        // 2 blank
                                 + line("q-2", 5) + "\n"                       // 3
                                 + "{not json\n"                               // 4
                                 + line("q-3", 0, {{"temperature", 5}}) + "\n" // 5: the server's 400
                                 + R"({"custom_id":"q-4","params":{"max_tokens":8,"messages":[]}})"
                                   "\n"                    // 6
                                 + line("q-1", 1) + "\r\n" // 7 duplicate
                                 + line("q-5", 10);        // 8, no final newline
        QVERIFY(rig.start(input));
        QVERIFY(done.wait(kWaitMs));
        QCOMPARE(done.first().first().toInt(), BatchRunner::kExitErrored);
        QCOMPARE(rig.runner->exitCode(), 1);

        const QList<QJsonObject> results = rig.results();
        QCOMPARE(results.size(), 7);
        const std::map<int, QJsonObject> lines = byLine(results);
        QCOMPARE(lines.size(), size_t(7));
        QVERIFY(!lines.count(2));

        for (int ok : {1, 3, 8}) {
            const QJsonObject &r = lines.at(ok);
            QCOMPARE(typeOf(r), QStringLiteral("succeeded"));
            QCOMPARE(r["result"].toObject()["message"].toObject()["type"].toString(),
                     QStringLiteral("message"));
            const QJsonObject meta = r["sluice"].toObject();
            QCOMPARE(meta["attempts"].toInt(), 1);
            QVERIFY(meta["latency_ms"].toDouble() >= 14);
            QVERIFY(meta["queue_wait_ms"].toDouble() >= 0);
            QVERIFY(meta["request_id"].toString().startsWith("req_"));
            QVERIFY(meta["error_kind"].isNull());
        }
        QCOMPARE(lines.at(1)["custom_id"].toString(), QStringLiteral("q-1"));
        QCOMPARE(lines.at(8)["custom_id"].toString(), QStringLiteral("q-5"));

        // The rejected lines are written first, then the rest in priority order: q-5 (10), q-2 (5), q-1, q-3.
        QStringList order;
        for (const QJsonObject &r : results)
            if (!r["custom_id"].isNull())
                order << r["custom_id"].toString();
        QCOMPARE(order, (QStringList{"q-4", "q-5", "q-2", "q-1", "q-3"}));

        QCOMPARE(typeOf(lines.at(4)), QStringLiteral("errored"));
        QVERIFY(lines.at(4)["custom_id"].isNull());
        QVERIFY2(errorMessageOf(lines.at(4)).startsWith("line 4: not JSON"),
                 qPrintable(errorMessageOf(lines.at(4))));
        QCOMPARE(errorTypeOf(lines.at(4)), QStringLiteral("invalid_request_error"));
        QCOMPARE(lines.at(4)["sluice"].toObject()["attempts"].toInt(), 0);

        QCOMPARE(typeOf(lines.at(5)), QStringLiteral("errored"));
        QCOMPARE(errorTypeOf(lines.at(5)), QStringLiteral("invalid_request_error"));
        QVERIFY2(errorMessageOf(lines.at(5)).startsWith("line 5: "), qPrintable(errorMessageOf(lines.at(5))));
        QVERIFY2(errorMessageOf(lines.at(5)).contains("temperature"),
                 qPrintable(errorMessageOf(lines.at(5))));
        QCOMPARE(lines.at(5)["sluice"].toObject()["attempts"].toInt(), 1); // a 400 is not retried
        QCOMPARE(lines.at(5)["sluice"].toObject()["error_kind"].toString(), QStringLiteral("bad_request"));
        QVERIFY(lines.at(5)["sluice"].toObject()["request_id"].toString().startsWith("req_"));

        QCOMPARE(lines.at(6)["custom_id"].toString(), QStringLiteral("q-4"));
        QCOMPARE(
            errorMessageOf(lines.at(6)),
            QStringLiteral("line 6: request \"q-4\" is invalid: params.model must be a non-empty string"));

        QVERIFY(lines.at(7)["custom_id"].isNull());
        QCOMPARE(errorMessageOf(lines.at(7)), QStringLiteral("line 7: custom_id \"q-1\" duplicates line 1"));

        const BatchProgress p = rig.runner->progress();
        QCOMPARE(p.total, 7);
        QCOMPARE(p.done, 7);
        QCOMPARE(p.succeeded, 3);
        QCOMPARE(p.errored, 4);
        QCOMPARE(p.canceled, 0);
        QVERIFY(!p.eta);
        QVERIFY(!rig.output.data().contains("test-key"));
    }

    void allSucceededUnderALimitExitsZero()
    {
        SimOptions sim = quickSim();
        sim.requestsPerMinute = 1200; // 20/s, a burst of 20
        DispatchOptions options;
        options.limits.requests.perMinute = 1200;
        Rig rig(sim, QStringLiteral("test-key"), options);
        QSignalSpy done(rig.runner.get(), &BatchRunner::finished);
        QByteArray input;
        for (int i = 1; i <= 30; ++i)
            input += line(QStringLiteral("r-%1").arg(i)) + "\n";
        QVERIFY(rig.start(input));
        QVERIFY(done.wait(kWaitMs));
        QCOMPARE(done.first().first().toInt(), BatchRunner::kExitSucceeded);
        const QList<QJsonObject> results = rig.results();
        QCOMPARE(results.size(), 30);
        QCOMPARE(byLine(results).size(), size_t(30));
        for (const QJsonObject &r : results)
            QCOMPARE(typeOf(r), QStringLiteral("succeeded"));
        QCOMPARE(rig.sim.stats()["rate_limited"].toObject()["total"].toInt(), 0);
        // The 30 went out at 20/s after a burst of 20: the last waited about half a second in the queue.
        double maxWait = 0;
        for (const QJsonObject &r : results)
            maxWait = std::max(maxWait, r["sluice"].toObject()["queue_wait_ms"].toDouble());
        QVERIFY2(maxWait >= 350 && maxWait <= 2000, qPrintable(QString::number(maxWait)));
    }

    void emptyInputFinishesFromTheEventLoop()
    {
        Rig rig(quickSim());
        QSignalSpy done(rig.runner.get(), &BatchRunner::finished);
        QVERIFY(rig.start("\n  \n"));
        QCOMPARE(done.count(), 0); // not from inside start(): the caller may not be in its event loop yet
        QVERIFY(done.wait(kWaitMs));
        QCOMPARE(done.first().first().toInt(), 0);
        QCOMPARE(rig.output.data(), QByteArray());
    }

    void refusedKeyFailsEverythingWithoutHanging()
    {
        SimOptions sim = quickSim();
        sim.apiKey = QStringLiteral("the-right-key");
        DispatchOptions options;
        options.limits.concurrency = 2;
        const QString wrongKey = QStringLiteral("sk-wrong-key-XYZ");
        Rig rig(sim, wrongKey, options);
        QSignalSpy done(rig.runner.get(), &BatchRunner::finished);
        QSignalSpy auth(rig.runner.get(), &BatchRunner::authFailed);
        QByteArray input;
        for (int i = 1; i <= 20; ++i)
            input += line(QStringLiteral("a-%1").arg(i)) + "\n";
        QElapsedTimer timer;
        timer.start();
        QVERIFY(rig.start(input));
        QVERIFY(done.wait(kWaitMs));
        QVERIFY2(timer.elapsed() < 5000, qPrintable(QString::number(timer.elapsed())));
        QCOMPARE(done.first().first().toInt(), BatchRunner::kExitErrored);
        QCOMPARE(auth.count(), 1);
        const QList<QJsonObject> results = rig.results();
        QCOMPARE(results.size(), 20);
        QCOMPARE(byLine(results).size(), size_t(20));
        int refusedByServer = 0, neverSent = 0;
        for (const QJsonObject &r : results) {
            QCOMPARE(typeOf(r), QStringLiteral("errored"));
            const QString type = errorTypeOf(r);
            if (type == QLatin1String("authentication_error")) {
                ++refusedByServer;
                QCOMPARE(r["sluice"].toObject()["attempts"].toInt(), 1);
            } else {
                QCOMPARE(type, QStringLiteral("circuit_open"));
                QVERIFY2(errorMessageOf(r).contains("refused the API key"), qPrintable(errorMessageOf(r)));
                QCOMPARE(r["sluice"].toObject()["attempts"].toInt(), 0);
                ++neverSent;
            }
        }
        // At most the concurrency's worth went out before the first 401 opened the circuit.
        QVERIFY2(refusedByServer >= 1 && refusedByServer <= 2, qPrintable(QString::number(refusedByServer)));
        QCOMPARE(neverSent, 20 - refusedByServer);
        QCOMPARE(rig.sim.stats()["errors"].toObject()["authentication_401"].toInt(), refusedByServer);
        QVERIFY(!rig.output.data().contains(wrongKey.toUtf8()));
    }

    void interruptLetsInFlightFinishAndCancelsTheRest()
    {
        SimOptions sim;
        sim.latencyMeanMs = 300;
        DispatchOptions options;
        options.limits.concurrency = 2;
        options.limits.requests.perMinute = 6000;
        Rig rig(sim, QStringLiteral("test-key"), options);
        QSignalSpy done(rig.runner.get(), &BatchRunner::finished);
        QSignalSpy dispatched(rig.dispatcher.get(), &Dispatcher::dispatched);
        QByteArray input;
        for (int i = 1; i <= 10; ++i)
            input += line(QStringLiteral("i-%1").arg(i)) + "\n";
        QVERIFY(rig.start(input));
        QTRY_COMPARE_WITH_TIMEOUT(dispatched.count(), 2, kWaitMs);
        rig.runner->interrupt();
        QVERIFY(rig.runner->progress().interrupted);
        QVERIFY(done.wait(kWaitMs));
        QCOMPARE(done.first().first().toInt(), BatchRunner::kExitInterrupted);
        QCOMPARE(dispatched.count(), 2); // nothing new went out after the interrupt
        const QList<QJsonObject> results = rig.results();
        QCOMPARE(results.size(), 10);
        QCOMPARE(byLine(results).size(), size_t(10));
        int succeeded = 0, canceled = 0;
        for (const QJsonObject &r : results) {
            if (typeOf(r) == QLatin1String("succeeded")) {
                ++succeeded;
            } else {
                QCOMPARE(typeOf(r), QStringLiteral("canceled"));
                QCOMPARE(r["sluice"].toObject()["reason"].toString(),
                         QStringLiteral("interrupted before it was sent"));
                QCOMPARE(r["sluice"].toObject()["error_kind"].toString(), QStringLiteral("cancelled"));
                ++canceled;
            }
        }
        QCOMPARE(succeeded, 2);
        QCOMPARE(canceled, 8);
    }

    void interruptAbandonsStalledAttemptsAfterTheGrace()
    {
        SimOptions sim;
        sim.pStall = 1; // accepts and never answers
        DispatchOptions options;
        options.limits.concurrency = 3;
        options.limits.requests.perMinute = 6000;
        Rig rig(sim, QStringLiteral("test-key"), options);
        rig.runner->setInterruptGrace(std::chrono::milliseconds(300));
        QSignalSpy done(rig.runner.get(), &BatchRunner::finished);
        QSignalSpy dispatched(rig.dispatcher.get(), &Dispatcher::dispatched);
        QByteArray input;
        for (int i = 1; i <= 5; ++i)
            input += line(QStringLiteral("s-%1").arg(i)) + "\n";
        QVERIFY(rig.start(input));
        QTRY_COMPARE_WITH_TIMEOUT(dispatched.count(), 3, kWaitMs);
        QElapsedTimer timer;
        timer.start();
        rig.runner->interrupt();
        QVERIFY(done.wait(kWaitMs));
        QVERIFY2(timer.elapsed() >= 250 && timer.elapsed() < 3000,
                 qPrintable(QString::number(timer.elapsed())));
        QCOMPARE(done.first().first().toInt(), BatchRunner::kExitInterrupted);
        int abandoned = 0, unsent = 0;
        for (const QJsonObject &r : rig.results()) {
            QCOMPARE(typeOf(r), QStringLiteral("canceled"));
            const QString reason = r["sluice"].toObject()["reason"].toString();
            if (reason.startsWith("interrupted: still in flight after the 0.3 s grace period"))
                ++abandoned;
            else if (reason == QLatin1String("interrupted before it was sent"))
                ++unsent;
            else
                QFAIL(qPrintable(reason));
        }
        QCOMPARE(abandoned, 3);
        QCOMPARE(unsent, 2);
    }

    void secondInterruptEndsAtOnce()
    {
        SimOptions sim;
        sim.pStall = 1;
        Rig rig(sim);
        QSignalSpy done(rig.runner.get(), &BatchRunner::finished);
        QSignalSpy dispatched(rig.dispatcher.get(), &Dispatcher::dispatched);
        QVERIFY(rig.start(line("x-1") + "\n"));
        QTRY_COMPARE_WITH_TIMEOUT(dispatched.count(), 1, kWaitMs);
        rig.runner->interrupt(); // 5 s grace by default
        QVERIFY(!rig.runner->isFinished());
        rig.runner->interrupt();
        QVERIFY(rig.runner->isFinished());
        QVERIFY(done.wait(1000));
        QCOMPARE(done.first().first().toInt(), BatchRunner::kExitInterrupted);
        QCOMPARE(rig.results().size(), 1);
    }

    // 100k lines: reading, submitting and cancelling them all must stay linear (seconds, not hours).
    void largeInputIsLinear()
    {
        Rig rig(quickSim());
        rig.dispatcher->pause(); // nothing goes out: this measures Sluice, not the simulator
        QSignalSpy done(rig.runner.get(), &BatchRunner::finished);
        const int n = 100000;
        const QByteArray body = params(QStringLiteral("a short prompt"));
        QByteArray input;
        input.reserve(n * (body.size() + 40));
        for (int i = 1; i <= n; ++i)
            input += "{\"custom_id\":\"big-" + QByteArray::number(i) + "\",\"params\":" + body + "}\n";
        QElapsedTimer timer;
        timer.start();
        QVERIFY(rig.start(input));
        const qint64 submitMs = timer.elapsed();
        QCOMPARE(rig.runner->progress().total, n);
        rig.runner->interrupt();
        QVERIFY(done.wait(kWaitMs));
        const qint64 totalMs = timer.elapsed();
        qInfo("100k lines: submitted in %lld ms, all canceled and written in %lld ms", submitMs, totalMs);
        QVERIFY2(totalMs < 20000, qPrintable(QString::number(totalMs)));
        QCOMPARE(rig.output.data().count('\n'), n);
        QCOMPARE(rig.runner->progress().canceled, n);
    }

    void progressText()
    {
        BatchProgress p;
        p.total = 400;
        p.done = 120;
        p.succeeded = 118;
        p.errored = 2;
        p.perSecond = 19.84;
        p.eta = std::chrono::seconds(14);
        p.rateLimited = 0;
        p.retries = 3;
        QCOMPARE(formatProgressLine(p),
                 QStringLiteral("120/400 done (118 ok, 2 errored) | 19.8/s | ETA 14 s | 429s 0 | retries 3"));
        const QString bar = formatProgressBar(p, 120);
        QVERIFY(bar.size() <= 120);
        QVERIFY2(
            bar.startsWith(QStringLiteral("[#########") + QString(21, QLatin1Char('-')) + "]  30% 120/400"),
            qPrintable(bar));
        QVERIFY(formatProgressBar(p, 40).size() <= 40);

        p.eta.reset();
        p.eta = std::chrono::seconds(125);
        QVERIFY(formatProgressLine(p).contains("ETA 2 min 05 s"));
        p.eta.reset();
        QVERIFY(formatProgressLine(p).contains("ETA ?"));
        p.done = 400;
        p.succeeded = 398;
        QVERIFY(formatProgressLine(p).contains("| done |"));
    }
};

QTEST_GUILESS_MAIN(TestBatchRunner)
#include "tst_batchrunner.moc"
