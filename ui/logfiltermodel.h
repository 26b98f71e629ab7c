#pragma once
// LogFilterModel: the log view's filter, by minimum level and by text.
//
// Design note. A QSortFilterProxyModel over LogModel: rows pass when their level is at least the chosen one
// and their message contains the text (case-insensitive). It never sorts (the log is already in time order),
// so an append to the source is one row-level insert through the proxy too.
//
// Example: minimum Warning, text "429" -> only warnings and errors that mention 429.
//
// Threading: main thread only (a Qt model).

#include "logmodel.h"

#include <QSortFilterProxyModel>

namespace sluice {

class LogFilterModel : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    explicit LogFilterModel(QObject *parent = nullptr);
    void setMinimumLevel(LogModel::Level level);
    LogModel::Level minimumLevel() const { return m_minimum; }
    void setText(const QString &text);
    QString text() const { return m_text; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    LogModel::Level m_minimum = LogModel::Level::Debug;
    QString m_text;
};

} // namespace sluice
