#include "queuefiltermodel.h"

#include "queuemodel.h"

namespace sluice {

QueueFilterModel::QueueFilterModel(QObject *parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(QueueModel::SortRole);
    setDynamicSortFilter(true);
}

void QueueFilterModel::setStates(unsigned mask)
{
    if (mask == m_states)
        return;
    m_states = mask;
    invalidateFilter();
}

void QueueFilterModel::setText(const QString &text)
{
    if (text == m_text)
        return;
    m_text = text;
    invalidateFilter();
}

bool QueueFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const QAbstractItemModel *m = sourceModel();
    const QModelIndex idIndex = m->index(sourceRow, QueueModel::IdColumn, sourceParent);
    if (m_states != allStates()) {
        const int state = idIndex.data(QueueModel::StateRole).toInt();
        if (!(m_states & (1u << unsigned(state))))
            return false;
    }
    if (m_text.isEmpty())
        return true;
    return idIndex.data().toString().contains(m_text, Qt::CaseInsensitive) ||
           m->index(sourceRow, QueueModel::ErrorColumn, sourceParent)
               .data()
               .toString()
               .contains(m_text, Qt::CaseInsensitive);
}

} // namespace sluice
