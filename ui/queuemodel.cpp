#include "queuemodel.h"

#include "dispatcher.h"
#include "formatting.h"

#include <QColor>
#include <QFont>

#include <algorithm>

namespace sluice {

QueueModel::QueueModel(const Dispatcher &dispatcher, const Clock &clock, QObject *parent)
    : QAbstractTableModel(parent)
    , m_dispatcher(dispatcher)
    , m_clock(clock)
{
    m_changeTimer.setSingleShot(true);
    m_changeTimer.setInterval(100);
    connect(&m_changeTimer, &QTimer::timeout, this, &QueueModel::emitChanges);
    connect(&dispatcher, &Dispatcher::requestAdded, this, &QueueModel::onAdded);
    connect(&dispatcher, &Dispatcher::requestChanged, this, &QueueModel::onChanged);
    connect(&dispatcher, &Dispatcher::stateChanged, this, [this](RequestId id) { onChanged(id); });
    // Requests that existed before the model did (a journal resumed before the window opened).
    m_known = int(dispatcher.requestCount());
    m_rows = m_known;
    m_isDirty.assign(size_t(m_rows), false);
}

QColor QueueModel::stateColour(RequestState state)
{
    switch (state) {
    case RequestState::Queued:
        return QColor(0x86, 0x8e, 0x96);
    case RequestState::InFlight:
        return QColor(0x35, 0x84, 0xe4);
    case RequestState::RetryWaiting:
        return QColor(0xe6, 0x61, 0x00);
    case RequestState::Succeeded:
        return QColor(0x2e, 0xa0, 0x43);
    case RequestState::Failed:
        return QColor(0xe0, 0x1b, 0x24);
    case RequestState::Cancelled:
        return QColor(0x9a, 0x6d, 0xd7);
    }
    return {};
}

void QueueModel::onAdded(RequestId id)
{
    m_known = std::max(m_known, rowOf(id) + 1);
    if (!m_insertScheduled) {
        m_insertScheduled = true;
        QMetaObject::invokeMethod(this, &QueueModel::insertPending, Qt::QueuedConnection);
    }
}

void QueueModel::onChanged(RequestId id)
{
    const int row = rowOf(id);
    if (row < 0 || row >= m_rows)
        return; // not inserted yet: it will show its current data when it is
    if (m_isDirty[size_t(row)])
        return;
    m_isDirty[size_t(row)] = true;
    m_dirtyRows.push_back(row);
    if (!m_changeTimer.isActive())
        m_changeTimer.start();
}

void QueueModel::insertPending()
{
    m_insertScheduled = false;
    if (m_known <= m_rows)
        return;
    beginInsertRows({}, m_rows, m_known - 1);
    m_rows = m_known;
    m_isDirty.resize(size_t(m_rows), false);
    endInsertRows();
}

void QueueModel::emitChanges()
{
    if (m_dirtyRows.empty())
        return;
    std::sort(m_dirtyRows.begin(), m_dirtyRows.end());
    // Contiguous runs of dirty rows, each one dataChanged.
    std::vector<std::pair<int, int>> runs;
    for (int row : m_dirtyRows) {
        m_isDirty[size_t(row)] = false;
        if (!runs.empty() && runs.back().second + 1 == row)
            runs.back().second = row;
        else
            runs.emplace_back(row, row);
    }
    m_dirtyRows.clear();
    ++m_batches;
    if (runs.size() > size_t(kMaxRunsPerBatch)) {
        Q_EMIT dataChanged(index(runs.front().first, 0), index(runs.back().second, ColumnCount - 1));
        return;
    }
    for (const auto &[first, last] : runs)
        Q_EMIT dataChanged(index(first, 0), index(last, ColumnCount - 1));
}

void QueueModel::flush()
{
    insertPending();
    m_changeTimer.stop();
    emitChanges();
}

int QueueModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : m_rows;
}

int QueueModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant QueueModel::data(const QModelIndex &index, int role) const
{
    // Not checkIndex(): it costs more than the rest of data() and views call this ~10 times per cell painted.
    if (!index.isValid() || index.model() != this || index.row() >= m_rows || index.column() >= ColumnCount)
        return {};
    const RequestId id = requestIdAt(index.row());
    const MessageRequest *m = m_dispatcher.request(id);
    if (!m)
        return {};
    if (role == RequestIdRole)
        return QVariant::fromValue(id);
    if (role == StateRole)
        return int(m->state);

    const TimePoint now = m_clock.now();
    const auto nextIn = [&]() -> std::optional<Duration> {
        if (m->state == RequestState::RetryWaiting && m->nextAttemptAt)
            return std::max(Duration{0}, *m->nextAttemptAt - now);
        return std::nullopt;
    };
    const auto waited = [&]() {
        Duration w = m->queueWait;
        if (m->state == RequestState::Queued)
            w += std::max(Duration{0}, now - m->queuedSince);
        return w;
    };
    const auto errorText = [&]() -> QString {
        if (!m->errorMessage.isEmpty())
            return m->errorMessage;
        // Not failed (yet): say why it is waiting, from the last attempt's outcome.
        if (m->state == RequestState::RetryWaiting && !m->outcome.ok())
            return m->outcome.summary();
        return {};
    };

    const int col = index.column();
    if (role == SortRole) {
        switch (col) {
        case IdColumn:
            return QVariant::fromValue(id);
        case PriorityColumn:
            return m->priority;
        case StateColumn:
            return int(m->state);
        case AttemptsColumn:
            return m->attempts;
        case NextAttemptColumn: {
            const auto n = nextIn();
            return n ? toSeconds(*n) : -1.0;
        }
        case WaitedColumn:
            return toSeconds(waited());
        case InputTokensColumn:
            return m->estimatedInputTokens;
        case MaxTokensColumn:
            return m->maxTokens;
        case LatencyColumn:
            return toSeconds(m->lastLatency);
        case ErrorColumn:
            return errorText();
        default:
            return {};
        }
    }
    if (role == Qt::DisplayRole) {
        switch (col) {
        case IdColumn:
            return m->customId.isEmpty() ? QStringLiteral("req-%1").arg(id) : m->customId;
        case PriorityColumn:
            return m->priority;
        case StateColumn:
            return requestStateName(m->state);
        case AttemptsColumn:
            return m->attempts;
        case NextAttemptColumn: {
            const auto n = nextIn();
            return n ? formatSeconds(toSeconds(*n)) : QString();
        }
        case WaitedColumn:
            return formatSeconds(toSeconds(waited()));
        case InputTokensColumn:
            return qRound64(m->estimatedInputTokens);
        case MaxTokensColumn:
            return m->maxTokens;
        case LatencyColumn:
            return m->lastLatency > Duration{0} ? formatSeconds(toSeconds(m->lastLatency)) : QString();
        case ErrorColumn:
            return errorText();
        default:
            return {};
        }
    }
    if (role == Qt::ForegroundRole && col == StateColumn)
        return stateColour(m->state);
    if (role == Qt::FontRole && col == StateColumn) {
        QFont f;
        f.setBold(true);
        return f;
    }
    if (role == Qt::TextAlignmentRole && col != IdColumn && col != StateColumn && col != ErrorColumn)
        return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole) {
        if (col == ErrorColumn) {
            const QString e = errorText();
            if (e.isEmpty())
                return {};
            return m->outcome.requestId.isEmpty()
                       ? e
                       : e + QStringLiteral("\nrequest-id: ") + m->outcome.requestId;
        }
        if (col == IdColumn)
            return tr("Request %1, submitted as %2").arg(id).arg(m->customId);
    }
    return {};
}

QVariant QueueModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    static const char *const titles[ColumnCount] = {
        QT_TR_NOOP("ID"),      QT_TR_NOOP("Priority"), QT_TR_NOOP("State"),        QT_TR_NOOP("Attempts"),
        QT_TR_NOOP("Next in"), QT_TR_NOOP("Waited"),   QT_TR_NOOP("Input (est.)"), QT_TR_NOOP("max_tokens"),
        QT_TR_NOOP("Latency"), QT_TR_NOOP("Error")};
    static const char *const tips[ColumnCount] = {
        QT_TR_NOOP("custom_id (batch) or req-<n>"),
        QT_TR_NOOP("Higher goes first"),
        QT_TR_NOOP("queued, in flight, retry wait, succeeded, failed, cancelled"),
        QT_TR_NOOP("Attempts sent, 429s included"),
        QT_TR_NOOP("Time until a waiting retry is due"),
        QT_TR_NOOP("Total time spent queued"),
        QT_TR_NOOP("Estimated input tokens, reserved against input tokens/min"),
        QT_TR_NOOP("Reserved against output tokens/min until the response reports usage"),
        QT_TR_NOOP("Duration of the last attempt that got an answer"),
        QT_TR_NOOP("Why it failed, or why it is waiting")};
    if (section < 0 || section >= ColumnCount)
        return {};
    if (role == Qt::DisplayRole)
        return tr(titles[section]);
    if (role == Qt::ToolTipRole)
        return tr(tips[section]);
    return {};
}

} // namespace sluice
