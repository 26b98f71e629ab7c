// QueueDelegate draws what QStyledItemDelegate draws (left, right and centred text, bold, a foreground
// colour, selection, elision), from a bounded cache of laid-out texts.
#include "queuedelegate.h"

#include <QPainter>
#include <QStandardItemModel>
#include <QTableView>
#include <QtTest>

using namespace sluice;

namespace {

// A small table like the queue's: an ID, a bold coloured state, right-aligned numbers, a long error text.
void fill(QStandardItemModel &model)
{
    model.setColumnCount(4);
    const QStringList states = {QStringLiteral("queued"), QStringLiteral("in flight"),
                                QStringLiteral("succeeded"), QStringLiteral("retry wait")};
    for (int r = 0; r < 12; ++r) {
        auto *id = new QStandardItem(QStringLiteral("req-%1").arg(r + 1));
        auto *state = new QStandardItem(states[r % states.size()]);
        QFont bold;
        bold.setBold(true);
        state->setFont(bold);
        state->setForeground(QColor(0x35, 0x84, 0xe4));
        auto *number = new QStandardItem(QString::number(100 * r + 7));
        number->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        auto *error = new QStandardItem(
            r % 3 == 0 ? QStringLiteral("529 overloaded_error: the server is overloaded, try again later")
                       : QString());
        error->setTextAlignment(r % 2 ? Qt::AlignCenter : Qt::AlignLeft | Qt::AlignVCenter);
        model.appendRow({id, state, number, error});
    }
}

QImage render(QTableView &view)
{
    view.viewport()->repaint();
    return view.grab().toImage().convertToFormat(QImage::Format_RGB32);
}

} // namespace

class TestQueueDelegate : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void drawsLikeTheStyledDelegate_data();
    void drawsLikeTheStyledDelegate();
    void cacheKeepsDistinctTextsPerFont();
    void cacheIsBounded();
};

void TestQueueDelegate::drawsLikeTheStyledDelegate_data()
{
    QTest::addColumn<bool>("selected");
    QTest::addColumn<int>("errorWidth"); // px; narrow makes the styled delegate elide
    QTest::addRow("plain") << false << 420;
    QTest::addRow("selected rows") << true << 420;
    QTest::addRow("elided error") << false << 90;
}

void TestQueueDelegate::drawsLikeTheStyledDelegate()
{
    QFETCH(bool, selected);
    QFETCH(int, errorWidth);
    QStandardItemModel model;
    fill(model);
    QTableView view;
    view.setModel(&model);
    view.setWordWrap(false); // as the queue table (wrapped text goes to the styled delegate)
    view.setAlternatingRowColors(true);
    view.setSelectionBehavior(QAbstractItemView::SelectRows);
    view.resize(760, 360);
    view.setColumnWidth(3, errorWidth);
    if (selected)
        for (int r : {1, 2, 5})
            view.selectionModel()->select(model.index(r, 0),
                                          QItemSelectionModel::Select | QItemSelectionModel::Rows);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));

    const QImage styled = render(view);
    auto *delegate = new QueueDelegate(&view);
    view.setItemDelegate(delegate);
    const QImage ours = render(view);
    QCOMPARE(ours.size(), styled.size());
    // Pixel for pixel: the same glyphs at the same positions in the same colours, the focus frame drawn over
    // the current cell's text as the style does.
    int differing = 0;
    for (int y = 0; y < ours.height(); ++y)
        for (int x = 0; x < ours.width(); ++x)
            differing += ours.pixel(x, y) != styled.pixel(x, y) ? 1 : 0;
    QCOMPARE(differing, 0);
    QVERIFY(delegate->cachedTexts() > 0);
}

void TestQueueDelegate::cacheKeepsDistinctTextsPerFont()
{
    QStandardItemModel model;
    fill(model);
    QTableView view;
    view.setModel(&model);
    view.setWordWrap(false); // as the queue table (wrapped text goes to the styled delegate)
    view.setColumnWidth(3, 600);
    view.resize(1000, 600); // every row visible
    auto *delegate = new QueueDelegate(&view);
    view.setItemDelegate(delegate);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    render(view);
    // 12 IDs, 4 bold states, 12 numbers, 1 error text (the empty cells are not cached).
    QCOMPARE(delegate->cachedTexts(), 12 + 4 + 12 + 1);
    render(view);
    QCOMPARE(delegate->cachedTexts(), 12 + 4 + 12 + 1); // repainting adds nothing
    QFont bigger = view.font();
    bigger.setPointSizeF(bigger.pointSizeF() + 3);
    view.setFont(bigger);
    render(view);
    QCOMPARE(delegate->cachedTexts(), 12 + 4 + 12 + 1); // the old font's texts were dropped
}

void TestQueueDelegate::cacheIsBounded()
{
    QStandardItemModel model(QueueDelegate::kMaxCachedTexts + 10, 1);
    for (int r = 0; r < model.rowCount(); ++r)
        model.setItem(r, 0, new QStandardItem(QStringLiteral("req-%1").arg(r + 1)));
    QTableView view;
    view.setModel(&model);
    view.setWordWrap(false); // as the queue table (wrapped text goes to the styled delegate)
    auto *delegate = new QueueDelegate(&view);
    view.setItemDelegate(delegate);
    view.resize(300, 200);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QImage image(300, 40, QImage::Format_RGB32);
    QPainter painter(&image);
    QStyleOptionViewItem option;
    option.initFrom(&view);
    option.rect = QRect(0, 0, 300, 30);
    for (int r = 0; r < model.rowCount(); ++r) {
        delegate->paint(&painter, option, model.index(r, 0));
        QVERIFY(delegate->cachedTexts() <= QueueDelegate::kMaxCachedTexts);
    }
    // Cleared once when full, then refilled with the last 10.
    QCOMPARE(delegate->cachedTexts(), 10);
}

QTEST_MAIN(TestQueueDelegate)
#include "tst_queuedelegate.moc"
