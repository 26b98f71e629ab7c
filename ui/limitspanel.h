#pragma once
// LimitsPanel: the user's local limits, backoff and retry budget, edited live and remembered across runs.
//
// Design note. The panel edits the three option structs the dispatcher runs with (LimitOptions,
// BackoffOptions, RetryOptions from core/options.h) and nothing else: fields it does not show (jitter
// fraction, seed, retry costs, ...) are carried over untouched from the structs it was given. "Apply"
// validates with the same rules as the configuration file (Config::validate(), so the panel and `--config`
// can never disagree about what is valid), shows each problem beside its field, and only when there is none
// saves the values to QSettings (group "limits") and emits applied(); the main window hands them to the
// running dispatcher at once. "Reset to defaults" fills in default-constructed structs and applies them.
// Under each per-minute limit a line shows what the server's anthropic-ratelimit-*-limit header said, and
// whether the dispatcher adopted it (a server limit lower than the configured one replaces it).
//
// Worked example: the user types 50 in "Requests" and 2,000 ms / 1,000 ms as backoff initial / maximum, then
// Apply: the maximum shows "must be >= backoff.initial_ms (2000)" and nothing is emitted. Maximum 30 s,
// Apply: applied(limits{requests.perMinute = 50, ...}, backoff, retry) is emitted and
// limits/requests_per_minute = 50 is stored.
//
// Threading: main thread only (a widget).

#include "options.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSettings;
class QSpinBox;

namespace sluice {

class FieldError;

class LimitsPanel : public QWidget
{
    Q_OBJECT
public:
    explicit LimitsPanel(QWidget *parent = nullptr);

    // Fills the fields from these structs (no signal, nothing saved); they are also the base whose unshown
    // fields applied() carries over.
    void setOptions(const LimitOptions &limits, const BackoffOptions &backoff, const RetryOptions &retry);
    // What the fields say now, on top of the base structs (not validated).
    LimitOptions limitOptions() const;
    BackoffOptions backoffOptions() const;
    RetryOptions retryOptions() const;

    // Reads group "limits" of `settings` into the fields (keys absent keep the current value). Returns true
    // if the group held any value. Does not apply.
    bool restore(QSettings &settings);
    void save(QSettings &settings) const;

    // What the server reported for one limit: `limit` is "requests", "input_tokens" or "output_tokens"
    // ("input tokens" also accepted); serverLimit in units per minute (0 clears); adopted: the dispatcher now
    // runs with it.
    void setServerLimit(const QString &limit, double serverLimit, bool adopted);
    QString serverLimitText(const QString &limit) const;

    // Problems found by the last validation, one per line, each naming its field (empty when valid).
    QStringList errors() const { return m_errors; }

public Q_SLOTS:
    // Validates; if valid, saves to QSettings() and emits applied(). Returns whether it applied.
    bool apply();
    // Default-constructed structs into the fields, then apply().
    void resetToDefaults();

Q_SIGNALS:
    void applied(const sluice::LimitOptions &limits, const sluice::BackoffOptions &backoff,
                 const sluice::RetryOptions &retry);

private:
    struct RateRow
    {
        QDoubleSpinBox *perMinute = nullptr;
        QComboBox *kind = nullptr;
        QLabel *server = nullptr;
        FieldError *error = nullptr;
    };
    bool validate();
    int rateIndex(const QString &limit) const;

    LimitOptions m_baseLimits;
    BackoffOptions m_baseBackoff;
    RetryOptions m_baseRetry;
    QStringList m_errors;

    RateRow m_rates[3];
    QSpinBox *m_concurrency;
    FieldError *m_concurrencyError;
    QDoubleSpinBox *m_dailyQuota;
    QComboBox *m_timeZone;
    FieldError *m_dailyError;
    QDoubleSpinBox *m_burst;
    FieldError *m_burstError;
    QDoubleSpinBox *m_initialDelay;
    FieldError *m_initialError;
    QDoubleSpinBox *m_multiplier;
    FieldError *m_multiplierError;
    QDoubleSpinBox *m_maxDelay;
    FieldError *m_maxDelayError;
    QComboBox *m_jitter;
    QSpinBox *m_attempts;
    FieldError *m_attemptsError;
    QCheckBox *m_budgetEnabled;
    QDoubleSpinBox *m_budgetCapacity;
    FieldError *m_budgetError;
    QPushButton *m_apply;
    QPushButton *m_reset;
    QLabel *m_status;
};

} // namespace sluice
