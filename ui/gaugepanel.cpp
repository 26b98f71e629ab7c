#include "gaugepanel.h"

#include "formatting.h"

#include <QGridLayout>
#include <QLabel>
#include <QProgressBar>

#include <algorithm>
#include <cmath>

namespace sluice {

namespace {

constexpr int kBarSteps = 1000; // per-mille resolution: smooth at any window width

// QProgressBar's format treats '%' as a placeholder prefix; a literal text must escape it.
QString literalFormat(QString text)
{
    return text.replace(QLatin1Char('%'), QStringLiteral("%%"));
}

} // namespace

GaugePanel::GaugePanel(QWidget *parent)
    : QWidget(parent)
{
    auto *grid = new QGridLayout(this);
    grid->setContentsMargins(6, 6, 6, 6);
    grid->setHorizontalSpacing(10);
    grid->setVerticalSpacing(6);
    const QString names[GaugeCount] = {tr("Requests"), tr("Input tokens"), tr("Output tokens"),
                                       tr("In flight"), tr("Daily quota")};
    const QString tips[GaugeCount] = {
        tr("Request bucket: requests that may start now out of the bucket's capacity (requests/min × burst "
           "window)."),
        tr("Input-token bucket: estimated input tokens that may be sent now out of the bucket's capacity."),
        tr("Output-token bucket: max_tokens reservations that may start now out of the bucket's capacity."),
        tr("Requests on the wire out of the concurrency limit."),
        tr("Requests started today out of the daily quota (resets at midnight of the quota's time zone).")};
    for (int i = 0; i < GaugeCount; ++i) {
        Row &r = m_rows[i];
        r.name = new QLabel(names[i], this);
        r.bar = new QProgressBar(this);
        r.bar->setRange(0, kBarSteps);
        r.bar->setTextVisible(true);
        r.bar->setMinimumWidth(160);
        r.bar->setAlignment(Qt::AlignCenter);
        r.source = new QLabel(this);
        r.source->setTextFormat(Qt::PlainText);
        r.source->setForegroundRole(QPalette::PlaceholderText);
        r.name->setToolTip(tips[i]);
        r.bar->setToolTip(tips[i]);
        r.name->setBuddy(r.bar);
        // Where the limit comes from goes under its bar, in a smaller font: the panel stays narrow enough
        // to share the window's side with the settings, and the queue keeps the width.
        QFont small = r.source->font();
        small.setPointSizeF(small.pointSizeF() * 0.9);
        r.source->setFont(small);
        grid->addWidget(r.name, 2 * i, 0);
        grid->addWidget(r.bar, 2 * i, 1);
        grid->addWidget(r.source, 2 * i + 1, 1);
    }
    grid->setColumnStretch(1, 1);
    grid->setRowStretch(2 * GaugeCount, 1);
    setValues({});
}

void GaugePanel::setLimitRow(Row &row, const LimitGaugeValues &v, const QString &unit)
{
    if (!v.enabled || v.capacity <= 0) {
        row.bar->setEnabled(false);
        row.bar->setValue(0);
        row.bar->setFormat(tr("off"));
        row.source->setText(tr("no limit"));
        return;
    }
    row.bar->setEnabled(true);
    const double fraction = std::clamp(v.level / v.capacity, 0.0, 1.0);
    row.bar->setValue(int(std::lround(fraction * kBarSteps)));
    QString text = QStringLiteral("%1 / %2").arg(formatQuantity(v.level), formatQuantity(v.capacity));
    if (v.level < 0)
        text += tr(" (debt)");
    row.bar->setFormat(literalFormat(text));

    const QString inForce = QStringLiteral("%1 %2/min").arg(formatQuantity(v.perMinute), unit);
    QString source;
    if (v.serverLimit > 0 && (v.configured <= 0 || v.serverLimit < v.configured))
        source =
            v.configured > 0
                ? tr("learned from server: %1 (configured %2)").arg(inForce, formatQuantity(v.configured))
                : tr("learned from server: %1").arg(inForce);
    else if (v.serverLimit > 0)
        source = tr("configured %1 (server allows %2)").arg(inForce, formatQuantity(v.serverLimit));
    else
        source = tr("configured %1").arg(inForce);
    row.source->setText(source);
    row.bar->setToolTip(
        tr("%1\nUsed in the last minute: %2 (%3 of the limit)")
            .arg(row.name->toolTip(), formatQuantity(v.usedLastMinute), formatPercent(v.utilisation)));
}

void GaugePanel::setCountRow(Row &row, double used, double limit, const QString &unitText)
{
    row.bar->setEnabled(true);
    if (limit <= 0) {
        // Unlimited: the bar cannot show a fraction, the text still shows the count.
        row.bar->setValue(0);
        row.bar->setFormat(literalFormat(tr("%1 (unlimited)").arg(formatQuantity(used))));
        row.source->setText(unitText);
        return;
    }
    row.bar->setValue(int(std::lround(std::clamp(used / limit, 0.0, 1.0) * kBarSteps)));
    row.bar->setFormat(
        literalFormat(QStringLiteral("%1 / %2").arg(formatQuantity(used), formatQuantity(limit))));
    row.source->setText(unitText);
}

void GaugePanel::setValues(const GaugeValues &values)
{
    m_values = values;
    setLimitRow(m_rows[int(Gauge::Requests)], values.requests, tr("req"));
    setLimitRow(m_rows[int(Gauge::InputTokens)], values.inputTokens, tr("tok"));
    setLimitRow(m_rows[int(Gauge::OutputTokens)], values.outputTokens, tr("tok"));
    setCountRow(m_rows[int(Gauge::Concurrency)], double(values.inFlight), values.concurrencyLimit,
                tr("requests in flight"));
    setCountRow(m_rows[int(Gauge::DailyQuota)], double(values.dailyUsed), double(values.dailyQuota),
                tr("requests today"));
}

QString GaugePanel::barText(Gauge g) const
{
    return m_rows[int(g)].bar->format().replace(QStringLiteral("%%"), QStringLiteral("%"));
}

QString GaugePanel::sourceText(Gauge g) const
{
    return m_rows[int(g)].source->text();
}

} // namespace sluice
