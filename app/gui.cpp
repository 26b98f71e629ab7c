// The desktop console's start.
//
// Demo or live. The key comes from ANTHROPIC_API_KEY (already in `config`) or, failing that, the OS keychain
// (the settings dialog stores it there); the endpoint from --base-url / ANTHROPIC_BASE_URL / the config file,
// or the one saved by the settings dialog. With no key and no endpoint of the user's own, Sluice starts
// sluice-sim in this process and runs against it ("demo mode"), so the console is alive on first start.
// Changing the key or endpoint later applies to new attempts at once; leaving demo mode needs the window
// rebuilt, so Sluice offers to restart.
#include "gui.h"

#include "batchimport.h"
#include "dispatcher.h"
#include "keystore.h"
#include "logmodel.h"
#include "mainwindow.h"
#include "settingsdialog.h"
#include "simserver.h"
#include "transport/messagesclient.h"

#include <QApplication>
#include <QEventLoop>
#include <QMessageBox>
#include <QProcess>
#include <QTimer>

#include <memory>

namespace sluice {

namespace {

// Reads the key from the OS keychain, waiting at most `timeoutMs` (the keychain may be locked or absent; the
// console must still start).
QString readStoredKey(int timeoutMs)
{
    std::unique_ptr<KeyStore> store = KeyStore::create();
    QString key;
    QEventLoop loop;
    QObject::connect(store.get(), &KeyStore::readFinished, &loop,
                     [&](const QString &, const QString &secret, const QString &) {
                         key = secret;
                         loop.quit();
                     });
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    store->read(KeyStore::apiKeyAccount());
    loop.exec();
    return key;
}

} // namespace

int runGui(int &argc, char **argv, const Config &config)
{
    QApplication app(argc, argv);
    QApplication::setApplicationDisplayName(QStringLiteral("Sluice"));

    QString key = config.apiKey;
    if (key.isEmpty())
        key = readStoredKey(3000);
    const Config defaults;
    QUrl baseUrl = config.baseUrl;
    if (baseUrl == defaults.baseUrl)
        baseUrl = SettingsDialog::storedBaseUrl(defaults.baseUrl);
    const bool demo = key.isEmpty() && baseUrl == defaults.baseUrl;

    std::unique_ptr<sim::SimServer> simulator;
    if (demo) {
        simulator = std::make_unique<sim::SimServer>(sim::SimOptions::demo());
        if (!simulator->listen(0)) {
            QMessageBox::critical(
                nullptr, QStringLiteral("Sluice"),
                QObject::tr("Demo mode: the built-in simulator could not listen on 127.0.0.1."));
            return 1;
        }
        baseUrl = simulator->baseUrl();
    }

    SteadyClock clock;
    MessagesClient client(baseUrl, key, config.transport, clock);
    Dispatcher dispatcher(client, clock, DispatchOptions::fromConfig(config));
    MainWindow window(dispatcher, clock, simulator.get());
    window.setEndpoint(baseUrl);

    QObject::connect(&window, &MainWindow::importRequested, &window, [&](const QString &path) {
        const BatchImportResult r = importBatchFile(&window, dispatcher, path);
        if (!r.error.isEmpty())
            QMessageBox::warning(&window, QObject::tr("Import JSONL"), r.summary());
        else
            window.logModel()->append(QStringLiteral("info"),
                                      QObject::tr("Imported %1: %2").arg(path, r.summary()));
    });
    auto offerRestart = [&] {
        const auto answer = QMessageBox::question(
            &window, QStringLiteral("Sluice"),
            QObject::tr("Sluice is in demo mode. Restart now to use the new endpoint and key?"));
        if (answer == QMessageBox::Yes) {
            QStringList args = QCoreApplication::arguments();
            const QString program = args.takeFirst();
            QProcess::startDetached(program, args);
            window.close();
        }
    };
    QObject::connect(&window, &MainWindow::apiKeyChanged, &window, [&](const QString &newKey) {
        key = newKey;
        if (demo)
            offerRestart();
        else
            client.setEndpoint(client.baseUrl(), key);
    });
    QObject::connect(&window, &MainWindow::baseUrlChanged, &window, [&](const QUrl &url) {
        if (demo) {
            offerRestart();
            return;
        }
        client.setEndpoint(url, key);
        window.setEndpoint(url);
    });

    window.show();
    return app.exec();
}

} // namespace sluice
