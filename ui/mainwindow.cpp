#include "mainwindow.h"

#include "chartpanel.h"
#include "composerpanel.h"
#include "demoload.h"
#include "dispatcher.h"
#include "formatting.h"
#include "gaugepanel.h"
#include "keystore.h"
#include "limitspanel.h"
#include "logmodel.h"
#include "logview.h"
#include "queuedelegate.h"
#include "queuefiltermodel.h"
#include "queuemodel.h"
#include "responseview.h"
#include "settingsdialog.h"
#include "simserver.h"
#include "simulatorpanel.h"
#include "statusbanner.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QScreen>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QTableView>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

#include <algorithm>

namespace sluice {

namespace {

constexpr int kTickMs = 250;       // gauges, banner, status bar: 4 Hz
constexpr int kTicksPerSample = 4; // one chart sample and one time-column repaint per second

GaugeValues gaugeValues(const DispatcherStats &s)
{
    auto copy = [](const LimitGauge &g) {
        return LimitGaugeValues{g.enabled, g.perMinute, g.configured,     g.serverLimit,
                                g.level,   g.capacity,  g.usedLastMinute, g.utilisation};
    };
    GaugeValues v;
    v.requests = copy(s.requests);
    v.inputTokens = copy(s.inputTokens);
    v.outputTokens = copy(s.outputTokens);
    v.inFlight = s.inFlight;
    v.concurrencyLimit = s.concurrencyLimit;
    v.dailyUsed = s.dailyUsed;
    v.dailyQuota = s.dailyQuota;
    return v;
}

double percentile(std::vector<double> &values, double p)
{
    if (values.empty())
        return 0;
    const size_t k = std::min(values.size() - 1, size_t(p * double(values.size() - 1) + 0.5));
    std::nth_element(values.begin(), values.begin() + qsizetype(k), values.end());
    return values[k];
}

QDockWidget *dock(QMainWindow *w, const QString &title, const char *name, QWidget *content)
{
    auto *d = new QDockWidget(title, w);
    d->setObjectName(QLatin1String(name)); // saveState() needs it
    d->setWidget(content);
    d->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                   QDockWidget::DockWidgetClosable);
    return d;
}

QWidget *scrollable(QWidget *content)
{
    auto *area = new QScrollArea;
    area->setWidget(content);
    area->setWidgetResizable(true);
    // Forms scroll vertically; horizontally only when the dock is made narrower than a form can go.
    area->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    area->setFrameShape(QFrame::NoFrame);
    return area;
}

} // namespace

MainWindow::MainWindow(Dispatcher &dispatcher, const Clock &clock, sim::SimServer *simulator, QWidget *parent)
    : QMainWindow(parent)
    , m_dispatcher(dispatcher)
    , m_clock(clock)
    , m_simulator(simulator)
    , m_start(clock.now())
{
    m_log = new LogModel(this);
    buildActions();
    buildLayout();
    connectDispatcher();

    // Limits: the dispatcher's options, then what the user applied last time (the panel's own settings).
    const DispatchOptions &o = m_dispatcher.options();
    m_limits->setOptions(o.limits, o.backoff, o.retry);
    connect(m_limits, &LimitsPanel::applied, this,
            [this](const LimitOptions &l, const BackoffOptions &b, const RetryOptions &r) {
                DispatchOptions next = m_dispatcher.options();
                next.limits = l;
                next.backoff = b;
                next.retry = r;
                m_dispatcher.setOptions(next);
                m_log->append(
                    LogModel::Level::Info,
                    tr("Limits applied: %1 req/min, %2 input tok/min, %3 output tok/min, concurrency %4.")
                        .arg(formatQuantity(l.requests.perMinute), formatQuantity(l.inputTokens.perMinute),
                             formatQuantity(l.outputTokens.perMinute))
                        .arg(l.concurrency));
            });
    {
        QSettings settings;
        if (m_limits->restore(settings))
            m_limits->apply();
    }

    if (m_simulator) {
        m_simulatorPanel->setOptions(m_simulator->options());
        connect(m_simulatorPanel, &SimulatorPanel::optionsApplied, this, [this](const sim::SimOptions &so) {
            if (!m_simulator)
                return;
            if (m_simulator->setOptions(so))
                m_log->append(
                    LogModel::Level::Info,
                    tr("Simulator: %1 req/min, %2 input tok/min, %3 output tok/min; faults 500 %4, 529 %5.")
                        .arg(formatQuantity(so.requestsPerMinute), formatQuantity(so.inputTokensPerMinute),
                             formatQuantity(so.outputTokensPerMinute), formatPercent(so.p500),
                             formatPercent(so.p529)));
            else
                m_log->append(LogModel::Level::Error,
                              tr("Simulator refused the options: %1").arg(so.validate()));
        });
        m_banner->setDemoMode(true, m_simulator->baseUrl().toString());
    }

    m_tickTimer = new QTimer(this);
    m_tickTimer->setInterval(kTickMs);
    connect(m_tickTimer, &QTimer::timeout, this, &MainWindow::tick);
    m_tickTimer->start();

    // Without a saved geometry: a roomy window that still fits the screen, centred on it.
    if (const QScreen *sc = screen()) {
        const QRect available = sc->availableGeometry();
        const QSize size = QSize(1600, 1000).boundedTo(available.size() * 0.94);
        setGeometry(QStyle::alignedRect(Qt::LeftToRight, Qt::AlignCenter, size, available));
    } else {
        resize(1600, 1000);
    }
    restoreWindowState();
    updateTitle();
    updateActions();
    tick();
    m_log->append(LogModel::Level::Info, m_simulator
                                             ? tr("Demo mode: requests go to the built-in simulator at %1.")
                                                   .arg(m_simulator->baseUrl().toString())
                                             : tr("Live mode."));
    if (m_simulator && qEnvironmentVariableIsSet("SLUICE_DEMO_LOAD")) {
        const int count = qEnvironmentVariableIntValue("SLUICE_DEMO_LOAD");
        if (count > 0)
            QTimer::singleShot(0, this, [this, count] { startDemoLoad(count); });
    }
}

int MainWindow::startDemoLoad(int count)
{
    if (!m_simulator || count <= 0)
        return 0;
    const sim::SimOptions current = m_simulator->options();
    const sim::SimOptions faulty = withDemoFaults(current);
    if (!(faulty == current) && m_simulator->setOptions(faulty)) {
        m_simulatorPanel->setOptions(faulty);
        m_log->append(
            LogModel::Level::Info,
            tr("Demo load: the simulator now fails %1 of requests with 529, %2 with 500 and resets "
               "%3, so retries show.")
                .arg(formatPercent(faulty.p529), formatPercent(faulty.p500), formatPercent(faulty.pReset)));
    }
    if (!m_demoSqueezeScheduled && current.requestsPerMinute > 0) {
        m_demoSqueezeScheduled = true;
        // Another client takes three quarters of the organisation's request limit for a while.
        auto setRequestLimit = [this](double perMinute, const QString &why) {
            if (!m_simulator)
                return;
            sim::SimOptions o = m_simulator->options();
            o.requestsPerMinute = perMinute;
            if (!m_simulator->setOptions(o))
                return;
            m_simulatorPanel->setOptions(o);
            m_log->append(LogModel::Level::Warning, why.arg(formatQuantity(perMinute)));
        };
        const double normal = current.requestsPerMinute;
        const double squeezed = withSqueezedRequests(current).requestsPerMinute;
        QTimer::singleShot(kSqueezeAfterMs, this, [setRequestLimit, squeezed] {
            setRequestLimit(squeezed,
                            tr("Demo load: the simulator now allows only %1 requests/min, as when other "
                               "clients start sharing the organisation's limit."));
        });
        QTimer::singleShot(kSqueezeAfterMs + kSqueezeForMs, this, [setRequestLimit, normal] {
            setRequestLimit(normal, tr("Demo load: the simulator allows %1 requests/min again."));
        });
    }
    int queued = 0;
    for (const DemoRequest &r : demoRequests(count, m_demoSubmitted + 1))
        queued += m_dispatcher.submit(r.body, r.priority, r.customId).ok() ? 1 : 0;
    m_demoSubmitted += count;
    m_log->append(LogModel::Level::Info, tr("Demo load: queued %n request(s).", nullptr, queued));
    return queued;
}

MainWindow::~MainWindow() = default;

void MainWindow::buildActions()
{
    auto make = [this](const QString &text, const QKeySequence &keys, const QString &tip) {
        auto *a = new QAction(text, this);
        if (!keys.isEmpty())
            a->setShortcut(keys);
        a->setToolTip(keys.isEmpty()
                          ? tip
                          : QStringLiteral("%1 (%2)").arg(tip, keys.toString(QKeySequence::NativeText)));
        a->setStatusTip(tip);
        return a;
    };
    m_cancel = make(tr("&Cancel"), QKeySequence::Delete, tr("Cancel the selected requests"));
    m_retryNow = make(tr("&Retry now"), QKeySequence(Qt::CTRL | Qt::Key_R),
                      tr("Retry the selected requests now (waiting or failed)"));
    m_raise = make(tr("Raise &priority"), QKeySequence(Qt::CTRL | Qt::Key_Up), tr("Priority + 1"));
    m_lower = make(tr("&Lower priority"), QKeySequence(Qt::CTRL | Qt::Key_Down), tr("Priority − 1"));
    m_copy = make(tr("C&opy"), QKeySequence::Copy,
                  tr("Copy the selected rows (tab-separated) with their responses"));
    m_showResponse =
        make(tr("&Show response"), QKeySequence(Qt::Key_Return), tr("Show the selected request's response"));
    // Table actions act on the table's selection: only while the table has focus, so Delete in the composer
    // still deletes text.
    for (QAction *a : {m_cancel, m_retryNow, m_raise, m_lower, m_copy, m_showResponse})
        a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(m_cancel, &QAction::triggered, this, &MainWindow::cancelSelected);
    connect(m_retryNow, &QAction::triggered, this, &MainWindow::retrySelected);
    connect(m_raise, &QAction::triggered, this, [this] { shiftPrioritySelected(+1); });
    connect(m_lower, &QAction::triggered, this, [this] { shiftPrioritySelected(-1); });
    connect(m_copy, &QAction::triggered, this, &MainWindow::copySelected);
    connect(m_showResponse, &QAction::triggered, this, &MainWindow::showSelectedResponse);

    m_pause = make(tr("&Pause"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P),
                   tr("Send nothing new; attempts in flight finish"));
    m_resume = make(tr("R&esume"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R), tr("Resume dispatching"));
    m_drain = make(tr("&Drain"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D),
                   tr("Accept no new requests and finish everything queued"));
    connect(m_pause, &QAction::triggered, this, [this] {
        m_dispatcher.pause();
        updateActions();
    });
    connect(m_resume, &QAction::triggered, this, [this] {
        m_dispatcher.resume();
        updateActions();
    });
    connect(m_drain, &QAction::triggered, this, [this] {
        m_dispatcher.drain();
        updateActions();
    });
    m_settings = make(tr("&Settings…"), QKeySequence(Qt::CTRL | Qt::Key_Comma), tr("Endpoint and API key"));
    m_settings->setMenuRole(QAction::PreferencesRole);
    connect(m_settings, &QAction::triggered, this, &MainWindow::openSettings);
    m_import = make(tr("&Import JSONL…"), QKeySequence::Open, tr("Queue a Message Batches JSONL file"));
    if (m_simulator) {
        m_demoLoad = make(tr("Demo &load"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L),
                          tr("Queue 200 varied demo requests (and give the simulator a few faults)"));
        connect(m_demoLoad, &QAction::triggered, this, [this] { startDemoLoad(); });
    }
}

void MainWindow::buildLayout()
{
    // --- Centre: banner, queue (filters + table), response.
    auto *centre = new QWidget(this);
    auto *centreLayout = new QVBoxLayout(centre);
    centreLayout->setContentsMargins(6, 6, 6, 0);
    centreLayout->setSpacing(6);
    m_banner = new StatusBanner(centre);
    centreLayout->addWidget(m_banner);

    auto *queueArea = new QWidget(centre);
    auto *queueLayout = new QVBoxLayout(queueArea);
    queueLayout->setContentsMargins(0, 0, 0, 0);
    queueLayout->setSpacing(4);
    auto *filterBar = new QHBoxLayout;
    m_stateFilter = new QComboBox(queueArea);
    using B = QueueFilterModel;
    m_stateFilter->addItem(tr("All states"), B::allStates());
    m_stateFilter->addItem(tr("Active (queued, in flight, retry wait)"),
                           B::bit(RequestState::Queued) | B::bit(RequestState::InFlight) |
                               B::bit(RequestState::RetryWaiting));
    for (RequestState s : {RequestState::Queued, RequestState::InFlight, RequestState::RetryWaiting,
                           RequestState::Succeeded, RequestState::Failed, RequestState::Cancelled})
        m_stateFilter->addItem(requestStateName(s), B::bit(s));
    m_stateFilter->setToolTip(tr("Show requests in these states"));
    m_textFilter = new QLineEdit(queueArea);
    m_textFilter->setPlaceholderText(tr("Filter by ID or error text (Ctrl+F)"));
    m_textFilter->setClearButtonEnabled(true);
    auto *findAction = new QAction(this);
    findAction->setShortcut(QKeySequence::Find);
    connect(findAction, &QAction::triggered, m_textFilter, [this] {
        m_textFilter->setFocus();
        m_textFilter->selectAll();
    });
    addAction(findAction);
    auto *queueTitle = new QLabel(tr("<b>Queue</b>"), queueArea);
    filterBar->addWidget(queueTitle);
    filterBar->addSpacing(8);
    filterBar->addWidget(m_stateFilter);
    filterBar->addWidget(m_textFilter, 1);
    queueLayout->addLayout(filterBar);

    m_queueModel = new QueueModel(m_dispatcher, m_clock, this);
    m_queueFilter = new QueueFilterModel(this);
    m_queueFilter->setSourceModel(m_queueModel);
    m_queueView = new QTableView(queueArea);
    m_queueView->setModel(m_queueFilter);
    m_queueView->setItemDelegate(new QueueDelegate(m_queueView)); // text laid out once, not per paint
    m_queueView->setSortingEnabled(true);
    m_queueView->sortByColumn(QueueModel::IdColumn, Qt::AscendingOrder);
    m_queueView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_queueView->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_queueView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_queueView->setAlternatingRowColors(true);
    m_queueView->setWordWrap(false);
    m_queueView->verticalHeader()->hide();
    m_queueView->verticalHeader()->setDefaultSectionSize(m_queueView->fontMetrics().height() + 8);
    m_queueView->verticalHeader()->setSectionResizeMode(
        QHeaderView::Fixed); // no per-row measuring at 100k rows
    QHeaderView *h = m_queueView->horizontalHeader();
    h->setStretchLastSection(true);
    h->setHighlightSections(false);
    const int widths[QueueModel::ColumnCount] = {84, 52, 80, 60, 70, 78, 84, 80, 62, 80}; // "1 min 05 s" fits
    for (int c = 0; c < QueueModel::ColumnCount; ++c)
        h->resizeSection(c, widths[c]);
    m_queueView->setContextMenuPolicy(Qt::CustomContextMenu);
    m_queueMenu = new QMenu(this);
    m_queueMenu->addAction(m_showResponse);
    m_queueMenu->addSeparator();
    m_queueMenu->addAction(m_cancel);
    m_queueMenu->addAction(m_retryNow);
    m_queueMenu->addSeparator();
    m_queueMenu->addAction(m_raise);
    m_queueMenu->addAction(m_lower);
    m_queueMenu->addSeparator();
    m_queueMenu->addAction(m_copy);
    for (QAction *a : {m_showResponse, m_cancel, m_retryNow, m_raise, m_lower, m_copy})
        m_queueView->addAction(a); // the keys work while the table has focus
    connect(m_queueView, &QWidget::customContextMenuRequested, this, [this](const QPoint &pos) {
        updateActions();
        m_queueMenu->popup(m_queueView->viewport()->mapToGlobal(pos));
    });
    queueLayout->addWidget(m_queueView, 1);

    m_response = new ResponseView(m_dispatcher, centre);
    auto *split = new QSplitter(Qt::Vertical, centre);
    split->setObjectName(QStringLiteral("centreSplitter"));
    split->addWidget(queueArea);
    split->addWidget(m_response);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 1);
    split->setChildrenCollapsible(false);
    centreLayout->addWidget(split, 1);
    setCentralWidget(centre);

    connect(m_stateFilter, &QComboBox::currentIndexChanged, this,
            [this] { m_queueFilter->setStates(m_stateFilter->currentData().toUInt()); });
    connect(m_textFilter, &QLineEdit::textChanged, m_queueFilter, &QueueFilterModel::setText);
    connect(m_queueView->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        updateActions();
        const QModelIndex current = m_queueView->selectionModel()->currentIndex();
        if (current.isValid() &&
            m_queueView->selectionModel()->isRowSelected(current.row(), current.parent()))
            m_response->showRequest(current.data(QueueModel::RequestIdRole).value<RequestId>());
    });

    // --- Docks.
    m_composer = new ComposerPanel;
    m_gauges = new GaugePanel;
    m_limits = new LimitsPanel;
    m_charts = new ChartPanel;
    m_logView = new LogView(m_log);
    connect(m_composer, &ComposerPanel::submitRequested, this, &MainWindow::submitFromComposer);
    connect(m_composer, &ComposerPanel::importRequested, this, &MainWindow::importRequested);
    connect(m_import, &QAction::triggered, m_composer, &ComposerPanel::chooseImportFile);

    auto *composeDock = dock(this, tr("Compose"), "composeDock", m_composer);
    auto *gaugesDock = dock(this, tr("Limits now"), "gaugesDock", m_gauges);
    auto *limitsDock = dock(this, tr("Limits settings"), "limitsDock", scrollable(m_limits));
    auto *chartsDock = dock(this, tr("Charts (last 5 minutes)"), "chartsDock", m_charts);
    auto *logDock = dock(this, tr("Log"), "logDock", m_logView);
    addDockWidget(Qt::LeftDockWidgetArea, composeDock);
    addDockWidget(Qt::RightDockWidgetArea, gaugesDock);
    addDockWidget(Qt::RightDockWidgetArea, limitsDock);
    addDockWidget(Qt::BottomDockWidgetArea, chartsDock);
    addDockWidget(Qt::BottomDockWidgetArea, logDock);
    tabifyDockWidget(chartsDock, logDock);
    chartsDock->raise();
    QDockWidget *simDock = nullptr;
    if (m_simulator) {
        m_simulatorPanel = new SimulatorPanel;
        simDock = dock(this, tr("Simulator (demo)"), "simulatorDock", scrollable(m_simulatorPanel));
        addDockWidget(Qt::RightDockWidgetArea, simDock);
        tabifyDockWidget(limitsDock, simDock);
        limitsDock->raise();
    }
    // The queue is the centre of attention: the side docks get what their forms need, the queue the rest.
    resizeDocks({composeDock}, {250}, Qt::Horizontal);
    resizeDocks({gaugesDock}, {510}, Qt::Horizontal);
    // The gauges need their rows and no more; the settings under them get the rest of the height.
    m_gauges->setMaximumHeight(m_gauges->sizeHint().height());
    resizeDocks({chartsDock}, {260}, Qt::Vertical);

    // --- Menus and tool bar.
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_import);
    file->addAction(m_settings);
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    quit->setMenuRole(QAction::QuitRole);
    QMenu *dispatch = menuBar()->addMenu(tr("&Dispatch"));
    dispatch->addAction(m_pause);
    dispatch->addAction(m_resume);
    dispatch->addAction(m_drain);
    if (m_demoLoad) {
        dispatch->addSeparator();
        dispatch->addAction(m_demoLoad);
    }
    QMenu *request = menuBar()->addMenu(tr("&Request"));
    request->addActions(m_queueMenu->actions());
    QMenu *view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget *d : {composeDock, gaugesDock, limitsDock, chartsDock, logDock, simDock})
        if (d)
            view->addAction(d->toggleViewAction());

    QToolBar *bar = addToolBar(tr("Dispatch"));
    bar->setObjectName(QStringLiteral("dispatchToolBar"));
    bar->setMovable(false);
    bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    bar->addAction(m_pause);
    bar->addAction(m_resume);
    bar->addAction(m_drain);
    if (m_demoLoad)
        bar->addAction(m_demoLoad);
    bar->addSeparator();
    bar->addAction(m_import);
    bar->addAction(m_settings);

    // --- Status bar.
    m_modeLabel = new QLabel(this);
    m_totalsLabel = new QLabel(this);
    m_runLabel = new QLabel(this);
    statusBar()->addWidget(m_modeLabel);
    statusBar()->addPermanentWidget(m_totalsLabel);
    statusBar()->addPermanentWidget(m_runLabel);
}

void MainWindow::connectDispatcher()
{
    connect(&m_dispatcher, &Dispatcher::logMessage, m_log,
            [this](const QString &level, const QString &message) { m_log->append(level, message); });
    connect(&m_dispatcher, &Dispatcher::limitChanged, this,
            [this](const QString &limit, double serverLimit, double, bool adopted) {
                m_limits->setServerLimit(limit, serverLimit, adopted);
            });
    connect(&m_dispatcher, &Dispatcher::cooldownStarted, this, [this](Duration length, const QString &cause) {
        m_log->append(LogModel::Level::Warning,
                      tr("429 (%1): every dispatch waits %2.").arg(cause, formatSeconds(toSeconds(length))));
        tick();
    });
    connect(&m_dispatcher, &Dispatcher::circuitChanged, this,
            [this](CircuitState state, const QString &reason) { m_banner->setCircuit(state, reason); });
    connect(&m_dispatcher, &Dispatcher::finished, this, [this](RequestId id) {
        const MessageRequest *m = m_dispatcher.request(id);
        if (m && m->state == RequestState::Succeeded && m->lastLatency > Duration{0})
            m_latenciesMs.push_back(toMilliseconds(m->lastLatency));
    });
    connect(&m_dispatcher, &Dispatcher::drained, this, [this] {
        m_log->append(LogModel::Level::Info, tr("Drained: every request has finished."));
        updateActions();
    });
}

void MainWindow::setEndpoint(const QUrl &url)
{
    m_endpoint = url;
    updateTitle();
    tick();
}

void MainWindow::setKeyStore(KeyStore *store)
{
    m_keyStore = store;
}

void MainWindow::updateTitle()
{
    if (m_simulator) {
        setWindowTitle(tr("Sluice — demo mode (built-in simulator)"));
        m_modeLabel->setText(tr("Demo: simulator at %1").arg(m_simulator->baseUrl().toString()));
    } else {
        const QString host = m_endpoint.isEmpty() ? tr("no endpoint") : m_endpoint.host();
        setWindowTitle(tr("Sluice — %1").arg(host));
        m_modeLabel->setText(
            tr("Live: %1").arg(m_endpoint.isEmpty() ? tr("no endpoint") : m_endpoint.toString()));
    }
}

void MainWindow::submitFromComposer(const QJsonObject &body, int priority, int count)
{
    int refused = 0;
    QString firstError;
    for (int i = 0; i < count; ++i) {
        const Dispatcher::SubmitResult r = m_dispatcher.submit(body, priority);
        if (!r.ok()) {
            ++refused;
            if (firstError.isEmpty())
                firstError = r.error;
        }
    }
    if (refused)
        m_log->append(LogModel::Level::Error,
                      tr("%1 of %2 requests refused: %3").arg(refused).arg(count).arg(firstError));
    else if (count > 1)
        m_log->append(LogModel::Level::Info,
                      tr("Queued %1 requests at priority %2.").arg(count).arg(priority));
    statusBar()->showMessage(
        refused ? tr("Refused: %1").arg(firstError) : tr("Queued %n request(s).", nullptr, count), 4000);
}

QList<RequestId> MainWindow::selectedRequests() const
{
    QModelIndexList rows = m_queueView->selectionModel()->selectedRows(QueueModel::IdColumn);
    std::sort(rows.begin(), rows.end(),
              [](const QModelIndex &a, const QModelIndex &b) { return a.row() < b.row(); });
    QList<RequestId> ids;
    ids.reserve(rows.size());
    for (const QModelIndex &i : rows)
        ids << i.data(QueueModel::RequestIdRole).value<RequestId>();
    return ids;
}

void MainWindow::cancelSelected()
{
    int n = 0;
    for (RequestId id : selectedRequests())
        n += m_dispatcher.cancel(id) ? 1 : 0;
    if (n)
        m_log->append(LogModel::Level::Info, tr("Cancelled %n request(s).", nullptr, n));
    updateActions();
}

void MainWindow::retrySelected()
{
    int n = 0;
    for (RequestId id : selectedRequests())
        n += m_dispatcher.retryNow(id) ? 1 : 0;
    if (n)
        m_log->append(LogModel::Level::Info, tr("Retrying %n request(s) now.", nullptr, n));
    updateActions();
}

void MainWindow::shiftPrioritySelected(int delta)
{
    for (RequestId id : selectedRequests())
        if (const MessageRequest *m = m_dispatcher.request(id))
            m_dispatcher.reprioritise(id, m->priority + delta);
}

void MainWindow::copySelected()
{
    QStringList lines;
    const QList<RequestId> ids = selectedRequests();
    for (RequestId id : ids) {
        const int row = QueueModel::rowOf(id);
        QStringList cells;
        for (int c = 0; c < QueueModel::ColumnCount; ++c)
            cells << m_queueModel->index(row, c).data().toString();
        lines << cells.join(QLatin1Char('\t'));
    }
    // One request: its response text too, which is what people usually want to paste.
    if (ids.size() == 1)
        if (const MessageRequest *m = m_dispatcher.request(ids.first())) {
            const QString text = m->streamedText.isEmpty() ? m->outcome.text : m->streamedText;
            if (!text.isEmpty())
                lines << QString() << text;
        }
    if (!lines.isEmpty())
        QApplication::clipboard()->setText(lines.join(QLatin1Char('\n')));
}

void MainWindow::showSelectedResponse()
{
    const QList<RequestId> ids = selectedRequests();
    if (ids.isEmpty())
        return;
    m_response->showRequest(ids.first());
    m_response->setFocus();
}

void MainWindow::openSettings()
{
    if (!m_keyStore) {
        m_ownKeyStore = KeyStore::create(this);
        m_keyStore = m_ownKeyStore.get();
    }
    auto *dialog = new SettingsDialog(m_keyStore, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &SettingsDialog::baseUrlChanged, this, [this](const QUrl &url) {
        m_log->append(LogModel::Level::Info, tr("Endpoint set to %1.").arg(url.toString()));
        Q_EMIT baseUrlChanged(url);
    });
    connect(dialog, &SettingsDialog::apiKeyChanged, this, [this](const QString &key) {
        m_log->append(LogModel::Level::Info, key.isEmpty() ? tr("API key removed.") : tr("API key saved."));
        Q_EMIT apiKeyChanged(key);
    });
    dialog->open();
}

void MainWindow::updateActions()
{
    const DispatcherStats s = m_dispatcher.stats();
    m_pause->setEnabled(!s.paused);
    m_resume->setEnabled(s.paused);
    m_drain->setEnabled(!s.draining);
    bool anyCancellable = false, anyRetryable = false, anyMovable = false;
    const QList<RequestId> ids = selectedRequests();
    for (RequestId id : ids) {
        const MessageRequest *m = m_dispatcher.request(id);
        if (!m)
            continue;
        anyCancellable |= !isFinal(m->state);
        anyRetryable |= m->state == RequestState::RetryWaiting || m->state == RequestState::Failed;
        anyMovable |= m->state == RequestState::Queued || m->state == RequestState::RetryWaiting;
    }
    m_cancel->setEnabled(anyCancellable);
    m_retryNow->setEnabled(anyRetryable);
    m_raise->setEnabled(anyMovable);
    m_lower->setEnabled(anyMovable);
    m_copy->setEnabled(!ids.isEmpty());
    m_showResponse->setEnabled(!ids.isEmpty());
}

void MainWindow::tick()
{
    const DispatcherStats s = m_dispatcher.stats();
    m_gauges->setValues(gaugeValues(s));
    m_banner->setCooldown(toSeconds(s.cooldownRemaining), s.cooldownCause);
    m_banner->setCircuit(s.circuit, s.circuitReason);
    m_totalsLabel->setText(
        tr("%1 total · %2 queued · %3 in flight · %4 retry wait · %5 succeeded · %6 failed · "
           "%7 cancelled · %8 × 429")
            .arg(QLocale().toString(qint64(s.total)), QLocale().toString(qint64(s.queued)),
                 QLocale().toString(qint64(s.inFlight)), QLocale().toString(qint64(s.retryWaiting)),
                 QLocale().toString(qint64(s.succeeded)), QLocale().toString(qint64(s.failed)),
                 QLocale().toString(qint64(s.cancelled)), QLocale().toString(s.rateLimited)));
    m_runLabel->setText(s.draining ? tr("Draining") : s.paused ? tr("Paused") : tr("Running"));
    if (m_pause->isEnabled() == s.paused || m_resume->isEnabled() != s.paused)
        updateActions();

    const TimePoint now = m_clock.now();
    if (++m_ticks % kTicksPerSample == 0 || !m_lastSample) {
        sampleCharts(now);
        // "Next in" and "waited" move with time: repaint those two columns of the visible rows, nothing else.
        QWidget *viewport = m_queueView->viewport();
        for (int column : {int(QueueModel::NextAttemptColumn), int(QueueModel::WaitedColumn)})
            if (!m_queueView->isColumnHidden(column))
                viewport->update(QRect(m_queueView->columnViewportPosition(column), 0,
                                       m_queueView->columnWidth(column), viewport->height()));
    }
}

void MainWindow::sampleCharts(TimePoint now)
{
    const DispatcherStats s = m_dispatcher.stats();
    if (m_lastSample) {
        const double dt = toSeconds(now - *m_lastSample);
        if (dt <= 0)
            return;
        ChartSample c;
        c.succeededPerSecond = double(s.succeeded - m_prevSucceeded) / dt;
        c.rateLimited = double(s.rateLimited - m_prevRateLimited);
        c.otherErrors = double(s.otherErrors - m_prevOtherErrors);
        c.retries = double(s.retries - m_prevRetries);
        auto util = [](const LimitGauge &g) { return g.enabled ? g.utilisation : -1.0; };
        c.requestsUtilisation = util(s.requests);
        c.inputTokensUtilisation = util(s.inputTokens);
        c.outputTokensUtilisation = util(s.outputTokens);
        c.concurrencyUtilisation = s.concurrencyLimit > 0 ? double(s.inFlight) / s.concurrencyLimit : -1.0;
        c.latencyP50Ms = percentile(m_latenciesMs, 0.50);
        c.latencyP95Ms = percentile(m_latenciesMs, 0.95);
        m_charts->addSample(toSeconds(now - m_start), c);
    }
    m_latenciesMs.clear();
    m_lastSample = now;
    m_prevSucceeded = s.succeeded;
    m_prevRateLimited = s.rateLimited;
    m_prevOtherErrors = s.otherErrors;
    m_prevRetries = s.retries;
}

QString MainWindow::statusText() const
{
    return m_modeLabel->text() + QStringLiteral(" | ") + m_totalsLabel->text() + QStringLiteral(" | ") +
           m_runLabel->text();
}

void MainWindow::saveWindowState() const
{
    QSettings settings;
    settings.setValue(QStringLiteral("mainwindow/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("mainwindow/state"), saveState());
}

void MainWindow::restoreWindowState()
{
    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("mainwindow/geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("mainwindow/state")).toByteArray());
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveWindowState();
    QMainWindow::closeEvent(event);
}

} // namespace sluice
