#include "requestqueue.h"

namespace sluice {

namespace {
qint64 readyKey(int priority)
{
    return -qint64(priority);
} // min-heap, so higher priority = smaller key
qint64 dueKey(TimePoint due)
{
    return due.time_since_epoch().count();
}
} // namespace

RequestQueue::RequestQueue(QueueOptions options)
    : m_options(options)
{}

RequestQueue::PushResult RequestQueue::push(RequestId id, int priority, std::optional<Ticket> arrival)
{
    return insert(id, priority, false, readyKey(priority), arrival);
}

RequestQueue::PushResult RequestQueue::pushDelayed(RequestId id, int priority, TimePoint due,
                                                   std::optional<Ticket> arrival)
{
    return insert(id, priority, true, dueKey(due), arrival);
}

RequestQueue::PushResult RequestQueue::insert(RequestId id, int priority, bool delayed, qint64 key,
                                              std::optional<Ticket> arrival)
{
    if (size() >= m_options.capacity)
        return contains(id) ? PushResult::Duplicate : PushResult::Full;
    // One probe both answers "is it there" and makes room for it.
    quint32 &ref = m_index.findOrInsert(id);
    if (ref != kNoSlot)
        return PushResult::Duplicate;

    Ticket ticket;
    if (arrival) {
        ticket = *arrival;
        if (ticket >= m_nextTicket)
            m_nextTicket = ticket + 1; // later pushes go behind a resumed entry, never tie with it
    } else {
        ticket = m_nextTicket++;
    }
    const quint32 slot = allocSlot();
    ref = slot;
    m_slots[slot].delayed = delayed;
    m_slots[slot].priority = priority;
    heapPush(delayed ? m_delayed : m_ready, Item{key, ticket, id, slot});
    return PushResult::Ok;
}

std::optional<RequestQueue::Entry> RequestQueue::peek() const
{
    if (m_ready.empty())
        return std::nullopt;
    return entryOf(m_ready.front());
}

std::optional<RequestQueue::Entry> RequestQueue::pop()
{
    if (m_ready.empty())
        return std::nullopt;
    const Item item = heapRemoveAt(m_ready, 0);
    const Entry entry = entryOf(item);
    m_index.erase(item.id);
    freeSlot(item.slot);
    return entry;
}

std::vector<RequestQueue::Entry> RequestQueue::firstEntries(qsizetype n) const
{
    std::vector<Entry> out;
    if (n <= 0)
        return out;
    out.reserve(size_t(qMin(n, queuedCount())));
    forEachInOrder([&](const Entry &e) {
        out.push_back(e);
        return qsizetype(out.size()) < n;
    });
    return out;
}

std::optional<TimePoint> RequestQueue::nextDue() const
{
    if (m_delayed.empty())
        return std::nullopt;
    return TimePoint(Duration(m_delayed.front().key));
}

std::vector<RequestId> RequestQueue::promoteDue(TimePoint now)
{
    std::vector<RequestId> promoted;
    const qint64 nowKey = dueKey(now);
    while (!m_delayed.empty() && m_delayed.front().key <= nowKey) {
        Item item = heapRemoveAt(m_delayed, 0);
        Slot &slot = m_slots[item.slot];
        slot.delayed = false;
        item.key = readyKey(slot.priority); // the ticket stays: it keeps its place in line
        heapPush(m_ready, item);
        promoted.push_back(item.id);
    }
    return promoted;
}

std::optional<TimePoint> RequestQueue::dueOf(RequestId id) const
{
    const quint32 slot = m_index.find(id);
    if (slot == kNoSlot || !m_slots[slot].delayed)
        return std::nullopt;
    return TimePoint(Duration(m_delayed[m_slots[slot].pos].key));
}

std::optional<RequestQueue::Entry> RequestQueue::take(RequestId id)
{
    const quint32 slot = m_index.erase(id);
    if (slot == kNoSlot)
        return std::nullopt;
    const Slot &s = m_slots[slot];
    const Item item = heapRemoveAt(heapOf(s), s.pos);
    const Entry entry = entryOf(item);
    freeSlot(slot);
    return entry;
}

bool RequestQueue::reprioritise(RequestId id, int priority)
{
    const quint32 slot = m_index.find(id);
    if (slot == kNoSlot)
        return false;
    Slot &s = m_slots[slot];
    const int old = s.priority;
    s.priority = priority;
    if (s.delayed || old == priority)
        return true; // the delay heap is ordered by due time, which has not changed
    m_ready[s.pos].key = readyKey(priority);
    if (priority > old)
        siftUp(m_ready, s.pos);
    else
        siftDown(m_ready, s.pos);
    return true;
}

bool RequestQueue::isDelayed(RequestId id) const
{
    const quint32 slot = m_index.find(id);
    return slot != kNoSlot && m_slots[slot].delayed;
}

std::optional<int> RequestQueue::priorityOf(RequestId id) const
{
    const quint32 slot = m_index.find(id);
    if (slot == kNoSlot)
        return std::nullopt;
    return m_slots[slot].priority;
}

void RequestQueue::clear()
{
    m_ready.clear();
    m_delayed.clear();
    m_slots.clear();
    m_freeSlots.clear();
    m_index.clear();
}

// --- heap mechanics
// -----------------------------------------------------------------------------------------------

void RequestQueue::heapPush(Heap &h, const Item &item)
{
    h.push_back(item);
    m_slots[item.slot].pos = quint32(h.size() - 1);
    siftUp(h, quint32(h.size() - 1));
}

RequestQueue::Item RequestQueue::heapRemoveAt(Heap &h, quint32 pos)
{
    const Item removed = h[pos];
    const quint32 last = quint32(h.size() - 1);
    if (pos != last) {
        // The last item fills the hole; it may belong above (if the hole was deep in another branch) or
        // below.
        const Item moved = h[last];
        h.pop_back();
        place(h, pos, moved);
        if (pos > 0 && before(moved, h[(pos - 1) / 2]))
            siftUp(h, pos);
        else
            siftDown(h, pos);
    } else {
        h.pop_back();
    }
    return removed;
}

void RequestQueue::siftUp(Heap &h, quint32 pos)
{
    const Item item = h[pos];
    while (pos > 0) {
        const quint32 parent = (pos - 1) / 2;
        if (!before(item, h[parent]))
            break;
        place(h, pos, h[parent]);
        pos = parent;
    }
    place(h, pos, item);
}

void RequestQueue::siftDown(Heap &h, quint32 pos)
{
    const Item item = h[pos];
    const quint32 n = quint32(h.size());
    while (true) {
        quint32 child = 2 * pos + 1;
        if (child >= n)
            break;
        if (child + 1 < n && before(h[child + 1], h[child]))
            ++child;
        if (!before(h[child], item))
            break;
        place(h, pos, h[child]);
        pos = child;
    }
    place(h, pos, item);
}

quint32 RequestQueue::allocSlot()
{
    if (!m_freeSlots.empty()) {
        const quint32 slot = m_freeSlots.back();
        m_freeSlots.pop_back();
        return slot;
    }
    Q_ASSERT(m_slots.size() < kNoSlot); // 4 billion waiting requests: the slot numbers would run out
    m_slots.emplace_back();
    return quint32(m_slots.size() - 1);
}

void RequestQueue::freeSlot(quint32 slot)
{
    m_freeSlots.push_back(slot);
}

// --- id index
// -----------------------------------------------------------------------------------------------------

size_t RequestQueue::IdIndex::home(RequestId id) const
{
    // splitmix64's finaliser: ids are often sequential, and this spreads them over the whole table.
    quint64 x = id;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    return size_t(x) & m_mask;
}

quint32 RequestQueue::IdIndex::find(RequestId id) const
{
    if (m_cells.empty())
        return kNoSlot;
    for (size_t i = home(id);; i = (i + 1) & m_mask) {
        const Cell &c = m_cells[i];
        if (c.slot == kNoSlot || c.key == id)
            return c.slot;
    }
}

quint32 &RequestQueue::IdIndex::findOrInsert(RequestId id)
{
    // Keep the load at most 1/2 so that probe runs stay short.
    if (2 * (m_size + 1) > qsizetype(m_cells.size()))
        grow();
    size_t i = home(id);
    for (;; i = (i + 1) & m_mask) {
        Cell &c = m_cells[i];
        if (c.slot == kNoSlot)
            break;
        if (c.key == id)
            return c.slot;
    }
    ++m_size;
    m_cells[i].key = id;
    return m_cells[i].slot; // still kNoSlot: the caller fills it in
}

quint32 RequestQueue::IdIndex::erase(RequestId id)
{
    if (m_cells.empty())
        return kNoSlot;
    size_t hole = home(id);
    while (m_cells[hole].key != id || m_cells[hole].slot == kNoSlot) {
        if (m_cells[hole].slot == kNoSlot)
            return kNoSlot; // not present
        hole = (hole + 1) & m_mask;
    }
    const quint32 slot = m_cells[hole].slot;
    --m_size;
    // Backward shift: pull later cells of the run into the hole unless that would move one before its home.
    for (size_t j = (hole + 1) & m_mask; m_cells[j].slot != kNoSlot; j = (j + 1) & m_mask) {
        const size_t h = home(m_cells[j].key);
        // The cell at j may fill the hole if its home is not in the cyclic range (hole, j].
        const bool homeInRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);
        if (!homeInRange) {
            m_cells[hole] = m_cells[j];
            hole = j;
        }
    }
    m_cells[hole] = Cell{};
    return slot;
}

void RequestQueue::IdIndex::clear()
{
    m_cells.clear();
    m_mask = 0;
    m_size = 0;
}

void RequestQueue::IdIndex::grow()
{
    std::vector<Cell> old;
    old.swap(m_cells);
    const size_t n = old.empty() ? 64 : old.size() * 2;
    m_cells.assign(n, Cell{});
    m_mask = n - 1;
    for (const Cell &c : old) {
        if (c.slot == kNoSlot)
            continue;
        size_t i = home(c.key);
        while (m_cells[i].slot != kNoSlot)
            i = (i + 1) & m_mask;
        m_cells[i] = c;
    }
}

} // namespace sluice
