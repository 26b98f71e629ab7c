#include "logfiltermodel.h"

namespace sluice {

LogFilterModel::LogFilterModel(QObject *parent)
    : QSortFilterProxyModel(parent)
{
    setDynamicSortFilter(false); // entries never change after they are appended
}

void LogFilterModel::setMinimumLevel(LogModel::Level level)
{
    if (level == m_minimum)
        return;
    m_minimum = level;
    invalidateFilter();
}

void LogFilterModel::setText(const QString &text)
{
    if (text == m_text)
        return;
    m_text = text;
    invalidateFilter();
}

bool LogFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const QModelIndex i = sourceModel()->index(sourceRow, 0, sourceParent);
    if (i.data(LogModel::LevelRole).toInt() < int(m_minimum))
        return false;
    return m_text.isEmpty() || i.data(LogModel::MessageRole).toString().contains(m_text, Qt::CaseInsensitive);
}

} // namespace sluice
