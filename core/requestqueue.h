#pragma once
// RequestQueue: the waiting room of the dispatcher. A stable priority queue of request ids plus a delay queue
// of retries that are not due yet, bounded together, with cancel / take / re-prioritise by id.
//
// Design note. Every entry carries an arrival *ticket*: a number handed out in increasing order by push() (or
// given by the caller, e.g. when a retry or a resumed journal entry comes back). The ready queue orders by
// (priority descending, ticket ascending), which is exactly "higher priority first, FIFO within a priority",
// and it stays that way for entries that leave and come back, because they bring their ticket with them: a
// retry that is promoted from the delay queue lands where it would have been had it never left, i.e. ahead of
// newer work of the same priority. The delay queue orders by (due time, ticket).
//
// Both queues are indexed binary heaps over one slot table: a flat hash index finds an id's slot, the slot
// knows its heap position, so push, pop, cancel, take and re-prioritise are all O(log n) with no per-entry
// allocation once the vectors have grown. A sorted tree would give ordered iteration for free but costs a
// node allocation and a pointer chase per level; the dispatcher only ever looks at the first few entries
// (backfill), and forEachInOrder() walks those in order in O(k log k) by a best-first walk of the heap.
// Measured with bench/bench_queue (RelWithDebInfo, 2-core VM, other builds running): with 100,000 queued at 8
// priorities, 3.3 million push+pop pairs per second (target: 1 million); 1.3 million with 1,000,000 queued;
// cancel-by-id + push 1.9 million per second; walking the first 32 entries 0.6 us.
//
// Re-prioritise keeps the entry's ticket: in its new priority level it sits where it would be had it been
// submitted with that priority in the first place (not at the back). Within the delay queue only the priority
// changes; the due time, and so the delay order, does not.
//
// Worked example:
//   RequestQueue q;                      // capacity 1,000,000 by default (QueueOptions)
//   q.push(1, 0); q.push(2, 5); q.push(3, 0); q.push(4, 5);
//   // order: 2, 4 (priority 5, FIFO), then 1, 3 (priority 0, FIFO)
//   auto e = q.pop();                    // e->id == 2, e->ticket == 1 (tickets count from 0)
//   q.pushDelayed(e->id, e->priority, now + 2s, e->ticket);   // retry in 2 s, keeping its place in line
//   q.push(5, 5);                        // newer work of the same priority
//   q.promoteDue(now + 2s);              // -> {2}; order is now 2, 4, 5, 1, 3: the retry goes before 4 and 5
//
// Threading: not thread-safe; the dispatcher owns it on one thread.

#include "clock.h"
#include "options.h"

#include <QtGlobal>

#include <algorithm>
#include <optional>
#include <vector>

namespace sluice {

using RequestId = quint64;

class RequestQueue
{
public:
    // Arrival order. Lower goes first within a priority. Tickets from push() are unique and increasing.
    using Ticket = quint64;

    enum class PushResult
    {
        Ok,
        Full,      // queued + delayed already equals QueueOptions::capacity: nothing was added
        Duplicate, // the id is already in the ready or the delay queue: nothing changed
    };

    struct Entry
    {
        RequestId id = 0;
        int priority = 0; // higher runs first
        Ticket ticket = 0;
        bool operator==(const Entry &) const = default;
    };

    explicit RequestQueue(QueueOptions options = {});

    const QueueOptions &options() const { return m_options; }
    // A smaller capacity than the current size evicts nothing; it only refuses pushes until the queue drains.
    void setOptions(const QueueOptions &options) { m_options = options; }

    // --- ready queue
    // ------------------------------------------------------------------------------------------ Adds id to
    // the ready queue. Without `arrival` it gets the next ticket (goes behind everything of its priority);
    // with one (a request resumed from the journal, a re-queued in-flight request) it keeps that place and
    // later tickets are handed out after it. O(log n).
    PushResult push(RequestId id, int priority, std::optional<Ticket> arrival = std::nullopt);
    // The entry that pop() would return, without removing it. O(1).
    std::optional<Entry> peek() const;
    // Removes and returns the head: highest priority, lowest ticket. O(log n).
    std::optional<Entry> pop();
    // Calls f(const Entry &) for ready entries in queue order, starting at the head, until f returns false or
    // the queue is exhausted. Cost O(k log k) for k entries visited. f must not modify the queue; collect ids
    // and take() them afterwards (that is how backfill removes the smaller request it picked).
    template<class F> void forEachInOrder(F f) const;
    // The first n ready entries in order (a convenience over forEachInOrder for the UI and tests).
    std::vector<Entry> firstEntries(qsizetype n) const;

    // --- delay queue
    // -------------------------------------------------------------------------------------------- Parks id
    // until `due` (a retry waiting out its backoff). Pass the ticket the entry had when it was popped so
    // that, once promoted, it goes ahead of newer work of its priority; without one it gets the next ticket.
    // O(log n).
    PushResult pushDelayed(RequestId id, int priority, TimePoint due,
                           std::optional<Ticket> arrival = std::nullopt);
    // The earliest due time in the delay queue, for the dispatcher's timer. O(1).
    std::optional<TimePoint> nextDue() const;
    // Moves every delayed entry with due <= now into the ready queue, where it lands by (priority, its
    // ticket). Returns the promoted ids in due order (so the caller can journal RetryWaiting -> Queued). O(m
    // log n).
    std::vector<RequestId> promoteDue(TimePoint now);
    // The due time of a delayed id; empty if the id is not in the delay queue.
    std::optional<TimePoint> dueOf(RequestId id) const;

    // --- by id, either queue
    // ------------------------------------------------------------------------------------ Removes id from
    // whichever queue holds it. False (and nothing changed) for an unknown id. O(log n).
    bool cancel(RequestId id) { return take(id).has_value(); }
    // As cancel(), but returns the entry (with its ticket, so it can be re-queued in the same place later).
    std::optional<Entry> take(RequestId id);
    // Changes id's priority, keeping its ticket (see the design note). False for an unknown id. O(log n).
    bool reprioritise(RequestId id, int priority);
    bool contains(RequestId id) const { return m_index.find(id) != kNoSlot; }
    bool isDelayed(RequestId id) const;
    std::optional<int> priorityOf(RequestId id) const;

    // --- counts
    // -------------------------------------------------------------------------------------------------
    qsizetype queuedCount() const { return qsizetype(m_ready.size()); }    // ready queue
    qsizetype delayedCount() const { return qsizetype(m_delayed.size()); } // delay queue
    qsizetype size() const { return queuedCount() + delayedCount(); }      // both; what capacity bounds
    bool isEmpty() const { return size() == 0; }
    bool isFull() const { return size() >= m_options.capacity; }
    // Empties both queues. Tickets keep counting up, so order against entries re-pushed with old tickets
    // holds.
    void clear();

private:
    static constexpr quint32 kNoSlot = 0xffffffffu;

    // One heap element. `key` is -priority in the ready heap and the due time in nanoseconds in the delay
    // heap, so both are min-heaps on (key, ticket, id); the id only breaks ties between caller-supplied equal
    // tickets.
    struct Item
    {
        qint64 key;
        Ticket ticket;
        RequestId id;
        quint32 slot;
    };
    static bool before(const Item &a, const Item &b)
    {
        if (a.key != b.key)
            return a.key < b.key;
        if (a.ticket != b.ticket)
            return a.ticket < b.ticket;
        return a.id < b.id;
    }

    struct Slot
    {
        quint32 pos = 0;      // index in its heap's items
        bool delayed = false; // which heap
        int priority = 0;     // kept here too: the delay heap's key is the due time
    };

    using Heap = std::vector<Item>;

    // id -> slot. A flat open-addressing table (linear probing, backward-shift deletion, so no tombstones):
    // one cache line per lookup, where QHash's spans cost two and made up 40 % of a push+pop in bench_queue.
    class IdIndex
    {
    public:
        // The slot of id, or kNoSlot.
        quint32 find(RequestId id) const;
        // The cell for id's slot; a new cell holds kNoSlot and must be set by the caller before the next
        // call.
        quint32 &findOrInsert(RequestId id);
        // Removes id; returns the slot it had, or kNoSlot if it was not there.
        quint32 erase(RequestId id);
        qsizetype size() const { return m_size; }
        void clear();

    private:
        struct Cell
        {
            RequestId key = 0;
            quint32 slot = kNoSlot; // kNoSlot marks an empty cell
        };
        size_t home(RequestId id) const;
        void grow();
        std::vector<Cell> m_cells;
        size_t m_mask = 0;
        qsizetype m_size = 0;
    };

    Heap &heapOf(const Slot &s) { return s.delayed ? m_delayed : m_ready; }
    PushResult insert(RequestId id, int priority, bool delayed, qint64 key, std::optional<Ticket> arrival);
    void heapPush(Heap &h, const Item &item);
    Item heapRemoveAt(Heap &h, quint32 pos);
    void siftUp(Heap &h, quint32 pos);
    void siftDown(Heap &h, quint32 pos);
    void place(Heap &h, quint32 pos, const Item &item)
    {
        h[pos] = item;
        m_slots[item.slot].pos = pos;
    }
    quint32 allocSlot();
    void freeSlot(quint32 slot);
    Entry entryOf(const Item &item) const { return Entry{item.id, m_slots[item.slot].priority, item.ticket}; }

    QueueOptions m_options;
    Heap m_ready;
    Heap m_delayed;
    std::vector<Slot> m_slots;
    std::vector<quint32> m_freeSlots;
    IdIndex m_index;
    Ticket m_nextTicket = 0;
};

template<class F> void RequestQueue::forEachInOrder(F f) const
{
    const Heap &items = m_ready;
    if (items.empty())
        return;
    // Best-first walk: a small min-heap of ready-heap positions ordered like the items they point at. A
    // position is only reachable after its parent was visited, so what comes out is in queue order.
    std::vector<quint32> frontier{0};
    const auto worse = [&items](quint32 a, quint32 b) { return before(items[b], items[a]); };
    while (!frontier.empty()) {
        std::pop_heap(frontier.begin(), frontier.end(), worse);
        const quint32 pos = frontier.back();
        frontier.pop_back();
        if (!f(entryOf(items[pos])))
            return;
        for (quint32 child = 2 * pos + 1; child <= 2 * pos + 2 && child < items.size(); ++child) {
            frontier.push_back(child);
            std::push_heap(frontier.begin(), frontier.end(), worse);
        }
    }
}

} // namespace sluice
