// The console's "Import JSONL…": every line accounted for, as in headless mode.
#include "batchimport.h"
#include "dispatcher.h"

#include <QTemporaryDir>
#include <QTest>

using namespace sluice;

namespace {

// Accepts attempts and never answers: the test looks only at what the import queued or rejected.
class SilentTransport : public Transport
{
public:
    AttemptId send(const QJsonObject &) override { return ++m_next; }
    void cancel(AttemptId) override {}

private:
    AttemptId m_next = 0;
};

} // namespace

class TestBatchImport : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void everyLineIsAccountedFor()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("batch.jsonl"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        const QByteArray good = "\"params\":{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":16,"
                                "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
        file.write("{\"custom_id\":\"a\"," + good + ",\"priority\":2}\n");
        file.write("this is not json\n");
        file.write("\n");
        file.write("{\"custom_id\":\"b\"," + good + "}\n");
        file.write("{\"custom_id\":\"c\",\"params\":{\"model\":\"claude-sonnet-4-5\",\"messages\":[]}}\n");
        file.close();

        ManualClock clock;
        SilentTransport transport;
        DispatchOptions options;
        options.limits.concurrency = 0;
        Dispatcher dispatcher(transport, clock, options);
        const BatchImportResult r = importBatchFile(nullptr, dispatcher, path);
        QVERIFY(r.error.isEmpty());
        QCOMPARE(r.submitted, 2);
        QCOMPARE(r.rejected,
                 2); // the non-JSON line and the one without max_tokens; the blank line is no request
        QCOMPARE(dispatcher.requestCount(), 4);
        QCOMPARE(dispatcher.request(1)->customId, QStringLiteral("a"));
        QCOMPARE(dispatcher.request(1)->priority, 2);
        QCOMPARE(dispatcher.request(1)->state, RequestState::Queued);
        QCOMPARE(dispatcher.request(2)->state, RequestState::Failed);
        QVERIFY2(dispatcher.request(2)->errorMessage.contains(QStringLiteral("line 2")),
                 qPrintable(dispatcher.request(2)->errorMessage));
        QCOMPARE(dispatcher.request(3)->customId, QStringLiteral("b"));
        QCOMPARE(dispatcher.request(4)->state, RequestState::Failed);
        QVERIFY2(dispatcher.request(4)->errorMessage.contains(QStringLiteral("line 5")) &&
                     dispatcher.request(4)->errorMessage.contains(QStringLiteral("max_tokens")),
                 qPrintable(dispatcher.request(4)->errorMessage));
        QVERIFY(r.summary().contains(QStringLiteral("2 requests queued")));
    }

    void unreadableFileSaysWhy()
    {
        ManualClock clock;
        SilentTransport transport;
        Dispatcher dispatcher(transport, clock);
        const BatchImportResult r =
            importBatchFile(nullptr, dispatcher, QStringLiteral("/nonexistent/x.jsonl"));
        QVERIFY(r.error.contains(QStringLiteral("/nonexistent/x.jsonl")));
        QCOMPARE(dispatcher.requestCount(), 0);
    }
};

QTEST_MAIN(TestBatchImport)
#include "tst_batchimport.moc"
