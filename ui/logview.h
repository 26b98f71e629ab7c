#pragma once
// LogView: the log panel: a level filter, a text filter, follow-the-tail, clear, and the lines.
//
// Design note. The view owns a LogFilterModel over a LogModel it is given (the main window owns the model, so
// lines logged before the panel is shown are kept). "Follow" keeps the newest line in view as lines arrive
// and turns itself off when the user scrolls up to read, so the log never yanks the view away from what is
// being read. A QListView with uniform item sizes keeps 10,000 lines cheap to lay out.
//
// Threading: main thread only (a widget).

#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QListView;

namespace sluice {

class LogFilterModel;
class LogModel;

class LogView : public QWidget
{
    Q_OBJECT
public:
    explicit LogView(LogModel *model, QWidget *parent = nullptr);

    LogFilterModel *filterModel() const { return m_filter; }
    QListView *listView() const { return m_list; }
    QComboBox *levelBox() const { return m_level; }
    QLineEdit *filterEdit() const { return m_text; }
    QCheckBox *followBox() const { return m_follow; }
    // "12 of 10,000 lines" (shown / kept).
    QString countText() const;

    // Copies the selected lines (as displayed) to the clipboard.
    void copySelection() const;

private:
    void updateCount();

    LogModel *m_model;
    LogFilterModel *m_filter;
    QComboBox *m_level;
    QLineEdit *m_text;
    QCheckBox *m_follow;
    QLabel *m_count;
    QListView *m_list;
};

} // namespace sluice
