// LogModel, LogFilterModel and LogView: bounded row-level log, redaction, level and text filters.
#include "logfiltermodel.h"
#include "logmodel.h"
#include "logview.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QLineEdit>
#include <QListView>
#include <QSignalSpy>
#include <QtTest>

using namespace sluice;

class TestLogModel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void appendsAtEnd();
    void capRemovesOldestRowLevel();
    void redaction_data();
    void redaction();
    void levelNames();
    void filterByLevelAndText();
    void viewFiltersAndCounts();
    void copySelectedLines();
};

void TestLogModel::appendsAtEnd()
{
    LogModel m;
    QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy inserted(&m, &QAbstractItemModel::rowsInserted);
    const QDateTime t(QDate(2026, 1, 2), QTime(3, 4, 5, 678));
    m.append(LogModel::Level::Warning, QStringLiteral("429 on req-3"), t);
    QCOMPARE(m.rowCount(), 1);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(inserted.at(0).at(1).toInt(), 0);
    QCOMPARE(m.index(0).data().toString(), QStringLiteral("03:04:05.678  WARNING  429 on req-3"));
    QCOMPARE(m.index(0).data(LogModel::TimeRole).toDateTime(), t);
    QCOMPARE(m.index(0).data(LogModel::LevelRole).toInt(), int(LogModel::Level::Warning));
    m.append(QStringLiteral("error"), QStringLiteral("boom"));
    QCOMPARE(m.entry(1).level, LogModel::Level::Error);
}

void TestLogModel::capRemovesOldestRowLevel()
{
    LogModel m(nullptr, 3);
    QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy removed(&m, &QAbstractItemModel::rowsRemoved);
    QSignalSpy reset(&m, &QAbstractItemModel::modelReset);
    for (const char *s : {"a", "b", "c", "d", "e"})
        m.append(LogModel::Level::Info, QString::fromLatin1(s));
    QCOMPARE(m.rowCount(), 3);
    QCOMPARE(m.entry(0).message, QStringLiteral("c"));
    QCOMPARE(m.entry(2).message, QStringLiteral("e"));
    QCOMPARE(removed.count(), 2);
    QCOMPARE(removed.at(0).at(1).toInt(), 0); // always the oldest row
    QCOMPARE(removed.at(0).at(2).toInt(), 0);
    QCOMPARE(reset.count(), 0);
    m.clear();
    QCOMPARE(m.rowCount(), 0);
}

void TestLogModel::redaction_data()
{
    QTest::addColumn<QString>("in");
    QTest::addColumn<QString>("out");
    QTest::addRow("key") << "bad key sk-ant-api03-AbC_12-xyz rejected"
                         << "bad key sk-ant-…[redacted] rejected";
    QTest::addRow("header") << "sent X-API-Key: hunter2 to host"
                            << "sent X-API-Key: [redacted] to host";
    QTest::addRow("clean") << "429 on requests"
                           << "429 on requests";
}

void TestLogModel::redaction()
{
    QFETCH(QString, in);
    QFETCH(QString, out);
    QCOMPARE(LogModel::redactSecrets(in), out);
    LogModel m;
    m.append(LogModel::Level::Error, in);
    QCOMPARE(m.index(0).data(LogModel::MessageRole).toString(), out);
}

void TestLogModel::levelNames()
{
    for (auto l :
         {LogModel::Level::Debug, LogModel::Level::Info, LogModel::Level::Warning, LogModel::Level::Error})
        QCOMPARE(LogModel::levelFromName(LogModel::levelName(l)), l);
    QCOMPARE(LogModel::levelFromName(QStringLiteral("WARN")), LogModel::Level::Warning);
    QCOMPARE(LogModel::levelFromName(QStringLiteral("whatever")), LogModel::Level::Info);
}

void TestLogModel::filterByLevelAndText()
{
    LogModel m(nullptr, 100);
    LogFilterModel f;
    f.setSourceModel(&m);
    QAbstractItemModelTester t1(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester t2(&f, QAbstractItemModelTester::FailureReportingMode::QtTest);
    m.append(LogModel::Level::Debug, QStringLiteral("pump at 1.0 s"));
    m.append(LogModel::Level::Info, QStringLiteral("req-1 succeeded"));
    m.append(LogModel::Level::Warning, QStringLiteral("429 on req-2 (input tokens)"));
    m.append(LogModel::Level::Error, QStringLiteral("req-3 failed: 400"));
    QCOMPARE(f.rowCount(), 4);
    f.setMinimumLevel(LogModel::Level::Warning);
    QCOMPARE(f.rowCount(), 2);
    f.setText(QStringLiteral("REQ-3"));
    QCOMPARE(f.rowCount(), 1);
    QCOMPARE(f.index(0, 0).data(LogModel::MessageRole).toString(), QStringLiteral("req-3 failed: 400"));
    m.append(LogModel::Level::Error, QStringLiteral("req-3 retried"));
    QCOMPARE(f.rowCount(), 2); // a new matching line shows up through the proxy
    m.append(LogModel::Level::Info, QStringLiteral("req-3 info"));
    QCOMPARE(f.rowCount(), 2);
}

void TestLogModel::viewFiltersAndCounts()
{
    LogModel m;
    LogView view(&m);
    view.show();
    for (int i = 0; i < 10; ++i)
        m.append(i % 2 ? LogModel::Level::Warning : LogModel::Level::Info, QStringLiteral("line %1").arg(i));
    QCOMPARE(view.countText(), QStringLiteral("10 of 10 lines"));
    view.levelBox()->setCurrentIndex(2); // warnings and errors
    QCOMPARE(view.countText(), QStringLiteral("5 of 10 lines"));
    QTest::keyClicks(view.filterEdit(), QStringLiteral("line 7"));
    QCOMPARE(view.countText(), QStringLiteral("1 of 10 lines"));
}

void TestLogModel::copySelectedLines()
{
    LogModel m;
    LogView view(&m);
    const QDateTime t(QDate(2026, 1, 1), QTime(12, 0));
    m.append(LogModel::Level::Info, QStringLiteral("one"), t);
    m.append(LogModel::Level::Info, QStringLiteral("two"), t);
    view.listView()->selectAll();
    view.copySelection();
    QCOMPARE(QApplication::clipboard()->text(),
             QStringLiteral("12:00:00.000  INFO     one\n12:00:00.000  INFO     two"));
}

QTEST_MAIN(TestLogModel)
#include "tst_logmodel.moc"
