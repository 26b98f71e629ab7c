// Config: defaults, the example file, validation messages, layering (file < env < flags) and the key's
// secrecy.
#include "config.h"

#include <QCommandLineParser>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

#include <functional>

using namespace sluice;

Q_DECLARE_METATYPE(sluice::Config)

namespace {

Config with(const std::function<void(Config &)> &change)
{
    Config c;
    change(c);
    return c;
}

QProcessEnvironment makeEnv(const QList<std::pair<QString, QString>> &vars)
{
    QProcessEnvironment env; // empty: the test never reads or changes the real environment
    for (const auto &[name, value] : vars)
        env.insert(name, value);
    return env;
}

// The dotted paths of every setting in a config document; comments ("_...") left out.
QStringList settingPaths(const QJsonObject &obj, const QString &prefix = QString())
{
    QStringList paths;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        if (it.key().startsWith(u'_'))
            continue;
        const QString path = prefix.isEmpty() ? it.key() : prefix + u'.' + it.key();
        if (it.value().isObject())
            paths << settingPaths(it.value().toObject(), path);
        else
            paths << path;
    }
    paths.sort();
    return paths;
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return f.readAll();
}

// Parses a command line the way app/main.cpp does and returns the flags.
ConfigFlags parseFlags(const QStringList &args, QString *parseError = nullptr)
{
    QCommandLineParser parser;
    ConfigFlags::addTo(parser);
    const bool ok = parser.parse(QStringList{QStringLiteral("sluice")} + args);
    if (parseError)
        *parseError = ok ? QString() : parser.errorText();
    return ConfigFlags::read(parser);
}

} // namespace

class TestConfig : public QObject
{
    Q_OBJECT

private slots:
    void defaultsComeFromOptions();
    void defaultsAreValid();
    void exampleFileLoadsAsDefaults();
    void exampleFileShowsEveryField();
    void docsListEveryField();
    void goodValues_data();
    void goodValues();
    void badValue_data();
    void badValue();
    void allErrorsAreCollected();
    void unknownKeysNameTheirPath();
    void commentKeysAreIgnored();
    void notJsonGivesLineAndColumn_data();
    void notJsonGivesLineAndColumn();
    void topLevelMustBeAnObject();
    void fileErrorsNameTheFile();
    void environment_data();
    void environment();
    void flags_data();
    void flags();
    void badFlags_data();
    void badFlags();
    void precedenceFileEnvFlags();
    void emptyConfigPathIsAnError();
    void resolveCollectsEveryLayer();
    void crossFieldRules_data();
    void crossFieldRules();
    void validateChecksCodeBuiltConfig();
    void apiKeyNeverWritten();
    void toJsonRoundTrips();
    void limiterKindNames_data();
    void limiterKindNames();
    void jitterModeNames();
};

void TestConfig::defaultsComeFromOptions()
{
    const Config c;
    QVERIFY(c.limits == LimitOptions{});
    QVERIFY(c.backoff == BackoffOptions{});
    QVERIFY(c.retry == RetryOptions{});
    QVERIFY(c.circuitBreaker == CircuitBreakerOptions{});
    QVERIFY(c.queue == QueueOptions{});
    QVERIFY(c.transport == TransportOptions{});
    QCOMPARE(c.baseUrl, QUrl(QStringLiteral("https://api.anthropic.com")));
    QCOMPARE(c.defaultModel, QStringLiteral("claude-sonnet-4-5"));
    QVERIFY(c.apiKey.isEmpty());

    // toJson writes those defaults in the file's units (milliseconds, names), not restated ones.
    const QJsonObject j = c.toJsonObject();
    QCOMPARE(j["backoff"]["initial_ms"].toDouble(), toMilliseconds(BackoffOptions{}.initialDelay));
    QCOMPARE(j["backoff"]["max_ms"].toDouble(), toMilliseconds(BackoffOptions{}.maxDelay));
    QCOMPARE(j["backoff"]["max_attempts"].toInt(), BackoffOptions{}.maxAttempts);
    QCOMPARE(j["backoff"]["jitter"].toString(), QStringLiteral("full"));
    QCOMPARE(j["limits"]["concurrency"].toInt(), LimitOptions{}.concurrency);
    QCOMPARE(j["limits"]["requests_per_minute"]["limiter"].toString(), QStringLiteral("token_bucket"));
    QCOMPARE(j["limits"]["daily_quota_time_zone"].toString(), QStringLiteral("UTC"));
    QCOMPARE(j["transport"]["request_timeout_ms"].toDouble(),
             toMilliseconds(TransportOptions{}.requestTimeout));
    QCOMPARE(j["queue"]["capacity"].toInteger(), qint64(QueueOptions{}.capacity));
    QCOMPARE(j["retry"]["budget"]["capacity"].toDouble(), RetryBudgetOptions{}.capacity);
    QCOMPARE(j["api"]["base_url"].toString(), QStringLiteral("https://api.anthropic.com"));
}

void TestConfig::defaultsAreValid()
{
    QCOMPARE(Config().validate(), QStringList());
}

void TestConfig::exampleFileLoadsAsDefaults()
{
    const QString path = QFINDTESTDATA("../../resources/sluice.example.json");
    QVERIFY2(!path.isEmpty(), "resources/sluice.example.json not found");
    Config c;
    QStringList errors;
    QVERIFY(Config::loadFile(path, c, errors));
    QCOMPARE(errors, QStringList());
    QCOMPARE(c.toJson(), Config().toJson());
    QVERIFY(c == Config());
}

void TestConfig::exampleFileShowsEveryField()
{
    const QString path = QFINDTESTDATA("../../resources/sluice.example.json");
    const QJsonObject example = QJsonDocument::fromJson(readAll(path)).object();
    QVERIFY(!example.isEmpty());
    QCOMPARE(settingPaths(example), settingPaths(Config().toJsonObject()));
}

void TestConfig::docsListEveryField()
{
    const QString path = QFINDTESTDATA("../../docs/config.md");
    QVERIFY2(!path.isEmpty(), "docs/config.md not found");
    const QString doc = QString::fromUtf8(readAll(path));
    for (QString setting : settingPaths(Config().toJsonObject())) {
        if (setting.endsWith(QStringLiteral(".per_minute")))
            setting.chop(int(qstrlen(".per_minute")));
        QVERIFY2(doc.contains(u'`' + setting + u'`'),
                 qPrintable(setting + QStringLiteral(" is not in the docs")));
    }
    for (const char *flag : {"--config", "--print-config", "--example-config", "--base-url", "--model",
                             "--rpm", "--input-tpm", "--output-tpm", "--concurrency", "--max-retries",
                             "--burst-seconds", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"})
        QVERIFY2(doc.contains(QLatin1StringView(flag)), flag);
}

void TestConfig::goodValues_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<Config>("expected");

    QTest::addRow("empty object is all defaults") << QByteArray("{}") << Config();
    QTest::addRow("rpm as a number") << QByteArray(R"({"limits": {"requests_per_minute": 50}})")
                                     << with([](Config &c) { c.limits.requests.perMinute = 50; });
    QTest::addRow("rpm as an object")
        << QByteArray(
               R"({"limits": {"requests_per_minute": {"per_minute": 4000, "limiter": "sliding_window"}}})")
        << with([](Config &c) {
               c.limits.requests.perMinute = 4000;
               c.limits.requests.kind = LimiterKind::SlidingWindow;
           });
    QTest::addRow("limiter alone keeps the rate")
        << QByteArray(R"({"limits": {"output_tokens_per_minute": {"limiter": "sliding_window"}}})")
        << with([](Config &c) { c.limits.outputTokens.kind = LimiterKind::SlidingWindow; });
    QTest::addRow("tier 1 sonnet") << QByteArray(R"({"limits": {"requests_per_minute": 50,
        "input_tokens_per_minute": 30000, "output_tokens_per_minute": 8000, "concurrency": 4}})")
                                   << with([](Config &c) {
                                          c.limits.requests.perMinute = 50;
                                          c.limits.inputTokens.perMinute = 30000;
                                          c.limits.outputTokens.perMinute = 8000;
                                          c.limits.concurrency = 4;
                                      });
    QTest::addRow("daily quota in a zone")
        << QByteArray(R"({"limits": {"daily_quota": 1000, "daily_quota_time_zone": "America/Los_Angeles"}})")
        << with([](Config &c) {
               c.limits.dailyQuota = 1000;
               c.limits.dailyQuotaTimeZone = "America/Los_Angeles";
           });
    QTest::addRow("burst of a whole minute") << QByteArray(R"({"limits": {"burst_seconds": 60}})")
                                             << with([](Config &c) { c.limits.burstSeconds = 60; });
    QTest::addRow("backoff") << QByteArray(
                                    R"({"backoff": {"initial_ms": 250, "multiplier": 1.5, "max_ms": 8000,
        "max_attempts": 3, "jitter": "proportional", "jitter_fraction": 0.25, "max_server_delay_ms": 60000,
        "seed": 42}})") << with([](Config &c) {
        c.backoff.initialDelay = 250ms;
        c.backoff.multiplier = 1.5;
        c.backoff.maxDelay = 8s;
        c.backoff.maxAttempts = 3;
        c.backoff.jitter = JitterMode::Proportional;
        c.backoff.jitterFraction = 0.25;
        c.backoff.maxServerDelay = 60s;
        c.backoff.seed = 42;
    });
    QTest::addRow("fractional milliseconds") << QByteArray(R"({"backoff": {"initial_ms": 0.5}})")
                                             << with([](Config &c) { c.backoff.initialDelay = 500us; });
    QTest::addRow("retry") << QByteArray(R"({"retry": {"budget": {"enabled": false, "capacity": 100,
        "retry_cost": 2, "timeout_retry_cost": 4, "success_refund": 0.5}, "max_rate_limit_waits": 0}})")
                           << with([](Config &c) {
                                  c.retry.budget = {false, 100, 2, 4, 0.5};
                                  c.retry.maxRateLimitWaits = 0;
                              });
    QTest::addRow("breaker, queue, transport")
        << QByteArray(R"({"circuit_breaker": {"failure_threshold": 1, "cool_off_ms": 5000},
            "queue": {"capacity": 10}, "transport": {"request_timeout_ms": 120000}})")
        << with([](Config &c) {
               c.circuitBreaker = {1, 5s};
               c.queue.capacity = 10;
               c.transport.requestTimeout = 120s;
           });
    QTest::addRow("api")
        << QByteArray(R"({"api": {"base_url": "http://127.0.0.1:8080", "model": "claude-haiku-4-5"}})")
        << with([](Config &c) {
               c.baseUrl = QUrl(QStringLiteral("http://127.0.0.1:8080"));
               c.defaultModel = QStringLiteral("claude-haiku-4-5");
           });
}

void TestConfig::goodValues()
{
    QFETCH(QByteArray, json);
    QFETCH(Config, expected);
    Config c;
    QStringList errors;
    QVERIFY(c.loadJson(json, errors));
    QCOMPARE(errors, QStringList());
    QCOMPARE(c.toJson(), expected.toJson()); // readable on failure
    QVERIFY(c == expected);
}

void TestConfig::badValue_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("error");

    const auto row = [](const char *name, const char *json, const QString &error) {
        QTest::addRow("%s", name) << QByteArray(json) << error;
    };
    row("negative rpm", R"({"limits": {"requests_per_minute": -5}})",
        QStringLiteral("limits.requests_per_minute: -5 must be >= 0"));
    row("negative rpm in object", R"({"limits": {"requests_per_minute": {"per_minute": -1}}})",
        QStringLiteral("limits.requests_per_minute.per_minute: -1 must be >= 0"));
    row("rpm as text", R"({"limits": {"requests_per_minute": "ten"}})",
        QStringLiteral("limits.requests_per_minute: expected a number or an object {\"per_minute\": N, "
                       "\"limiter\": ...}, got a string \"ten\""));
    row("unknown limiter", R"({"limits": {"input_tokens_per_minute": {"limiter": "leaky"}}})",
        QStringLiteral("limits.input_tokens_per_minute.limiter: \"leaky\" is not one of token_bucket, "
                       "sliding_window"));
    row("limiter not a string", R"({"limits": {"input_tokens_per_minute": {"limiter": 2}}})",
        QStringLiteral("limits.input_tokens_per_minute.limiter: expected a string, got a number 2"));
    row("typo in rate object", R"({"limits": {"output_tokens_per_minute": {"perminute": 1}}})",
        QStringLiteral("limits.output_tokens_per_minute.perminute: unknown key (known keys in "
                       "limits.output_tokens_per_minute: per_minute, limiter)"));
    row("concurrency as text", R"({"limits": {"concurrency": "ten"}})",
        QStringLiteral("limits.concurrency: expected a number, got a string \"ten\""));
    row("fractional concurrency", R"({"limits": {"concurrency": 2.5}})",
        QStringLiteral("limits.concurrency: 2.5 must be a whole number"));
    row("negative daily quota", R"({"limits": {"daily_quota": -1}})",
        QStringLiteral("limits.daily_quota: -1 must be >= 0"));
    row("unknown time zone", R"({"limits": {"daily_quota_time_zone": "Mars/Olympus_Mons"}})",
        QStringLiteral(
            "limits.daily_quota_time_zone: \"Mars/Olympus_Mons\" is not a known IANA time zone (e.g. "
            "\"UTC\", \"America/Los_Angeles\")"));
    row("time zone as number", R"({"limits": {"daily_quota_time_zone": 5}})",
        QStringLiteral("limits.daily_quota_time_zone: expected a string, got a number 5"));
    row("zero burst", R"({"limits": {"burst_seconds": 0}})",
        QStringLiteral("limits.burst_seconds: 0 must be > 0"));
    row("burst over a minute", R"({"limits": {"burst_seconds": 61}})",
        QStringLiteral("limits.burst_seconds: 61 must be <= 60"));
    row("unknown jitter", R"({"backoff": {"jitter": "sometimes"}})",
        QStringLiteral(
            "backoff.jitter: \"sometimes\" is not one of none, proportional, full, equal, decorrelated"));
    row("shrinking multiplier", R"({"backoff": {"multiplier": 0.5}})",
        QStringLiteral("backoff.multiplier: 0.5 must be >= 1"));
    row("zero attempts", R"({"backoff": {"max_attempts": 0}})",
        QStringLiteral("backoff.max_attempts: 0 must be >= 1"));
    row("too many attempts", R"({"backoff": {"max_attempts": 1001}})",
        QStringLiteral("backoff.max_attempts: 1001 must be <= 1000"));
    row("jitter fraction over 1", R"({"backoff": {"jitter_fraction": 1.5}})",
        QStringLiteral("backoff.jitter_fraction: 1.5 must be <= 1"));
    row("delay as boolean", R"({"backoff": {"initial_ms": true}})",
        QStringLiteral("backoff.initial_ms: expected a number, got a boolean true"));
    row("delay over a day", R"({"backoff": {"max_server_delay_ms": 86400001}})",
        QStringLiteral("backoff.max_server_delay_ms: 86400001 must be <= 86400000"));
    row("negative seed", R"({"backoff": {"seed": -1}})", QStringLiteral("backoff.seed: -1 must be >= 0"));
    row("budget flag as text", R"({"retry": {"budget": {"enabled": "yes"}}})",
        QStringLiteral("retry.budget.enabled: expected a boolean (true or false), got a string \"yes\""));
    row("negative budget", R"({"retry": {"budget": {"capacity": -1}}})",
        QStringLiteral("retry.budget.capacity: -1 must be >= 0"));
    row("budget as array", R"({"retry": {"budget": []}})",
        QStringLiteral("retry.budget: expected an object, got an array"));
    row("waits as null", R"({"retry": {"max_rate_limit_waits": null}})",
        QStringLiteral("retry.max_rate_limit_waits: expected a number, got null"));
    row("zero failure threshold", R"({"circuit_breaker": {"failure_threshold": 0}})",
        QStringLiteral("circuit_breaker.failure_threshold: 0 must be >= 1"));
    row("zero queue", R"({"queue": {"capacity": 0}})", QStringLiteral("queue.capacity: 0 must be >= 1"));
    row("zero timeout", R"({"transport": {"request_timeout_ms": 0}})",
        QStringLiteral("transport.request_timeout_ms: 0 must be > 0"));
    row("ftp base url", R"({"api": {"base_url": "ftp://x"}})",
        QStringLiteral("api.base_url: \"ftp://x\" must be an http or https URL"));
    row("base url without host", R"({"api": {"base_url": "not a url"}})",
        QStringLiteral("api.base_url: \"not a url\" must be an http or https URL"));
    row("empty model", R"({"api": {"model": ""}})",
        QStringLiteral("api.model: \"\" must name a model, e.g. \"claude-sonnet-4-5\""));
    row("key in a file", R"({"api": {"api_key": "sk-ant-x"}})",
        QStringLiteral(
            "api.api_key: the API key is read only from the ANTHROPIC_API_KEY environment variable, "
            "never from a file"));
    row("section as text", R"({"limits": "fast"})",
        QStringLiteral("limits: expected an object, got a string \"fast\""));
    row("quotes in a bad value are escaped", R"({"backoff": {"jitter": "a\"b"}})",
        QStringLiteral(
            "backoff.jitter: \"a\\\"b\" is not one of none, proportional, full, equal, decorrelated"));
}

void TestConfig::badValue()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, error);
    Config c;
    QStringList errors;
    QVERIFY(!c.loadJson(json, errors));
    QCOMPARE(errors, QStringList{error});
    QVERIFY2(c == Config(), "a bad value must not be applied");
    QVERIFY(!c.toJson().contains("sk-ant-x"));
}

void TestConfig::allErrorsAreCollected()
{
    const QByteArray json = R"({
        "limits": {"requests_per_minute": -5, "concurrency": 4, "burst_seconds": 0},
        "backoff": {"jitter": "sometimes", "max_attempts": 3},
        "api": {"base_url": "ftp://x"},
        "queu": {}
    })";
    Config c;
    QStringList errors;
    QVERIFY(!c.loadJson(json, errors));
    QCOMPARE(errors.size(), 5);
    QCOMPARE(errors[0], QStringLiteral("api.base_url: \"ftp://x\" must be an http or https URL"));
    QCOMPARE(
        errors[1],
        QStringLiteral(
            "backoff.jitter: \"sometimes\" is not one of none, proportional, full, equal, decorrelated"));
    QCOMPARE(errors[2], QStringLiteral("limits.burst_seconds: 0 must be > 0"));
    QCOMPARE(errors[3], QStringLiteral("limits.requests_per_minute: -5 must be >= 0"));
    QVERIFY(errors[4].startsWith(QStringLiteral("queu: unknown key")));
    // The good values beside the bad ones are applied.
    QCOMPARE(c.limits.concurrency, 4);
    QCOMPARE(c.backoff.maxAttempts, 3);
    QCOMPARE(c.limits.requests.perMinute, 0.0);
}

void TestConfig::unknownKeysNameTheirPath()
{
    Config c;
    QStringList errors;
    QVERIFY(
        !c.loadJson(R"({"limts": {}, "backoff": {"initial": 5}, "retry": {"budget": {"cost": 1}}})", errors));
    QCOMPARE(
        errors,
        QStringList({
            QStringLiteral(
                "backoff.initial: unknown key (known keys in backoff: initial_ms, multiplier, max_ms, "
                "max_attempts, jitter_fraction, max_server_delay_ms, seed, jitter; keys starting "
                "with \"_\" are comments)"),
            QStringLiteral("limts: unknown key (known keys at the top level: limits, backoff, retry, "
                           "circuit_breaker, queue, transport, api; keys starting with \"_\" are comments)"),
            QStringLiteral(
                "retry.budget.cost: unknown key (known keys in retry.budget: capacity, retry_cost, "
                "timeout_retry_cost, success_refund, enabled; keys starting with \"_\" are comments)"),
        }));
    QVERIFY(c == Config());
}

void TestConfig::commentKeysAreIgnored()
{
    const QByteArray json = R"({
        "_comment": "top", "_note": {"anything": [1, 2]},
        "limits": {"_comment": "x", "requests_per_minute": {"_comment": "y", "per_minute": 50}},
        "retry": {"budget": {"_comment": "z", "capacity": 100}}
    })";
    Config c;
    QStringList errors;
    QVERIFY(c.loadJson(json, errors));
    QCOMPARE(errors, QStringList());
    QCOMPARE(c.limits.requests.perMinute, 50.0);
    QCOMPARE(c.retry.budget.capacity, 100.0);
}

void TestConfig::notJsonGivesLineAndColumn_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("position");

    // The position is Qt's parse offset, which may be one past the offending character; columns count
    // characters, not bytes (the "é"s are two bytes each: bytes would say column 27).
    QTest::addRow("missing comma")
        << QByteArray("{\n  \"limits\": {\n    \"concurrency\": 8\n    \"daily_quota\": 1\n"
                      "  }\n}\n")
        << QStringLiteral("line 4, column 6");
    QTest::addRow("empty file") << QByteArray("") << QStringLiteral("line 1, column 1");
    QTest::addRow("columns count characters") << QByteArray("{\"api\": {\"model\": \"\xc3\xa9\xc3\xa9\" x}}")
                                              << QStringLiteral("line 1, column 25");
}

void TestConfig::notJsonGivesLineAndColumn()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, position);
    Config c;
    QStringList errors;
    QVERIFY(!c.loadJson(json, errors));
    QCOMPARE(errors.size(), 1);
    QVERIFY2(errors[0].startsWith(QStringLiteral("not valid JSON at ") + position + u':'),
             qPrintable(errors[0]));
}

void TestConfig::topLevelMustBeAnObject()
{
    Config c;
    QStringList errors;
    QVERIFY(!c.loadJson("[1, 2]", errors));
    QCOMPARE(errors, QStringList{QStringLiteral("expected a JSON object at the top level, got an array")});
}

void TestConfig::fileErrorsNameTheFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString missing = dir.filePath(QStringLiteral("missing.json"));
    Config c;
    QStringList errors;
    QVERIFY(!Config::loadFile(missing, c, errors));
    QCOMPARE(errors.size(), 1);
    QVERIFY2(errors[0].startsWith(missing + QStringLiteral(": cannot read the config file: ")),
             qPrintable(errors[0]));

    const QString bad = dir.filePath(QStringLiteral("bad.json"));
    QFile f(bad);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"limits": {"concurrency": -1}})");
    f.close();
    errors.clear();
    QVERIFY(!Config::loadFile(bad, c, errors));
    QCOMPARE(errors, QStringList{bad + QStringLiteral(": limits.concurrency: -1 must be >= 0")});
}

void TestConfig::environment_data()
{
    QTest::addColumn<QStringList>("env"); // NAME=value
    QTest::addColumn<Config>("expected");
    QTest::addColumn<QStringList>("errors");

    QTest::addRow("nothing set") << QStringList() << Config() << QStringList();
    QTest::addRow("key and url") << QStringList{"ANTHROPIC_API_KEY=sk-ant-test",
                                                "ANTHROPIC_BASE_URL=http://127.0.0.1:9000/proxy"}
                                 << with([](Config &c) {
                                        c.apiKey = QStringLiteral("sk-ant-test");
                                        c.baseUrl = QUrl(QStringLiteral("http://127.0.0.1:9000/proxy"));
                                    })
                                 << QStringList();
    QTest::addRow("key keeps no newline")
        << QStringList{"ANTHROPIC_API_KEY=  sk-ant-test\n"}
        << with([](Config &c) { c.apiKey = QStringLiteral("sk-ant-test"); }) << QStringList();
    QTest::addRow("empty means unset")
        << QStringList{"ANTHROPIC_API_KEY=", "ANTHROPIC_BASE_URL= "} << Config() << QStringList();
    QTest::addRow("key with a space")
        << QStringList{"ANTHROPIC_API_KEY=sk-ant secret"} << Config()
        << QStringList{QStringLiteral("ANTHROPIC_API_KEY: must be printable ASCII "
                                      "without spaces (the value is not shown)")};
    QTest::addRow("ftp url") << QStringList{"ANTHROPIC_BASE_URL=ftp://x"} << Config()
                             << QStringList{
                                    QStringLiteral("ANTHROPIC_BASE_URL: \"ftp://x\" must be an http or https "
                                                   "URL")};
}

void TestConfig::environment()
{
    QFETCH(QStringList, env);
    QFETCH(Config, expected);
    QFETCH(QStringList, errors);
    QProcessEnvironment vars;
    for (const QString &v : std::as_const(env))
        vars.insert(v.section(u'=', 0, 0), v.section(u'=', 1));
    Config c;
    QStringList got;
    QCOMPARE(c.applyEnvironment(vars, got), errors.isEmpty());
    QCOMPARE(got, errors);
    QVERIFY(c == expected);
    QVERIFY(!got.join(u'\n').contains(QStringLiteral("secret")));
}

void TestConfig::flags_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<Config>("expected");

    QTest::addRow("none") << QStringList() << Config();
    QTest::addRow("--rpm") << QStringList{"--rpm", "50"}
                           << with([](Config &c) { c.limits.requests.perMinute = 50; });
    QTest::addRow("--input-tpm") << QStringList{"--input-tpm=30000"}
                                 << with([](Config &c) { c.limits.inputTokens.perMinute = 30000; });
    QTest::addRow("--output-tpm") << QStringList{"--output-tpm", "8000"}
                                  << with([](Config &c) { c.limits.outputTokens.perMinute = 8000; });
    QTest::addRow("--concurrency") << QStringList{"--concurrency", "0"}
                                   << with([](Config &c) { c.limits.concurrency = 0; });
    QTest::addRow("--max-retries 2 is 3 attempts")
        << QStringList{"--max-retries", "2"} << with([](Config &c) { c.backoff.maxAttempts = 3; });
    QTest::addRow("--max-retries 0 is 1 attempt")
        << QStringList{"--max-retries", "0"} << with([](Config &c) { c.backoff.maxAttempts = 1; });
    QTest::addRow("--burst-seconds") << QStringList{"--burst-seconds", "2.5"}
                                     << with([](Config &c) { c.limits.burstSeconds = 2.5; });
    QTest::addRow("--base-url") << QStringList{"--base-url", "http://127.0.0.1:8080"} << with([](Config &c) {
        c.baseUrl = QUrl(QStringLiteral("http://127.0.0.1:8080"));
    });
    QTest::addRow("--model") << QStringList{"--model", "claude-haiku-4-5"}
                             << with([](Config &c) { c.defaultModel = QStringLiteral("claude-haiku-4-5"); });
}

void TestConfig::flags()
{
    QFETCH(QStringList, args);
    QFETCH(Config, expected);
    QString parseError;
    const ConfigFlags flags = parseFlags(args, &parseError);
    QCOMPARE(parseError, QString());
    Config c;
    QStringList errors;
    QVERIFY(c.applyFlags(flags, errors));
    QCOMPARE(errors, QStringList());
    QCOMPARE(c.toJson(), expected.toJson());
    QVERIFY(c == expected);
}

void TestConfig::badFlags_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("error");

    QTest::addRow("rpm abc") << QStringList{"--rpm", "abc"}
                             << QStringLiteral("--rpm: \"abc\" is not a number");
    QTest::addRow("rpm -5") << QStringList{"--rpm=-5"} << QStringLiteral("--rpm: -5 must be >= 0");
    QTest::addRow("input-tpm inf") << QStringList{"--input-tpm", "inf"}
                                   << QStringLiteral("--input-tpm: inf must be a finite number");
    QTest::addRow("output-tpm empty")
        << QStringList{"--output-tpm", ""} << QStringLiteral("--output-tpm: \"\" is not a number");
    QTest::addRow("concurrency 2.5") << QStringList{"--concurrency", "2.5"}
                                     << QStringLiteral("--concurrency: 2.5 must be a whole number");
    QTest::addRow("max-retries -1") << QStringList{"--max-retries=-1"}
                                    << QStringLiteral("--max-retries: -1 must be >= 0");
    QTest::addRow("max-retries 1000")
        << QStringList{"--max-retries", "1000"} << QStringLiteral("--max-retries: 1000 must be <= 999");
    QTest::addRow("burst-seconds 0") << QStringList{"--burst-seconds", "0"}
                                     << QStringLiteral("--burst-seconds: 0 must be > 0");
    QTest::addRow("base-url ftp") << QStringList{"--base-url", "ftp://x"}
                                  << QStringLiteral("--base-url: \"ftp://x\" must be an http or https URL");
    QTest::addRow("model blank") << QStringList{"--model", " "}
                                 << QStringLiteral(
                                        "--model: \" \" must name a model, e.g. \"claude-sonnet-4-5\"");
}

void TestConfig::badFlags()
{
    QFETCH(QStringList, args);
    QFETCH(QString, error);
    Config c;
    QStringList errors;
    QVERIFY(!c.applyFlags(parseFlags(args), errors));
    QCOMPARE(errors, QStringList{error});
    QVERIFY2(c == Config(), "a bad flag must not be applied");
}

void TestConfig::precedenceFileEnvFlags()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString file = dir.filePath(QStringLiteral("sluice.json"));
    QFile f(file);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"limits": {"requests_per_minute": 100, "concurrency": 4},
               "api": {"base_url": "http://file.test:1"}})");
    f.close();
    const auto env = makeEnv({{"ANTHROPIC_BASE_URL", "http://env.test:2"}, {"ANTHROPIC_API_KEY", "sk-env"}});

    QStringList errors;
    // Defaults only.
    Config c = Config::resolve(ConfigFlags(), makeEnv({}), errors);
    QCOMPARE(errors, QStringList());
    QVERIFY(c == Config());

    // File over defaults.
    c = Config::resolve(parseFlags({"--config", file}), makeEnv({}), errors);
    QCOMPARE(errors, QStringList());
    QCOMPARE(c.limits.requests.perMinute, 100.0);
    QCOMPARE(c.limits.concurrency, 4);
    QCOMPARE(c.baseUrl, QUrl(QStringLiteral("http://file.test:1")));
    QVERIFY(c.apiKey.isEmpty());
    QCOMPARE(c.backoff.maxAttempts, BackoffOptions{}.maxAttempts);

    // Environment over the file.
    c = Config::resolve(parseFlags({"--config", file}), env, errors);
    QCOMPARE(errors, QStringList());
    QCOMPARE(c.baseUrl, QUrl(QStringLiteral("http://env.test:2")));
    QCOMPARE(c.apiKey, QStringLiteral("sk-env"));
    QCOMPARE(c.limits.requests.perMinute, 100.0);

    // Flags over both; what no flag names stays as the file or environment set it.
    c = Config::resolve(parseFlags({"--config", file, "--base-url", "http://flag.test:3", "--rpm", "200"}),
                        env, errors);
    QCOMPARE(errors, QStringList());
    QCOMPARE(c.baseUrl, QUrl(QStringLiteral("http://flag.test:3")));
    QCOMPARE(c.limits.requests.perMinute, 200.0);
    QCOMPARE(c.limits.concurrency, 4);
    QCOMPARE(c.apiKey, QStringLiteral("sk-env"));
}

void TestConfig::emptyConfigPathIsAnError()
{
    QStringList errors;
    const Config c = Config::resolve(parseFlags({"--config", ""}), makeEnv({}), errors);
    QCOMPARE(errors, QStringList{QStringLiteral("--config: \"\" is not a file name")});
    QVERIFY(c == Config());
}

void TestConfig::resolveCollectsEveryLayer()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString file = dir.filePath(QStringLiteral("sluice.json"));
    QFile f(file);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"queue": {"capacity": -3}})");
    f.close();

    QStringList errors;
    Config::resolve(parseFlags({"--config", file, "--rpm", "abc"}), makeEnv({{"ANTHROPIC_BASE_URL", "x"}}),
                    errors);
    QCOMPARE(errors, QStringList({
                         file + QStringLiteral(": queue.capacity: -3 must be >= 1"),
                         QStringLiteral("ANTHROPIC_BASE_URL: \"x\" must be an http or https URL"),
                         QStringLiteral("--rpm: \"abc\" is not a number"),
                     }));
}

void TestConfig::crossFieldRules_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QStringList>("errors");

    QTest::addRow("max below initial")
        << QByteArray(R"({"backoff": {"initial_ms": 1000, "max_ms": 100}})")
        << QStringList{QStringLiteral("backoff.max_ms: 100 must be >= backoff.initial_ms (1000)")};
    QTest::addRow("max equal to initial")
        << QByteArray(R"({"backoff": {"initial_ms": 1000, "max_ms": 1000}})") << QStringList();
    QTest::addRow("retry dearer than the budget")
        << QByteArray(R"({"retry": {"budget": {"capacity": 8}}})")
        << QStringList{
               QStringLiteral("retry.budget.timeout_retry_cost: 10 must be <= retry.budget.capacity (8), or "
                              "no retry could ever be paid for (set retry.budget.enabled to false to turn "
                              "the budget off)")};
    QTest::addRow("budget off") << QByteArray(R"({"retry": {"budget": {"enabled": false, "capacity": 0}}})")
                                << QStringList();
}

void TestConfig::crossFieldRules()
{
    QFETCH(QByteArray, json);
    QFETCH(QStringList, errors);
    Config c;
    QStringList loadErrors;
    QVERIFY(c.loadJson(json, loadErrors)); // each value is fine on its own
    QCOMPARE(c.validate(), errors);
}

void TestConfig::validateChecksCodeBuiltConfig()
{
    Config c;
    c.limits.concurrency = -1;
    c.limits.dailyQuotaTimeZone = "Nowhere/Land";
    c.backoff.maxAttempts = 0;
    c.baseUrl = QUrl();
    c.defaultModel.clear();
    QCOMPARE(c.validate(),
             QStringList({
                 QStringLiteral("limits.concurrency: -1 must be >= 0"),
                 QStringLiteral("backoff.max_attempts: 0 must be >= 1"),
                 QStringLiteral(
                     "limits.daily_quota_time_zone: \"Nowhere/Land\" is not a known IANA time zone (e.g. "
                     "\"UTC\", \"America/Los_Angeles\")"),
                 QStringLiteral("api.base_url: \"\" must be an http or https URL"),
                 QStringLiteral("api.model: \"\" must name a model, e.g. \"claude-sonnet-4-5\""),
             }));
}

void TestConfig::apiKeyNeverWritten()
{
    Config c;
    QVERIFY(c.toJson().contains("not set"));
    c.apiKey = QStringLiteral("sk-ant-api03-SECRETSECRET");
    const QByteArray json = c.toJson();
    QVERIFY(!json.contains("SECRETSECRET"));
    QVERIFY(json.contains("set from ANTHROPIC_API_KEY (never shown)"));
    // The printed config is itself a loadable config file.
    Config reloaded;
    QStringList errors;
    QVERIFY(reloaded.loadJson(json, errors));
    QCOMPARE(errors, QStringList());
    QVERIFY(reloaded.apiKey.isEmpty());
}

void TestConfig::toJsonRoundTrips()
{
    Config c;
    c.limits.requests = {50, LimiterKind::SlidingWindow};
    c.limits.inputTokens.perMinute = 30000;
    c.limits.outputTokens = {8000, LimiterKind::TokenBucket};
    c.limits.concurrency = 3;
    c.limits.dailyQuota = 9000;
    c.limits.dailyQuotaTimeZone = "Europe/Berlin";
    c.limits.burstSeconds = 0.5;
    c.backoff = {250ms, 3.0, 10s, 7, JitterMode::Decorrelated, 0.3, 45s, 1234567};
    c.retry = {{false, 50, 3, 6, 0.25}, 9};
    c.circuitBreaker = {2, 1500ms};
    c.queue.capacity = 77;
    c.transport.requestTimeout = 90s;
    c.baseUrl = QUrl(QStringLiteral("http://127.0.0.1:4321/base"));
    c.defaultModel = QStringLiteral("claude-opus-4-1");
    QCOMPARE(c.validate(), QStringList());

    Config back;
    QStringList errors;
    QVERIFY(back.loadJson(c.toJson(), errors));
    QCOMPARE(errors, QStringList());
    QCOMPARE(back.toJson(), c.toJson());
    QVERIFY(back == c);
}

void TestConfig::limiterKindNames_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("known");
    QTest::addColumn<int>("kind");

    QTest::addRow("token_bucket") << "token_bucket" << true << int(LimiterKind::TokenBucket);
    QTest::addRow("sliding_window") << "sliding_window" << true << int(LimiterKind::SlidingWindow);
    QTest::addRow("case matters") << "Token_Bucket" << false << 0;
    QTest::addRow("hyphen") << "sliding-window" << false << 0;
    QTest::addRow("empty") << "" << false << 0;
}

void TestConfig::limiterKindNames()
{
    QFETCH(QString, name);
    QFETCH(bool, known);
    QFETCH(int, kind);
    const auto parsed = limiterKindFromName(name);
    QCOMPARE(parsed.has_value(), known);
    if (known) {
        QCOMPARE(int(*parsed), kind);
        QCOMPARE(limiterKindName(*parsed), name);
    }
}

void TestConfig::jitterModeNames()
{
    const QStringList names = {"none", "proportional", "full", "equal", "decorrelated"};
    const QList<JitterMode> modes = {JitterMode::None, JitterMode::Proportional, JitterMode::Full,
                                     JitterMode::Equal, JitterMode::Decorrelated};
    for (qsizetype i = 0; i < names.size(); ++i) {
        QCOMPARE(jitterModeName(modes[i]), names[i]);
        QVERIFY(jitterModeFromName(names[i]) == modes[i]);
    }
    QVERIFY(!jitterModeFromName(QStringLiteral("sometimes")));
}

QTEST_GUILESS_MAIN(TestConfig)
#include "tst_config.moc"
