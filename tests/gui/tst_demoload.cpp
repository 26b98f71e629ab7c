// DemoLoad: the demo's requests are varied, valid-looking and the same every time; the demo faults apply only
// to a fault-free simulator; the squeeze quarters the request limit.
#include "demoload.h"

#include <QJsonArray>
#include <QSet>
#include <QtTest>

using namespace sluice;

class TestDemoLoad : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void firstRequests_data();
    void firstRequests();
    void variedAndRepeatable();
    void numberingContinues();
    void faultsOnlyForAFaultFreeSimulator();
    void squeeze_data();
    void squeeze();
};

void TestDemoLoad::firstRequests_data()
{
    QTest::addColumn<int>("index");
    QTest::addColumn<QString>("customId");
    QTest::addColumn<int>("priority");
    QTest::addColumn<int>("maxTokens");
    QTest::addColumn<QString>("model");
    QTest::addColumn<bool>("stream");
    QTest::addRow("1st") << 0 << "demo-0001" << 0 << 64 << "claude-haiku-4-5" << false;
    QTest::addRow("2nd") << 1 << "demo-0002" << 3 << 256 << "claude-haiku-4-5" << false;
    QTest::addRow("3rd") << 2 << "demo-0003" << 2 << 192 << "claude-haiku-4-5" << true;
    QTest::addRow("4th") << 3 << "demo-0004" << 1 << 128 << "claude-sonnet-4-5" << false;
}

void TestDemoLoad::firstRequests()
{
    QFETCH(int, index);
    QFETCH(QString, customId);
    QFETCH(int, priority);
    QFETCH(int, maxTokens);
    QFETCH(QString, model);
    QFETCH(bool, stream);
    const std::vector<DemoRequest> all = demoRequests(4);
    QCOMPARE(all.size(), size_t(4));
    const DemoRequest &r = all[size_t(index)];
    QCOMPARE(r.customId, customId);
    QCOMPARE(r.priority, priority);
    QCOMPARE(r.body.value(QStringLiteral("max_tokens")).toInt(), maxTokens);
    QCOMPARE(r.body.value(QStringLiteral("model")).toString(), model);
    QCOMPARE(r.body.value(QStringLiteral("stream")).toBool(), stream);
    const QJsonArray messages = r.body.value(QStringLiteral("messages")).toArray();
    QCOMPARE(messages.size(), 1);
    QCOMPARE(messages[0].toObject().value(QStringLiteral("role")).toString(), QStringLiteral("user"));
    QVERIFY(!messages[0].toObject().value(QStringLiteral("content")).toString().isEmpty());
}

void TestDemoLoad::variedAndRepeatable()
{
    const std::vector<DemoRequest> a = demoRequests(24);
    const std::vector<DemoRequest> b = demoRequests(24);
    QSet<QString> prompts, ids;
    QSet<int> priorities, maxTokens;
    int streamed = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        QCOMPARE(a[i].body, b[i].body);
        QCOMPARE(a[i].priority, b[i].priority);
        prompts << a[i].body.value(QStringLiteral("messages"))
                       .toArray()[0]
                       .toObject()
                       .value(QStringLiteral("content"))
                       .toString();
        ids << a[i].customId;
        priorities << a[i].priority;
        maxTokens << a[i].body.value(QStringLiteral("max_tokens")).toInt();
        streamed += a[i].body.value(QStringLiteral("stream")).toBool() ? 1 : 0;
    }
    QCOMPARE(ids.size(), 24);
    QCOMPARE(prompts.size(), 12);
    QCOMPARE(priorities, (QSet<int>{0, 1, 2, 3}));
    QCOMPARE(maxTokens, (QSet<int>{64, 128, 192, 256}));
    QCOMPARE(streamed, 8);
    QVERIFY(demoRequests(0).empty());
    QVERIFY(demoRequests(-3).empty());
}

void TestDemoLoad::numberingContinues()
{
    const std::vector<DemoRequest> next = demoRequests(2, 201);
    QCOMPARE(next[0].customId, QStringLiteral("demo-0201"));
    QCOMPARE(next[1].customId, QStringLiteral("demo-0202"));
    QCOMPARE(next[0].body, demoRequests(201).back().body);
}

void TestDemoLoad::faultsOnlyForAFaultFreeSimulator()
{
    const sim::SimOptions clean = sim::SimOptions::demo();
    const sim::SimOptions faulty = withDemoFaults(clean);
    QCOMPARE(faulty.p529, 0.02);
    QCOMPARE(faulty.p500, 0.01);
    QCOMPARE(faulty.pReset, 0.01);
    QCOMPARE(faulty.pStall, 0.0);
    QCOMPARE(faulty.requestsPerMinute, clean.requestsPerMinute);
    QCOMPARE(faulty.validate(), QString());

    sim::SimOptions chosen = clean;
    chosen.pStall = 0.05; // the user set a fault: the demo leaves every rate alone
    QCOMPARE(withDemoFaults(chosen), chosen);
}

void TestDemoLoad::squeeze_data()
{
    QTest::addColumn<double>("before");
    QTest::addColumn<double>("after");
    QTest::addRow("300 -> 75") << 300.0 << 75.0;
    QTest::addRow("50 -> 13 (12.5 rounded)") << 50.0 << 13.0;
    QTest::addRow("1 -> at least 1") << 1.0 << 1.0;
    QTest::addRow("off stays off") << 0.0 << 0.0;
}

void TestDemoLoad::squeeze()
{
    QFETCH(double, before);
    QFETCH(double, after);
    sim::SimOptions o = sim::SimOptions::demo();
    o.requestsPerMinute = before;
    const sim::SimOptions squeezed = withSqueezedRequests(o);
    QCOMPARE(squeezed.requestsPerMinute, after);
    QCOMPARE(squeezed.inputTokensPerMinute, o.inputTokensPerMinute);
}

QTEST_MAIN(TestDemoLoad)
#include "tst_demoload.moc"
