#include "fielderror.h"

namespace sluice {

FieldError::FieldError(QWidget *parent)
    : QLabel(parent)
{
    setWordWrap(true);
    setTextFormat(Qt::PlainText);
    // A fixed red with enough contrast on both the light (white) and the dark (near-black) default palettes.
    QPalette p = palette();
    const bool dark = p.color(QPalette::Window).lightness() < 128;
    p.setColor(QPalette::WindowText, dark ? QColor(0xff, 0x7b, 0x72) : QColor(0xc0, 0x1c, 0x28));
    setPalette(p);
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 0.92);
    setFont(f);
    hide();
}

void FieldError::setError(const QString &message)
{
    m_error = message;
    setText(message.isEmpty() ? QString() : QStringLiteral("⚠ ") + message);
    setAccessibleDescription(message);
    setVisible(!message.isEmpty());
}

} // namespace sluice
