#include "simulatorpanel.h"

#include "fielderror.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace sluice {

namespace {

QDoubleSpinBox *spin(QWidget *parent, double max, int decimals, const QString &suffix, const QString &tip,
                     const QString &zeroText = {})
{
    auto *s = new QDoubleSpinBox(parent);
    s->setRange(0, max);
    s->setDecimals(decimals);
    s->setSuffix(suffix);
    s->setGroupSeparatorShown(true);
    s->setAccelerated(true);
    s->setToolTip(tip);
    if (!zeroText.isEmpty())
        s->setSpecialValueText(zeroText);
    return s;
}

} // namespace

SimulatorPanel::SimulatorPanel(QWidget *parent)
    : QWidget(parent)
{
    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(6, 6, 6, 6);
    outer->setSpacing(8);

    auto *presetRow = new QHBoxLayout;
    m_preset = new QComboBox(this);
    m_preset->addItem(tr("Tier 1 (50 RPM, 30k ITPM, 8k OTPM)"));
    m_preset->addItem(tr("Tier 4 (4,000 RPM, 2M ITPM, 400k OTPM)"));
    m_preset->addItem(tr("Flaky server (5 % 529, 2 % 500, 1 % resets)"));
    m_preset->addItem(tr("Unlimited, no faults"));
    m_preset->setToolTip(tr("Fill the fields with a typical setting; Apply sends it to the simulator."));
    auto *usePreset = new QPushButton(tr("Use preset"), this);
    auto *presetLabel = new QLabel(tr("Pre&set:"), this);
    presetLabel->setBuddy(m_preset);
    presetRow->addWidget(presetLabel);
    presetRow->addWidget(m_preset, 1);
    presetRow->addWidget(usePreset);
    outer->addLayout(presetRow);

    auto *limits = new QGroupBox(tr("Server limits"), this);
    auto *lf = new QFormLayout(limits);
    m_rpm = spin(limits, 1e9, 1, tr(" req/min"),
                 tr("Requests per minute the simulator admits (0 = unlimited)."), tr("unlimited"));
    m_itpm = spin(limits, 1e10, 0, tr(" tok/min"), tr("Input tokens per minute (0 = unlimited)."),
                  tr("unlimited"));
    m_otpm = spin(limits, 1e10, 0, tr(" tok/min"),
                  tr("Output tokens per minute, max_tokens reserved at admission "
                     "(0 = unlimited)."),
                  tr("unlimited"));
    m_window = spin(limits, 60, 2, tr(" s"),
                    tr("Bucket capacity = limit/60 × this window (the API may enforce a "
                       "minute's limit over about a second)."));
    m_window->setMinimum(0.01);
    m_concurrency = new QSpinBox(limits);
    m_concurrency->setRange(0, 100000);
    m_concurrency->setSpecialValueText(tr("unlimited"));
    m_concurrency->setSuffix(tr(" in flight"));
    m_concurrency->setToolTip(tr("Requests the simulator works on at once; more get a 429 (0 = unlimited)."));
    lf->addRow(tr("&Requests:"), m_rpm);
    lf->addRow(tr("&Input tokens:"), m_itpm);
    lf->addRow(tr("&Output tokens:"), m_otpm);
    lf->addRow(tr("Enforcement &window:"), m_window);
    lf->addRow(tr("&Concurrency:"), m_concurrency);
    outer->addWidget(limits);

    auto *latency = new QGroupBox(tr("Latency"), this);
    auto *tf = new QFormLayout(latency);
    m_latencyMean = spin(latency, 600000, 0, tr(" ms"), tr("Mean time to the first byte of a response."));
    m_latencyJitter = spin(latency, 600000, 0, tr(" ms"), tr("± uniform spread around the mean."));
    m_msPerToken = spin(latency, 10000, 1, tr(" ms/token"),
                        tr("Generation time per output token (streamed "
                           "deltas are spaced by it)."));
    tf->addRow(tr("&Mean:"), m_latencyMean);
    tf->addRow(tr("&Jitter:"), m_latencyJitter);
    tf->addRow(tr("&Per output token:"), m_msPerToken);
    outer->addWidget(latency);

    auto *faults = new QGroupBox(tr("Faults (probability per request)"), this);
    auto *fg = new QGridLayout(faults);
    const QString names[FaultCount] = {tr("500 api_error"),    tr("529 overloaded"),
                                       tr("Connection reset"), tr("Stall (no answer)"),
                                       tr("Malformed body"),   tr("Stream error event")};
    const QString tips[FaultCount] = {
        tr("Answer 500 api_error."),
        tr("Answer 529 overloaded_error (load across all users)."),
        tr("Drop the connection without a response (streaming: after a few deltas)."),
        tr("Accept and never answer, until the client's timeout."),
        tr("200 with a truncated JSON body (streaming: an event that is not JSON)."),
        tr("Streaming only: an `error` event (overloaded_error) after a few deltas.")};
    for (int i = 0; i < FaultCount; ++i) {
        m_faults[i] = spin(faults, 100, 1, tr(" %"), tips[i]);
        m_faults[i]->setSingleStep(0.5);
        auto *label = new QLabel(names[i] + QLatin1Char(':'), faults);
        label->setBuddy(m_faults[i]);
        fg->addWidget(label, i / 2, (i % 2) * 2);
        fg->addWidget(m_faults[i], i / 2, (i % 2) * 2 + 1);
    }
    m_faultError = new FieldError(faults);
    fg->addWidget(m_faultError, 3, 0, 1, 4);
    outer->addWidget(faults);

    auto *buttons = new QHBoxLayout;
    auto *revert = new QPushButton(tr("Re&vert"), this);
    revert->setToolTip(tr("Show the options the simulator runs with now."));
    m_apply = new QPushButton(tr("&Apply to simulator"), this);
    m_apply->setDefault(true);
    m_apply->setToolTip(
        tr("Change the running simulator at once; Sluice learns new limits from its headers."));
    buttons->addStretch(1);
    buttons->addWidget(revert);
    buttons->addWidget(m_apply);
    outer->addLayout(buttons);
    outer->addStretch(1);

    connect(usePreset, &QPushButton::clicked, this, [this] { applyPreset(m_preset->currentIndex()); });
    connect(revert, &QPushButton::clicked, this, [this] { setOptions(m_base); });
    connect(m_apply, &QPushButton::clicked, this, &SimulatorPanel::apply);
    for (QDoubleSpinBox *f : m_faults)
        connect(f, &QDoubleSpinBox::valueChanged, this, [this] {
            if (m_faultError->hasError())
                validate();
        });
    setOptions({});
}

void SimulatorPanel::setOptions(const sim::SimOptions &o)
{
    m_base = o;
    m_rpm->setValue(o.requestsPerMinute);
    m_itpm->setValue(o.inputTokensPerMinute);
    m_otpm->setValue(o.outputTokensPerMinute);
    m_window->setValue(o.enforcementWindowSeconds);
    m_concurrency->setValue(o.concurrency);
    m_latencyMean->setValue(o.latencyMeanMs);
    m_latencyJitter->setValue(o.latencyJitterMs);
    m_msPerToken->setValue(o.msPerOutputToken);
    const double p[FaultCount] = {o.p500, o.p529, o.pReset, o.pStall, o.pMalformed, o.pStreamError};
    for (int i = 0; i < FaultCount; ++i)
        m_faults[i]->setValue(p[i] * 100);
    m_faultError->setError({});
}

sim::SimOptions SimulatorPanel::options() const
{
    sim::SimOptions o = m_base;
    o.requestsPerMinute = m_rpm->value();
    o.inputTokensPerMinute = m_itpm->value();
    o.outputTokensPerMinute = m_otpm->value();
    o.enforcementWindowSeconds = m_window->value();
    o.concurrency = m_concurrency->value();
    o.latencyMeanMs = m_latencyMean->value();
    o.latencyJitterMs = m_latencyJitter->value();
    o.msPerOutputToken = m_msPerToken->value();
    double *p[FaultCount] = {&o.p500, &o.p529, &o.pReset, &o.pStall, &o.pMalformed, &o.pStreamError};
    for (int i = 0; i < FaultCount; ++i)
        *p[i] = m_faults[i]->value() / 100;
    return o;
}

QStringList SimulatorPanel::validate()
{
    double sum = 0;
    for (QDoubleSpinBox *f : m_faults)
        sum += f->value();
    QStringList problems;
    // A hair of tolerance: six fields of one decimal each cannot sum to 100.05 by rounding, only by choice.
    if (sum > 100.0 + 1e-9)
        problems << tr("The fault rates add up to %1 %; at most 100 %").arg(QLocale().toString(sum, 'f', 1));
    m_faultError->setError(problems.isEmpty() ? QString() : problems.first());
    return problems;
}

bool SimulatorPanel::apply()
{
    if (!validate().isEmpty())
        return false;
    m_base = options();
    Q_EMIT optionsApplied(m_base);
    return true;
}

void SimulatorPanel::applyPreset(int index)
{
    sim::SimOptions o = options();
    auto limits = [&o](double rpm, double itpm, double otpm) {
        o.requestsPerMinute = rpm;
        o.inputTokensPerMinute = itpm;
        o.outputTokensPerMinute = otpm;
        o.enforcementWindowSeconds = 1;
    };
    switch (index) {
    case 0:
        limits(50, 30000, 8000);
        break;
    case 1:
        limits(4000, 2000000, 400000);
        break;
    case 2:
        o.p500 = 0.02;
        o.p529 = 0.05;
        o.pReset = 0.01;
        o.pStall = 0;
        o.pMalformed = 0;
        o.pStreamError = 0;
        break;
    case 3:
        limits(0, 0, 0);
        o.concurrency = 0;
        o.p500 = o.p529 = o.pReset = o.pStall = o.pMalformed = o.pStreamError = 0;
        break;
    default:
        return;
    }
    const sim::SimOptions base = m_base;
    setOptions(o);
    m_base = base; // a preset only fills fields; Revert still goes back to what the simulator runs with
}

} // namespace sluice
