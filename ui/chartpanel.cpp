#include "chartpanel.h"

#include <QChart>
#include <QChartView>
#include <QEvent>
#include <QGridLayout>
#include <QLineSeries>
#include <QTimer>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace sluice {

namespace {

// A hard cap on the ring besides the time window: a caller that samples far faster than expected still cannot
// make a redraw cost more than this many points per series.
constexpr qsizetype kMaxSamples = 4096;

double valueOf(const ChartSample &s, ChartPanel::Series which)
{
    using S = ChartPanel::Series;
    switch (which) {
    case S::Throughput:
        return s.succeededPerSecond;
    case S::RateLimited:
        return s.rateLimited;
    case S::OtherErrors:
        return s.otherErrors;
    case S::Retries:
        return s.retries;
    case S::RequestsUtilisation:
        return s.requestsUtilisation * 100;
    case S::InputTokensUtilisation:
        return s.inputTokensUtilisation * 100;
    case S::OutputTokensUtilisation:
        return s.outputTokensUtilisation * 100;
    case S::ConcurrencyUtilisation:
        return s.concurrencyUtilisation * 100;
    case S::LatencyP50:
        return s.latencyP50Ms;
    case S::LatencyP95:
        return s.latencyP95Ms;
    }
    return 0;
}

ChartPanel::Chart chartOf(ChartPanel::Series s)
{
    using S = ChartPanel::Series;
    switch (s) {
    case S::Throughput:
        return ChartPanel::Chart::Throughput;
    case S::RateLimited:
    case S::OtherErrors:
    case S::Retries:
        return ChartPanel::Chart::Errors;
    case S::RequestsUtilisation:
    case S::InputTokensUtilisation:
    case S::OutputTokensUtilisation:
    case S::ConcurrencyUtilisation:
        return ChartPanel::Chart::Utilisation;
    case S::LatencyP50:
    case S::LatencyP95:
        return ChartPanel::Chart::Latency;
    }
    return ChartPanel::Chart::Throughput;
}

// Utilisation and latency points are only meaningful when the limit is on / an attempt ended: skip the others
// rather than draw a misleading zero.
bool skipPoint(ChartPanel::Series s, double v)
{
    if (!std::isfinite(v))
        return true;
    switch (chartOf(s)) {
    case ChartPanel::Chart::Utilisation:
        return v < 0;
    case ChartPanel::Chart::Latency:
        return v <= 0;
    default:
        return false;
    }
}

struct NiceAxis
{
    double top;
    int ticks;
};

// The y axis for data up to `v` (> 0): a step of 1, 2 or 5 × 10^k giving at most 5 intervals, and the top
// rounded up to a whole step. A pure function of `v`, so the same data gives the same axis and redraw() can
// tell when nothing changed. Examples: 6.6 -> step 2, 0 … 8 (5 ticks); 462 -> step 100, 0 … 500 (6 ticks);
// 100 -> step 20, 0 … 100 (6 ticks).
NiceAxis niceAxis(double v)
{
    const double rough = v / 5;
    const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
    double step = 10 * magnitude;
    for (double m : {1.0, 2.0, 5.0})
        if (m * magnitude >= rough * (1 - 1e-9)) {
            step = m * magnitude;
            break;
        }
    const double intervals = std::ceil(v / step - 1e-9);
    return {intervals * step, int(intervals) + 1};
}

} // namespace

ChartPanel::ChartPanel(QWidget *parent, double windowSeconds)
    : QWidget(parent)
    , m_window(windowSeconds > 0 ? windowSeconds : 300)
    , m_timer(new QTimer(this))
{
    auto *grid = new QGridLayout(this);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setSpacing(6);
    m_views[0] = makeChart(Chart::Throughput, tr("Throughput (succeeded / s)"),
                           {{Series::Throughput, tr("succeeded / s")}});
    m_views[1] = makeChart(Chart::Errors, tr("429s, other errors, retries (per interval)"),
                           // 429s last, so drawn on top: a single 429 is the spike a user looks for.
                           {{Series::Retries, tr("retries")},
                            {Series::OtherErrors, tr("other errors")},
                            {Series::RateLimited, tr("429s")}});
    m_views[2] = makeChart(Chart::Utilisation, tr("Limit utilisation (%)"),
                           // Short names: four legend entries share a chart's width.
                           {{Series::RequestsUtilisation, tr("requests")},
                            {Series::InputTokensUtilisation, tr("input")},
                            {Series::OutputTokensUtilisation, tr("output")},
                            {Series::ConcurrencyUtilisation, tr("in flight")}});
    m_views[3] = makeChart(Chart::Latency, tr("Latency p50 / p95 (ms)"),
                           {{Series::LatencyP50, tr("p50")}, {Series::LatencyP95, tr("p95")}});
    // One row: the panel lives in a wide, short dock under the queue.
    for (int i = 0; i < 4; ++i)
        grid->addWidget(m_views[i], 0, i);
    applyTheme();

    m_timer->setInterval(250);
    connect(m_timer, &QTimer::timeout, this, [this] { redraw(); });
    m_timer->start();
}

ChartPanel::~ChartPanel() = default;

QChartView *ChartPanel::makeChart(Chart which, const QString &title,
                                  std::initializer_list<std::pair<Series, QString>> series)
{
    auto *chart = new QChart;
    chart->setTitle(title);
    chart->setMargins(QMargins(2, 2, 2, 2));
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->legend()->setVisible(series.size() > 1);
    chart->setAnimationOptions(QChart::NoAnimation); // animations would cost more than the data at 4 Hz

    auto *x = new QValueAxis;
    x->setRange(-m_window, 0);
    // "seconds ago": the unit is in every label, so no axis title takes height from the plot.
    x->setLabelFormat(QStringLiteral("%.0f s"));
    x->setTickCount(6);
    auto *y = new QValueAxis;
    y->setRange(0, which == Chart::Utilisation ? 100 : 1);
    y->setLabelFormat(which == Chart::Utilisation ? QStringLiteral("%.0f") : QStringLiteral("%.3g"));
    // No axis titles: the unit is in the chart's title; a rotated title would eat plot width.
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    m_xAxes[int(which)] = x;
    m_yAxes[int(which)] = y;

    for (const auto &[id, name] : series) {
        auto *s = new QLineSeries;
        s->setName(name);
        chart->addSeries(s);
        s->attachAxis(x);
        s->attachAxis(y);
        m_series[int(id)] = s;
    }
    auto *view = new QChartView(chart, this);
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumSize(240, 170);
    view->setToolTip(tr("Last %1 seconds; x is seconds ago").arg(m_window));
    return view;
}

QChart *ChartPanel::chart(Chart c) const
{
    return m_views[int(c)]->chart();
}

void ChartPanel::addSample(double tSeconds, const ChartSample &sample)
{
    if (!m_samples.empty() && tSeconds < m_samples.back().t)
        return;
    m_samples.push_back({tSeconds, sample});
    const double oldest = tSeconds - m_window;
    while (!m_samples.empty() && (m_samples.front().t < oldest || qsizetype(m_samples.size()) > kMaxSamples))
        m_samples.pop_front();
    m_dirty = true;
}

void ChartPanel::clear()
{
    m_samples.clear();
    m_dirty = true;
}

void ChartPanel::setRedrawInterval(int milliseconds)
{
    if (milliseconds <= 0) {
        m_timer->stop();
        return;
    }
    m_timer->start(milliseconds);
}

bool ChartPanel::redraw()
{
    if (!m_dirty)
        return false;
    m_dirty = false;
    const double latest = m_samples.empty() ? 0 : m_samples.back().t;
    double maxima[4] = {0, 0, 0, 0};
    QList<QPointF> points;
    points.reserve(qsizetype(m_samples.size()));
    for (int i = 0; i < SeriesCount; ++i) {
        const auto id = Series(i);
        points.clear();
        double &maximum = maxima[int(chartOf(id))];
        for (const Entry &e : m_samples) {
            const double v = valueOf(e.s, id);
            if (skipPoint(id, v))
                continue;
            points.append(QPointF(e.t - latest, v));
            maximum = std::max(maximum, v);
        }
        m_series[i]->replace(points); // one repaint per series, however many samples arrived
    }
    for (int c = 0; c < 4; ++c) {
        const bool percent = Chart(c) == Chart::Utilisation;
        // 10 % headroom so the top of a line is not glued to the frame; utilisation always shows 0-100 %.
        const NiceAxis axis =
            niceAxis(percent ? std::max(100.0, maxima[c] * 1.05) : std::max(1.0, maxima[c] * 1.1));
        // Touching an axis re-lays out its chart and re-renders every label and series (most of a redraw's
        // cost): only when the rounded range really changed, which steady data rarely makes it do.
        QValueAxis *y = m_yAxes[c];
        if (y->max() != axis.top || y->min() != 0 || y->tickCount() != axis.ticks) {
            y->setTickCount(axis.ticks);
            y->setRange(0, axis.top);
        }
    }
    return true;
}

void ChartPanel::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::PaletteChange)
        applyTheme();
    QWidget::changeEvent(event);
}

// Follows the system palette: the dark chart theme on a dark window, the light one otherwise.
void ChartPanel::applyTheme()
{
    const bool dark = palette().color(QPalette::Window).lightness() < 128;
    for (QChartView *view : m_views) {
        if (!view)
            continue;
        QChart *c = view->chart();
        const auto theme = dark ? QChart::ChartThemeDark : QChart::ChartThemeLight;
        if (c->theme() != theme)
            c->setTheme(theme);
        c->setBackgroundBrush(palette().brush(QPalette::Base));
        c->setTitleBrush(palette().brush(QPalette::WindowText));
        c->legend()->setLabelColor(palette().color(QPalette::WindowText));
        for (QAbstractAxis *a : c->axes()) {
            a->setLabelsColor(palette().color(QPalette::WindowText));
            a->setTitleBrush(palette().brush(QPalette::WindowText));
        }
    }
    // The errors chart's colours say what they are, as in the queue table: 429s red, retries orange (and
    // dashed: every retried failure is also an error, and the two lines often coincide), other errors
    // purple. A theme resets pens, so this follows it.
    auto style = [this](Series which, QColor colour, Qt::PenStyle line) {
        if (QLineSeries *series = m_series[int(which)]) {
            QPen pen = series->pen();
            pen.setColor(colour);
            pen.setStyle(line);
            series->setPen(pen);
        }
    };
    style(Series::RateLimited, QColor(0xe0, 0x1b, 0x24), Qt::SolidLine);
    style(Series::OtherErrors, QColor(0x91, 0x41, 0xac), Qt::SolidLine);
    style(Series::Retries, QColor(0xe6, 0x61, 0x00), Qt::DashLine);
}

} // namespace sluice
