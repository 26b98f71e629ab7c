#pragma once
// BatchRunner: runs one Message Batches JSONL file through a Dispatcher and writes one result line per input
// line, as each request finishes.
//
// Design note. start() reads the whole input first and submits every usable line before the dispatcher gets
// to run (its pump is scheduled on the event loop, not run inside submit), so `priority` orders the whole
// file, not only what had been read so far. Each line costs one parse, one hash insert (duplicate custom_id
// check) and one queue push, so a 100k-line file is read in well under a second and nothing is quadratic.
// Lines that cannot be used (BatchReader errors, or bodies Dispatcher::submit refuses) are recorded with
// Dispatcher::recordRejected, so they count in the totals like any other request; their `errored` results are
// written as soon as the whole input has been read (if it cannot be, start() fails and writes nothing).
//
// Results are written from Dispatcher::finished, one compact line each, and flushed to the operating system
// immediately: if Sluice dies, every result it had is in the file. The run is over when every line has its
// result; then finished(exitCode) is emitted (always from the event loop, never from inside start()).
//
// Ending early:
//   - Authentication. When the circuit breaker opens because the server refused the key (401/403), nothing
//   more
//     can succeed: every queued or retry-waiting request is failed at once with a message saying so
//     (Dispatcher::failAllPending), the attempts in flight come back with their own 401, and the run ends
//     with exit code 1 instead of waiting for a reset that headless mode cannot give.
//   - interrupt() (SIGINT in the app): nothing new is dispatched; the attempts in flight get up to the grace
//     period (5 s by default) to answer and their results are written; then everything unfinished is
//     cancelled and written as `canceled` with a reason (not sent yet / waiting to retry / abandoned in
//     flight), so every input line is still accounted for. A second interrupt() cuts the grace period short.
//
// Exit codes: 0 every request succeeded; 1 any ended errored or canceled (or the output could not be
// written); 130 interrupted (128 + SIGINT, the shell convention), whatever had finished by then.
//
// Worked example: an input of 5 lines, one of them blank and one not JSON, against a server that answers each
// request in 200 ms: start() submits 3 requests, records 1 rejected line and writes its result at once
// ("line 4: not JSON ..."); progress() then says total 4, done 1. About 200 ms later the three results are
// written, progress() says done 4, and finished(1) follows (one line errored).
//
// Threading: a QObject of the dispatcher's thread; every method there only.

#include "batchio.h"
#include "clock.h"
#include "dispatcher.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <deque>
#include <optional>
#include <vector>

class QIODevice;

namespace sluice {

// How far a run has come, for the progress display.
struct BatchProgress
{
    qsizetype total =
        0; // results this run will write (usable plus rejected lines; blank lines are not counted)
    qsizetype done = 0; // results written so far
    qsizetype succeeded = 0, errored = 0, canceled = 0;
    qsizetype inFlight = 0;
    qint64 rateLimited = 0;      // 429s met
    qint64 retries = 0;          // attempts that were retried (429s included)
    double perSecond = 0;        // results per second over the last 10 s (or the whole run, if shorter)
    std::optional<Duration> eta; // empty while no rate is known
    Duration elapsed{0};
    bool interrupted = false;
};

// "120/400 done (118 ok, 2 errored) | 19.8/s | ETA 14 s | 429s 0 | retries 3", for logs and pipes.
QString formatProgressLine(const BatchProgress &p);
// "[########------------]  30% " + the line above, for a terminal of `width` columns (never longer than it).
QString formatProgressBar(const BatchProgress &p, int width);

class BatchRunner : public QObject
{
    Q_OBJECT
public:
    static constexpr int kExitSucceeded = 0;
    static constexpr int kExitErrored = 1;
    static constexpr int kExitInterrupted = 130;

    // `dispatcher` and `clock` must outlive the runner. The runner only looks at requests it submitted
    // itself.
    BatchRunner(Dispatcher &dispatcher, const Clock &clock, QObject *parent = nullptr);
    ~BatchRunner() override;

    // The API key, replaced by "[redacted]" wherever it would appear in the output. Call before start().
    void setSecret(const QString &apiKey);
    // How long interrupt() waits for attempts in flight before cancelling them (default 5 s).
    void setInterruptGrace(Duration grace) { m_grace = grace; }

    // Reads every line of `input` (open for reading) and submits it; results go to `output` (open for
    // writing), which must outlive the run. Returns false with *error set if `input` cannot be read; the run
    // has then not started. Call once.
    bool start(QIODevice &input, QIODevice &output, QString *error = nullptr);
    // Stops dispatching and ends the run (see the design note); idempotent, a second call ends it at once.
    void interrupt();

    BatchProgress progress() const;
    bool isFinished() const { return m_finished; }
    int exitCode() const { return m_exitCode; }
    // Why the output could not be written (empty when it could).
    QString outputError() const { return m_outputError; }

Q_SIGNALS:
    // Every line has its result (or the output failed); emitted once, from the event loop.
    void finished(int exitCode);
    // The server refused the key; `message` is for people (never contains the key).
    void authFailed(const QString &message);

private:
    struct LineInfo
    {
        int line = 0;
        QString customId; // empty: the line had no usable custom_id (written as null)
        QString cancelReason;
    };

    LineInfo *infoOf(RequestId id);
    void addLine(LineInfo info);
    void onFinished(RequestId id);
    void onCircuitChanged(CircuitState state);
    void cancelRemaining();
    void write(const QByteArray &line);
    void checkDone();

    Dispatcher &m_dispatcher;
    const Clock &m_clock;
    BatchResultWriter m_writer;
    QIODevice *m_output = nullptr;
    Duration m_grace = std::chrono::seconds(5);
    QTimer m_graceTimer;

    RequestId m_firstId = 0;        // ids of this run: m_firstId .. m_firstId + m_lines.size() - 1
    std::vector<LineInfo> m_lines;  // by id - m_firstId
    bool m_submitted = false;       // start() has submitted every line
    std::vector<RequestId> m_early; // rejected while start() was reading: written once it has read everything
    TimePoint m_startedAt{};
    std::deque<TimePoint> m_recent; // when results were written, over the last 10 s

    qsizetype m_done = 0, m_succeeded = 0, m_errored = 0, m_canceled = 0;
    bool m_interrupted = false;
    bool m_authFailed = false;
    bool m_finished = false;
    int m_exitCode = kExitSucceeded;
    QString m_outputError;
    QString m_authMessage; // the reason given to the requests failed after the key was refused
};

} // namespace sluice
