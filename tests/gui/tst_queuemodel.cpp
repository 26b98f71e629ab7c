// QueueModel and QueueFilterModel over a real Dispatcher (fake transport, manual clock): batched inserts,
// coalesced row-level changes, the columns' values, filtering and sorting.
#include "dispatcher.h"
#include "queuefiltermodel.h"
#include "queuemodel.h"

#include <QAbstractItemModelTester>
#include <QJsonArray>
#include <QSet>
#include <QSignalSpy>
#include <QtTest>

using namespace sluice;
using namespace std::chrono_literals;

namespace {

class FakeTransport : public Transport
{
public:
    AttemptId send(const QJsonObject &) override
    {
        const AttemptId id = ++m_next;
        sent << id;
        return id;
    }
    void cancel(AttemptId id) override
    {
        cancelled << id;
        QMetaObject::invokeMethod(
            this,
            [this, id] {
                AttemptOutcome o;
                o.kind = ErrorKind::Cancelled;
                Q_EMIT finished(id, o);
            },
            Qt::QueuedConnection);
    }
    void finish(AttemptId id, const AttemptOutcome &o) { Q_EMIT finished(id, o); }
    QList<AttemptId> sent, cancelled;

private:
    AttemptId m_next = 0;
};

QJsonObject body(int maxTokens, const QString &text = QStringLiteral("Hello there, model"))
{
    return {
        {QStringLiteral("model"), QStringLiteral("claude-sonnet-4-5")},
        {QStringLiteral("max_tokens"), maxTokens},
        {QStringLiteral("messages"), QJsonArray{QJsonObject{{QStringLiteral("role"), QStringLiteral("user")},
                                                            {QStringLiteral("content"), text}}}}};
}

AttemptOutcome ok()
{
    AttemptOutcome o;
    o.httpStatus = 200;
    o.text = QStringLiteral("hi");
    o.usage.inputTokens = 10;
    o.usage.outputTokens = 5;
    o.stopReason = QStringLiteral("end_turn");
    o.requestId = QStringLiteral("req_ok");
    return o;
}

AttemptOutcome failure(int status)
{
    AttemptOutcome o;
    o.httpStatus = status;
    o.kind = errorKindForStatus(status);
    o.errorType = status == 400 ? QStringLiteral("invalid_request_error") : QStringLiteral("api_error");
    o.errorMessage = QStringLiteral("it went wrong");
    o.requestId = QStringLiteral("req_bad");
    return o;
}

struct Rig
{
    ManualClock clock;
    FakeTransport transport;
    Dispatcher dispatcher{transport, clock, options()};
    QueueModel model{dispatcher, clock};
    QueueFilterModel filter;
    QAbstractItemModelTester modelTester{&model, QAbstractItemModelTester::FailureReportingMode::QtTest};
    QAbstractItemModelTester filterTester{&filter, QAbstractItemModelTester::FailureReportingMode::QtTest};

    Rig() { filter.setSourceModel(&model); }
    static DispatchOptions options()
    {
        DispatchOptions o;
        o.backoff.jitter = JitterMode::None;
        o.backoff.initialDelay = 2s;
        o.limits.requests.perMinute = 6000; // a known limit: no waiting for the first response to teach one
        return o;
    }
    QString cell(int row, int column) const { return model.index(row, column).data().toString(); }
};

} // namespace

class TestQueueModel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void insertsAreBatched();
    void changesAreCoalesced();
    void changeBatchesAreRateLimited();
    void columns();
    void failedAndRetryColumns();
    void filterByStateAndText();
    void sortsNumerically();
    void headers();
};

void TestQueueModel::insertsAreBatched()
{
    Rig r;
    QSignalSpy inserted(&r.model, &QAbstractItemModel::rowsInserted);
    for (int i = 0; i < 100; ++i)
        QVERIFY(r.dispatcher.submit(body(10)).ok());
    QCOMPARE(r.model.rowCount(), 0); // not yet: one insert at the next turn of the event loop
    QTRY_COMPARE_WITH_TIMEOUT(r.model.rowCount(), 100, 1000);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(inserted.at(0).at(1).toInt(), 0);
    QCOMPARE(inserted.at(0).at(2).toInt(), 99);
    QCOMPARE(r.filter.rowCount(), 100);
}

void TestQueueModel::changesAreCoalesced()
{
    Rig r;
    for (int i = 0; i < 6; ++i)
        r.dispatcher.submit(body(10));
    r.model.flush();
    QSignalSpy changed(&r.model, &QAbstractItemModel::dataChanged);
    r.dispatcher.cancel(2);
    r.dispatcher.cancel(3);
    r.dispatcher.cancel(5);
    r.dispatcher.cancel(2); // already cancelled: no new change
    QCOMPARE(changed.count(), 0);
    r.model.flush();
    // Rows 1-2 (ids 2, 3) as one run, row 4 (id 5) as another.
    QCOMPARE(changed.count(), 2);
    QCOMPARE(changed.at(0).at(0).toModelIndex().row(), 1);
    QCOMPARE(changed.at(0).at(1).toModelIndex().row(), 2);
    QCOMPARE(changed.at(0).at(1).toModelIndex().column(), QueueModel::ColumnCount - 1);
    QCOMPARE(changed.at(1).at(0).toModelIndex().row(), 4);
    QCOMPARE(changed.at(1).at(1).toModelIndex().row(), 4);
    QCOMPARE(r.model.changeBatches(), 1);
    QCOMPARE(r.cell(1, QueueModel::StateColumn), QStringLiteral("cancelled"));
}

void TestQueueModel::changeBatchesAreRateLimited()
{
    Rig r;
    r.model.setUpdateInterval(100);
    for (int i = 0; i < 50; ++i)
        r.dispatcher.submit(body(10));
    r.model.flush();
    QSignalSpy changed(&r.model, &QAbstractItemModel::dataChanged);
    QElapsedTimer t;
    t.start();
    // Changes keep coming every 5 ms (a timer, not a sleep); batches come at most every 100 ms.
    QTimer source;
    RequestId next = 1;
    QObject::connect(&source, &QTimer::timeout, &r.dispatcher, [&] {
        if (next <= 50)
            r.dispatcher.cancel(next++);
    });
    source.start(5);
    QTRY_COMPARE_WITH_TIMEOUT(r.cell(49, QueueModel::StateColumn), QStringLiteral("cancelled"), 5000);
    r.model.flush();
    const double seconds = double(t.elapsed()) / 1000;
    QVERIFY2(r.model.changeBatches() <= qint64(seconds * 10) + 2,
             qPrintable(QStringLiteral("%1 batches in %2 s").arg(r.model.changeBatches()).arg(seconds)));
    QVERIFY(r.model.changeBatches() >= 2);
}

void TestQueueModel::columns()
{
    Rig r;
    const auto id = r.dispatcher.submit(body(256), 5, QStringLiteral("q-1")).id;
    r.model.flush();
    QCOMPARE(r.cell(0, QueueModel::IdColumn), QStringLiteral("q-1"));
    QCOMPARE(r.cell(0, QueueModel::PriorityColumn), QStringLiteral("5"));
    QCOMPARE(r.cell(0, QueueModel::StateColumn), QStringLiteral("queued"));
    QCOMPARE(r.cell(0, QueueModel::MaxTokensColumn), QStringLiteral("256"));
    QVERIFY(r.cell(0, QueueModel::InputTokensColumn).toInt() > 0);
    QCOMPARE(r.model.index(0, QueueModel::StateColumn).data(Qt::ForegroundRole).value<QColor>(),
             QueueModel::stateColour(RequestState::Queued));
    r.clock.advance(1500ms);
    QCOMPARE(r.cell(0, QueueModel::WaitedColumn), QStringLiteral("1.5 s")); // waiting grows with the clock

    r.dispatcher.pump();
    QCOMPARE(r.transport.sent.size(), 1);
    r.clock.advance(250ms);
    r.transport.finish(r.transport.sent.first(), ok());
    r.model.flush();
    QCOMPARE(r.dispatcher.request(id)->state, RequestState::Succeeded);
    QCOMPARE(r.cell(0, QueueModel::StateColumn), QStringLiteral("succeeded"));
    QCOMPARE(r.cell(0, QueueModel::AttemptsColumn), QStringLiteral("1"));
    QCOMPARE(r.cell(0, QueueModel::LatencyColumn), QStringLiteral("250 ms"));
    QCOMPARE(r.cell(0, QueueModel::WaitedColumn), QStringLiteral("1.5 s")); // frozen once it left the queue
    QCOMPARE(r.cell(0, QueueModel::ErrorColumn), QString());
}

void TestQueueModel::failedAndRetryColumns()
{
    Rig r;
    r.dispatcher.submit(body(10));
    r.dispatcher.submit(body(10));
    r.dispatcher.pump();
    QCOMPARE(r.transport.sent.size(), 2);
    r.transport.finish(r.transport.sent.at(0), failure(400));
    r.transport.finish(r.transport.sent.at(1), failure(500));
    r.model.flush();
    QCOMPARE(r.cell(0, QueueModel::StateColumn), QStringLiteral("failed"));
    QVERIFY2(r.cell(0, QueueModel::ErrorColumn).contains(QStringLiteral("it went wrong")),
             qPrintable(r.cell(0, QueueModel::ErrorColumn)));
    QVERIFY(r.model.index(0, QueueModel::ErrorColumn)
                .data(Qt::ToolTipRole)
                .toString()
                .contains(QStringLiteral("request-id: req_bad")));
    QCOMPARE(r.cell(1, QueueModel::StateColumn), QStringLiteral("retry wait"));
    QCOMPARE(r.cell(1, QueueModel::NextAttemptColumn), QStringLiteral("2 s"));
    QVERIFY(!r.cell(1, QueueModel::ErrorColumn).isEmpty()); // why it waits
    r.clock.advance(500ms);
    QCOMPARE(r.cell(1, QueueModel::NextAttemptColumn), QStringLiteral("1.5 s"));
}

void TestQueueModel::filterByStateAndText()
{
    Rig r;
    for (int i = 0; i < 4; ++i)
        r.dispatcher.submit(body(10), 0, QStringLiteral("item-%1").arg(i));
    r.dispatcher.cancel(2);
    r.dispatcher.cancel(4);
    r.model.flush();
    r.filter.setStates(QueueFilterModel::bit(RequestState::Cancelled));
    QCOMPARE(r.filter.rowCount(), 2);
    r.filter.setText(QStringLiteral("ITEM-3"));
    QCOMPARE(r.filter.rowCount(), 1);
    QCOMPARE(r.filter.index(0, QueueModel::IdColumn).data().toString(), QStringLiteral("item-3"));
    r.filter.setStates(QueueFilterModel::allStates());
    r.filter.setText({});
    QCOMPARE(r.filter.rowCount(), 4);
    // A state change moves a row in or out of a filtered view.
    r.filter.setStates(QueueFilterModel::bit(RequestState::Queued));
    QCOMPARE(r.filter.rowCount(), 2);
    r.dispatcher.cancel(1);
    r.model.flush();
    QCOMPARE(r.filter.rowCount(), 1);
}

void TestQueueModel::sortsNumerically()
{
    Rig r;
    for (int p : {9, 10, -1, 2})
        r.dispatcher.submit(body(10), p);
    r.model.flush();
    r.filter.sort(QueueModel::PriorityColumn, Qt::DescendingOrder);
    QStringList order;
    for (int row = 0; row < r.filter.rowCount(); ++row)
        order << r.filter.index(row, QueueModel::PriorityColumn).data().toString();
    QCOMPARE(order, (QStringList{QStringLiteral("10"), QStringLiteral("9"), QStringLiteral("2"),
                                 QStringLiteral("-1")}));
    // Re-prioritising moves the row (dynamic sort).
    r.dispatcher.reprioritise(3, 50);
    r.model.flush();
    QCOMPARE(r.filter.index(0, QueueModel::PriorityColumn).data().toString(), QStringLiteral("50"));
}

void TestQueueModel::headers()
{
    Rig r;
    QCOMPARE(r.model.columnCount(), 10);
    QCOMPARE(r.model.headerData(QueueModel::StateColumn, Qt::Horizontal).toString(), QStringLiteral("State"));
    QCOMPARE(r.model.headerData(QueueModel::MaxTokensColumn, Qt::Horizontal).toString(),
             QStringLiteral("max_tokens"));
    QVERIFY(
        !r.model.headerData(QueueModel::WaitedColumn, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty());
}

QTEST_MAIN(TestQueueModel)
#include "tst_queuemodel.moc"
