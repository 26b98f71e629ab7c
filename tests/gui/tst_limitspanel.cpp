// LimitsPanel: Apply validates with the config's rules, shows errors beside fields, persists to QSettings
// "limits" and emits the option structs; reset restores defaults; unshown fields survive.
#include "limitspanel.h"

#include "fielderror.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QtTest>

using namespace sluice;

Q_DECLARE_METATYPE(sluice::LimitOptions)
Q_DECLARE_METATYPE(sluice::BackoffOptions)
Q_DECLARE_METATYPE(sluice::RetryOptions)

class TestLimitsPanel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void applyEmitsAndPersists();
    void invalidBackoffShownBesideField();
    void badTimeZoneShownBesideQuota();
    void restoreReadsSettings();
    void resetToDefaults();
    void unshownFieldsSurvive();
    void serverLimitColumn();
    void applyButtonClick();
};

namespace {
template<typename T> T *field(QWidget &w, int index)
{
    return w.findChildren<T *>().at(index);
}
} // namespace

void TestLimitsPanel::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("SluiceTest"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_limitspanel"));
}

void TestLimitsPanel::init()
{
    QSettings().clear();
}

void TestLimitsPanel::applyEmitsAndPersists()
{
    LimitsPanel panel;
    QSignalSpy spy(&panel, &LimitsPanel::applied);
    LimitOptions l;
    l.requests.perMinute = 50;
    l.inputTokens.perMinute = 30000;
    l.inputTokens.kind = LimiterKind::SlidingWindow;
    l.outputTokens.perMinute = 8000;
    l.concurrency = 4;
    l.dailyQuota = 1000;
    l.dailyQuotaTimeZone = "Europe/Paris";
    l.burstSeconds = 2;
    BackoffOptions b;
    b.initialDelay = 250ms;
    b.multiplier = 3;
    b.maxDelay = 20s;
    b.jitter = JitterMode::Equal;
    b.maxAttempts = 7;
    RetryOptions r;
    r.budget.enabled = false;
    r.budget.capacity = 100;
    panel.setOptions(l, b, r);
    QVERIFY(panel.apply());
    QCOMPARE(spy.count(), 1);
    QCOMPARE(qvariant_cast<LimitOptions>(spy.at(0).at(0)), l);
    QCOMPARE(qvariant_cast<BackoffOptions>(spy.at(0).at(1)), b);
    QCOMPARE(qvariant_cast<RetryOptions>(spy.at(0).at(2)), r);

    QSettings s;
    QCOMPARE(s.value(QStringLiteral("limits/requests_per_minute")).toDouble(), 50.0);
    QCOMPARE(s.value(QStringLiteral("limits/input_tokens_limiter")).toString(),
             QStringLiteral("sliding_window"));
    QCOMPARE(s.value(QStringLiteral("limits/daily_quota_time_zone")).toString(),
             QStringLiteral("Europe/Paris"));
    QCOMPARE(s.value(QStringLiteral("limits/backoff_initial_ms")).toDouble(), 250.0);
    QCOMPARE(s.value(QStringLiteral("limits/backoff_jitter")).toString(), QStringLiteral("equal"));
    QCOMPARE(s.value(QStringLiteral("limits/retry_budget_enabled")).toBool(), false);
}

void TestLimitsPanel::invalidBackoffShownBesideField()
{
    LimitsPanel panel;
    QSignalSpy spy(&panel, &LimitsPanel::applied);
    BackoffOptions b;
    b.initialDelay = 2000ms;
    b.maxDelay = 1s;
    panel.setOptions({}, b, {});
    QVERIFY(!panel.apply());
    QCOMPARE(spy.count(), 0);
    QCOMPARE(panel.errors().size(), 1);
    QVERIFY(panel.errors().first().startsWith(QStringLiteral("backoff.max_ms:")));
    // Exactly one field error is shown, and it says what is wrong.
    QStringList shown;
    for (FieldError *e : panel.findChildren<FieldError *>())
        if (e->hasError())
            shown << e->error();
    QCOMPARE(shown, QStringList{QStringLiteral("1000 must be >= backoff.initial_ms (2000)")});
    QVERIFY(!QSettings().contains(QStringLiteral("limits/backoff_max_ms")));
}

void TestLimitsPanel::badTimeZoneShownBesideQuota()
{
    LimitsPanel panel;
    LimitOptions l;
    l.dailyQuotaTimeZone = "Mars/Olympus";
    panel.setOptions(l, {}, {});
    QVERIFY(!panel.apply());
    QVERIFY(panel.errors().first().startsWith(QStringLiteral("limits.daily_quota_time_zone")));
    int shown = 0;
    for (FieldError *e : panel.findChildren<FieldError *>())
        shown += e->hasError() && e->error().contains(QStringLiteral("Mars/Olympus"));
    QCOMPARE(shown, 1);
    l.dailyQuotaTimeZone = "UTC";
    panel.setOptions(l, {}, {});
    QVERIFY(panel.apply());
    for (FieldError *e : panel.findChildren<FieldError *>())
        QVERIFY(!e->hasError()); // fixed: the error is gone
}

void TestLimitsPanel::restoreReadsSettings()
{
    {
        QSettings s;
        s.setValue(QStringLiteral("limits/requests_per_minute"), 120);
        s.setValue(QStringLiteral("limits/output_tokens_limiter"), QStringLiteral("sliding_window"));
        s.setValue(QStringLiteral("limits/concurrency"), 3);
        s.setValue(QStringLiteral("limits/backoff_max_attempts"), 9);
        s.setValue(QStringLiteral("limits/backoff_multiplier"), QStringLiteral("garbage"));
    }
    LimitsPanel panel;
    QSettings s;
    QVERIFY(panel.restore(s));
    QCOMPARE(panel.limitOptions().requests.perMinute, 120.0);
    QCOMPARE(panel.limitOptions().outputTokens.kind, LimiterKind::SlidingWindow);
    QCOMPARE(panel.limitOptions().concurrency, 3);
    QCOMPARE(panel.backoffOptions().maxAttempts, 9);
    QCOMPARE(panel.backoffOptions().multiplier,
             BackoffOptions{}.multiplier); // garbage kept the current value

    QSettings().clear();
    LimitsPanel fresh;
    QVERIFY(!fresh.restore(s));
}

void TestLimitsPanel::resetToDefaults()
{
    LimitsPanel panel;
    LimitOptions l;
    l.requests.perMinute = 7;
    l.concurrency = 1;
    panel.setOptions(l, {}, {});
    QVERIFY(panel.apply());
    QSignalSpy spy(&panel, &LimitsPanel::applied);
    panel.resetToDefaults();
    QCOMPARE(spy.count(), 1);
    QCOMPARE(qvariant_cast<LimitOptions>(spy.at(0).at(0)), LimitOptions{});
    QCOMPARE(qvariant_cast<BackoffOptions>(spy.at(0).at(1)), BackoffOptions{});
    QCOMPARE(QSettings().value(QStringLiteral("limits/requests_per_minute")).toDouble(), 0.0);
}

void TestLimitsPanel::unshownFieldsSurvive()
{
    LimitsPanel panel;
    BackoffOptions b;
    b.seed = 42;
    b.jitterFraction = 0.3;
    RetryOptions r;
    r.budget.retryCost = 7;
    r.maxRateLimitWaits = 11;
    panel.setOptions({}, b, r);
    QSettings s;
    s.setValue(QStringLiteral("limits/backoff_max_attempts"), 3);
    panel.restore(s);
    QCOMPARE(panel.backoffOptions().seed, quint64(42));
    QCOMPARE(panel.backoffOptions().jitterFraction, 0.3);
    QCOMPARE(panel.backoffOptions().maxAttempts, 3);
    QCOMPARE(panel.retryOptions().budget.retryCost, 7.0);
    QCOMPARE(panel.retryOptions().maxRateLimitWaits, 11);
}

void TestLimitsPanel::serverLimitColumn()
{
    LimitsPanel panel;
    QCOMPARE(panel.serverLimitText(QStringLiteral("requests")), QString());
    panel.setServerLimit(QStringLiteral("requests"), 50, true);
    QCOMPARE(panel.serverLimitText(QStringLiteral("requests")), QStringLiteral("Server: 50/min (in force)"));
    panel.setServerLimit(QStringLiteral("input tokens"), 2e6, false);
    QCOMPARE(panel.serverLimitText(QStringLiteral("input_tokens")),
             QStringLiteral("Server: 2M/min (configured kept)"));
    panel.setServerLimit(QStringLiteral("requests"), 0, false);
    QCOMPARE(panel.serverLimitText(QStringLiteral("requests")), QString());
}

void TestLimitsPanel::applyButtonClick()
{
    LimitsPanel panel;
    panel.show();
    QSignalSpy spy(&panel, &LimitsPanel::applied);
    // The first spin box is requests/min: type a value as a user would.
    auto *rpm = field<QDoubleSpinBox>(panel, 0);
    rpm->selectAll();
    QTest::keyClicks(rpm, QStringLiteral("60"));
    QPushButton *apply = nullptr;
    for (QPushButton *b : panel.findChildren<QPushButton *>())
        if (b->text().remove(QLatin1Char('&')) == QStringLiteral("Apply"))
            apply = b;
    QVERIFY(apply);
    QTest::mouseClick(apply, Qt::LeftButton);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(qvariant_cast<LimitOptions>(spy.at(0).at(0)).requests.perMinute, 60.0);
}

QTEST_MAIN(TestLimitsPanel)
#include "tst_limitspanel.moc"
