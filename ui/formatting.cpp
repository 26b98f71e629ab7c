#include "formatting.h"

#include <cmath>

namespace sluice {

namespace {

// Up to three significant digits, without trailing zeros: 12.3, 1.5, 2, 0.83.
QString significant(double v)
{
    const double a = std::abs(v);
    const int decimals = a >= 100 ? 0 : a >= 10 ? 1 : 2;
    QString s = QString::number(v, 'f', decimals);
    if (s.contains(QLatin1Char('.'))) {
        while (s.endsWith(QLatin1Char('0')))
            s.chop(1);
        if (s.endsWith(QLatin1Char('.')))
            s.chop(1);
    }
    return s == QLatin1String("-0") ? QStringLiteral("0") : s;
}

} // namespace

QString formatQuantity(double value)
{
    if (!std::isfinite(value))
        return QStringLiteral("∞");
    const double a = std::abs(value);
    // Round first so 999,950 reads "1M", not "1000k".
    if (a >= 999.5e3)
        return significant(value / 1e6) + QLatin1Char('M');
    if (a >= 999.5)
        return significant(value / 1e3) + QLatin1Char('k');
    return significant(value);
}

QString formatSeconds(double seconds)
{
    if (!std::isfinite(seconds))
        return QStringLiteral("∞");
    if (seconds <= 0)
        return QStringLiteral("0 ms");
    if (seconds < 0.001)
        return QStringLiteral("%1 µs").arg(qRound(seconds * 1e6));
    if (seconds < 1)
        return QStringLiteral("%1 ms").arg(qRound(seconds * 1e3));
    if (seconds < 60)
        return QStringLiteral("%1 s").arg(
            significant(seconds < 10 ? std::round(seconds * 10) / 10 : std::round(seconds)));
    const qint64 whole = qRound64(seconds);
    if (whole < 3600)
        return QStringLiteral("%1 min %2 s").arg(whole / 60).arg(whole % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 h %2 min").arg(whole / 3600).arg((whole % 3600) / 60, 2, 10, QLatin1Char('0'));
}

QString formatPercent(double fraction)
{
    if (!std::isfinite(fraction))
        return QStringLiteral("–");
    return QStringLiteral("%1 %").arg(qRound(fraction * 100));
}

} // namespace sluice
