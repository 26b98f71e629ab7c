#include "queuedelegate.h"

#include <QApplication>
#include <QFontMetricsF>
#include <QPainter>
#include <QtMath>

namespace sluice {

QueueDelegate::QueueDelegate(QObject *parent)
    : QStyledItemDelegate(parent)
{}

qsizetype QueueDelegate::cachedTexts() const
{
    return m_caches[0].texts.size() + m_caches[1].texts.size();
}

const QStaticText &QueueDelegate::laidOut(const QString &text, const QFont &font) const
{
    Cache &cache = m_caches[font.bold() ? 1 : 0];
    if (cache.font != font) {
        cache.font = font;
        cache.texts.clear();
    }
    auto it = cache.texts.find(text);
    if (it != cache.texts.end())
        return *it;
    if (cache.texts.size() >= kMaxCachedTexts)
        cache.texts.clear();
    QStaticText s(text);
    s.setTextFormat(Qt::PlainText);
    s.prepare(QTransform(), font);
    return *cache.texts.insert(text, s);
}

void QueueDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                          const QModelIndex &index) const
{
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    const bool plainText =
        !opt.text.isEmpty() && opt.icon.isNull() &&
        !(opt.features & (QStyleOptionViewItem::HasCheckIndicator | QStyleOptionViewItem::HasDecoration |
                          QStyleOptionViewItem::WrapText)) &&
        !opt.text.contains(QLatin1Char('\n')) && !(opt.state & QStyle::State_Editing);
    if (!plainText) {
        QStyledItemDelegate::paint(painter, option, index);
        return;
    }
    const QWidget *widget = opt.widget;
    QStyle *style = widget ? widget->style() : QApplication::style();
    // The same text rectangle QCommonStyle uses: the cell less the focus frame's margin on each side.
    const int margin = style->pixelMetric(QStyle::PM_FocusFrameHMargin, nullptr, widget) + 1;
    const QRect textRect = opt.rect.adjusted(margin, 0, -margin, 0);
    const QStaticText &text = laidOut(opt.text, opt.font);
    const qreal width = text.size().width();
    if (width > textRect.width()) {
        QStyledItemDelegate::paint(painter, option, index); // it elides
        return;
    }

    // The style's own item, in its order: background and selection, then the text, then the focus frame
    // (which may tint what is under it).
    QStyleOptionViewItem background = opt;
    background.text.clear();
    background.state &= ~QStyle::State_HasFocus;
    painter->save();
    style->drawControl(QStyle::CE_ItemViewItem, &background, painter, widget);
    painter->restore();

    QPalette::ColorGroup group = (opt.state & QStyle::State_Enabled) ? QPalette::Normal : QPalette::Disabled;
    if (group == QPalette::Normal && !(opt.state & QStyle::State_Active))
        group = QPalette::Inactive;
    const bool selected = opt.state & QStyle::State_Selected;

    const Qt::Alignment align = QStyle::visualAlignment(opt.direction, opt.displayAlignment);
    qreal x = textRect.x();
    if (align & Qt::AlignRight)
        x = textRect.x() + textRect.width() - width;
    else if (align & Qt::AlignHCenter)
        x = textRect.x() + (textRect.width() - width) / 2;
    const QFontMetricsF metrics(opt.font);
    // QTextLine::height(), which QCommonStyle centres by, is the ascent and descent rounded up.
    const QSize lineSize(textRect.width(), qCeil(metrics.ascent() + metrics.descent()));
    const QRect line = QStyle::alignedRect(opt.direction, align & Qt::AlignVertical_Mask, lineSize, textRect);

    painter->save();
    painter->setClipRect(opt.rect);
    painter->setPen(opt.palette.color(group, selected ? QPalette::HighlightedText : QPalette::Text));
    painter->setFont(opt.font);
    painter->drawStaticText(QPointF(x, line.top()), text);
    if (opt.state & QStyle::State_HasFocus) {
        QStyleOptionFocusRect focus;
        focus.QStyleOption::operator=(opt);
        focus.rect = style->subElementRect(QStyle::SE_ItemViewItemFocusRect, &opt, widget);
        focus.state |= QStyle::State_KeyboardFocusChange | QStyle::State_Item;
        focus.backgroundColor = opt.palette.color(group, selected ? QPalette::Highlight : QPalette::Window);
        style->drawPrimitive(QStyle::PE_FrameFocusRect, &focus, painter, widget);
    }
    painter->restore();
}

} // namespace sluice
