#pragma once
// MainWindow: the Sluice console: compose and queue requests, watch them go out, and steer the limits.
//
// Design note. The window observes one Dispatcher through its signals and a few read calls, and acts on it
// only through its public methods (submit, cancel, reprioritise, retryNow, pause, resume, drain, setOptions):
// it holds no request state of its own. Layout: a banner (cooldown, circuit breaker, demo mode) over the
// queue table and the selected request's response in the centre; the composer on the left; gauges, the limits
// panel and, in demo mode, the simulator panel on the right; charts and the log at the bottom. Every panel is
// a dock, so a user can rearrange them; the arrangement and the window geometry are remembered in QSettings.
//
// Refresh. Nothing repaints per event. The queue model coalesces row changes to 10 batches a second; a 4 Hz
// UI tick copies Dispatcher::stats() (O(1)) into the gauges, banner and status bar, and once a second feeds
// one ChartSample (differences of the cumulative counters over the second, latency percentiles of the
// attempts that finished in it) to the charts and repaints the queue's visible time columns. With 100,000
// requests a tick with its model flush, chart redraw and paint costs 2-5 ms (bench/bench_ui has the figures);
// nothing in it walks all rows.
//
// Demo mode: given a SimServer, the title and the banner say so, and the simulator panel changes the running
// simulator's limits and fault rates live. "Demo load" (Dispatch menu, Ctrl+Shift+L) queues 200 varied
// requests, gives a fault-free simulator modest fault rates and, 30 s later, squeezes its request limit for
// 30 s so a 429 and its cooldown show (ui/demoload.h); SLUICE_DEMO_LOAD=N in the
// environment does the same with N requests as the window opens (scripts/screenshot uses it). Neither
// exists outside demo mode.
//
// Sorting. The proxy re-sorts a row when the row changes (at most 10 times a second). Sorted by "next in" or
// "waited", which move with the clock, rows that do not change keep their place: both columns move at the
// same pace for every row in the same state, so the order within a state stays right; across states it is
// the order as of the rows' last change. Re-sorting 100,000 rows every second would cost more than a tick.
//
// Size: without a saved geometry, 1600 × 1000 or 94 % of the screen's available area if that is smaller.
//
// Threading: main thread only. The dispatcher, clock, simulator and key store must outlive the window.

#include "clock.h"
#include "messagerequest.h"

#include <QMainWindow>
#include <QPointer>
#include <QUrl>

#include <memory>
#include <optional>
#include <vector>

class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QMenu;
class QTableView;
class QTimer;

namespace sluice {

class ChartPanel;
class ComposerPanel;
class Dispatcher;
class GaugePanel;
class KeyStore;
class LimitsPanel;
class LogModel;
class LogView;
class QueueFilterModel;
class QueueModel;
class ResponseView;
class SimulatorPanel;
class StatusBanner;
namespace sim {
class SimServer;
}

class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    // `simulator` non-null means demo mode. Limits saved by the limits panel (QSettings group "limits") are
    // restored and applied to the dispatcher at once.
    MainWindow(Dispatcher &dispatcher, const Clock &clock, sim::SimServer *simulator = nullptr,
               QWidget *parent = nullptr);
    ~MainWindow() override;

    // The endpoint shown in the status bar in live mode.
    void setEndpoint(const QUrl &url);
    // The store the settings dialog keeps the key in (default: KeyStore::create(), the OS keychain).
    void setKeyStore(KeyStore *store);

    // The requests selected in the queue table, in table order.
    QList<RequestId> selectedRequests() const;
    // The context menu of the queue table (its actions act on the selection).
    QMenu *queueMenu() const { return m_queueMenu; }

    // Demo mode only: applies the demo fault rates to a fault-free simulator and queues `count` demo
    // requests (ui/demoload.h). Returns how many were queued (0 outside demo mode).
    int startDemoLoad(int count = 200);

    // Runs one UI tick now (gauges, banner, status bar; a chart sample when a second has passed). Tests call
    // it.
    void tick();

    ComposerPanel *composer() const { return m_composer; }
    QTableView *queueView() const { return m_queueView; }
    QueueModel *queueModel() const { return m_queueModel; }
    QueueFilterModel *queueFilter() const { return m_queueFilter; }
    ResponseView *responseView() const { return m_response; }
    GaugePanel *gauges() const { return m_gauges; }
    StatusBanner *banner() const { return m_banner; }
    ChartPanel *charts() const { return m_charts; }
    LimitsPanel *limitsPanel() const { return m_limits; }
    SimulatorPanel *simulatorPanel() const { return m_simulatorPanel; }
    LogModel *logModel() const { return m_log; }
    QString statusText() const;

    QAction *cancelAction() const { return m_cancel; }
    QAction *retryNowAction() const { return m_retryNow; }
    QAction *raisePriorityAction() const { return m_raise; }
    QAction *lowerPriorityAction() const { return m_lower; }
    QAction *copyAction() const { return m_copy; }
    QAction *showResponseAction() const { return m_showResponse; }
    QAction *pauseAction() const { return m_pause; }
    QAction *resumeAction() const { return m_resume; }
    QAction *drainAction() const { return m_drain; }
    QAction *demoLoadAction() const { return m_demoLoad; } // null outside demo mode

Q_SIGNALS:
    // The composer's "Import JSONL…" (the app runs the import).
    void importRequested(const QString &path);
    // From the settings dialog; the app rebuilds its transport.
    void baseUrlChanged(const QUrl &url);
    void apiKeyChanged(const QString &key);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildActions();
    void buildLayout();
    void connectDispatcher();
    void submitFromComposer(const QJsonObject &body, int priority, int count);
    void cancelSelected();
    void retrySelected();
    void shiftPrioritySelected(int delta);
    void copySelected();
    void showSelectedResponse();
    void openSettings();
    void updateActions();
    void sampleCharts(TimePoint now);
    void saveWindowState() const;
    void restoreWindowState();
    void updateTitle();

    Dispatcher &m_dispatcher;
    const Clock &m_clock;
    QPointer<sim::SimServer> m_simulator;
    KeyStore *m_keyStore = nullptr;
    std::unique_ptr<KeyStore> m_ownKeyStore;
    QUrl m_endpoint;

    StatusBanner *m_banner = nullptr;
    ComposerPanel *m_composer = nullptr;
    QueueModel *m_queueModel = nullptr;
    QueueFilterModel *m_queueFilter = nullptr;
    QTableView *m_queueView = nullptr;
    QComboBox *m_stateFilter = nullptr;
    QLineEdit *m_textFilter = nullptr;
    ResponseView *m_response = nullptr;
    GaugePanel *m_gauges = nullptr;
    ChartPanel *m_charts = nullptr;
    LimitsPanel *m_limits = nullptr;
    SimulatorPanel *m_simulatorPanel = nullptr;
    LogModel *m_log = nullptr;
    LogView *m_logView = nullptr;
    QLabel *m_modeLabel = nullptr;
    QLabel *m_totalsLabel = nullptr;
    QLabel *m_runLabel = nullptr;
    QMenu *m_queueMenu = nullptr;
    QTimer *m_tickTimer = nullptr;

    QAction *m_cancel = nullptr;
    QAction *m_retryNow = nullptr;
    QAction *m_raise = nullptr;
    QAction *m_lower = nullptr;
    QAction *m_copy = nullptr;
    QAction *m_showResponse = nullptr;
    QAction *m_pause = nullptr;
    QAction *m_resume = nullptr;
    QAction *m_drain = nullptr;
    QAction *m_settings = nullptr;
    QAction *m_import = nullptr;
    QAction *m_demoLoad = nullptr;
    int m_demoSubmitted = 0; // demo requests queued so far, to number the next ones
    bool m_demoSqueezeScheduled = false;

    // Chart sampling: the counters at the previous sample, and latencies (ms) of attempts since then.
    TimePoint m_start;
    std::optional<TimePoint> m_lastSample;
    qint64 m_prevSucceeded = 0, m_prevRateLimited = 0, m_prevOtherErrors = 0, m_prevRetries = 0;
    std::vector<double> m_latenciesMs;
    int m_ticks = 0;
};

} // namespace sluice
