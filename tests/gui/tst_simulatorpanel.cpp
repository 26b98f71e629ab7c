// SimulatorPanel: edits SimOptions, keeps unshown fields, rejects fault rates above 100 % in total.
#include "simulatorpanel.h"

#include "fielderror.h"

#include <QDoubleSpinBox>
#include <QSignalSpy>
#include <QtTest>

using namespace sluice;

Q_DECLARE_METATYPE(sluice::sim::SimOptions)

class TestSimulatorPanel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void roundTripKeepsUnshownFields();
    void percentIsProbability();
    void faultSumAbove100Refused();
    void presetFillsFieldsOnly();
};

void TestSimulatorPanel::roundTripKeepsUnshownFields()
{
    sim::SimOptions o;
    o.requestsPerMinute = 120;
    o.inputTokensPerMinute = 40000;
    o.outputTokensPerMinute = 9000;
    o.enforcementWindowSeconds = 2;
    o.concurrency = 6;
    o.latencyMeanMs = 150;
    o.latencyJitterMs = 40;
    o.msPerOutputToken = 2.5;
    o.p529 = 0.05;
    o.seed = 77;
    o.apiKey = QStringLiteral("test");
    o.outputTokens = 12;
    SimulatorPanel panel;
    panel.setOptions(o);
    QCOMPARE(panel.options(), o);
    QSignalSpy spy(&panel, &SimulatorPanel::optionsApplied);
    QVERIFY(panel.apply());
    QCOMPARE(spy.count(), 1);
    QCOMPARE(qvariant_cast<sim::SimOptions>(spy.at(0).at(0)), o);
}

void TestSimulatorPanel::percentIsProbability()
{
    SimulatorPanel panel;
    panel.faultBox(SimulatorPanel::Fault::P500)->setValue(2.5);
    panel.faultBox(SimulatorPanel::Fault::StreamError)->setValue(10);
    QCOMPARE(panel.options().p500, 0.025);
    QCOMPARE(panel.options().pStreamError, 0.1);
}

void TestSimulatorPanel::faultSumAbove100Refused()
{
    SimulatorPanel panel;
    QSignalSpy spy(&panel, &SimulatorPanel::optionsApplied);
    panel.faultBox(SimulatorPanel::Fault::P529)->setValue(60);
    panel.faultBox(SimulatorPanel::Fault::P500)->setValue(50);
    QVERIFY(!panel.apply());
    QCOMPARE(spy.count(), 0);
    QStringList shown;
    for (FieldError *e : panel.findChildren<FieldError *>())
        if (e->hasError())
            shown << e->error();
    QCOMPARE(shown, QStringList{QStringLiteral("The fault rates add up to 110.0 %; at most 100 %")});
    panel.faultBox(SimulatorPanel::Fault::P500)->setValue(40);
    QVERIFY(panel.apply());
    QCOMPARE(spy.count(), 1);
}

void TestSimulatorPanel::presetFillsFieldsOnly()
{
    SimulatorPanel panel;
    QSignalSpy spy(&panel, &SimulatorPanel::optionsApplied);
    panel.applyPreset(0);
    QCOMPARE(spy.count(), 0);
    QCOMPARE(panel.options().requestsPerMinute, 50.0);
    QCOMPARE(panel.options().inputTokensPerMinute, 30000.0);
    QCOMPARE(panel.options().outputTokensPerMinute, 8000.0);
    panel.applyPreset(2);
    QCOMPARE(panel.options().p529, 0.05);
    QCOMPARE(panel.options().requestsPerMinute, 50.0); // a fault preset leaves the limits alone
}

QTEST_MAIN(TestSimulatorPanel)
#include "tst_simulatorpanel.moc"
