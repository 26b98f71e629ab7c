// sluice: the desktop console by default. --help, --version, --print-config, --example-config and every
// configuration error need no display: the command line and the configuration are checked before any
// QApplication exists, because a QApplication on a machine without a display aborts, and `sluice --rpm abc`
// over ssh must say what is wrong.
#include "config.h"
#include "mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QProcessEnvironment>

#include <cstdio>

namespace {

// Exit status for a bad command line or configuration (0 = fine, 1 = a failure while running).
constexpr int kUsageError = 2;

// What this run is going to do, decided from the arguments and the environment alone.
struct Invocation
{
    enum class Action
    {
        RunGui,        // open the console with `config`
        HelpOrVersion, // let QCommandLineParser print --help/--help-all/--version
        PrintConfig,   // print `config` as JSON
        PrintExample,  // print the documented example config
        Fail,          // print `errors`
    };
    Action action = Action::RunGui;
    sluice::Config config;
    QStringList errors;
};

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
    if (!run.errors.isEmpty())
        run.action = Invocation::Action::Fail;
    else if (flags.printConfig)
        run.action = Invocation::Action::PrintConfig;
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
    case Invocation::Action::RunGui:
        break;
    }

    QApplication app(argc, argv);
    sluice::MainWindow window;
    window.show();
    return app.exec();
}
