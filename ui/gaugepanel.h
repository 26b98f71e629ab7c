#pragma once
// GaugePanel: how full each limit is right now: the three per-minute buckets, concurrency and the daily
// quota.
//
// Design note. A bucket's level is what a scheduler cares about ("may the next request go?"), so each bar
// shows the level against the capacity, as a number people can read ("12.3k / 33.3k"), with debt shown as an
// empty bar and a negative level. Next to each bar the panel says where the limit in force came from: the
// user's configuration, or the server's anthropic-ratelimit-*-limit header when that is lower (learned),
// because a limit that silently changed under the user is the first thing they would ask about. The panel
// takes plain values (GaugeValues, mirroring the dispatcher's LimitGauge) so it can be shown and tested
// without a dispatcher; the main window copies stats() into it on its UI tick.
//
// Worked example: 2,000,000 ITPM, burst 1 s -> capacity 33,333 tokens; level 12,300 -> bar at 37 %, text
// "12.3k / 33.3k", source "configured 2M/min". If the server sends -limit 1,000,000, the dispatcher adopts
// it: perMinute 1M, serverLimit 1M, configured 2M -> source "learned from server: 1M/min (configured 2M)".
//
// Threading: main thread only (a widget).

#include <QWidget>

class QLabel;
class QProgressBar;

namespace sluice {

// One rate limit, as the dispatcher's LimitGauge reports it.
struct LimitGaugeValues
{
    bool enabled = false;
    double perMinute = 0;      // in force (configured or learned), units per minute
    double configured = 0;     // what the user set (0 = none)
    double serverLimit = 0;    // last -limit header (0 = none seen)
    double level = 0;          // units available now (negative = debt)
    double capacity = 0;       // bucket capacity, units
    double usedLastMinute = 0; // units consumed in the last 60 s
    double utilisation = 0;    // usedLastMinute / perMinute, 0..1+ (0 when off)
};

struct GaugeValues
{
    LimitGaugeValues requests, inputTokens, outputTokens;
    qsizetype inFlight = 0;
    int concurrencyLimit = 0;             // 0 = unlimited
    qint64 dailyUsed = 0, dailyQuota = 0; // requests today; quota 0 = unlimited
};

class GaugePanel : public QWidget
{
    Q_OBJECT
public:
    enum class Gauge
    {
        Requests,
        InputTokens,
        OutputTokens,
        Concurrency,
        DailyQuota
    };
    static constexpr int GaugeCount = 5;

    explicit GaugePanel(QWidget *parent = nullptr);
    void setValues(const GaugeValues &values);
    const GaugeValues &values() const { return m_values; }

    // For tests and tooltips: the bar of one gauge, its text ("12.3k / 33.3k") and its source line.
    QProgressBar *bar(Gauge g) const { return m_rows[int(g)].bar; }
    QString barText(Gauge g) const;
    QString sourceText(Gauge g) const;

private:
    struct Row
    {
        QLabel *name = nullptr;
        QProgressBar *bar = nullptr;
        QLabel *source = nullptr;
    };
    void setLimitRow(Row &row, const LimitGaugeValues &v, const QString &unit);
    void setCountRow(Row &row, double used, double limit, const QString &unitText);

    GaugeValues m_values;
    Row m_rows[GaugeCount];
};

} // namespace sluice
