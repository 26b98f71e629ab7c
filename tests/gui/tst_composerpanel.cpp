// ComposerPanel: builds the Messages body, validates beside the fields, Ctrl+Enter and ×N submit.
#include "composerpanel.h"

#include "fielderror.h"
#include "modelcatalog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QJsonArray>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QtTest>

using namespace sluice;

class TestComposerPanel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void bodyFromFields();
    void invalid_data();
    void invalid();
    void ctrlEnterSubmitsOnce();
    void submitManyUsesCount();
    void errorClearsWhenFixed();
    void defaultModel();
    void importEmitsPath();
};

namespace {
QStringList shownErrors(const QWidget &w)
{
    QStringList out;
    for (FieldError *e : w.findChildren<FieldError *>())
        if (e->hasError())
            out << e->error();
    return out;
}
} // namespace

void TestComposerPanel::bodyFromFields()
{
    ComposerPanel c;
    c.modelBox()->setCurrentText(QStringLiteral("claude-haiku-4-5"));
    c.maxTokensBox()->setValue(256);
    c.temperatureBox()->setValue(0.7);
    c.systemEdit()->setPlainText(QStringLiteral("Be brief."));
    c.promptEdit()->setPlainText(QStringLiteral("Hello"));
    c.priorityBox()->setValue(5);
    c.streamBox()->setChecked(true);
    const QJsonObject expected{
        {QStringLiteral("model"), QStringLiteral("claude-haiku-4-5")},
        {QStringLiteral("max_tokens"), 256},
        {QStringLiteral("temperature"), 0.7},
        {QStringLiteral("system"), QStringLiteral("Be brief.")},
        {QStringLiteral("stream"), true},
        {QStringLiteral("messages"),
         QJsonArray{QJsonObject{{QStringLiteral("role"), QStringLiteral("user")},
                                {QStringLiteral("content"), QStringLiteral("Hello")}}}}};
    QCOMPARE(c.requestBody(), expected);
    c.streamBox()->setChecked(false);
    c.systemEdit()->clear();
    QVERIFY(!c.requestBody().contains(QStringLiteral("stream")));
    QVERIFY(!c.requestBody().contains(QStringLiteral("system")));
    QCOMPARE(c.priority(), 5);
}

void TestComposerPanel::invalid_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<int>("maxTokens");
    QTest::addColumn<double>("temperature");
    QTest::addColumn<QString>("prompt");
    QTest::addColumn<QStringList>("errors");
    QTest::addRow("empty prompt") << "claude-sonnet-4-5" << 100 << 0.5 << "  \n "
                                  << QStringList{QStringLiteral("Write a prompt")};
    QTest::addRow("max_tokens 0") << "claude-sonnet-4-5" << 0 << 0.5 << "hi"
                                  << QStringList{QStringLiteral("max_tokens must be at least 1")};
    QTest::addRow("temperature 1.5") << "claude-sonnet-4-5" << 10 << 1.5 << "hi"
                                     << QStringList{
                                            QStringLiteral("Temperature must be between 0.0 and 1.0")};
    QTest::addRow("no model") << "" << 10 << 0.0 << "hi"
                              << QStringList{QStringLiteral("Choose or type a model id")};
    QTest::addRow("all at once") << "bad id" << 0 << 2.0 << ""
                                 << QStringList{QStringLiteral("A model id has no spaces"),
                                                QStringLiteral("max_tokens must be at least 1"),
                                                QStringLiteral("Temperature must be between 0.0 and 1.0"),
                                                QStringLiteral("Write a prompt")};
}

void TestComposerPanel::invalid()
{
    QFETCH(QString, model);
    QFETCH(int, maxTokens);
    QFETCH(double, temperature);
    QFETCH(QString, prompt);
    QFETCH(QStringList, errors);
    ComposerPanel c;
    QSignalSpy spy(&c, &ComposerPanel::submitRequested);
    c.modelBox()->setCurrentText(model);
    c.maxTokensBox()->setValue(maxTokens);
    c.temperatureBox()->setValue(temperature);
    c.promptEdit()->setPlainText(prompt);
    QVERIFY(!c.submit());
    QCOMPARE(spy.count(), 0);
    QStringList shown = shownErrors(c);
    shown.sort();
    errors.sort();
    QCOMPARE(shown, errors);
    QCOMPARE(c.validate().size(), errors.size());
}

void TestComposerPanel::ctrlEnterSubmitsOnce()
{
    ComposerPanel c;
    c.show();
    QVERIFY(QTest::qWaitForWindowExposed(&c));
    QSignalSpy spy(&c, &ComposerPanel::submitRequested);
    c.promptEdit()->setFocus();
    QTest::keyClicks(c.promptEdit(), QStringLiteral("What is a token bucket?"));
    QTest::keyClick(c.promptEdit(), Qt::Key_Return, Qt::ControlModifier);
    QCOMPARE(spy.count(), 1);
    const QJsonObject body = spy.at(0).at(0).toJsonObject();
    QCOMPARE(
        body.value(QStringLiteral("messages")).toArray().at(0).toObject().value(QStringLiteral("content")),
        QJsonValue(QStringLiteral("What is a token bucket?")));
    QCOMPARE(spy.at(0).at(2).toInt(), 1);
}

void TestComposerPanel::submitManyUsesCount()
{
    ComposerPanel c;
    QSignalSpy spy(&c, &ComposerPanel::submitRequested);
    c.promptEdit()->setPlainText(QStringLiteral("load"));
    c.priorityBox()->setValue(-3);
    c.countBox()->setValue(20);
    QTest::mouseClick(c.submitManyButton(), Qt::LeftButton);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(1).toInt(), -3);
    QCOMPARE(spy.at(0).at(2).toInt(), 20);
}

void TestComposerPanel::errorClearsWhenFixed()
{
    ComposerPanel c;
    QVERIFY(!c.submit());
    QCOMPARE(shownErrors(c), QStringList{QStringLiteral("Write a prompt")});
    c.promptEdit()->setPlainText(QStringLiteral("now"));
    QVERIFY(shownErrors(c).isEmpty());
}

void TestComposerPanel::defaultModel()
{
    ComposerPanel c;
    QCOMPARE(c.modelBox()->count(), knownModelIds().size());
    c.setDefaultModel(QStringLiteral("claude-opus-4-1"));
    QCOMPARE(c.modelBox()->currentText(), QStringLiteral("claude-opus-4-1"));
    QCOMPARE(c.modelBox()->count(), knownModelIds().size());
    c.setDefaultModel(QStringLiteral("claude-future-9"));
    QCOMPARE(c.modelBox()->itemText(0), QStringLiteral("claude-future-9"));
    QCOMPARE(c.modelBox()->currentText(), QStringLiteral("claude-future-9"));
}

void TestComposerPanel::importEmitsPath()
{
    ComposerPanel c;
    QSignalSpy spy(&c, &ComposerPanel::importRequested);
    c.importFile(QStringLiteral("/tmp/batch.jsonl"));
    c.importFile(QString()); // a cancelled dialog emits nothing
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toString(), QStringLiteral("/tmp/batch.jsonl"));
}

QTEST_MAIN(TestComposerPanel)
#include "tst_composerpanel.moc"
