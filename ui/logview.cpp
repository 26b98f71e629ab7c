#include "logview.h"

#include "logfiltermodel.h"
#include "logmodel.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QPushButton>
#include <QScrollBar>
#include <QVBoxLayout>

#include <algorithm>

namespace sluice {

LogView::LogView(LogModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_filter(new LogFilterModel(this))
{
    m_filter->setSourceModel(model);

    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(6, 6, 6, 6);
    outer->setSpacing(4);
    auto *bar = new QHBoxLayout;
    m_level = new QComboBox(this);
    m_level->addItem(tr("All levels"), int(LogModel::Level::Debug));
    m_level->addItem(tr("Info and above"), int(LogModel::Level::Info));
    m_level->addItem(tr("Warnings and errors"), int(LogModel::Level::Warning));
    m_level->addItem(tr("Errors only"), int(LogModel::Level::Error));
    m_level->setToolTip(tr("Show lines of this level and above."));
    m_text = new QLineEdit(this);
    m_text->setPlaceholderText(tr("Filter text, e.g. 429 or req-12"));
    m_text->setClearButtonEnabled(true);
    m_follow = new QCheckBox(tr("&Follow"), this);
    m_follow->setChecked(true);
    m_follow->setToolTip(tr("Keep the newest line in view."));
    auto *clear = new QPushButton(tr("Clear"), this);
    clear->setToolTip(tr("Remove every line from the log."));
    m_count = new QLabel(this);
    m_count->setForegroundRole(QPalette::PlaceholderText);
    bar->addWidget(m_level);
    bar->addWidget(m_text, 1);
    bar->addWidget(m_follow);
    bar->addWidget(clear);
    bar->addWidget(m_count);
    outer->addLayout(bar);

    m_list = new QListView(this);
    m_list->setModel(m_filter);
    m_list->setUniformItemSizes(true);
    m_list->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_list->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_list->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_list->setContextMenuPolicy(Qt::ActionsContextMenu);
    auto *copy = new QAction(tr("&Copy"), m_list);
    copy->setShortcut(QKeySequence::Copy);
    copy->setShortcutContext(Qt::WidgetShortcut);
    connect(copy, &QAction::triggered, this, &LogView::copySelection);
    m_list->addAction(copy);
    outer->addWidget(m_list, 1);

    connect(m_level, &QComboBox::currentIndexChanged, this, [this] {
        m_filter->setMinimumLevel(LogModel::Level(m_level->currentData().toInt()));
        updateCount();
    });
    connect(m_text, &QLineEdit::textChanged, this, [this](const QString &t) {
        m_filter->setText(t);
        updateCount();
    });
    connect(clear, &QPushButton::clicked, m_model, &LogModel::clear);
    connect(m_filter, &QAbstractItemModel::rowsInserted, this, [this] {
        if (m_follow->isChecked())
            m_list->scrollToBottom();
        updateCount();
    });
    connect(m_filter, &QAbstractItemModel::rowsRemoved, this, &LogView::updateCount);
    connect(m_filter, &QAbstractItemModel::modelReset, this, &LogView::updateCount);
    // Scrolling up to read turns following off; scrolling back to the bottom turns it on again.
    connect(m_list->verticalScrollBar(), &QScrollBar::valueChanged, this, [this](int v) {
        if (m_list->verticalScrollBar()->isSliderDown())
            m_follow->setChecked(v == m_list->verticalScrollBar()->maximum());
    });
    updateCount();
}

QString LogView::countText() const
{
    return m_count->text();
}

void LogView::updateCount()
{
    m_count->setText(
        tr("%1 of %2 lines")
            .arg(QLocale().toString(m_filter->rowCount()), QLocale().toString(m_model->rowCount())));
}

void LogView::copySelection() const
{
    QModelIndexList rows = m_list->selectionModel()->selectedRows();
    std::sort(rows.begin(), rows.end(),
              [](const QModelIndex &a, const QModelIndex &b) { return a.row() < b.row(); });
    QStringList lines;
    for (const QModelIndex &i : rows)
        lines << i.data().toString();
    if (!lines.isEmpty())
        QApplication::clipboard()->setText(lines.join(QLatin1Char('\n')));
}

} // namespace sluice
