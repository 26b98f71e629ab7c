#pragma once
// ChartPanel: four live charts of the last five minutes: throughput, errors, limit utilisation, latency.
//
// Design note. The dispatcher can finish hundreds of requests a second; a chart that appended a point per
// event would repaint hundreds of times a second and grow without bound. Instead the owner hands the panel
// one ChartSample per interval (the main window does so once a second from Dispatcher::stats()), the panel
// keeps the samples of the last `window` seconds in a bounded ring, and a UI timer (4 Hz) rebuilds each
// series from the ring with QXYSeries::replace() only when a sample arrived since the last redraw. One
// replace() is one repaint, whatever the rate of events. The x axis is "seconds ago" (−300 … 0), so the
// newest point is always at the right edge; y axes follow the data (0 to a rounded-up maximum, utilisation at
// least 0–100 %). An axis is touched only when its rounded range changes: setting a QValueAxis range re-lays
// out the chart and re-renders its labels, which cost ten times the series themselves (bench/bench_ui).
//
// Worked example: samples at t = 10, 11, 12 s with succeededPerSecond 4, 5, 6. After redraw() the throughput
// series holds (−2, 4), (−1, 5), (0, 6) and its y axis spans 0 … 8 in steps of 2 (6 × 1.1 rounded up to a
// whole step). With the default 300 s window, a sample at t = 400 s drops every sample older than t = 100 s
// from the ring.
//
// Threading: main thread only (a widget).

#include <QWidget>

#include <deque>

class QTimer;
class QChart;
class QChartView;
class QLineSeries;
class QValueAxis;

namespace sluice {

// One interval's values, plain numbers so the panel does not depend on the dispatcher.
struct ChartSample
{
    double succeededPerSecond = 0; // requests/s that succeeded in this interval
    double rateLimited = 0;        // 429s received in this interval (count)
    double otherErrors = 0;        // failed attempts other than 429 in this interval (count)
    double retries = 0;            // attempts scheduled again in this interval (count)
    // Utilisation of each limit, as fractions (0.5 = 50 %); may exceed 1 briefly (debt). NaN or < 0 = limit
    // off.
    double requestsUtilisation = -1;
    double inputTokensUtilisation = -1;
    double outputTokensUtilisation = -1;
    double concurrencyUtilisation = -1;
    double latencyP50Ms = 0; // milliseconds, of attempts that ended in this interval (0 = none)
    double latencyP95Ms = 0;
};

class ChartPanel : public QWidget
{
    Q_OBJECT
public:
    enum class Series
    {
        Throughput,
        RateLimited,
        OtherErrors,
        Retries,
        RequestsUtilisation,
        InputTokensUtilisation,
        OutputTokensUtilisation,
        ConcurrencyUtilisation,
        LatencyP50,
        LatencyP95,
    };
    static constexpr int SeriesCount = 10;
    enum class Chart
    {
        Throughput,
        Errors,
        Utilisation,
        Latency
    };

    // `windowSeconds`: how much history the charts show and the ring keeps (seconds, > 0).
    explicit ChartPanel(QWidget *parent = nullptr, double windowSeconds = 300);
    ~ChartPanel() override;

    // Records the sample for the interval that ended at `tSeconds` (any monotonic seconds, e.g. since start;
    // must not go backwards: an older sample is ignored). Cheap: no drawing happens here. Main thread.
    void addSample(double tSeconds, const ChartSample &sample);
    // Forgets every sample (and clears the charts at the next redraw).
    void clear();

    // Rebuilds every series from the ring if anything changed since the last call. The timer calls it; tests
    // and benchmarks may call it directly. Returns true if it redrew.
    bool redraw();
    // The redraw timer's interval (milliseconds, default 250). 0 stops the timer (tests drive redraw()).
    void setRedrawInterval(int milliseconds);

    qsizetype sampleCount() const { return qsizetype(m_samples.size()); }
    double windowSeconds() const { return m_window; }
    QLineSeries *series(Series s) const { return m_series[int(s)]; }
    QValueAxis *yAxis(Chart c) const { return m_yAxes[int(c)]; }
    QChart *chart(Chart c) const;

protected:
    void changeEvent(QEvent *event) override;

private:
    struct Entry
    {
        double t;
        ChartSample s;
    };
    QChartView *makeChart(Chart which, const QString &title,
                          std::initializer_list<std::pair<Series, QString>> series);
    void applyTheme();

    double m_window;
    std::deque<Entry> m_samples; // oldest first, spans at most m_window seconds, at most kMaxSamples entries
    bool m_dirty = false;
    QTimer *m_timer;
    QLineSeries *m_series[SeriesCount] = {};
    QValueAxis *m_xAxes[4] = {};
    QValueAxis *m_yAxes[4] = {};
    QChartView *m_views[4] = {};
};

} // namespace sluice
