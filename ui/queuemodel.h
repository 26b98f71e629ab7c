#pragma once
// QueueModel: the dispatcher's requests as a table: one row per request, in submit order.
//
// Design note. The dispatcher owns the requests and numbers them 1, 2, 3, ... densely, so row = id - 1 and
// the model stores nothing but a row count and dirty marks: data() reads the MessageRequest directly. With
// 100,000 requests in play, two things would make the UI stall, and the model avoids both:
//   - Inserts. requestAdded is noted and the rows are inserted at the next turn of the event loop, as one
//     beginInsertRows over every id added meanwhile: "Submit ×10,000" is one insert, not ten thousand (each
//     of which a sorting proxy would pay for).
//   - Changes. requestChanged marks the row dirty; a single-shot timer (100 ms) then emits dataChanged for
//   the
//     dirty rows, one signal per contiguous run, so views and proxies hear at most 10 batches a second
//     however fast requests change. A batch with more than kMaxRunsPerBatch runs is sent as one range
//     instead.
// Columns that depend only on time ("next attempt in", "waited") are computed from the clock in data(); the
// owner repaints the view once a second rather than the model signalling 100,000 rows.
//
// Worked example: submit 3 requests in one call -> after the event loop turns, rowsInserted(0, 2). Request 2
// goes InFlight and request 3 is cancelled within 40 ms -> 100 ms after the first change one dataChanged(row
// 1
// .. row 2, all columns).
//
// Threading: main thread only (a Qt model). The dispatcher and clock must outlive the model.

#include "messagerequest.h"

#include <QAbstractTableModel>
#include <QTimer>

#include <vector>

namespace sluice {

class Clock;
class Dispatcher;

class QueueModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column
    {
        IdColumn,
        PriorityColumn,
        StateColumn,
        AttemptsColumn,
        NextAttemptColumn,
        WaitedColumn,
        InputTokensColumn,
        MaxTokensColumn,
        LatencyColumn,
        ErrorColumn,
        ColumnCount
    };
    enum Role
    {
        SortRole = Qt::UserRole + 1, // a number (or text) that sorts the column meaningfully
        RequestIdRole,               // RequestId (quint64)
        StateRole,                   // int(RequestState)
    };
    static constexpr int kMaxRunsPerBatch = 64;

    QueueModel(const Dispatcher &dispatcher, const Clock &clock, QObject *parent = nullptr);

    static RequestId requestIdAt(int row) { return RequestId(row) + 1; }
    static int rowOf(RequestId id) { return int(id) - 1; }
    // The colour a state is shown in (readable on light and dark palettes).
    static QColor stateColour(RequestState state);

    // Inserts rows added since the last flush and emits the pending dataChanged batch now (tests; before a
    // benchmark's measurement). Normally the event loop and the timer do this.
    void flush();
    // Milliseconds between change batches (default 100, i.e. at most 10 per second).
    void setUpdateInterval(int milliseconds) { m_changeTimer.setInterval(milliseconds); }
    int updateInterval() const { return m_changeTimer.interval(); }
    // How many dataChanged batches were emitted so far (for tests and benchmarks).
    qint64 changeBatches() const { return m_batches; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    void onAdded(RequestId id);
    void onChanged(RequestId id);
    void insertPending();
    void emitChanges();

    const Dispatcher &m_dispatcher;
    const Clock &m_clock;
    int m_rows = 0;  // rows announced to views
    int m_known = 0; // rows the dispatcher reported (>= m_rows)
    bool m_insertScheduled = false;
    std::vector<bool> m_isDirty;  // by row
    std::vector<int> m_dirtyRows; // unsorted, unique
    QTimer m_changeTimer;
    qint64 m_batches = 0;
};

} // namespace sluice
