#include "tokenestimator.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace sluice;

class TestTokenEstimator : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void estimate_data();
    void estimate();
};

void TestTokenEstimator::estimate_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<qint64>("tokens");
    QTest::addRow("hello world") << QByteArray(R"({"messages":[{"role":"user","content":"Hello, world"}]})")
                                 << qint64(10);
    QTest::addRow("no messages") << QByteArray(R"({})") << qint64(3);
    QTest::addRow("empty text") << QByteArray(R"({"messages":[{"role":"user","content":""}]})") << qint64(7);
    QTest::addRow("one char") << QByteArray(R"({"messages":[{"role":"user","content":"a"}]})") << qint64(8);
    QTest::addRow("system string") << QByteArray(R"({"system":"abcdefgh","messages":[]})")
                                   << qint64(3 + 2 + 2);
    QTest::addRow("system blocks") << QByteArray(
                                          R"({"system":[{"type":"text","text":"abcde"}],"messages":[]})")
                                   << qint64(3 + 2 + 2);
    QTest::addRow("two turns")
        << QByteArray(
               R"({"messages":[{"role":"user","content":"abcd"},{"role":"assistant","content":"abcdefghi"}]})")
        << qint64(3 + 4 + 1 + 4 + 3);
    // A non-text block counts its compact JSON: {"type":"image","x":1} is 22 characters -> 6 tokens.
    QTest::addRow("image block")
        << QByteArray(R"({"messages":[{"role":"user","content":[{"type":"image","x":1}]}]})")
        << qint64(3 + 4 + 6);
    QTest::addRow("tools") << QByteArray(R"({"messages":[],"tools":[{"name":"ab"}]})") << qint64(3 + 4);
}

void TestTokenEstimator::estimate()
{
    QFETCH(QByteArray, json);
    QFETCH(qint64, tokens);
    QCOMPARE(TokenEstimator::estimateInputTokens(QJsonDocument::fromJson(json).object()), tokens);
}

QTEST_APPLESS_MAIN(TestTokenEstimator)
#include "tst_tokenestimator.moc"
