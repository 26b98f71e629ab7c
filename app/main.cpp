// sluice: the desktop console by default. --help, --version, --print-config, --example-config and every
// configuration error need no display: the command line and the configuration are checked before any
// QApplication exists, because a QApplication on a machine without a display aborts, and `sluice --rpm abc`
// over ssh must say what is wrong.
//
// Headless mode (`sluice --headless --input IN.jsonl --output OUT.jsonl [config flags]`) runs a Message
// Batches file and exits; it creates only a QCoreApplication, so it needs no display at all. Exit status: 0
// every request succeeded, 1 any ended errored (or the run failed), 2 bad usage or configuration (nothing was
// sent), 130 interrupted by SIGINT (143 by SIGTERM): the results that finished are written, the rest as
// `canceled`. With no API key and no base URL anywhere (flag, environment, config file) it runs against an
// in-process sluice-sim (demo mode) and says so on stderr. Progress goes to stderr: a live bar on a terminal,
// a plain line every 5 s otherwise.
#include "batchrunner.h"
#include "config.h"
#include "dispatcher.h"
#include "gui.h"
#include "transport/messagesclient.h"
#ifdef SLUICE_HAVE_SIM
#include "simserver.h"
#endif

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QProcessEnvironment>
#include <QSocketNotifier>
#include <QTimer>

#include <csignal>
#include <cstdio>
#include <memory>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// Exit status for a bad command line or configuration (0 = fine, 1 = a failure while running).
constexpr int kUsageError = 2;

// What this run is going to do, decided from the arguments and the environment alone.
struct Invocation
{
    enum class Action
    {
        RunGui,        // open the console with `config`
        RunHeadless,   // run the batch file `input` into `output` with `config`
        HelpOrVersion, // let QCommandLineParser print --help/--help-all/--version
        PrintConfig,   // print `config` as JSON
        PrintExample,  // print the documented example config
        Fail,          // print `errors`
    };
    Action action = Action::RunGui;
    sluice::Config config;
    QStringList errors;
    // Headless mode only.
    QString input, output; // file names; "-" = standard input / output
    bool demo = false;     // no key and no base URL anywhere: run against the built-in simulator
    bool verbose = false;  // print the dispatcher's log (cooldowns, learned limits, retries) on stderr
};

const QString kOptHeadless = QStringLiteral("headless");
const QString kOptInput = QStringLiteral("input");
const QString kOptOutput = QStringLiteral("output");
const QString kOptVerbose = QStringLiteral("verbose");

void describe(QCommandLineParser &parser)
{
    parser.setApplicationDescription(
        QStringLiteral("Sluice dispatches requests to the Claude Messages API without tripping its limits,\n"
                       "and shows what it is doing live.\n\n"
                       "Settings: defaults < --config FILE < ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY < flags.\n"
                       "Every setting is described in docs/config.md; try --example-config."));
    parser.addHelpOption();
    parser.addVersionOption();
    sluice::ConfigFlags::addTo(parser);
    parser.addOptions({
        {kOptHeadless, QStringLiteral("Run the batch --input into --output without a display, then exit\n"
                                      "(0 all succeeded, 1 any errored, 2 bad usage, 130 interrupted).")},
        {kOptInput, QStringLiteral("Headless: Message Batches JSONL to run ('-' = standard input)."),
         QStringLiteral("FILE")},
        {kOptOutput, QStringLiteral("Headless: where the result lines go ('-' = standard output)."),
         QStringLiteral("FILE")},
        {kOptVerbose, QStringLiteral("Headless: also print the dispatcher's log (cooldowns, learned limits, "
                                     "retries) on stderr.")},
    });
}

// Parses `arguments` (argv as strings, program name first) and layers the configuration. Needs no application
// object.
Invocation parseCommandLine(QCommandLineParser &parser, const QStringList &arguments,
                            const QProcessEnvironment &env)
{
    Invocation run;
    if (!parser.parse(arguments)) {
        run.action = Invocation::Action::Fail;
        run.errors << parser.errorText();
        return run;
    }
    if (parser.isSet(QStringLiteral("help")) || parser.isSet(QStringLiteral("help-all")) ||
        parser.isSet(QStringLiteral("version"))) {
        run.action = Invocation::Action::HelpOrVersion;
        return run;
    }
    const sluice::ConfigFlags flags = sluice::ConfigFlags::read(parser);
    if (flags.exampleConfig) {
        run.action = Invocation::Action::PrintExample;
        return run;
    }
    for (const QString &extra : parser.positionalArguments())
        run.errors << QStringLiteral("unexpected argument \"%1\"").arg(extra);
    run.config = sluice::Config::resolve(flags, env, run.errors);

    const bool headless = parser.isSet(kOptHeadless);
    run.input = parser.value(kOptInput);
    run.output = parser.value(kOptOutput);
    run.verbose = parser.isSet(kOptVerbose);
    if (headless) {
        if (!parser.isSet(kOptInput) || run.input.isEmpty())
            run.errors << QStringLiteral("--headless needs --input FILE (the Message Batches JSONL to run)");
        if (!parser.isSet(kOptOutput) || run.output.isEmpty())
            run.errors << QStringLiteral(
                "--headless needs --output FILE (where the results go; '-' = stdout)");
        const QFileInfo in(run.input), out(run.output);
        if (run.input != QLatin1String("-") && in.exists() &&
            in.canonicalFilePath() == out.canonicalFilePath()) {
            run.errors << QStringLiteral(
                              "--output %1 is the input file: it would be overwritten before it is read")
                              .arg(run.output);
        }
        // "Given anywhere": the flag, the environment, or a config file that changed it from the default.
        run.demo = run.config.apiKey.isEmpty() && !flags.baseUrl &&
                   env.value(QStringLiteral("ANTHROPIC_BASE_URL")).trimmed().isEmpty() &&
                   run.config.baseUrl == sluice::Config().baseUrl;
        if (!run.demo) {
            if (const QString problem = sluice::MessagesClient::endpointProblem(run.config.baseUrl);
                !problem.isEmpty())
                run.errors << QStringLiteral("base URL %1: %2").arg(run.config.baseUrl.toString(), problem);
        }
    } else {
        for (const QString &name : {kOptInput, kOptOutput, kOptVerbose})
            if (parser.isSet(name))
                run.errors << QStringLiteral("--%1 is for headless mode: add --headless").arg(name);
    }

    if (!run.errors.isEmpty())
        run.action = Invocation::Action::Fail;
    else if (flags.printConfig)
        run.action = Invocation::Action::PrintConfig;
    else if (headless)
        run.action = Invocation::Action::RunHeadless;
    return run;
}

int printOut(const QByteArray &text)
{
    std::fwrite(text.constData(), 1, size_t(text.size()), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
}

int printExample()
{
    QFile example(QStringLiteral(":/sluice.example.json"));
    if (!example.open(QIODevice::ReadOnly)) {
        std::fprintf(stderr, "sluice: the example config is missing from this build\n");
        return 1;
    }
    return printOut(example.readAll());
}

int fail(const QStringList &errors)
{
    for (const QString &e : errors)
        std::fprintf(stderr, "sluice: %s\n", qPrintable(e));
    std::fprintf(stderr, "sluice: see 'sluice --help' and docs/config.md\n");
    return kUsageError;
}

// ---- Headless mode ---------------------------------------------------------------------------------------

// How long in-flight requests get to answer after SIGINT before they are abandoned.
constexpr auto kInterruptGrace = std::chrono::seconds(5);

// SIGINT/SIGTERM arrive on a self-pipe: the handler only writes the signal's number (async-signal-safe), and
// a QSocketNotifier hands it to the event loop, where stopping the run is safe.
int g_signalPipe[2] = {-1, -1};

extern "C" void onSignal(int signo)
{
    const char byte = char(signo);
    [[maybe_unused]] const ssize_t written = ::write(g_signalPipe[1], &byte, 1);
}

bool installSignalHandlers()
{
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, g_signalPipe) != 0)
        return false;
    for (int fd : g_signalPipe) {
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    struct sigaction action = {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return ::sigaction(SIGINT, &action, nullptr) == 0 && ::sigaction(SIGTERM, &action, nullptr) == 0;
}

int terminalColumns()
{
    winsize w{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0)
        return int(w.ws_col);
    return 80;
}

void printErr(const QString &text)
{
    const QByteArray bytes = text.toLocal8Bit();
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stderr);
    std::fflush(stderr);
}

// Progress on stderr: on a terminal one line redrawn in place at most 10 times a second; otherwise (a log, a
// pipe, CI) a plain line every 5 s, so logs stay readable.
class ProgressPrinter
{
public:
    explicit ProgressPrinter(const sluice::BatchRunner &runner)
        : m_runner(runner)
        , m_tty(::isatty(STDERR_FILENO) == 1)
    {
        m_timer.setInterval(m_tty ? 100 : 5000);
        QObject::connect(&m_timer, &QTimer::timeout, [this] { print(); });
        m_timer.start();
    }
    // A message for people, on its own line (the bar is redrawn after it).
    void note(const QString &text) { line(QStringLiteral("sluice: ") + text); }
    void line(const QString &text)
    {
        clearBar();
        printErr(text + QLatin1Char('\n'));
    }
    void finish()
    {
        m_timer.stop();
        print();
        if (m_tty)
            printErr(QStringLiteral("\n"));
        m_barShown = false;
    }

private:
    void print()
    {
        const sluice::BatchProgress p = m_runner.progress();
        if (m_tty) {
            printErr(QStringLiteral("\r") + sluice::formatProgressBar(p, terminalColumns() - 1) +
                     QStringLiteral("\x1b[K"));
            m_barShown = true;
        } else {
            printErr(QStringLiteral("sluice: %1\n").arg(sluice::formatProgressLine(p)));
        }
    }
    void clearBar()
    {
        if (m_tty && m_barShown)
            printErr(QStringLiteral("\r\x1b[K"));
        m_barShown = false;
    }

    const sluice::BatchRunner &m_runner;
    const bool m_tty;
    bool m_barShown = false;
    QTimer m_timer;
};

// Qt's own messages (the transport logs failed attempts) go through the printer, so they do not tear the bar.
ProgressPrinter *g_printer = nullptr;

void routeMessage(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    const QString text = qFormatLogMessage(type, context, message);
    if (g_printer)
        g_printer->line(text);
    else
        printErr(text + QLatin1Char('\n'));
}

bool openInput(QFile &file, const QString &name, QString *error)
{
    const bool ok = name == QLatin1String("-") ? file.open(STDIN_FILENO, QIODevice::ReadOnly)
                                               : (file.setFileName(name), file.open(QIODevice::ReadOnly));
    if (!ok)
        *error = QStringLiteral("--input %1: %2").arg(name, file.errorString());
    return ok;
}

bool openOutput(QFile &file, const QString &name, QString *error)
{
    const bool ok = name == QLatin1String("-")
                        ? file.open(STDOUT_FILENO, QIODevice::WriteOnly)
                        : (file.setFileName(name), file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    if (!ok)
        *error = QStringLiteral("--output %1: %2").arg(name, file.errorString());
    return ok;
}

int runHeadless(int &argc, char **argv, const Invocation &run)
{
    QCoreApplication app(argc, argv); // never a QApplication: no display is needed
    std::signal(SIGPIPE, SIG_IGN);    // a closed stdout is a write error to report, not a silent death

    QFile input, output;
    QString error;
    if (!openInput(input, run.input, &error) || !openOutput(output, run.output, &error))
        return fail({error});

    const sluice::Config &config = run.config;
    QUrl baseUrl = config.baseUrl;
#ifdef SLUICE_HAVE_SIM
    std::unique_ptr<sluice::sim::SimServer> sim;
    if (run.demo) {
        sim = std::make_unique<sluice::sim::SimServer>(sluice::sim::SimOptions::demo());
        if (!sim->listen())
            return fail({QStringLiteral("demo mode: the built-in simulator could not listen on 127.0.0.1")});
        baseUrl = sim->baseUrl();
        printErr(QStringLiteral("sluice: no ANTHROPIC_API_KEY and no base URL: running against the built-in "
                                "simulator (demo mode) at %1\n")
                     .arg(baseUrl.toString()));
    }
#else
    if (run.demo)
        return fail(
            {QStringLiteral("no ANTHROPIC_API_KEY and no base URL, and this build has no simulator for "
                            "demo mode: set ANTHROPIC_API_KEY or --base-url")});
#endif

    sluice::SteadyClock clock;
    sluice::MessagesClient client(baseUrl, config.apiKey, config.transport, clock);
    sluice::Dispatcher dispatcher(client, clock, sluice::DispatchOptions::fromConfig(config));
    sluice::BatchRunner runner(dispatcher, clock);
    runner.setSecret(config.apiKey);
    runner.setInterruptGrace(kInterruptGrace);

    ProgressPrinter progress(runner);
    g_printer = &progress;
    qInstallMessageHandler(routeMessage);
    QObject::connect(&runner, &sluice::BatchRunner::authFailed, &app,
                     [&progress](const QString &message) { progress.note(message); });
    if (run.verbose) {
        QElapsedTimer sinceStart;
        sinceStart.start();
        QObject::connect(&dispatcher, &sluice::Dispatcher::logMessage, &app,
                         [&progress, sinceStart](const QString &level, const QString &message) {
                             progress.line(QStringLiteral("%1 %2: %3")
                                               .arg(double(sinceStart.elapsed()) / 1000.0, 8, 'f', 3)
                                               .arg(level, message));
                         });
    }
    QObject::connect(&runner, &sluice::BatchRunner::finished, &app,
                     [](int code) { QCoreApplication::exit(code); });

    int lastSignal = 0;
    std::unique_ptr<QSocketNotifier> signalNotifier;
    if (installSignalHandlers()) {
        signalNotifier = std::make_unique<QSocketNotifier>(g_signalPipe[0], QSocketNotifier::Read);
        QObject::connect(signalNotifier.get(), &QSocketNotifier::activated, &app, [&] {
            char byte = 0;
            while (::read(g_signalPipe[0], &byte, 1) == 1)
                lastSignal = byte;
            const qsizetype inFlight = runner.progress().inFlight;
            if (runner.progress().interrupted || inFlight == 0)
                progress.note(QStringLiteral("interrupted: writing the unfinished requests as canceled"));
            else
                progress.note(QStringLiteral("interrupted: nothing new goes out; waiting up to %1 s for %2 "
                                             "request(s) in flight (interrupt again to stop now)")
                                  .arg(kInterruptGrace.count())
                                  .arg(inFlight));
            runner.interrupt();
        });
    } else {
        progress.note(
            QStringLiteral("could not install the SIGINT handler: Ctrl+C will not write canceled results"));
    }

    QElapsedTimer elapsed;
    elapsed.start();
    if (!runner.start(input, output, &error)) {
        progress.finish();
        g_printer = nullptr;
        printErr(QStringLiteral("sluice: %1\n").arg(error));
        return sluice::BatchRunner::kExitErrored;
    }
    int code = app.exec();
    progress.finish();
    g_printer = nullptr;
    output.close();

    const sluice::BatchProgress p = runner.progress();
    if (!runner.outputError().isEmpty())
        printErr(QStringLiteral("sluice: %1\n").arg(runner.outputError()));
    printErr(
        QStringLiteral("sluice: %1 result(s) written to %2 in %3 s: %4 succeeded, %5 errored, %6 canceled; "
                       "%7 429s, %8 retries\n")
            .arg(p.done)
            .arg(run.output == QLatin1String("-") ? QStringLiteral("standard output") : run.output)
            .arg(double(elapsed.elapsed()) / 1000.0, 0, 'f', 1)
            .arg(p.succeeded)
            .arg(p.errored)
            .arg(p.canceled)
            .arg(p.rateLimited)
            .arg(p.retries));
    if (code == sluice::BatchRunner::kExitInterrupted && lastSignal == SIGTERM)
        code = 128 + SIGTERM;
    return code;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication::setOrganizationName(QStringLiteral("Sluice"));
    QCoreApplication::setApplicationName(QStringLiteral("sluice"));
    QCoreApplication::setApplicationVersion(QStringLiteral(SLUICE_VERSION));

    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments << QString::fromLocal8Bit(argv[i]);

    QCommandLineParser parser;
    describe(parser);
    const Invocation run = parseCommandLine(parser, arguments, QProcessEnvironment::systemEnvironment());

    switch (run.action) {
    case Invocation::Action::HelpOrVersion: {
        QCoreApplication app(argc, argv);
        parser.process(app); // prints help or version and exits
        return 0;
    }
    case Invocation::Action::PrintConfig:
        return printOut(run.config.toJson());
    case Invocation::Action::PrintExample:
        return printExample();
    case Invocation::Action::Fail:
        return fail(run.errors);
    case Invocation::Action::RunHeadless:
        return runHeadless(argc, argv, run);
    case Invocation::Action::RunGui:
        break;
    }
    return sluice::runGui(argc, argv, run.config);
}
