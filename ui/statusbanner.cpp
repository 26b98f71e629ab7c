#include "statusbanner.h"

#include "formatting.h"

#include <QLabel>
#include <QVBoxLayout>

namespace sluice {

namespace {

// Fixed colours with white text: a banner must read the same on light and dark palettes.
void colourLine(QLabel *l, const char *background)
{
    l->setStyleSheet(QStringLiteral("QLabel { background: %1; color: #ffffff; padding: 6px 10px;"
                                    " border-radius: 4px; font-weight: 600; }")
                         .arg(QLatin1String(background)));
}

QLabel *makeLine(QWidget *parent, const char *background)
{
    auto *l = new QLabel(parent);
    l->setTextFormat(Qt::PlainText);
    l->setWordWrap(true);
    colourLine(l, background);
    l->hide();
    return l;
}

constexpr const char *kRed = "#a51d2d";
constexpr const char *kAmber = "#b35900";
constexpr const char *kBlue = "#1c71d8";

QString causeText(const QString &cause)
{
    if (cause.isEmpty() || cause == QLatin1String("server"))
        return QObject::tr("server-side throttling, no local limit exhausted");
    return QObject::tr("%1 limit").arg(cause);
}

} // namespace

StatusBanner::StatusBanner(QWidget *parent)
    : QFrame(parent)
    , m_cooldown(makeLine(this, kAmber))
    , m_circuit(makeLine(this, kRed))
    , m_demo(makeLine(this, kBlue))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    layout->addWidget(m_demo);
    layout->addWidget(m_circuit);
    layout->addWidget(m_cooldown);
    m_cooldown->setToolTip(
        tr("After a 429 every dispatch waits for the server's retry-after, so one 429 never "
           "becomes a storm."));
    m_circuit->setToolTip(tr("The circuit breaker stops sending after repeated server errors and probes with "
                             "one request after its cool-off."));
    updateVisibility();
}

void StatusBanner::setCooldown(double remainingSeconds, const QString &cause)
{
    m_cooling = remainingSeconds > 0;
    if (m_cooling)
        m_cooldown->setText(tr("Cooling down after a 429 (%1): dispatching resumes in %2")
                                .arg(causeText(cause), formatSeconds(remainingSeconds)));
    m_cooldown->setVisible(m_cooling);
    updateVisibility();
}

void StatusBanner::setCircuit(CircuitState state, const QString &reason)
{
    const QString why = reason.isEmpty() ? QString() : QStringLiteral(": ") + reason;
    switch (state) {
    case CircuitState::Closed:
        m_circuit->hide();
        break;
    case CircuitState::Open:
        m_circuit->setText(tr("Circuit open%1. Nothing is sent until the cool-off ends.").arg(why));
        colourLine(m_circuit, kRed);
        m_circuit->show();
        break;
    case CircuitState::HalfOpen:
        m_circuit->setText(tr("Circuit half-open%1. One probe request decides whether to resume.").arg(why));
        colourLine(m_circuit, kAmber);
        m_circuit->show();
        break;
    }
    updateVisibility();
}

void StatusBanner::setDemoMode(bool demo, const QString &detail)
{
    if (demo)
        m_demo->setText(
            detail.isEmpty()
                ? tr("Demo mode: no API key is set, so requests go to the built-in simulator.")
                : tr("Demo mode: no API key is set, so requests go to the built-in simulator at %1.")
                      .arg(detail));
    m_demo->setVisible(demo);
    updateVisibility();
}

QString StatusBanner::cooldownText() const
{
    return m_cooldown->isVisibleTo(this) ? m_cooldown->text() : QString();
}

QString StatusBanner::circuitText() const
{
    return m_circuit->isVisibleTo(this) ? m_circuit->text() : QString();
}

QString StatusBanner::demoText() const
{
    return m_demo->isVisibleTo(this) ? m_demo->text() : QString();
}

void StatusBanner::updateVisibility()
{
    setVisible(m_cooldown->isVisibleTo(this) || m_circuit->isVisibleTo(this) || m_demo->isVisibleTo(this));
}

} // namespace sluice
