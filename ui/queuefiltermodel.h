#pragma once
// QueueFilterModel: the queue table's sorting and filtering, by state and by text.
//
// Design note. A QSortFilterProxyModel over QueueModel that sorts by QueueModel::SortRole (numbers sort as
// numbers: "10" after "9", latency by seconds, not by its text) and lets rows through when their state is in
// the chosen set and, if a text is set, their ID or error contains it (case-insensitive). Dynamic sorting is
// on, so a row moves when its state changes; the model sends those changes at most 10 times a second.
//
// Example: setStates({Failed}) and setText("529") -> the failed requests whose error mentions 529.
//
// Threading: main thread only (a Qt model).

#include "messagerequest.h"

#include <QSortFilterProxyModel>

namespace sluice {

class QueueFilterModel : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    explicit QueueFilterModel(QObject *parent = nullptr);

    // A bit per RequestState (1 << int(state)); allStates() lets everything through.
    static constexpr unsigned allStates() { return 0x3f; }
    static constexpr unsigned bit(RequestState s) { return 1u << unsigned(s); }
    void setStates(unsigned mask);
    unsigned states() const { return m_states; }
    void setText(const QString &text);
    QString text() const { return m_text; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    unsigned m_states = allStates();
    QString m_text;
};

} // namespace sluice
