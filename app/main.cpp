// sluice: the desktop console by default; --version, --help (and later --headless) need no display.
#include "mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>

#include <cstring>
#include <memory>

namespace {

// Decides before any QApplication exists whether this run needs a display at all: a QApplication on a machine
// without one aborts, and `sluice --help` must work over ssh.
bool needsNoDisplay(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (!std::strcmp(a, "--help") || !std::strcmp(a, "-h") || !std::strcmp(a, "--help-all") ||
            !std::strcmp(a, "--version") || !std::strcmp(a, "-v") || !std::strcmp(a, "--headless"))
            return true;
    }
    return false;
}

void describe(QCommandLineParser &parser)
{
    parser.setApplicationDescription(
        QStringLiteral("Sluice dispatches requests to the Claude Messages API without tripping its limits,\n"
                       "and shows what it is doing live."));
    parser.addHelpOption();
    parser.addVersionOption();
}

} // namespace

int main(int argc, char **argv)
{
    std::unique_ptr<QCoreApplication> app;
    if (needsNoDisplay(argc, argv))
        app = std::make_unique<QCoreApplication>(argc, argv);
    else
        app = std::make_unique<QApplication>(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("Sluice"));
    QCoreApplication::setApplicationName(QStringLiteral("sluice"));
    QCoreApplication::setApplicationVersion(QStringLiteral(SLUICE_VERSION));

    QCommandLineParser parser;
    describe(parser);
    parser.process(*app);

    sluice::MainWindow window;
    window.show();
    return app->exec();
}
