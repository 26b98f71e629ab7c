#include "limitspanel.h"

#include "config.h"
#include "fielderror.h"
#include "formatting.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCompleter>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTimeZone>
#include <QVBoxLayout>

#include <climits>

namespace sluice {

namespace {

const char *const kRateKeys[3] = {"requests", "input_tokens", "output_tokens"};

QDoubleSpinBox *rateSpin(QWidget *parent, const QString &suffix, int decimals)
{
    auto *s = new QDoubleSpinBox(parent);
    s->setRange(0, 1e9);
    s->setDecimals(decimals);
    s->setSuffix(suffix);
    s->setSpecialValueText(QObject::tr("off"));
    s->setGroupSeparatorShown(true);
    s->setAccelerated(true);
    return s;
}

QComboBox *kindCombo(QWidget *parent)
{
    auto *c = new QComboBox(parent);
    c->addItem(QObject::tr("Token bucket"), int(LimiterKind::TokenBucket));
    c->addItem(QObject::tr("Sliding window"), int(LimiterKind::SlidingWindow));
    c->setToolTip(QObject::tr("Token bucket: continuously refilled, like the API itself.\n"
                              "Sliding window: at most the burst in any window of the burst length."));
    return c;
}

void selectData(QComboBox *c, int value)
{
    const int i = c->findData(value);
    if (i >= 0)
        c->setCurrentIndex(i);
}

QLabel *header(const QString &text, QWidget *parent)
{
    auto *l = new QLabel(text, parent);
    QFont f = l->font();
    f.setBold(true);
    l->setFont(f);
    return l;
}

} // namespace

LimitsPanel::LimitsPanel(QWidget *parent)
    : QWidget(parent)
{
    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(6, 6, 6, 6);
    outer->setSpacing(8);

    // --- Rate limits
    auto *limitsBox = new QGroupBox(tr("Local limits"), this);
    auto *g = new QGridLayout(limitsBox);
    g->setHorizontalSpacing(10);
    g->addWidget(header(tr("Limit"), limitsBox), 0, 1);
    g->addWidget(header(tr("Limiter"), limitsBox), 0, 2);
    const QString names[3] = {tr("&Requests:"), tr("&Input tokens:"), tr("&Output tokens:")};
    const QString suffixes[3] = {tr(" req/min"), tr(" tok/min"), tr(" tok/min")};
    const QString tips[3] = {
        tr("Requests per minute Sluice sends at most (0 = off). Tier 1 Sonnet: 50."),
        tr("Estimated input tokens per minute (0 = off). Reserved at dispatch, settled to the reported "
           "usage."),
        tr("Output tokens per minute (0 = off). max_tokens is reserved at dispatch and settled to the actual "
           "output.")};
    int row = 1;
    for (int i = 0; i < 3; ++i) {
        RateRow &r = m_rates[i];
        r.perMinute = rateSpin(limitsBox, suffixes[i], i == 0 ? 1 : 0);
        r.perMinute->setToolTip(tips[i]);
        r.kind = kindCombo(limitsBox);
        r.server = new QLabel(limitsBox);
        r.server->setForegroundRole(QPalette::PlaceholderText);
        r.server->hide(); // until the server has said something
        r.server->setToolTip(tr("The last anthropic-ratelimit-*-limit header. A server limit below the "
                                "configured one replaces it."));
        r.error = new FieldError(limitsBox);
        auto *label = new QLabel(names[i], limitsBox);
        label->setBuddy(r.perMinute);
        g->addWidget(label, row, 0);
        g->addWidget(r.perMinute, row, 1);
        g->addWidget(r.kind, row, 2);
        g->addWidget(r.server, row + 1, 1, 1, 2);
        g->addWidget(r.error, row + 2, 1, 1, 2);
        row += 3;
    }
    m_concurrency = new QSpinBox(limitsBox);
    m_concurrency->setRange(0, 100000);
    m_concurrency->setSpecialValueText(tr("unlimited"));
    m_concurrency->setSuffix(tr(" in flight"));
    m_concurrency->setToolTip(tr("Requests on the wire at once (0 = unlimited)."));
    m_concurrencyError = new FieldError(limitsBox);
    auto *concurrencyLabel = new QLabel(tr("&Concurrency:"), limitsBox);
    concurrencyLabel->setBuddy(m_concurrency);
    g->addWidget(concurrencyLabel, row, 0);
    g->addWidget(m_concurrency, row, 1);
    g->addWidget(m_concurrencyError, row + 1, 1, 1, 2);
    row += 2;

    m_dailyQuota = new QDoubleSpinBox(limitsBox);
    m_dailyQuota->setRange(0, 1e12);
    m_dailyQuota->setDecimals(0);
    m_dailyQuota->setGroupSeparatorShown(true);
    m_dailyQuota->setSpecialValueText(tr("unlimited"));
    m_dailyQuota->setSuffix(tr(" req/day"));
    m_dailyQuota->setToolTip(
        tr("Requests per calendar day (0 = unlimited); resets at midnight in the time zone."));
    m_timeZone = new QComboBox(limitsBox);
    m_timeZone->setEditable(true);
    m_timeZone->setInsertPolicy(QComboBox::NoInsert);
    for (const QByteArray &id : QTimeZone::availableTimeZoneIds())
        m_timeZone->addItem(QString::fromLatin1(id));
    m_timeZone->completer()->setCaseSensitivity(Qt::CaseInsensitive);
    // Sized for a dozen characters, not for the longest of ~600 zone names (which made the panel 580 px
    // wide).
    m_timeZone->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_timeZone->setMinimumContentsLength(12);
    m_timeZone->completer()->setFilterMode(Qt::MatchContains);
    m_timeZone->setToolTip(
        tr("IANA time zone whose midnight resets the daily quota, e.g. UTC or Europe/Paris."));
    m_dailyError = new FieldError(limitsBox);
    auto *dailyLabel = new QLabel(tr("&Daily quota:"), limitsBox);
    dailyLabel->setBuddy(m_dailyQuota);
    g->addWidget(dailyLabel, row, 0);
    g->addWidget(m_dailyQuota, row, 1);
    g->addWidget(m_timeZone, row, 2);
    g->addWidget(m_dailyError, row + 1, 1, 1, 2);
    row += 2;

    m_burst = new QDoubleSpinBox(limitsBox);
    m_burst->setRange(0.01, 60);
    m_burst->setDecimals(2);
    m_burst->setSingleStep(0.5);
    m_burst->setSuffix(tr(" s"));
    m_burst->setToolTip(
        tr("Each bucket holds this many seconds' worth of its per-minute rate: the API may "
           "enforce a minute's limit over intervals as short as a second. 60 = the whole minute "
           "as one burst."));
    m_burstError = new FieldError(limitsBox);
    auto *burstLabel = new QLabel(tr("&Burst window:"), limitsBox);
    burstLabel->setBuddy(m_burst);
    g->addWidget(burstLabel, row, 0);
    g->addWidget(m_burst, row, 1);
    g->addWidget(m_burstError, row + 1, 1, 1, 2);
    g->setColumnStretch(1, 1);
    outer->addWidget(limitsBox);

    // --- Backoff
    auto *backoffBox = new QGroupBox(tr("Backoff"), this);
    auto *b = new QGridLayout(backoffBox);
    b->setHorizontalSpacing(10);
    m_initialDelay = new QDoubleSpinBox(backoffBox);
    m_initialDelay->setRange(0, 86'400'000);
    m_initialDelay->setDecimals(0);
    m_initialDelay->setSuffix(tr(" ms"));
    m_initialDelay->setGroupSeparatorShown(true);
    m_initialDelay->setToolTip(
        tr("Delay before the first retry of a failed attempt (not of a 429: a 429 waits "
           "for the server's retry-after)."));
    m_multiplier = new QDoubleSpinBox(backoffBox);
    m_multiplier->setRange(1, 100);
    m_multiplier->setDecimals(2);
    m_multiplier->setSingleStep(0.25);
    m_multiplier->setPrefix(tr("× "));
    m_multiplier->setToolTip(tr("Each further retry waits this many times longer."));
    m_maxDelay = new QDoubleSpinBox(backoffBox);
    m_maxDelay->setRange(0, 86'400);
    m_maxDelay->setDecimals(1);
    m_maxDelay->setSuffix(tr(" s"));
    m_maxDelay->setToolTip(tr("No backoff delay is longer than this."));
    m_jitter = new QComboBox(backoffBox);
    m_jitter->addItem(tr("None"), int(JitterMode::None));
    m_jitter->addItem(tr("Proportional (± fraction)"), int(JitterMode::Proportional));
    m_jitter->addItem(tr("Full (0 … delay)"), int(JitterMode::Full));
    m_jitter->addItem(tr("Equal (½ delay + random ½)"), int(JitterMode::Equal));
    m_jitter->addItem(tr("Decorrelated"), int(JitterMode::Decorrelated));
    m_jitter->setToolTip(
        tr("How retries are spread out so many clients do not retry in lock-step. Full jitter "
           "does the least work overall."));
    m_attempts = new QSpinBox(backoffBox);
    m_attempts->setRange(1, 1000);
    m_attempts->setSuffix(tr(" attempts"));
    m_attempts->setToolTip(tr("Attempts in all, the first included (1 = never retry). 429s do not count."));
    m_initialError = new FieldError(backoffBox);
    m_multiplierError = new FieldError(backoffBox);
    m_maxDelayError = new FieldError(backoffBox);
    m_attemptsError = new FieldError(backoffBox);
    const struct
    {
        QString label;
        QWidget *field;
        FieldError *error;
    } backoffRows[] = {{tr("I&nitial delay:"), m_initialDelay, m_initialError},
                       {tr("&Multiplier:"), m_multiplier, m_multiplierError},
                       {tr("Ma&ximum delay:"), m_maxDelay, m_maxDelayError},
                       {tr("&Jitter:"), m_jitter, nullptr},
                       {tr("&Attempts:"), m_attempts, m_attemptsError}};
    row = 0;
    for (const auto &r : backoffRows) {
        auto *label = new QLabel(r.label, backoffBox);
        label->setBuddy(r.field);
        b->addWidget(label, row, 0);
        b->addWidget(r.field, row, 1);
        if (r.error)
            b->addWidget(r.error, row, 2);
        ++row;
    }
    b->setColumnStretch(2, 1);
    outer->addWidget(backoffBox);

    // --- Retry budget
    auto *budgetBox = new QGroupBox(tr("Retry budget"), this);
    auto *rb = new QGridLayout(budgetBox);
    m_budgetEnabled = new QCheckBox(tr("&Enabled"), budgetBox);
    m_budgetEnabled->setToolTip(tr("Retries spend from a shared budget that successes refill, so a failing "
                                   "server is not hammered by retries (AWS \"standard\" retry mode)."));
    m_budgetCapacity = new QDoubleSpinBox(budgetBox);
    m_budgetCapacity->setRange(0, 1e9);
    m_budgetCapacity->setDecimals(0);
    m_budgetCapacity->setSuffix(tr(" tokens"));
    m_budgetCapacity->setToolTip(tr("Budget capacity. A retry costs 5 (10 after a timeout); each first-try "
                                    "success gives 1 back."));
    m_budgetError = new FieldError(budgetBox);
    auto *capacityLabel = new QLabel(tr("Ca&pacity:"), budgetBox);
    capacityLabel->setBuddy(m_budgetCapacity);
    rb->addWidget(m_budgetEnabled, 0, 0, 1, 2);
    rb->addWidget(capacityLabel, 1, 0);
    rb->addWidget(m_budgetCapacity, 1, 1);
    rb->addWidget(m_budgetError, 1, 2);
    rb->setColumnStretch(2, 1);
    connect(m_budgetEnabled, &QCheckBox::toggled, m_budgetCapacity, &QWidget::setEnabled);
    outer->addWidget(budgetBox);

    // --- Buttons
    auto *buttons = new QHBoxLayout;
    m_status = new QLabel(this);
    m_status->setForegroundRole(QPalette::PlaceholderText);
    m_status->setWordWrap(true);
    m_reset = new QPushButton(tr("Reset to &defaults"), this);
    m_reset->setToolTip(tr("Fill in the built-in defaults and apply them."));
    m_apply = new QPushButton(tr("A&pply"), this);
    m_apply->setDefault(true);
    m_apply->setToolTip(tr("Apply to the running dispatcher at once and remember for next time."));
    buttons->addWidget(m_status, 1);
    buttons->addWidget(m_reset);
    buttons->addWidget(m_apply);
    outer->addLayout(buttons);
    outer->addStretch(1);

    connect(m_apply, &QPushButton::clicked, this, &LimitsPanel::apply);
    connect(m_reset, &QPushButton::clicked, this, &LimitsPanel::resetToDefaults);

    setOptions({}, {}, {});
}

void LimitsPanel::setOptions(const LimitOptions &limits, const BackoffOptions &backoff,
                             const RetryOptions &retry)
{
    m_baseLimits = limits;
    m_baseBackoff = backoff;
    m_baseRetry = retry;
    const RateLimitOptions *rates[3] = {&limits.requests, &limits.inputTokens, &limits.outputTokens};
    for (int i = 0; i < 3; ++i) {
        m_rates[i].perMinute->setValue(rates[i]->perMinute);
        selectData(m_rates[i].kind, int(rates[i]->kind));
    }
    m_concurrency->setValue(limits.concurrency);
    m_dailyQuota->setValue(double(limits.dailyQuota));
    m_timeZone->setCurrentText(QString::fromLatin1(limits.dailyQuotaTimeZone));
    m_burst->setValue(limits.burstSeconds);
    m_initialDelay->setValue(toMilliseconds(backoff.initialDelay));
    m_multiplier->setValue(backoff.multiplier);
    m_maxDelay->setValue(toSeconds(backoff.maxDelay));
    selectData(m_jitter, int(backoff.jitter));
    m_attempts->setValue(backoff.maxAttempts);
    m_budgetEnabled->setChecked(retry.budget.enabled);
    m_budgetCapacity->setValue(retry.budget.capacity);
    m_budgetCapacity->setEnabled(retry.budget.enabled);
}

LimitOptions LimitsPanel::limitOptions() const
{
    LimitOptions o = m_baseLimits;
    RateLimitOptions *rates[3] = {&o.requests, &o.inputTokens, &o.outputTokens};
    for (int i = 0; i < 3; ++i) {
        rates[i]->perMinute = m_rates[i].perMinute->value();
        rates[i]->kind = LimiterKind(m_rates[i].kind->currentData().toInt());
    }
    o.concurrency = m_concurrency->value();
    o.dailyQuota = qint64(m_dailyQuota->value());
    o.dailyQuotaTimeZone = m_timeZone->currentText().trimmed().toLatin1();
    o.burstSeconds = m_burst->value();
    return o;
}

BackoffOptions LimitsPanel::backoffOptions() const
{
    BackoffOptions o = m_baseBackoff;
    o.initialDelay = fromMilliseconds(m_initialDelay->value());
    o.multiplier = m_multiplier->value();
    o.maxDelay = fromSeconds(m_maxDelay->value());
    o.jitter = JitterMode(m_jitter->currentData().toInt());
    o.maxAttempts = m_attempts->value();
    return o;
}

RetryOptions LimitsPanel::retryOptions() const
{
    RetryOptions o = m_baseRetry;
    o.budget.enabled = m_budgetEnabled->isChecked();
    o.budget.capacity = m_budgetCapacity->value();
    return o;
}

bool LimitsPanel::validate()
{
    // The configuration file's own rules, so the panel accepts exactly what --config accepts.
    Config c;
    c.limits = limitOptions();
    c.backoff = backoffOptions();
    c.retry = retryOptions();
    m_errors = c.validate();

    FieldError *all[] = {m_rates[0].error, m_rates[1].error, m_rates[2].error, m_concurrencyError,
                         m_dailyError,     m_burstError,     m_initialError,   m_multiplierError,
                         m_maxDelayError,  m_attemptsError,  m_budgetError};
    for (FieldError *e : all)
        e->setError({});
    const std::pair<const char *, FieldError *> routes[] = {
        {"limits.requests_per_minute", m_rates[0].error},
        {"limits.input_tokens_per_minute", m_rates[1].error},
        {"limits.output_tokens_per_minute", m_rates[2].error},
        {"limits.concurrency", m_concurrencyError},
        {"limits.daily_quota", m_dailyError}, // also .._time_zone
        {"limits.burst_seconds", m_burstError},
        {"backoff.initial_ms", m_initialError},
        {"backoff.multiplier", m_multiplierError},
        {"backoff.max_ms", m_maxDelayError},
        {"backoff.max_attempts", m_attemptsError},
        {"retry.budget", m_budgetError},
    };
    QStringList unrouted;
    for (const QString &e : std::as_const(m_errors)) {
        const qsizetype colon = e.indexOf(QStringLiteral(": "));
        const QString path = colon > 0 ? e.left(colon) : QString();
        const QString message = colon > 0 ? e.mid(colon + 2) : e;
        FieldError *target = nullptr;
        for (const auto &[prefix, field] : routes) {
            if (path.startsWith(QLatin1String(prefix))) {
                target = field;
                break;
            }
        }
        if (!target) {
            unrouted << e;
            continue;
        }
        target->setError(target->hasError() ? target->error() + QLatin1Char('\n') + message : message);
    }
    if (!m_errors.isEmpty())
        m_status->setText(unrouted.isEmpty()
                              ? tr("Not applied: fix the fields marked ⚠.")
                              : tr("Not applied: %1").arg(unrouted.join(QStringLiteral("; "))));
    return m_errors.isEmpty();
}

bool LimitsPanel::apply()
{
    if (!validate())
        return false;
    QSettings settings;
    save(settings);
    m_baseLimits = limitOptions();
    m_baseBackoff = backoffOptions();
    m_baseRetry = retryOptions();
    m_status->setText(tr("Applied."));
    Q_EMIT applied(m_baseLimits, m_baseBackoff, m_baseRetry);
    return true;
}

void LimitsPanel::resetToDefaults()
{
    setOptions({}, {}, {});
    apply();
}

void LimitsPanel::save(QSettings &settings) const
{
    const LimitOptions l = limitOptions();
    const BackoffOptions b = backoffOptions();
    const RetryOptions r = retryOptions();
    settings.beginGroup(QStringLiteral("limits"));
    const RateLimitOptions *rates[3] = {&l.requests, &l.inputTokens, &l.outputTokens};
    for (int i = 0; i < 3; ++i) {
        const QString key = QLatin1String(kRateKeys[i]);
        settings.setValue(key + QStringLiteral("_per_minute"), rates[i]->perMinute);
        settings.setValue(key + QStringLiteral("_limiter"), limiterKindName(rates[i]->kind));
    }
    settings.setValue(QStringLiteral("concurrency"), l.concurrency);
    settings.setValue(QStringLiteral("daily_quota"), l.dailyQuota);
    settings.setValue(QStringLiteral("daily_quota_time_zone"), QString::fromLatin1(l.dailyQuotaTimeZone));
    settings.setValue(QStringLiteral("burst_seconds"), l.burstSeconds);
    settings.setValue(QStringLiteral("backoff_initial_ms"), toMilliseconds(b.initialDelay));
    settings.setValue(QStringLiteral("backoff_multiplier"), b.multiplier);
    settings.setValue(QStringLiteral("backoff_max_ms"), toMilliseconds(b.maxDelay));
    settings.setValue(QStringLiteral("backoff_jitter"), jitterModeName(b.jitter));
    settings.setValue(QStringLiteral("backoff_max_attempts"), b.maxAttempts);
    settings.setValue(QStringLiteral("retry_budget_enabled"), r.budget.enabled);
    settings.setValue(QStringLiteral("retry_budget_capacity"), r.budget.capacity);
    settings.endGroup();
}

bool LimitsPanel::restore(QSettings &settings)
{
    settings.beginGroup(QStringLiteral("limits"));
    const bool any = !settings.childKeys().isEmpty();
    LimitOptions l = limitOptions();
    BackoffOptions b = backoffOptions();
    RetryOptions r = retryOptions();
    // A stored value that does not parse keeps the current one: a hand-edited settings file cannot break the
    // UI.
    auto number = [&settings](const QString &key, double current) {
        bool ok = false;
        const double v = settings.value(key).toDouble(&ok);
        return settings.contains(key) && ok ? v : current;
    };
    RateLimitOptions *rates[3] = {&l.requests, &l.inputTokens, &l.outputTokens};
    for (int i = 0; i < 3; ++i) {
        const QString key = QLatin1String(kRateKeys[i]);
        rates[i]->perMinute = number(key + QStringLiteral("_per_minute"), rates[i]->perMinute);
        if (const auto kind =
                limiterKindFromName(settings.value(key + QStringLiteral("_limiter")).toString()))
            rates[i]->kind = *kind;
    }
    l.concurrency = int(number(QStringLiteral("concurrency"), l.concurrency));
    l.dailyQuota = qint64(number(QStringLiteral("daily_quota"), double(l.dailyQuota)));
    if (settings.contains(QStringLiteral("daily_quota_time_zone")))
        l.dailyQuotaTimeZone = settings.value(QStringLiteral("daily_quota_time_zone")).toString().toLatin1();
    l.burstSeconds = number(QStringLiteral("burst_seconds"), l.burstSeconds);
    b.initialDelay =
        fromMilliseconds(number(QStringLiteral("backoff_initial_ms"), toMilliseconds(b.initialDelay)));
    b.multiplier = number(QStringLiteral("backoff_multiplier"), b.multiplier);
    b.maxDelay = fromMilliseconds(number(QStringLiteral("backoff_max_ms"), toMilliseconds(b.maxDelay)));
    if (const auto jitter = jitterModeFromName(settings.value(QStringLiteral("backoff_jitter")).toString()))
        b.jitter = *jitter;
    b.maxAttempts = int(number(QStringLiteral("backoff_max_attempts"), b.maxAttempts));
    if (settings.contains(QStringLiteral("retry_budget_enabled")))
        r.budget.enabled = settings.value(QStringLiteral("retry_budget_enabled")).toBool();
    r.budget.capacity = number(QStringLiteral("retry_budget_capacity"), r.budget.capacity);
    settings.endGroup();

    // Keep the base structs' unshown fields: only the shown ones come from the settings.
    const LimitOptions baseL = m_baseLimits;
    const BackoffOptions baseB = m_baseBackoff;
    const RetryOptions baseR = m_baseRetry;
    setOptions(l, b, r);
    m_baseLimits = baseL;
    m_baseBackoff = baseB;
    m_baseRetry = baseR;
    return any;
}

int LimitsPanel::rateIndex(const QString &limit) const
{
    QString key = limit.trimmed().toLower();
    key.replace(QLatin1Char(' '), QLatin1Char('_'));
    for (int i = 0; i < 3; ++i) {
        if (key == QLatin1String(kRateKeys[i]))
            return i;
    }
    return -1;
}

void LimitsPanel::setServerLimit(const QString &limit, double serverLimit, bool adopted)
{
    const int i = rateIndex(limit);
    if (i < 0)
        return;
    QLabel *l = m_rates[i].server;
    l->setVisible(serverLimit > 0);
    if (serverLimit <= 0) {
        l->clear();
        return;
    }
    const QString value = tr("%1/min").arg(formatQuantity(serverLimit));
    l->setText(adopted ? tr("Server: %1 (in force)").arg(value)
                       : tr("Server: %1 (configured kept)").arg(value));
}

QString LimitsPanel::serverLimitText(const QString &limit) const
{
    const int i = rateIndex(limit);
    return i < 0 ? QString() : m_rates[i].server->text();
}

} // namespace sluice
