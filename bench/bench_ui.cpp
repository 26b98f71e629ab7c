// The console at scale: what one UI tick costs with 100,000 requests in the dispatcher, and what start-up
// costs.
//
// A tick here is what the window does on its timers, run back to back and timed as one: MainWindow::tick()
// (gauges, banner, status bar, the chart sample), the queue model's coalesced flush after ~100 rows changed
// (50 attempts answered, 50 queued requests dispatched in their place), ChartPanel::redraw() over a full
// five-minute ring, and the paint that follows, done synchronously. The target is 5 ms at 100k rows (a 4 Hz
// tick then costs at most 2 % of the main thread).
//
// Start-up: there is no journal yet, so "start-up with 100k entries" is measured as constructing, showing and
// first painting a MainWindow over a dispatcher that already holds 100,000 requests, plus submitting 100,000
// requests into a shown window (the dispatcher's submit and the rows' insertion, reported separately).
//
// The transport is a null one (attempts are answered by the benchmark) and the clock a ManualClock, so only
// the UI's own cost is measured. Qt runs on the offscreen platform: painting is real raster painting into
// the window's backing store; only the final blit to a screen is missing.
//
// Figures (2-core VM, RelWithDebInfo, offscreen, 1600 x 1000 window, 100,000 requests; before -> after the
// changes they led to: chart axes touched only when their rounded range changes, QueueDelegate's cached
// text layout, only the time columns repainted each second, a cheap index check in QueueModel::data):
//   tick, sorted by ID            8.9 -> 2.1 ms  (charts 3.8 -> 0.3, paint 4.7 -> 1.6, flush 0.13)
//   tick, sorted by state        12.3 -> 4.4 ms  (the proxy re-sorts ~100 changed rows: flush 0.7 ms)
//   tick, sorted by "waited"     13.3 -> 4.7 ms
//   tick + repaint of the whole window (not what a tick does: an upper bound)  13.5 -> 5.8 ms
//   start-up over 100k requests (construct, show, first paint)               124 -> 91 ms
//   100k submits into a shown window: 293 ms in Dispatcher::submit + 40 ms to insert and paint the rows
// A tick is run at 4 Hz; a real one redraws the charts only once a second, so these are worst cases.
//
// Run: <build dir>/bench/bench_ui   (or --benchmark_filter=Tick)
#include "chartpanel.h"
#include "dispatcher.h"
#include "mainwindow.h"
#include "queuefiltermodel.h"
#include "queuemodel.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QHeaderView>
#include <QJsonArray>
#include <QSettings>
#include <QStandardPaths>
#include <QTableView>

#include <benchmark/benchmark.h>

#include <deque>
#include <memory>

using namespace sluice;
using namespace std::chrono_literals;

namespace {

constexpr int kRequests = 100'000;
constexpr int kConcurrency = 64;
constexpr int kAnswersPerTick = 50; // 50 finish + 50 start = 100 rows changed per tick

// Remembers every attempt sent; the benchmark answers the oldest ones.
class NullTransport : public Transport
{
public:
    AttemptId send(const QJsonObject &) override
    {
        m_open.push_back(++m_next);
        return m_next;
    }
    void cancel(AttemptId) override {}
    // Answers the `n` oldest attempts with a 200.
    void answerOldest(int n)
    {
        for (int i = 0; i < n && !m_open.empty(); ++i) {
            const AttemptId id = m_open.front();
            m_open.pop_front();
            AttemptOutcome o;
            o.httpStatus = 200;
            o.text = QStringLiteral("A token bucket refills continuously.");
            o.usage.inputTokens = 12;
            o.usage.outputTokens = 9;
            o.stopReason = QStringLiteral("end_turn");
            Q_EMIT finished(id, o);
        }
    }

private:
    AttemptId m_next = 0;
    std::deque<AttemptId> m_open;
};

QJsonObject body(int i)
{
    return QJsonObject{
        {QStringLiteral("model"), QStringLiteral("claude-haiku-4-5")},
        {QStringLiteral("max_tokens"), 64 + (i % 4) * 64},
        {QStringLiteral("messages"),
         QJsonArray{QJsonObject{{QStringLiteral("role"), QStringLiteral("user")},
                                {QStringLiteral("content"), QStringLiteral("Prompt number %1").arg(i)}}}}};
}

DispatchOptions options()
{
    DispatchOptions o;
    o.limits.requests.perMinute = 0; // only concurrency binds: every pump dispatches what was freed
    o.limits.inputTokens.perMinute = 0;
    o.limits.outputTokens.perMinute = 0;
    o.limits.concurrency = kConcurrency;
    o.queue.capacity = 2'000'000;
    o.learnLimits = false;
    return o;
}

void submitAll(Dispatcher &d, int n)
{
    for (int i = 0; i < n; ++i)
        d.submit(body(i), i % 8); // mixed priorities: dispatch order is not row order
}

double msSince(const QElapsedTimer &t)
{
    return double(t.nsecsElapsed()) / 1e6;
}

// Delivers the posted update requests, i.e. paints whatever became dirty, now. Charts need a second round:
// their scene reports changes to the view from the event loop.
void paintPending()
{
    for (int i = 0; i < 2; ++i) {
        QCoreApplication::sendPostedEvents();
        QCoreApplication::processEvents();
    }
}

// A window over 100k requests, 64 in flight, charts with a full five-minute ring, at the size the screenshot
// uses.
struct Console
{
    ManualClock clock;
    NullTransport transport;
    Dispatcher dispatcher{transport, clock, options()};
    std::unique_ptr<MainWindow> window;

    explicit Console(int sortColumn = QueueModel::IdColumn)
    {
        submitAll(dispatcher, kRequests);
        dispatcher.pump();
        window = std::make_unique<MainWindow>(dispatcher, clock);
        window->resize(1600, 1000);
        window->charts()->setRedrawInterval(0); // the benchmark calls redraw()
        window->queueView()->sortByColumn(sortColumn, Qt::AscendingOrder);
        for (int s = 0; s < 300; ++s) {
            ChartSample c;
            c.succeededPerSecond = 20 + s % 7;
            c.rateLimited = s % 11 == 0 ? 1 : 0;
            c.requestsUtilisation = 0.5 + 0.001 * s;
            c.inputTokensUtilisation = 0.3;
            c.outputTokensUtilisation = 0.7;
            c.concurrencyUtilisation = 1;
            c.latencyP50Ms = 300;
            c.latencyP95Ms = 420;
            window->charts()->addSample(s, c);
        }
        window->show();
        window->queueModel()->flush();
        paintPending();
    }

    // ~100 rows change (outside the timing): half the in-flight attempts finish, as many queued start.
    void changeRows()
    {
        clock.advance(250ms);
        transport.answerOldest(kAnswersPerTick);
        dispatcher.pump();
    }
};

// One 4 Hz tick with its coalesced model flush, chart redraw and the paint of what changed. The counters
// split the time: tick_ms (MainWindow::tick), flush_ms (model -> proxy -> view), charts_ms (redraw),
// paint_ms.
void runTick(benchmark::State &state, int sortColumn, bool fullRepaint)
{
    Console c(sortColumn);
    MainWindow &w = *c.window;
    double t = 300;
    double phase[4] = {0, 0, 0, 0};
    for (auto _ : state) {
        c.changeRows();
        QElapsedTimer timer;
        timer.start();
        w.tick();
        const double t0 = msSince(timer);
        w.queueModel()->flush();
        const double t1 = msSince(timer);
        ChartSample s;
        s.succeededPerSecond = 20;
        s.requestsUtilisation = 0.5;
        w.charts()->addSample(++t, s); // every tick redraws the charts: the worst case
        w.charts()->redraw();
        const double t2 = msSince(timer);
        if (fullRepaint)
            w.repaint(); // every widget of the window, not only what changed
        paintPending();
        const double t3 = msSince(timer);
        phase[0] += t0;
        phase[1] += t1 - t0;
        phase[2] += t2 - t1;
        phase[3] += t3 - t2;
        state.SetIterationTime(t3 / 1000);
    }
    const double n = double(state.iterations());
    state.counters["tick_ms"] = phase[0] / n;
    state.counters["flush_ms"] = phase[1] / n;
    state.counters["charts_ms"] = phase[2] / n;
    state.counters["paint_ms"] = phase[3] / n;
    state.counters["rows"] = double(w.queueFilter()->rowCount());
}

void BM_TickSortedById(benchmark::State &state)
{
    runTick(state, QueueModel::IdColumn, false);
}
BENCHMARK(BM_TickSortedById)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(200);

void BM_TickSortedByIdFullRepaint(benchmark::State &state)
{
    runTick(state, QueueModel::IdColumn, true);
}
BENCHMARK(BM_TickSortedByIdFullRepaint)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(200);

// Sorting by state moves the changed rows: the proxy re-sorts them on every flush.
void BM_TickSortedByState(benchmark::State &state)
{
    runTick(state, QueueModel::StateColumn, false);
}
BENCHMARK(BM_TickSortedByState)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(100);

// "Waited" changes with time for every queued row; the view only re-sorts it when rows change.
void BM_TickSortedByWaited(benchmark::State &state)
{
    runTick(state, QueueModel::WaitedColumn, false);
}
BENCHMARK(BM_TickSortedByWaited)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(100);

// Start-up over a dispatcher that already holds 100k requests (what a resumed journal will look like):
// construct the window, show it and paint it once.
void BM_StartupOver100k(benchmark::State &state)
{
    ManualClock clock;
    NullTransport transport;
    Dispatcher dispatcher(transport, clock, options());
    submitAll(dispatcher, kRequests);
    dispatcher.pump();
    for (auto _ : state) {
        QElapsedTimer timer;
        timer.start();
        auto w = std::make_unique<MainWindow>(dispatcher, clock);
        w->resize(1600, 1000);
        w->show();
        w->queueModel()->flush();
        paintPending();
        state.SetIterationTime(msSince(timer) / 1000);
        state.counters["rows"] = double(w->queueFilter()->rowCount());
        w.reset();
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    }
}
BENCHMARK(BM_StartupOver100k)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);

// 100k submits into a shown, empty window: the dispatcher's submits, then the model's one batched insert
// through the sorting proxy and the paint ("insert_ms").
void BM_Submit100kIntoShownWindow(benchmark::State &state)
{
    double submitMs = 0, insertMs = 0;
    for (auto _ : state) {
        ManualClock clock;
        NullTransport transport;
        Dispatcher dispatcher(transport, clock, options());
        dispatcher.pause(); // measure the rows arriving, not dispatching
        MainWindow w(dispatcher, clock);
        w.resize(1600, 1000);
        w.show();
        paintPending();
        QElapsedTimer timer;
        timer.start();
        submitAll(dispatcher, kRequests);
        const double submitted = msSince(timer);
        w.queueModel()->flush();
        paintPending();
        const double total = msSince(timer);
        submitMs += submitted;
        insertMs += total - submitted;
        state.SetIterationTime(total / 1000);
        if (w.queueFilter()->rowCount() != kRequests)
            state.SkipWithError("rows missing");
    }
    state.counters["submit_ms"] = submitMs / double(state.iterations());
    state.counters["insert_ms"] = insertMs / double(state.iterations());
}
BENCHMARK(BM_Submit100kIntoShownWindow)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

} // namespace

int main(int argc, char **argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    // Settings (window geometry, saved limits) go to a throw-away test location, never the user's.
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("SluiceBench"));
    QCoreApplication::setApplicationName(QStringLiteral("bench_ui"));
    QSettings().clear();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
