// SettingsDialog and MemoryKeyStore: the key goes to the KeyStore and never to QSettings; the URL is
// validated beside its field; store errors keep the dialog open.
#include "memorykeystore.h"
#include "settingsdialog.h"

#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QtTest>

using namespace sluice;

namespace {
const QString kKey = QStringLiteral("sk-ant-api03-TESTKEY-0123456789");

// Every value in every QSettings key, as text: the key must be in none of them.
QString allSettingsText()
{
    QSettings s;
    QString all;
    for (const QString &k : s.allKeys())
        all += k + QLatin1Char('=') + s.value(k).toString() + QLatin1Char('\n');
    return all;
}
} // namespace

class TestSettingsDialog : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void memoryStoreIsAsynchronous();
    void keyGoesToStoreNotSettings();
    void keyFieldIsPassword();
    void storedKeyIsNotShown();
    void badUrl_data();
    void badUrl();
    void storeErrorKeepsDialogOpen();
    void forgetKey();
};

void TestSettingsDialog::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("SluiceTest"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_settingsdialog"));
}

void TestSettingsDialog::init()
{
    QSettings().clear();
}

void TestSettingsDialog::memoryStoreIsAsynchronous()
{
    MemoryKeyStore store;
    QSignalSpy written(&store, &KeyStore::writeFinished);
    QSignalSpy read(&store, &KeyStore::readFinished);
    store.write(QStringLiteral("a"), QStringLiteral("secret"));
    QCOMPARE(written.count(), 0); // never from inside the call
    QVERIFY(written.wait(1000));
    QCOMPARE(written.at(0).at(1).toString(), QString());
    store.read(QStringLiteral("a"));
    QVERIFY(read.wait(1000));
    QCOMPARE(read.at(0).at(1).toString(), QStringLiteral("secret"));
    store.read(QStringLiteral("missing"));
    QVERIFY(read.wait(1000));
    QCOMPARE(read.at(1).at(1).toString(), QString()); // missing: empty, not an error
    QCOMPARE(read.at(1).at(2).toString(), QString());
}

void TestSettingsDialog::keyGoesToStoreNotSettings()
{
    MemoryKeyStore store;
    SettingsDialog dialog(&store);
    QSignalSpy urlChanged(&dialog, &SettingsDialog::baseUrlChanged);
    QSignalSpy keyChanged(&dialog, &SettingsDialog::apiKeyChanged);
    QSignalSpy finished(&dialog, &QDialog::finished);
    dialog.baseUrlEdit()->setText(QStringLiteral("http://127.0.0.1:8080"));
    dialog.keyEdit()->setText(kKey);
    QVERIFY(dialog.save());
    QVERIFY(finished.wait(1000));
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
    QCOMPARE(store.secret(KeyStore::apiKeyAccount()), kKey);
    QCOMPARE(keyChanged.count(), 1);
    QCOMPARE(urlChanged.count(), 1);
    QCOMPARE(urlChanged.at(0).at(0).toUrl(), QUrl(QStringLiteral("http://127.0.0.1:8080")));
    QCOMPARE(SettingsDialog::storedBaseUrl(), QUrl(QStringLiteral("http://127.0.0.1:8080")));
    const QString settings = allSettingsText();
    QVERIFY(settings.contains(QStringLiteral("127.0.0.1:8080")));
    QVERIFY2(!settings.contains(QStringLiteral("TESTKEY")), qPrintable(settings));
    QVERIFY(dialog.keyEdit()->text().isEmpty()); // not left in the widget either
}

void TestSettingsDialog::keyFieldIsPassword()
{
    MemoryKeyStore store;
    SettingsDialog dialog(&store);
    QCOMPARE(dialog.keyEdit()->echoMode(), QLineEdit::Password);
}

void TestSettingsDialog::storedKeyIsNotShown()
{
    MemoryKeyStore store;
    store.write(KeyStore::apiKeyAccount(), kKey);
    SettingsDialog dialog(&store);
    QTRY_VERIFY_WITH_TIMEOUT(dialog.forgetButton()->isEnabled(), 1000);
    QVERIFY(dialog.keyEdit()->text().isEmpty());
    QVERIFY(dialog.keyStatusText().startsWith(QStringLiteral("A key is kept in memory")));
    QVERIFY(!dialog.keyStatusText().contains(QStringLiteral("TESTKEY")));
    // Saving with an empty field keeps the stored key.
    QVERIFY(dialog.save());
    QCOMPARE(store.secret(KeyStore::apiKeyAccount()), kKey);
}

void TestSettingsDialog::badUrl_data()
{
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("error");
    QTest::addRow("empty") << ""
                           << "Enter the API's base URL, e.g. https://api.anthropic.com";
    QTest::addRow("ftp") << "ftp://example.com"
                         << "Must be an http:// or https:// URL";
    QTest::addRow("no scheme") << "api.anthropic.com"
                               << "Must be an http:// or https:// URL";
    QTest::addRow("query") << "https://x.test/?a=1"
                           << "A base URL has no ?query or #fragment";
}

void TestSettingsDialog::badUrl()
{
    QFETCH(QString, url);
    QFETCH(QString, error);
    MemoryKeyStore store;
    SettingsDialog dialog(&store);
    dialog.baseUrlEdit()->setText(url);
    dialog.keyEdit()->setText(kKey);
    QVERIFY(!dialog.save());
    QCOMPARE(dialog.baseUrlErrorText(), error);
    QVERIFY(!store.contains(KeyStore::apiKeyAccount())); // nothing saved
    QVERIFY(!QSettings().contains(QStringLiteral("connection/base_url")));
}

void TestSettingsDialog::storeErrorKeepsDialogOpen()
{
    MemoryKeyStore store;
    SettingsDialog dialog(&store);
    QSignalSpy finished(&dialog, &QDialog::finished);
    dialog.keyEdit()->setText(kKey);
    store.failNext(QStringLiteral("no OS keychain is available"));
    QVERIFY(dialog.save());
    QTRY_VERIFY_WITH_TIMEOUT(!dialog.keyErrorText().isEmpty(), 1000);
    QCOMPARE(dialog.keyErrorText(),
             QStringLiteral("Not saved in memory (this session only): no OS keychain is "
                            "available"));
    QCOMPARE(finished.count(), 0);
    QVERIFY(!store.contains(KeyStore::apiKeyAccount()));
}

void TestSettingsDialog::forgetKey()
{
    MemoryKeyStore store;
    store.write(KeyStore::apiKeyAccount(), kKey);
    SettingsDialog dialog(&store);
    QSignalSpy keyChanged(&dialog, &SettingsDialog::apiKeyChanged);
    QTRY_VERIFY_WITH_TIMEOUT(dialog.forgetButton()->isEnabled(), 1000);
    QTest::mouseClick(dialog.forgetButton(), Qt::LeftButton);
    QVERIFY(keyChanged.wait(1000));
    QCOMPARE(keyChanged.at(0).at(0).toString(), QString());
    QVERIFY(!store.contains(KeyStore::apiKeyAccount()));
    QVERIFY(!dialog.forgetButton()->isEnabled());
    QVERIFY(dialog.keyStatusText().startsWith(QStringLiteral("No key stored")));
}

QTEST_MAIN(TestSettingsDialog)
#include "tst_settingsdialog.moc"
