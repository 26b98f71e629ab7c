// Tests for RequestQueue: order, bounds, by-id operations, the delay queue, backfill iteration, and a long
// random run against a plain reference model (a vector sorted the slow, obvious way).
#include "requestqueue.h"

#include <QTest>

#include <algorithm>
#include <random>

using namespace sluice;
using namespace std::chrono_literals;

namespace {

using Entry = RequestQueue::Entry;
using PushResult = RequestQueue::PushResult;

std::vector<RequestId> drain(RequestQueue &q)
{
    std::vector<RequestId> ids;
    while (auto e = q.pop())
        ids.push_back(e->id);
    return ids;
}

std::vector<RequestId> orderOf(const RequestQueue &q, qsizetype n = 1'000'000)
{
    std::vector<RequestId> ids;
    for (const Entry &e : q.firstEntries(n))
        ids.push_back(e.id);
    return ids;
}

const TimePoint t0 = TimePoint{} + 1s;

} // namespace

Q_DECLARE_METATYPE(std::vector<RequestId>)
Q_DECLARE_METATYPE(std::vector<int>)

// Readable failure messages for the id lists and entries compared below.
namespace QTest {
template<> char *toString(const std::vector<RequestId> &ids)
{
    QByteArray s = "{";
    for (size_t i = 0; i < ids.size(); ++i)
        s += (i ? ", " : "") + QByteArray::number(ids[i]);
    return qstrdup(s + "}");
}
template<> char *toString(const RequestQueue::Entry &e)
{
    return qstrdup(QByteArray("{id ") + QByteArray::number(e.id) + ", priority " +
                   QByteArray::number(e.priority) + ", ticket " + QByteArray::number(e.ticket) + "}");
}
} // namespace QTest

class TestRequestQueue : public QObject
{
    Q_OBJECT

private slots:
    void priorityOrder_data();
    void priorityOrder();
    void peekMatchesPop();
    void emptyQueue();
    void fullQueueRejects();
    void duplicateRejected();
    void capacityCountsBothQueues();
    void lowerCapacityEvictsNothing();
    void cancelUnknownIdChangesNothing();
    void cancelFromEitherQueue();
    void takeReturnsEntryWithTicket();
    void reprioritiseKeepsArrivalOrder();
    void reprioritiseDelayedKeepsDueOrder();
    void reprioritiseUnknownId();
    void delayQueueOrderAndPromotion();
    void promotedRetryGoesAheadOfNewerWork();
    void retryWithoutTicketGoesBehind();
    void resumedTicketKeepsPlaceAndLaterPushesFollow();
    void backfillIterationOrder();
    void backfillIterationStopsEarly();
    void clearEmptiesEverything();
    void extremePriorities();
    void randomOpsMatchReferenceModel();
    void manyIdsSurviveChurn();
};

void TestRequestQueue::priorityOrder_data()
{
    QTest::addColumn<std::vector<int>>("priorities"); // id i+1 gets priorities[i]
    QTest::addColumn<std::vector<RequestId>>("expected");

    QTest::addRow("all equal: FIFO") << std::vector<int>{0, 0, 0, 0} << std::vector<RequestId>{1, 2, 3, 4};
    QTest::addRow("ascending") << std::vector<int>{1, 2, 3} << std::vector<RequestId>{3, 2, 1};
    QTest::addRow("interleaved") << std::vector<int>{0, 5, 0, 5, 1} << std::vector<RequestId>{2, 4, 5, 1, 3};
    QTest::addRow("negatives") << std::vector<int>{-1, 0, -5, -1, 3} << std::vector<RequestId>{5, 2, 1, 4, 3};
    QTest::addRow("single") << std::vector<int>{7} << std::vector<RequestId>{1};
}

void TestRequestQueue::priorityOrder()
{
    QFETCH(std::vector<int>, priorities);
    QFETCH(std::vector<RequestId>, expected);
    RequestQueue q;
    for (size_t i = 0; i < priorities.size(); ++i)
        QCOMPARE(q.push(RequestId(i + 1), priorities[i]), PushResult::Ok);
    QCOMPARE(q.queuedCount(), qsizetype(priorities.size()));
    QCOMPARE(orderOf(q), expected);
    QCOMPARE(drain(q), expected);
    QVERIFY(q.isEmpty());
}

void TestRequestQueue::peekMatchesPop()
{
    RequestQueue q;
    q.push(10, 1);
    q.push(20, 2);
    const auto head = q.peek();
    QVERIFY(head);
    QCOMPARE(head->id, RequestId(20));
    QCOMPARE(head->priority, 2);
    QCOMPARE(head->ticket, RequestQueue::Ticket(1));
    QCOMPARE(q.queuedCount(), 2); // peek removes nothing
    QCOMPARE(q.pop(), head);
    QCOMPARE(q.pop()->id, RequestId(10));
}

void TestRequestQueue::emptyQueue()
{
    RequestQueue q;
    QVERIFY(!q.peek());
    QVERIFY(!q.pop());
    QVERIFY(!q.nextDue());
    QVERIFY(q.promoteDue(t0 + 1000s).empty());
    QVERIFY(q.firstEntries(5).empty());
    int calls = 0;
    q.forEachInOrder([&](const Entry &) { return ++calls, true; });
    QCOMPARE(calls, 0);
}

void TestRequestQueue::fullQueueRejects()
{
    RequestQueue q(QueueOptions{3});
    QCOMPARE(q.push(1, 0), PushResult::Ok);
    QCOMPARE(q.push(2, 0), PushResult::Ok);
    QCOMPARE(q.push(3, 9), PushResult::Ok);
    QVERIFY(q.isFull());
    QCOMPARE(q.push(4, 100), PushResult::Full);
    QCOMPARE(q.pushDelayed(5, 0, t0), PushResult::Full);
    QVERIFY(!q.contains(4));
    QVERIFY(!q.contains(5));
    QCOMPARE(q.size(), 3);
    QCOMPARE(orderOf(q), (std::vector<RequestId>{3, 1, 2}));
    // Room again after a pop.
    q.pop();
    QCOMPARE(q.push(4, 100), PushResult::Ok);
    QCOMPARE(q.peek()->id, RequestId(4));
}

void TestRequestQueue::duplicateRejected()
{
    RequestQueue q;
    QCOMPARE(q.push(1, 0), PushResult::Ok);
    QCOMPARE(q.push(1, 5), PushResult::Duplicate);
    QCOMPARE(q.pushDelayed(1, 5, t0), PushResult::Duplicate);
    QCOMPARE(q.priorityOf(1), 0); // untouched
    QCOMPARE(q.size(), 1);
    QCOMPARE(q.pushDelayed(2, 0, t0), PushResult::Ok);
    QCOMPARE(q.push(2, 0), PushResult::Duplicate);
    // Full and duplicate at once: duplicate is the more useful answer (the request is already waiting).
    RequestQueue one(QueueOptions{1});
    one.push(7, 0);
    QCOMPARE(one.push(7, 0), PushResult::Duplicate);
    QCOMPARE(one.push(8, 0), PushResult::Full);
}

void TestRequestQueue::capacityCountsBothQueues()
{
    RequestQueue q(QueueOptions{2});
    QCOMPARE(q.pushDelayed(1, 0, t0 + 5s), PushResult::Ok);
    QCOMPARE(q.push(2, 0), PushResult::Ok);
    QCOMPARE(q.queuedCount(), 1);
    QCOMPARE(q.delayedCount(), 1);
    QCOMPARE(q.size(), 2);
    QCOMPARE(q.push(3, 0), PushResult::Full);
    // Promotion moves, it never needs room.
    QCOMPARE(q.promoteDue(t0 + 5s), std::vector<RequestId>{1});
    QCOMPARE(q.queuedCount(), 2);
    QCOMPARE(q.delayedCount(), 0);
}

void TestRequestQueue::lowerCapacityEvictsNothing()
{
    RequestQueue q;
    for (RequestId id = 1; id <= 5; ++id)
        q.push(id, 0);
    q.setOptions(QueueOptions{2});
    QCOMPARE(q.size(), 5);
    QCOMPARE(q.push(6, 0), PushResult::Full);
    q.pop();
    q.pop();
    q.pop();
    QCOMPARE(q.push(6, 0), PushResult::Full); // 2 left, capacity 2
    q.pop();
    QCOMPARE(q.push(6, 0), PushResult::Ok);
}

void TestRequestQueue::cancelUnknownIdChangesNothing()
{
    RequestQueue q;
    q.push(1, 3);
    q.push(2, 1);
    q.pushDelayed(3, 0, t0 + 1s);
    const auto before = q.firstEntries(10);
    QVERIFY(!q.cancel(99));
    QVERIFY(!q.take(99));
    QCOMPARE(q.firstEntries(10), before);
    QCOMPARE(q.queuedCount(), 2);
    QCOMPARE(q.delayedCount(), 1);
    QCOMPARE(q.nextDue(), t0 + 1s);
    // Cancelling twice: the second is an unknown id.
    QVERIFY(q.cancel(2));
    QVERIFY(!q.cancel(2));
    QCOMPARE(q.queuedCount(), 1);
}

void TestRequestQueue::cancelFromEitherQueue()
{
    RequestQueue q;
    for (RequestId id = 1; id <= 6; ++id)
        q.push(id, int(id % 3));
    q.pushDelayed(10, 0, t0 + 3s);
    q.pushDelayed(11, 0, t0 + 1s);
    q.pushDelayed(12, 0, t0 + 2s);
    // Order before: priority 2 {2,5}, 1 {1,4}, 0 {3,6}
    QVERIFY(q.cancel(5));  // middle of the heap
    QVERIFY(q.cancel(2));  // the head
    QVERIFY(q.cancel(11)); // the earliest delayed
    QVERIFY(!q.contains(5));
    QVERIFY(!q.contains(11));
    QCOMPARE(q.nextDue(), t0 + 2s);
    QCOMPARE(q.size(), 6);
    QCOMPARE(orderOf(q), (std::vector<RequestId>{1, 4, 3, 6}));
    QCOMPARE(q.promoteDue(t0 + 10s), (std::vector<RequestId>{12, 10}));
}

void TestRequestQueue::takeReturnsEntryWithTicket()
{
    RequestQueue q;
    q.push(1, 0); // ticket 0
    q.push(2, 0); // ticket 1
    q.push(3, 0); // ticket 2
    const auto e = q.take(2);
    QVERIFY(e);
    QCOMPARE(*e, (Entry{2, 0, 1}));
    // Putting it back with its ticket restores its place.
    QCOMPARE(q.push(2, 0, e->ticket), PushResult::Ok);
    QCOMPARE(orderOf(q), (std::vector<RequestId>{1, 2, 3}));
    const auto d = (q.pushDelayed(4, 7, t0 + 1s), q.take(4));
    QCOMPARE(*d, (Entry{4, 7, 3}));
    QCOMPARE(q.delayedCount(), 0);
}

void TestRequestQueue::reprioritiseKeepsArrivalOrder()
{
    RequestQueue q;
    q.push(1, 0); // ticket 0
    q.push(2, 5); // ticket 1
    q.push(3, 5); // ticket 2
    q.push(4, 0); // ticket 3
    // Up: 4 joins priority 5 and, being newest, goes behind 2 and 3.
    QVERIFY(q.reprioritise(4, 5));
    QCOMPARE(orderOf(q), (std::vector<RequestId>{2, 3, 4, 1}));
    // Up into a level with newer entries: 1 (ticket 0) goes ahead of all of priority 5.
    QVERIFY(q.reprioritise(1, 5));
    QCOMPARE(orderOf(q), (std::vector<RequestId>{1, 2, 3, 4}));
    // Down.
    QVERIFY(q.reprioritise(2, -1));
    QCOMPARE(orderOf(q), (std::vector<RequestId>{1, 3, 4, 2}));
    QCOMPARE(q.priorityOf(2), -1);
    // Same priority: nothing moves.
    QVERIFY(q.reprioritise(3, 5));
    QCOMPARE(orderOf(q), (std::vector<RequestId>{1, 3, 4, 2}));
    QCOMPARE(drain(q), (std::vector<RequestId>{1, 3, 4, 2}));
}

void TestRequestQueue::reprioritiseDelayedKeepsDueOrder()
{
    RequestQueue q;
    q.pushDelayed(1, 0, t0 + 2s);
    q.pushDelayed(2, 0, t0 + 1s);
    q.push(3, 4);
    QVERIFY(q.reprioritise(1, 9));
    QVERIFY(q.isDelayed(1));
    QCOMPARE(q.priorityOf(1), 9);
    QCOMPARE(q.nextDue(), t0 + 1s);
    QCOMPARE(q.promoteDue(t0 + 1s), std::vector<RequestId>{2});
    QCOMPARE(q.promoteDue(t0 + 2s), std::vector<RequestId>{1});
    QCOMPARE(orderOf(q), (std::vector<RequestId>{1, 3, 2})); // 1 lands with its new priority 9
}

void TestRequestQueue::reprioritiseUnknownId()
{
    RequestQueue q;
    q.push(1, 0);
    QVERIFY(!q.reprioritise(2, 5));
    QVERIFY(!q.contains(2));
    QCOMPARE(q.size(), 1);
    QVERIFY(!q.priorityOf(2));
}

void TestRequestQueue::delayQueueOrderAndPromotion()
{
    RequestQueue q;
    QCOMPARE(q.pushDelayed(1, 0, t0 + 300ms), PushResult::Ok);
    QCOMPARE(q.pushDelayed(2, 0, t0 + 100ms), PushResult::Ok);
    QCOMPARE(q.pushDelayed(3, 0, t0 + 200ms), PushResult::Ok);
    QCOMPARE(q.pushDelayed(4, 0, t0 + 100ms), PushResult::Ok); // same due as 2, later ticket
    QCOMPARE(q.delayedCount(), 4);
    QCOMPARE(q.queuedCount(), 0);
    QVERIFY(!q.peek()); // delayed entries are not poppable
    QVERIFY(q.isDelayed(2));
    QCOMPARE(q.dueOf(3), t0 + 200ms);
    QVERIFY(!q.dueOf(99));
    QCOMPARE(q.nextDue(), t0 + 100ms);

    QVERIFY(q.promoteDue(t0 + 100ms - Duration(1)).empty()); // due is inclusive: 1 ns early promotes nothing
    QCOMPARE(q.promoteDue(t0 + 100ms), (std::vector<RequestId>{2, 4}));
    QVERIFY(!q.isDelayed(2));
    QVERIFY(!q.dueOf(2));
    QCOMPARE(q.nextDue(), t0 + 200ms);
    QCOMPARE(q.queuedCount(), 2);
    QCOMPARE(q.delayedCount(), 2);
    QCOMPARE(q.promoteDue(t0 + 10s), (std::vector<RequestId>{3, 1}));
    QVERIFY(!q.nextDue());
    QCOMPARE(drain(q), (std::vector<RequestId>{1, 2, 3, 4})); // tickets 0..3, all priority 0
}

void TestRequestQueue::promotedRetryGoesAheadOfNewerWork()
{
    RequestQueue q;
    q.push(1, 0);
    q.push(2, 5);
    q.push(3, 0);
    q.push(4, 5);
    const auto e = q.pop();
    QCOMPARE(*e, (Entry{2, 5, 1}));
    QCOMPARE(q.pushDelayed(e->id, e->priority, t0 + 2s, e->ticket), PushResult::Ok);
    q.push(5, 5);
    QCOMPARE(orderOf(q), (std::vector<RequestId>{4, 5, 1, 3}));
    QCOMPARE(q.promoteDue(t0 + 2s), std::vector<RequestId>{2});
    QCOMPARE(orderOf(q), (std::vector<RequestId>{2, 4, 5, 1, 3}));
    // A higher priority still beats an old ticket.
    q.push(6, 6);
    QCOMPARE(q.peek()->id, RequestId(6));
}

void TestRequestQueue::retryWithoutTicketGoesBehind()
{
    RequestQueue q;
    q.push(1, 0);
    q.push(2, 0);
    q.pushDelayed(3, 0, t0); // gets ticket 2 now
    q.push(4, 0);            // ticket 3
    q.promoteDue(t0);
    QCOMPARE(drain(q), (std::vector<RequestId>{1, 2, 3, 4}));
}

void TestRequestQueue::resumedTicketKeepsPlaceAndLaterPushesFollow()
{
    RequestQueue q;
    QCOMPARE(q.push(1, 0, 41), PushResult::Ok);
    QCOMPARE(q.push(2, 0, 7), PushResult::Ok);
    QCOMPARE(q.push(3, 0), PushResult::Ok); // must come after ticket 41
    QCOMPARE(q.firstEntries(3).back().ticket, RequestQueue::Ticket(42));
    QCOMPARE(drain(q), (std::vector<RequestId>{2, 1, 3}));
    // Equal caller tickets are broken by id, deterministically.
    q.push(9, 0, 5);
    q.push(8, 0, 5);
    QCOMPARE(drain(q), (std::vector<RequestId>{8, 9}));
}

void TestRequestQueue::backfillIterationOrder()
{
    RequestQueue q;
    std::mt19937 rng(7);
    std::vector<std::pair<int, RequestId>> ref; // (-priority, id); ids increase with arrival
    for (RequestId id = 1; id <= 500; ++id) {
        const int p = int(rng() % 7) - 3;
        q.push(id, p);
        ref.emplace_back(-p, id);
    }
    q.pushDelayed(1000, 100, t0); // delayed entries are not part of the ready order
    std::sort(ref.begin(), ref.end());
    std::vector<RequestId> expected;
    for (const auto &r : ref)
        expected.push_back(r.second);
    QCOMPARE(orderOf(q), expected);
    const std::vector<RequestId> firstTen(expected.begin(), expected.begin() + 10);
    QCOMPARE(orderOf(q, 10), firstTen);
    // Iteration does not disturb the queue.
    QCOMPARE(drain(q), expected);
}

void TestRequestQueue::backfillIterationStopsEarly()
{
    RequestQueue q;
    for (RequestId id = 1; id <= 20; ++id)
        q.push(id, 0);
    // Look behind the head for the first even id above 5 (a "smaller request that fits"), then take it.
    int visited = 0;
    std::optional<RequestId> chosen;
    q.forEachInOrder([&](const Entry &e) {
        ++visited;
        if (e.id > 5 && e.id % 2 == 0) {
            chosen = e.id;
            return false;
        }
        return true;
    });
    QCOMPARE(visited, 6);
    QCOMPARE(chosen, RequestId(6));
    QVERIFY(q.take(*chosen));
    QCOMPARE(orderOf(q, 7), (std::vector<RequestId>{1, 2, 3, 4, 5, 7, 8}));
    QCOMPARE(q.firstEntries(0).size(), size_t(0));
}

void TestRequestQueue::clearEmptiesEverything()
{
    RequestQueue q;
    q.push(1, 0);
    q.pushDelayed(2, 0, t0);
    q.clear();
    QCOMPARE(q.size(), 0);
    QVERIFY(!q.contains(1));
    QVERIFY(!q.contains(2));
    QVERIFY(!q.nextDue());
    QCOMPARE(q.push(1, 0), PushResult::Ok);
    QCOMPARE(q.peek()->ticket, RequestQueue::Ticket(2)); // tickets keep counting
}

void TestRequestQueue::extremePriorities()
{
    RequestQueue q;
    q.push(1, 0);
    q.push(2, std::numeric_limits<int>::min());
    q.push(3, std::numeric_limits<int>::max());
    QCOMPARE(drain(q), (std::vector<RequestId>{3, 1, 2}));
}

// A reference model that is obviously right: a vector, sorted from scratch whenever asked.
struct ModelEntry
{
    RequestId id;
    int priority;
    quint64 ticket;
    bool delayed;
    qint64 due;
};

void TestRequestQueue::randomOpsMatchReferenceModel()
{
    const qsizetype capacity = 60;
    RequestQueue q(QueueOptions{capacity});
    std::vector<ModelEntry> model;
    quint64 nextTicket = 0;
    qint64 now = 0; // ns since t0
    std::mt19937_64 rng(20260101);
    const auto pick = [&](quint64 n) { return rng() % n; };
    const auto readyOrder = [&] {
        std::vector<ModelEntry> ready;
        for (const auto &m : model)
            if (!m.delayed)
                ready.push_back(m);
        std::sort(ready.begin(), ready.end(), [](const ModelEntry &a, const ModelEntry &b) {
            return a.priority != b.priority ? a.priority > b.priority : a.ticket < b.ticket;
        });
        return ready;
    };
    const auto find = [&](RequestId id) {
        return std::find_if(model.begin(), model.end(), [id](const ModelEntry &m) { return m.id == id; });
    };
    // Ids from a small range so that duplicates, unknown ids and re-use all happen often.
    const auto randomId = [&] { return RequestId(1 + pick(100)); };

    for (int op = 0; op < 10'000; ++op) {
        const int kind = int(pick(10));
        const RequestId id = randomId();
        const int prio = int(pick(5)) - 2;
        const auto it = find(id);
        switch (kind) {
        case 0:
        case 1: { // push
            const PushResult expected = it != model.end()                     ? PushResult::Duplicate
                                        : qsizetype(model.size()) >= capacity ? PushResult::Full
                                                                              : PushResult::Ok;
            QCOMPARE(q.push(id, prio), expected);
            if (expected == PushResult::Ok)
                model.push_back({id, prio, nextTicket++, false, 0});
            break;
        }
        case 2: { // pop, and maybe schedule it as a retry keeping its ticket
            const auto ready = readyOrder();
            const auto got = q.pop();
            QCOMPARE(got.has_value(), !ready.empty());
            if (!got)
                break;
            QCOMPARE(got->id, ready.front().id);
            QCOMPARE(got->priority, ready.front().priority);
            QCOMPARE(got->ticket, ready.front().ticket);
            model.erase(find(got->id));
            if (pick(2) == 0) {
                const qint64 due = now + qint64(pick(5)) * 1'000'000;
                QCOMPARE(q.pushDelayed(got->id, got->priority, t0 + Duration(due), got->ticket),
                         PushResult::Ok);
                model.push_back({got->id, got->priority, got->ticket, true, due});
            }
            break;
        }
        case 3: { // pushDelayed of a new id
            const qint64 due = now + qint64(pick(10)) * 1'000'000;
            const PushResult expected = it != model.end()                     ? PushResult::Duplicate
                                        : qsizetype(model.size()) >= capacity ? PushResult::Full
                                                                              : PushResult::Ok;
            QCOMPARE(q.pushDelayed(id, prio, t0 + Duration(due)), expected);
            if (expected == PushResult::Ok)
                model.push_back({id, prio, nextTicket++, true, due});
            break;
        }
        case 4: // cancel
            QCOMPARE(q.cancel(id), it != model.end());
            if (it != model.end())
                model.erase(it);
            break;
        case 5: { // take
            const auto got = q.take(id);
            QCOMPARE(got.has_value(), it != model.end());
            if (got) {
                QCOMPARE(got->priority, it->priority);
                QCOMPARE(got->ticket, it->ticket);
                model.erase(it);
            }
            break;
        }
        case 6: // reprioritise
            QCOMPARE(q.reprioritise(id, prio), it != model.end());
            if (it != model.end())
                it->priority = prio;
            break;
        case 7: { // time passes, promote
            now += qint64(pick(3)) * 1'000'000;
            std::vector<ModelEntry> due;
            for (auto &m : model)
                if (m.delayed && m.due <= now)
                    due.push_back(m);
            std::sort(due.begin(), due.end(), [](const ModelEntry &a, const ModelEntry &b) {
                return a.due != b.due ? a.due < b.due : a.ticket < b.ticket;
            });
            std::vector<RequestId> expected;
            for (const auto &m : due) {
                expected.push_back(m.id);
                find(m.id)->delayed = false;
            }
            QCOMPARE(q.promoteDue(t0 + Duration(now)), expected);
            break;
        }
        case 8: { // backfill view: the first 5 in order
            const auto ready = readyOrder();
            const auto got = q.firstEntries(5);
            QCOMPARE(got.size(), std::min<size_t>(5, ready.size()));
            for (size_t i = 0; i < got.size(); ++i)
                QCOMPARE(got[i], (Entry{ready[i].id, ready[i].priority, ready[i].ticket}));
            break;
        }
        case 9: { // queries
            QCOMPARE(q.contains(id), it != model.end());
            QCOMPARE(q.priorityOf(id), it != model.end() ? std::optional<int>(it->priority) : std::nullopt);
            QCOMPARE(q.isDelayed(id), it != model.end() && it->delayed);
            std::optional<TimePoint> earliest;
            for (const auto &m : model)
                if (m.delayed && (!earliest || t0 + Duration(m.due) < *earliest))
                    earliest = t0 + Duration(m.due);
            QCOMPARE(q.nextDue(), earliest);
            break;
        }
        }
        const auto delayed =
            std::count_if(model.begin(), model.end(), [](const ModelEntry &m) { return m.delayed; });
        QCOMPARE(q.delayedCount(), qsizetype(delayed));
        QCOMPARE(q.queuedCount(), qsizetype(model.size()) - qsizetype(delayed));
        QCOMPARE(q.size(), qsizetype(model.size()));
    }
    // Finally, the whole order must match.
    const auto ready = readyOrder();
    std::vector<RequestId> expected;
    for (const auto &m : ready)
        expected.push_back(m.id);
    QCOMPARE(drain(q), expected);
}

// The id index is a hand-written hash table: hammer it with arbitrary 64-bit ids (0 and the maximum
// included), removals from the middle of probe runs and growth, and check every id is still found exactly
// when it should be.
void TestRequestQueue::manyIdsSurviveChurn()
{
    RequestQueue q;
    std::mt19937_64 rng(99);
    std::vector<RequestId> ids{0, std::numeric_limits<RequestId>::max()};
    for (int i = 0; i < 20'000; ++i)
        ids.push_back(i % 3 == 0 ? RequestId(i + 1) : rng()); // a mix of dense and scattered ids
    for (size_t i = 0; i < ids.size(); ++i)
        QCOMPARE(q.push(ids[i], int(i % 11)), PushResult::Ok);
    std::vector<bool> present(ids.size(), true);
    for (size_t i = 0; i < ids.size(); i += 2) {
        QVERIFY(q.cancel(ids[i]));
        present[i] = false;
    }
    for (size_t i = 0; i < ids.size(); ++i) {
        QCOMPARE(q.contains(ids[i]), bool(present[i]));
        if (present[i])
            QCOMPARE(q.priorityOf(ids[i]), int(i % 11));
    }
    QCOMPARE(q.size(), qsizetype(ids.size() / 2));
    // Re-insert the cancelled ones and drain: every id comes out exactly once.
    for (size_t i = 0; i < ids.size(); i += 2)
        QCOMPARE(q.push(ids[i], 0), PushResult::Ok);
    std::vector<RequestId> out = drain(q);
    std::sort(out.begin(), out.end());
    std::sort(ids.begin(), ids.end());
    QCOMPARE(out, ids);
}

QTEST_APPLESS_MAIN(TestRequestQueue)
#include "tst_requestqueue.moc"
