#include "batchrunner.h"

#include <QFileDevice>
#include <QIODevice>

#include <cmath>

namespace sluice {

namespace {

constexpr Duration kRateWindow = std::chrono::seconds(10);

qint64 wholeMs(Duration d)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

QString formatDuration(Duration d)
{
    const qint64 s = std::max<qint64>(0, qint64(std::ceil(toSeconds(d))));
    if (s < 60)
        return QStringLiteral("%1 s").arg(s);
    if (s < 3600)
        return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
}

} // namespace

QString formatProgressLine(const BatchProgress &p)
{
    QString counts = QStringLiteral("%1 ok").arg(p.succeeded);
    if (p.errored > 0)
        counts += QStringLiteral(", %1 errored").arg(p.errored);
    if (p.canceled > 0)
        counts += QStringLiteral(", %1 canceled").arg(p.canceled);
    const QString eta = p.done >= p.total ? QStringLiteral("done")
                        : p.eta           ? QStringLiteral("ETA %1").arg(formatDuration(*p.eta))
                                          : QStringLiteral("ETA ?");
    return QStringLiteral("%1/%2 done (%3) | %4/s | %5 | 429s %6 | retries %7%8")
        .arg(p.done)
        .arg(p.total)
        .arg(counts)
        .arg(p.perSecond, 0, 'f', 1)
        .arg(eta)
        .arg(p.rateLimited)
        .arg(p.retries)
        .arg(p.interrupted ? QStringLiteral(" | interrupted: finishing in-flight requests") : QString());
}

QString formatProgressBar(const BatchProgress &p, int width)
{
    const double fraction = p.total > 0 ? double(p.done) / double(p.total) : 1.0;
    const QString line = formatProgressLine(p);
    const QString percent = QStringLiteral("%1% ").arg(int(std::floor(fraction * 100)), 3);
    // The bar takes what the text leaves, between 10 and 30 columns; with less room, only the text
    // (truncated).
    const int room = width - int(line.size()) - int(percent.size()) - 3;
    if (room < 10)
        return (percent + line).left(std::max(0, width));
    const int barWidth = std::min(30, room);
    const int filled = int(std::floor(fraction * barWidth));
    return QStringLiteral("[%1%2] %3%4")
        .arg(QString(filled, QLatin1Char('#')), QString(barWidth - filled, QLatin1Char('-')), percent, line);
}

BatchRunner::BatchRunner(Dispatcher &dispatcher, const Clock &clock, QObject *parent)
    : QObject(parent)
    , m_dispatcher(dispatcher)
    , m_clock(clock)
{
    m_graceTimer.setSingleShot(true);
    connect(&m_graceTimer, &QTimer::timeout, this, &BatchRunner::cancelRemaining);
    connect(&m_dispatcher, &Dispatcher::finished, this, &BatchRunner::onFinished);
    // Queued: the circuit opens inside the dispatcher's reply handling, which must not be re-entered.
    connect(
        &m_dispatcher, &Dispatcher::circuitChanged, this,
        [this](CircuitState state, const QString &) { onCircuitChanged(state); }, Qt::QueuedConnection);
}

BatchRunner::~BatchRunner() = default;

void BatchRunner::setSecret(const QString &apiKey)
{
    m_writer = BatchResultWriter(apiKey);
}

BatchRunner::LineInfo *BatchRunner::infoOf(RequestId id)
{
    if (m_firstId == 0 || id < m_firstId || id - m_firstId >= m_lines.size())
        return nullptr;
    return &m_lines[size_t(id - m_firstId)];
}

// Ids are dense and given in submit order (Dispatcher: "row = id - 1"), so the next one is known before the
// call that assigns it; recordRejected() emits finished() before it returns, and the line must be known by
// then.
void BatchRunner::addLine(LineInfo info)
{
    if (m_firstId == 0)
        m_firstId = RequestId(m_dispatcher.requestCount() + 1);
    Q_ASSERT(RequestId(m_dispatcher.requestCount() + 1) == m_firstId + m_lines.size());
    m_lines.push_back(std::move(info));
}

bool BatchRunner::start(QIODevice &input, QIODevice &output, QString *error)
{
    Q_ASSERT(!m_output);
    m_output = &output;
    m_startedAt = m_clock.now();
    BatchReader reader;
    int lineNumber = 0;
    // readLine() returns at least "\n" for every line, even a blank one: empty means the end (or a read
    // error).
    while (true) {
        QByteArray text = input.readLine();
        if (text.isEmpty())
            break;
        ++lineNumber;
        if (text.endsWith('\n'))
            text.chop(1);
        BatchReader::Parsed parsed = reader.parse(text, lineNumber);
        if (parsed.kind == BatchReader::Kind::Blank)
            continue;
        const QString customId = parsed.customId.toString();
        if (parsed.kind == BatchReader::Kind::Error) {
            addLine({lineNumber, customId, {}});
            m_dispatcher.recordRejected(customId, parsed.error);
            continue;
        }
        addLine({lineNumber, customId, {}});
        const BatchLine &line = parsed.request;
        const Dispatcher::SubmitResult submitted =
            m_dispatcher.submit(line.params, line.priority, line.customId);
        if (!submitted.ok())
            m_dispatcher.recordRejected(customId,
                                        QStringLiteral("line %1: %2").arg(lineNumber).arg(submitted.error));
    }
    if (const auto *file = qobject_cast<const QFileDevice *>(&input);
        file && file->error() != QFileDevice::NoError) {
        if (error)
            *error = QStringLiteral("cannot read the input after line %1: %2")
                         .arg(lineNumber)
                         .arg(file->errorString());
        // Nothing has been written; what was queued must not go out either.
        m_output = nullptr;
        m_dispatcher.failAllPending(QStringLiteral("the input could not be read to the end"));
        return false;
    }
    m_submitted = true;
    // The rejected lines finished while reading; their results go out now that the input is known to be
    // whole.
    const std::vector<RequestId> early = std::move(m_early);
    for (RequestId id : early)
        onFinished(id);
    checkDone();
    return true;
}

void BatchRunner::onFinished(RequestId id)
{
    LineInfo *info = infoOf(id);
    const MessageRequest *m = m_dispatcher.request(id);
    if (!info || !m || !m_output)
        return;
    if (!m_submitted) {
        m_early.push_back(id);
        return;
    }

    BatchResult r;
    if (!info->customId.isEmpty())
        r.customId = info->customId;
    r.meta.line = info->line;
    r.meta.attempts = m->attempts;
    r.meta.queueWaitMs = wholeMs(m->queueWait);
    r.meta.latencyMs = wholeMs(m->lastLatency);
    r.meta.finishedMs = wholeMs(m->finishedAt.value_or(m_clock.now()) - m_startedAt);
    r.meta.requestId = m->outcome.requestId;
    const QString where = QStringLiteral("line %1: ").arg(info->line);
    switch (m->state) {
    case RequestState::Succeeded:
        r.type = BatchResult::Type::Succeeded;
        r.message = m->outcome.message;
        ++m_succeeded;
        break;
    case RequestState::Cancelled:
        r.type = BatchResult::Type::Canceled;
        r.meta.errorKind = errorKindName(ErrorKind::Cancelled);
        r.meta.reason = info->cancelReason.isEmpty() ? m->errorMessage : info->cancelReason;
        ++m_canceled;
        break;
    default: // Failed (finished() is emitted for final states only)
        r.type = BatchResult::Type::Errored;
        r.meta.errorKind = errorKindName(m->error);
        // The API's own error type when the last answer is why it failed; otherwise Sluice's name for the
        // reason (retry_budget_exhausted, circuit_open for work never sent after the key was refused, ...).
        r.errorType = m->outcome.kind == m->error && !m->outcome.errorType.isEmpty()
                          ? m->outcome.errorType
                          : errorKindName(m->error);
        if (m_authFailed && m->errorMessage == m_authMessage) {
            r.errorType = errorKindName(ErrorKind::CircuitOpen);
            r.meta.errorKind = r.errorType;
        }
        r.errorMessage = m->errorMessage.startsWith(where) ? m->errorMessage : where + m->errorMessage;
        ++m_errored;
        break;
    }
    write(m_writer.line(r));
    ++m_done;
    const TimePoint now = m_clock.now();
    m_recent.push_back(now);
    while (!m_recent.empty() && m_recent.front() < now - kRateWindow)
        m_recent.pop_front();

    if (m_interrupted && m_dispatcher.stats().inFlight == 0 && m_graceTimer.isActive()) {
        m_graceTimer.stop();
        // Not from inside the dispatcher's finished(): cancelling re-enters it.
        QTimer::singleShot(0, this, &BatchRunner::cancelRemaining);
    }
    checkDone();
}

void BatchRunner::onCircuitChanged(CircuitState state)
{
    if (state != CircuitState::Open || m_authFailed || m_finished)
        return;
    if (m_dispatcher.stats().circuitReason != QLatin1String("authentication"))
        return;
    m_authFailed = true;
    m_authMessage = tr("the server refused the API key (401/403), so nothing more can succeed: not sent; "
                       "check ANTHROPIC_API_KEY (and the base URL) and run again");
    Q_EMIT authFailed(m_authMessage);
    m_dispatcher.failAllPending(m_authMessage);
}

void BatchRunner::interrupt()
{
    if (m_finished || !m_submitted)
        return;
    if (m_interrupted) { // the second time: no more waiting
        m_graceTimer.stop();
        cancelRemaining();
        return;
    }
    m_interrupted = true;
    m_dispatcher.pause();
    if (m_dispatcher.stats().inFlight == 0)
        cancelRemaining();
    else
        m_graceTimer.start(int(std::chrono::ceil<std::chrono::milliseconds>(m_grace).count()));
}

void BatchRunner::cancelRemaining()
{
    if (m_finished || m_firstId == 0)
        return;
    const QString graceText = QString::number(toSeconds(m_grace), 'g', 3);
    for (size_t i = 0; i < m_lines.size(); ++i) {
        const RequestId id = m_firstId + i;
        const MessageRequest *m = m_dispatcher.request(id);
        if (!m || isFinal(m->state))
            continue;
        LineInfo &info = m_lines[i];
        if (m->state == RequestState::InFlight)
            info.cancelReason =
                tr("interrupted: still in flight after the %1 s grace period, its answer was abandoned "
                   "(the server may have processed it)")
                    .arg(graceText);
        else if (m->attempts == 0)
            info.cancelReason = tr("interrupted before it was sent");
        else
            info.cancelReason = tr("interrupted while waiting to retry, after %1 attempt(s); last: %2")
                                    .arg(m->attempts)
                                    .arg(m->outcome.summary());
        m_dispatcher.cancel(id); // emits finished(id): onFinished writes the canceled result
    }
    checkDone();
}

void BatchRunner::write(const QByteArray &line)
{
    if (!m_outputError.isEmpty())
        return;
    bool ok = m_output->write(line) == line.size();
    if (ok)
        if (auto *file = qobject_cast<QFileDevice *>(m_output))
            ok = file->flush();
    if (ok)
        return;
    // Nothing more can be recorded: stop sending work whose results would be lost.
    m_outputError = tr("cannot write the output: %1").arg(m_output->errorString());
    m_dispatcher.pause();
    QTimer::singleShot(0, this, &BatchRunner::cancelRemaining);
}

void BatchRunner::checkDone()
{
    if (m_finished || !m_submitted || m_done < qsizetype(m_lines.size()))
        return;
    m_finished = true;
    if (m_interrupted)
        m_exitCode = kExitInterrupted;
    else if (m_errored > 0 || m_canceled > 0 || !m_outputError.isEmpty())
        m_exitCode = kExitErrored;
    else
        m_exitCode = kExitSucceeded;
    // From the event loop: start() may be what completed the run, and its caller has not entered the loop
    // yet.
    QMetaObject::invokeMethod(
        this, [this] { Q_EMIT finished(m_exitCode); }, Qt::QueuedConnection);
}

BatchProgress BatchRunner::progress() const
{
    const TimePoint now = m_clock.now();
    const DispatcherStats s = m_dispatcher.stats();
    BatchProgress p;
    p.total = qsizetype(m_lines.size());
    p.done = m_done;
    p.succeeded = m_succeeded;
    p.errored = m_errored;
    p.canceled = m_canceled;
    p.inFlight = s.inFlight;
    p.rateLimited = s.rateLimited;
    p.retries = s.retries;
    p.elapsed = m_submitted ? now - m_startedAt : Duration::zero();
    p.interrupted = m_interrupted && !m_finished;
    qsizetype recent = 0;
    for (auto it = m_recent.rbegin(); it != m_recent.rend() && *it >= now - kRateWindow; ++it)
        ++recent;
    const double window = std::min(toSeconds(kRateWindow), toSeconds(p.elapsed));
    p.perSecond = window > 0 ? double(recent) / window : 0;
    if (p.perSecond > 0 && p.done < p.total)
        p.eta = fromSeconds(double(p.total - p.done) / p.perSecond);
    return p;
}

} // namespace sluice
