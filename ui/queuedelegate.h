#pragma once
// QueueDelegate: paints the queue table's cells with text laid out once and reused.
//
// Design note. QStyledItemDelegate lays each cell's text out three times per paint (its size, its elision,
// then the drawing: each a QTextLayout with a HarfBuzz shaping run). With 100,000 rows only ~30 are visible,
// but a sorted table repaints all of them whenever the proxy re-sorts, and text shaping was two thirds of a
// UI tick's table paint (bench/bench_ui). The queue's texts repeat ("queued", "in flight", "1.2 s", small
// numbers), so this delegate keeps each distinct text as a prepared QStaticText (glyphs and advance computed
// once) and draws it with one drawStaticText(). Everything else is the style's own: the background, selection
// and focus frame come from the style's CE_ItemViewItem drawn without text, the colour from the palette the
// model's ForegroundRole set, the alignment and margins as QCommonStyle computes them. A text wider than its
// cell, or a cell with an icon or check box, falls back to QStyledItemDelegate, which elides it.
//
// The cache is per font (a bold state column has its own), bounded to kMaxCachedTexts entries (cleared when
// full: with ~30 visible rows it refills in one paint), and dropped when the font changes.
//
// Worked example: 30 visible rows × 10 columns; after one paint the cache holds the ~150 distinct texts; the
// next paint after a re-sort shapes nothing and draws 300 static texts.
//
// Threading: main thread only (a delegate).

#include <QFont>
#include <QHash>
#include <QStaticText>
#include <QStyledItemDelegate>

namespace sluice {

class QueueDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    static constexpr qsizetype kMaxCachedTexts = 8192;

    explicit QueueDelegate(QObject *parent = nullptr);

    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;

    // Distinct texts laid out and kept (tests).
    qsizetype cachedTexts() const;

private:
    struct Cache
    {
        QFont font;
        QHash<QString, QStaticText> texts;
    };
    const QStaticText &laidOut(const QString &text, const QFont &font) const;

    mutable Cache m_caches[2]; // regular, bold: the two fonts the queue model asks for
};

} // namespace sluice
