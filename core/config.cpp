#include "config.h"

#include <QCommandLineParser>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QLocale>
#include <QTimeZone>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sluice {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// JSON numbers are doubles: whole numbers are exact up to 2^53, so no integer setting may go beyond it.
constexpr double kMaxExactInteger = 9007199254740992.0;
constexpr double kMaxInt = std::numeric_limits<int>::max();
// Delays and timeouts stop at one day: longer is surely a unit mistake (seconds typed into a _ms field), and
// it keeps every Duration far from overflowing.
constexpr double kOneDayMs = 86'400'000.0;
// Attempts stop at 1000: with any backoff that is days of retrying, and it keeps --max-retries N + 1 in
// range.
constexpr double kMaxAttempts = 1000;

enum class NumberKind
{
    Real,
    Integer
};

// One numeric setting: its JSON path, whether it must be whole, its bounds (max is inclusive), and how to
// read and write it on a Config. Durations are exposed in milliseconds, as the file spells them.
struct NumberField
{
    const char *path;
    NumberKind kind;
    double min;
    bool minInclusive;
    double max;
    double (*get)(const Config &);
    void (*set)(Config &, double);
};

using K = NumberKind;

const NumberField kNumberFields[] = {
    {"limits.requests_per_minute", K::Real, 0, true, kInf,
     [](const Config &c) { return c.limits.requests.perMinute; },
     [](Config &c, double v) { c.limits.requests.perMinute = v; }},
    {"limits.input_tokens_per_minute", K::Real, 0, true, kInf,
     [](const Config &c) { return c.limits.inputTokens.perMinute; },
     [](Config &c, double v) { c.limits.inputTokens.perMinute = v; }},
    {"limits.output_tokens_per_minute", K::Real, 0, true, kInf,
     [](const Config &c) { return c.limits.outputTokens.perMinute; },
     [](Config &c, double v) { c.limits.outputTokens.perMinute = v; }},
    {"limits.concurrency", K::Integer, 0, true, kMaxInt,
     [](const Config &c) { return double(c.limits.concurrency); },
     [](Config &c, double v) { c.limits.concurrency = int(v); }},
    {"limits.daily_quota", K::Integer, 0, true, kMaxExactInteger,
     [](const Config &c) { return double(c.limits.dailyQuota); },
     [](Config &c, double v) { c.limits.dailyQuota = qint64(v); }},
    {"limits.burst_seconds", K::Real, 0, false, 60, [](const Config &c) { return c.limits.burstSeconds; },
     [](Config &c, double v) { c.limits.burstSeconds = v; }},

    {"backoff.initial_ms", K::Real, 0, true, kOneDayMs,
     [](const Config &c) { return toMilliseconds(c.backoff.initialDelay); },
     [](Config &c, double v) { c.backoff.initialDelay = fromMilliseconds(v); }},
    {"backoff.multiplier", K::Real, 1, true, kInf, [](const Config &c) { return c.backoff.multiplier; },
     [](Config &c, double v) { c.backoff.multiplier = v; }},
    {"backoff.max_ms", K::Real, 0, true, kOneDayMs,
     [](const Config &c) { return toMilliseconds(c.backoff.maxDelay); },
     [](Config &c, double v) { c.backoff.maxDelay = fromMilliseconds(v); }},
    {"backoff.max_attempts", K::Integer, 1, true, kMaxAttempts,
     [](const Config &c) { return double(c.backoff.maxAttempts); },
     [](Config &c, double v) { c.backoff.maxAttempts = int(v); }},
    {"backoff.jitter_fraction", K::Real, 0, true, 1, [](const Config &c) { return c.backoff.jitterFraction; },
     [](Config &c, double v) { c.backoff.jitterFraction = v; }},
    {"backoff.max_server_delay_ms", K::Real, 0, true, kOneDayMs,
     [](const Config &c) { return toMilliseconds(c.backoff.maxServerDelay); },
     [](Config &c, double v) { c.backoff.maxServerDelay = fromMilliseconds(v); }},
    {"backoff.seed", K::Integer, 0, true, kMaxExactInteger,
     [](const Config &c) { return double(c.backoff.seed); },
     [](Config &c, double v) { c.backoff.seed = quint64(v); }},

    {"retry.budget.capacity", K::Real, 0, true, kInf, [](const Config &c) { return c.retry.budget.capacity; },
     [](Config &c, double v) { c.retry.budget.capacity = v; }},
    {"retry.budget.retry_cost", K::Real, 0, true, kInf,
     [](const Config &c) { return c.retry.budget.retryCost; },
     [](Config &c, double v) { c.retry.budget.retryCost = v; }},
    {"retry.budget.timeout_retry_cost", K::Real, 0, true, kInf,
     [](const Config &c) { return c.retry.budget.timeoutRetryCost; },
     [](Config &c, double v) { c.retry.budget.timeoutRetryCost = v; }},
    {"retry.budget.success_refund", K::Real, 0, true, kInf,
     [](const Config &c) { return c.retry.budget.successRefund; },
     [](Config &c, double v) { c.retry.budget.successRefund = v; }},
    {"retry.max_rate_limit_waits", K::Integer, 0, true, kMaxInt,
     [](const Config &c) { return double(c.retry.maxRateLimitWaits); },
     [](Config &c, double v) { c.retry.maxRateLimitWaits = int(v); }},

    {"circuit_breaker.failure_threshold", K::Integer, 1, true, kMaxInt,
     [](const Config &c) { return double(c.circuitBreaker.failureThreshold); },
     [](Config &c, double v) { c.circuitBreaker.failureThreshold = int(v); }},
    {"circuit_breaker.cool_off_ms", K::Real, 0, true, kOneDayMs,
     [](const Config &c) { return toMilliseconds(c.circuitBreaker.coolOff); },
     [](Config &c, double v) { c.circuitBreaker.coolOff = fromMilliseconds(v); }},

    {"queue.capacity", K::Integer, 1, true, kMaxExactInteger,
     [](const Config &c) { return double(c.queue.capacity); },
     [](Config &c, double v) { c.queue.capacity = qsizetype(v); }},

    {"transport.request_timeout_ms", K::Real, 0, false, kOneDayMs,
     [](const Config &c) { return toMilliseconds(c.transport.requestTimeout); },
     [](Config &c, double v) { c.transport.requestTimeout = fromMilliseconds(v); }},
};

// The per-minute limits may also be written as {"per_minute": N, "limiter": "..."}.
struct RateField
{
    const char *path;
    RateLimitOptions LimitOptions::*member;
};
const RateField kRateFields[] = {
    {"limits.requests_per_minute", &LimitOptions::requests},
    {"limits.input_tokens_per_minute", &LimitOptions::inputTokens},
    {"limits.output_tokens_per_minute", &LimitOptions::outputTokens},
};

const char *const kSections[] = {"limits", "backoff",   "retry", "circuit_breaker",
                                 "queue",  "transport", "api"};
// Settings that are not numbers (objects count: retry.budget holds keys of its own).
const char *const kOtherPaths[] = {"limits.daily_quota_time_zone", "backoff.jitter", "retry.budget",
                                   "retry.budget.enabled",         "api.base_url",   "api.model"};

const QString kTimeZonePath = QStringLiteral("limits.daily_quota_time_zone");
const QString kJitterPath = QStringLiteral("backoff.jitter");
const QString kBudgetPath = QStringLiteral("retry.budget");
const QString kBudgetEnabledPath = QStringLiteral("retry.budget.enabled");
const QString kBaseUrlPath = QStringLiteral("api.base_url");
const QString kModelPath = QStringLiteral("api.model");

const NumberField *findNumberField(QStringView path)
{
    for (const NumberField &f : kNumberFields) {
        if (path == QLatin1StringView(f.path))
            return &f;
    }
    return nullptr;
}

const NumberField &numberField(const char *path)
{
    const NumberField *f = findNumberField(QString::fromLatin1(path));
    Q_ASSERT(f);
    return *f;
}

const RateField *findRateField(QStringView path)
{
    for (const RateField &f : kRateFields) {
        if (path == QLatin1StringView(f.path))
            return &f;
    }
    return nullptr;
}

bool isObjectPath(QStringView path)
{
    for (const char *s : kSections) {
        if (path == QLatin1StringView(s))
            return true;
    }
    return path == kBudgetPath;
}

// The keys that may appear directly under `parent` ("" for the top level), for "unknown key" messages.
QStringList knownKeysUnder(const QString &parent)
{
    QStringList all;
    for (const char *s : kSections)
        all << QString::fromLatin1(s);
    for (const NumberField &f : kNumberFields)
        all << QString::fromLatin1(f.path);
    for (const char *p : kOtherPaths)
        all << QString::fromLatin1(p);

    const QString prefix = parent.isEmpty() ? QString() : parent + u'.';
    QStringList keys;
    for (const QString &p : std::as_const(all)) {
        if (!p.startsWith(prefix))
            continue;
        const QString rest = p.mid(prefix.size());
        if (!rest.contains(u'.') && !keys.contains(rest))
            keys << rest;
    }
    return keys;
}

// Numbers as people write them: 500, 0.1, 1000000 (never 1e+06 for a whole number).
QString formatNumber(double v)
{
    if (std::isfinite(v) && v == std::floor(v) && std::abs(v) <= kMaxExactInteger)
        return QString::number(qint64(v));
    return QString::number(v, 'g', QLocale::FloatingPointShortest);
}

// A string as JSON would write it, so quotes and control characters in a bad value stay visible.
QString quoted(const QString &s)
{
    const QByteArray json = QJsonDocument(QJsonArray{s}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(json.mid(1, json.size() - 2));
}

QString describe(const QJsonValue &v)
{
    switch (v.type()) {
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Bool:
        return v.toBool() ? QStringLiteral("a boolean true") : QStringLiteral("a boolean false");
    case QJsonValue::Double:
        return QStringLiteral("a number ") + formatNumber(v.toDouble());
    case QJsonValue::String:
        return QStringLiteral("a string ") + quoted(v.toString());
    case QJsonValue::Array:
        return QStringLiteral("an array");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    case QJsonValue::Undefined:
        break;
    }
    return QStringLiteral("nothing");
}

QString typeError(const QString &label, const char *expected, const QJsonValue &got)
{
    return QStringLiteral("%1: expected %2, got %3").arg(label, QLatin1StringView(expected), describe(got));
}

// Why v is not acceptable for f, or nothing when it is. `label` is the JSON path, flag or variable being set.
std::optional<QString> checkNumber(const NumberField &f, const QString &label, double v)
{
    const QString shown = formatNumber(v);
    if (!std::isfinite(v))
        return QStringLiteral("%1: %2 must be a finite number").arg(label, shown);
    if (f.kind == NumberKind::Integer && v != std::floor(v))
        return QStringLiteral("%1: %2 must be a whole number").arg(label, shown);
    if (f.minInclusive ? v < f.min : v <= f.min)
        return QStringLiteral("%1: %2 must be %3 %4")
            .arg(label, shown, f.minInclusive ? QStringLiteral(">=") : QStringLiteral(">"),
                 formatNumber(f.min));
    if (v > f.max)
        return QStringLiteral("%1: %2 must be <= %3").arg(label, shown, formatNumber(f.max));
    return std::nullopt;
}

std::optional<QUrl> checkBaseUrl(const QString &label, const QString &text, QStringList &errors)
{
    const QUrl url(text.trimmed(), QUrl::StrictMode);
    const QString scheme = url.scheme().toLower();
    if (!url.isValid() || (scheme != u"http" && scheme != u"https") || url.host().isEmpty()) {
        errors << QStringLiteral("%1: %2 must be an http or https URL").arg(label, quoted(text));
        return std::nullopt;
    }
    return url;
}

bool checkTimeZone(const QString &label, const QByteArray &id, QStringList &errors)
{
    if (!id.isEmpty() && QTimeZone::isTimeZoneIdAvailable(id))
        return true;
    errors << QStringLiteral("%1: %2 is not a known IANA time zone (e.g. \"UTC\", \"America/Los_Angeles\")")
                  .arg(label, quoted(QString::fromUtf8(id)));
    return false;
}

bool checkModel(const QString &label, const QString &model, QStringList &errors)
{
    if (!model.trimmed().isEmpty())
        return true;
    errors
        << QStringLiteral("%1: %2 must name a model, e.g. \"claude-sonnet-4-5\"").arg(label, quoted(model));
    return false;
}

// Reads a JSON document onto a Config, one key at a time, so that every bad key is reported and every good
// one is applied.
class Reader
{
public:
    Reader(Config &config, QStringList &errors)
        : m_config(config)
        , m_errors(errors)
    {}

    void readObject(const QString &path, const QJsonObject &obj)
    {
        for (auto it = obj.begin(); it != obj.end(); ++it) {
            if (it.key().startsWith(u'_')) // a comment
                continue;
            readKey(path.isEmpty() ? it.key() : path + u'.' + it.key(), it.value());
        }
    }

private:
    void readKey(const QString &path, const QJsonValue &v)
    {
        if (isObjectPath(path)) {
            if (v.isObject())
                readObject(path, v.toObject());
            else
                m_errors << typeError(path, "an object", v);
        } else if (const RateField *rate = findRateField(path)) {
            if (v.isObject())
                readRateObject(path, *rate, v.toObject());
            else if (v.isDouble())
                readNumber(*findNumberField(path), path, v);
            else
                m_errors << typeError(path, "a number or an object {\"per_minute\": N, \"limiter\": ...}", v);
        } else if (const NumberField *f = findNumberField(path)) {
            readNumber(*f, path, v);
        } else if (path == kTimeZonePath) {
            if (!v.isString())
                m_errors << typeError(path, "a string", v);
            else if (checkTimeZone(path, v.toString().toUtf8(), m_errors))
                m_config.limits.dailyQuotaTimeZone = v.toString().toUtf8();
        } else if (path == kJitterPath) {
            readJitter(path, v);
        } else if (path == kBudgetEnabledPath) {
            if (v.isBool())
                m_config.retry.budget.enabled = v.toBool();
            else
                m_errors << typeError(path, "a boolean (true or false)", v);
        } else if (path == kBaseUrlPath) {
            if (!v.isString())
                m_errors << typeError(path, "a string", v);
            else if (const auto url = checkBaseUrl(path, v.toString(), m_errors))
                m_config.baseUrl = *url;
        } else if (path == kModelPath) {
            if (!v.isString())
                m_errors << typeError(path, "a string", v);
            else if (checkModel(path, v.toString(), m_errors))
                m_config.defaultModel = v.toString().trimmed();
        } else if (path == u"api.api_key" || path == u"api.key") {
            m_errors << QStringLiteral("%1: the API key is read only from the ANTHROPIC_API_KEY environment "
                                       "variable, never from a file")
                            .arg(path);
        } else {
            unknownKey(path);
        }
    }

    void unknownKey(const QString &path)
    {
        const qsizetype dot = path.lastIndexOf(u'.');
        const QString parent = dot < 0 ? QString() : path.left(dot);
        m_errors << QStringLiteral(
                        "%1: unknown key (known keys %2: %3; keys starting with \"_\" are comments)")
                        .arg(path,
                             parent.isEmpty() ? QStringLiteral("at the top level")
                                              : QStringLiteral("in ") + parent,
                             knownKeysUnder(parent).join(QStringLiteral(", ")));
    }

    void readNumber(const NumberField &f, const QString &label, const QJsonValue &v)
    {
        if (!v.isDouble()) {
            m_errors << typeError(label, "a number", v);
            return;
        }
        if (const auto problem = checkNumber(f, label, v.toDouble()))
            m_errors << *problem;
        else
            f.set(m_config, v.toDouble());
    }

    void readRateObject(const QString &path, const RateField &rate, const QJsonObject &obj)
    {
        for (auto it = obj.begin(); it != obj.end(); ++it) {
            const QString key = path + u'.' + it.key();
            if (it.key().startsWith(u'_'))
                continue;
            if (it.key() == u"per_minute") {
                readNumber(*findNumberField(path), key, it.value());
            } else if (it.key() == u"limiter") {
                const auto kind = limiterKindFromName(it.value().toString());
                if (!it.value().isString())
                    m_errors << typeError(key, "a string", it.value());
                else if (!kind)
                    m_errors << QStringLiteral("%1: %2 is not one of token_bucket, sliding_window")
                                    .arg(key, quoted(it.value().toString()));
                else
                    (m_config.limits.*rate.member).kind = *kind;
            } else {
                m_errors << QStringLiteral("%1: unknown key (known keys in %2: per_minute, limiter)")
                                .arg(key, path);
            }
        }
    }

    void readJitter(const QString &path, const QJsonValue &v)
    {
        if (!v.isString()) {
            m_errors << typeError(path, "a string", v);
            return;
        }
        if (const auto mode = jitterModeFromName(v.toString()))
            m_config.backoff.jitter = *mode;
        else
            m_errors << QStringLiteral("%1: %2 is not one of none, proportional, full, equal, decorrelated")
                            .arg(path, quoted(v.toString()));
    }

    Config &m_config;
    QStringList &m_errors;
};

// The 1-based line and column (in characters) of a byte offset into UTF-8 text.
QString lineColumn(const QByteArray &text, qsizetype offset)
{
    const QByteArray before = text.left(offset);
    const qsizetype line = before.count('\n') + 1;
    const qsizetype column = QString::fromUtf8(before.mid(before.lastIndexOf('\n') + 1)).size() + 1;
    return QStringLiteral("line %1, column %2").arg(line).arg(column);
}

// Writes v at a dotted path, creating the objects on the way.
void insertPath(QJsonObject &obj, QStringView path, const QJsonValue &v)
{
    const qsizetype dot = path.indexOf(u'.');
    if (dot < 0) {
        obj.insert(path.toString(), v);
        return;
    }
    const QString head = path.left(dot).toString();
    QJsonObject child = obj.value(head).toObject();
    insertPath(child, path.mid(dot + 1), v);
    obj.insert(head, child);
}

// Applies the text of a numeric flag or variable, with the same checks as the file.
void applyNumberText(Config &config, const NumberField &f, const QString &label, const QString &text,
                     QStringList &errors)
{
    bool ok = false;
    const double v = text.trimmed().toDouble(&ok);
    if (!ok) {
        errors << QStringLiteral("%1: %2 is not a number").arg(label, quoted(text));
        return;
    }
    if (const auto problem = checkNumber(f, label, v))
        errors << *problem;
    else
        f.set(config, v);
}

// Flag names, shared by addTo() and read().
const QString kFlagConfig = QStringLiteral("config");
const QString kFlagPrintConfig = QStringLiteral("print-config");
const QString kFlagExampleConfig = QStringLiteral("example-config");
const QString kFlagBaseUrl = QStringLiteral("base-url");
const QString kFlagModel = QStringLiteral("model");
const QString kFlagRpm = QStringLiteral("rpm");
const QString kFlagInputTpm = QStringLiteral("input-tpm");
const QString kFlagOutputTpm = QStringLiteral("output-tpm");
const QString kFlagConcurrency = QStringLiteral("concurrency");
const QString kFlagMaxRetries = QStringLiteral("max-retries");
const QString kFlagBurstSeconds = QStringLiteral("burst-seconds");

const QString kEnvApiKey = QStringLiteral("ANTHROPIC_API_KEY");
const QString kEnvBaseUrl = QStringLiteral("ANTHROPIC_BASE_URL");

} // namespace

// --- names

QString limiterKindName(LimiterKind kind)
{
    switch (kind) {
    case LimiterKind::TokenBucket:
        return QStringLiteral("token_bucket");
    case LimiterKind::SlidingWindow:
        return QStringLiteral("sliding_window");
    }
    return QStringLiteral("token_bucket");
}

std::optional<LimiterKind> limiterKindFromName(const QString &name)
{
    for (LimiterKind k : {LimiterKind::TokenBucket, LimiterKind::SlidingWindow}) {
        if (name == limiterKindName(k))
            return k;
    }
    return std::nullopt;
}

QString jitterModeName(JitterMode mode)
{
    switch (mode) {
    case JitterMode::None:
        return QStringLiteral("none");
    case JitterMode::Proportional:
        return QStringLiteral("proportional");
    case JitterMode::Full:
        return QStringLiteral("full");
    case JitterMode::Equal:
        return QStringLiteral("equal");
    case JitterMode::Decorrelated:
        return QStringLiteral("decorrelated");
    }
    return QStringLiteral("full");
}

std::optional<JitterMode> jitterModeFromName(const QString &name)
{
    for (JitterMode m : {JitterMode::None, JitterMode::Proportional, JitterMode::Full, JitterMode::Equal,
                         JitterMode::Decorrelated}) {
        if (name == jitterModeName(m))
            return m;
    }
    return std::nullopt;
}

// --- flags

void ConfigFlags::addTo(QCommandLineParser &parser)
{
    const Config d;
    parser.addOptions({
        {kFlagConfig, QStringLiteral("Read settings from the JSON config FILE (see docs/config.md)."),
         QStringLiteral("FILE")},
        {kFlagPrintConfig,
         QStringLiteral("Print the effective configuration as JSON (never the API key) and exit.")},
        {kFlagExampleConfig,
         QStringLiteral("Print a documented example config file with every default and exit.")},
        {kFlagBaseUrl,
         QStringLiteral("Send requests to URL (default %1; overrides ANTHROPIC_BASE_URL).")
             .arg(d.baseUrl.toString()),
         QStringLiteral("URL")},
        {kFlagModel, QStringLiteral("Model for prompts that name none (default %1).").arg(d.defaultModel),
         QStringLiteral("NAME")},
        {kFlagRpm,
         QStringLiteral("Requests per minute; 0 = no local limit (default %1).")
             .arg(formatNumber(d.limits.requests.perMinute)),
         QStringLiteral("N")},
        {kFlagInputTpm,
         QStringLiteral("Input tokens per minute; 0 = no local limit (default %1).")
             .arg(formatNumber(d.limits.inputTokens.perMinute)),
         QStringLiteral("N")},
        {kFlagOutputTpm,
         QStringLiteral("Output tokens per minute; 0 = no local limit (default %1).")
             .arg(formatNumber(d.limits.outputTokens.perMinute)),
         QStringLiteral("N")},
        {kFlagConcurrency,
         QStringLiteral("Requests in flight at once; 0 = unlimited (default %1).").arg(d.limits.concurrency),
         QStringLiteral("N")},
        {kFlagMaxRetries,
         QStringLiteral(
             "Retries after the first attempt, so N + 1 attempts in all; waiting out a 429 is not a "
             "retry (default %1).")
             .arg(d.backoff.maxAttempts - 1),
         QStringLiteral("N")},
        {kFlagBurstSeconds,
         QStringLiteral(
             "Seconds' worth of each per-minute rate that may go out at once, 0 < S <= 60 (default %1).")
             .arg(formatNumber(d.limits.burstSeconds)),
         QStringLiteral("S")},
    });
}

ConfigFlags ConfigFlags::read(const QCommandLineParser &parser)
{
    const auto value = [&parser](const QString &name) -> std::optional<QString> {
        if (!parser.isSet(name))
            return std::nullopt;
        return parser.value(name);
    };
    ConfigFlags f;
    f.configFile = value(kFlagConfig);
    f.printConfig = parser.isSet(kFlagPrintConfig);
    f.exampleConfig = parser.isSet(kFlagExampleConfig);
    f.baseUrl = value(kFlagBaseUrl);
    f.model = value(kFlagModel);
    f.rpm = value(kFlagRpm);
    f.inputTpm = value(kFlagInputTpm);
    f.outputTpm = value(kFlagOutputTpm);
    f.concurrency = value(kFlagConcurrency);
    f.maxRetries = value(kFlagMaxRetries);
    f.burstSeconds = value(kFlagBurstSeconds);
    return f;
}

// --- layers

bool Config::loadJson(const QByteArray &json, QStringList &errors)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        errors << QStringLiteral("not valid JSON at %1: %2")
                      .arg(lineColumn(json, parseError.offset), parseError.errorString());
        return false;
    }
    if (!doc.isObject()) {
        errors << QStringLiteral("expected a JSON object at the top level, got %1")
                      .arg(doc.isArray() ? QStringLiteral("an array") : QStringLiteral("something else"));
        return false;
    }
    const qsizetype before = errors.size();
    Reader(*this, errors).readObject(QString(), doc.object());
    return errors.size() == before;
}

bool Config::loadFile(const QString &path, Config &config, QStringList &errors)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        errors << QStringLiteral("%1: cannot read the config file: %2").arg(path, file.errorString());
        return false;
    }
    QStringList own;
    const bool ok = config.loadJson(file.readAll(), own);
    for (const QString &e : std::as_const(own))
        errors << path + QStringLiteral(": ") + e;
    return ok;
}

bool Config::applyEnvironment(const QProcessEnvironment &env, QStringList &errors)
{
    const qsizetype before = errors.size();
    // Trimmed because `export ANTHROPIC_API_KEY=$(cat keyfile)` easily keeps a newline; anything else that
    // could not go into an HTTP header is refused. The message never shows the key.
    const QString key = env.value(kEnvApiKey).trimmed();
    if (!key.isEmpty()) {
        const bool printable = std::all_of(key.begin(), key.end(),
                                           [](QChar c) { return c.unicode() > 0x20 && c.unicode() < 0x7f; });
        if (printable)
            apiKey = key;
        else
            errors << QStringLiteral("%1: must be printable ASCII without spaces (the value is not shown)")
                          .arg(kEnvApiKey);
    }
    const QString url = env.value(kEnvBaseUrl);
    if (!url.trimmed().isEmpty()) {
        if (const auto u = checkBaseUrl(kEnvBaseUrl, url, errors))
            baseUrl = *u;
    }
    return errors.size() == before;
}

bool Config::applyFlags(const ConfigFlags &flags, QStringList &errors)
{
    const qsizetype before = errors.size();
    const auto label = [](const QString &name) { return QStringLiteral("--") + name; };

    if (flags.baseUrl) {
        if (const auto u = checkBaseUrl(label(kFlagBaseUrl), *flags.baseUrl, errors))
            baseUrl = *u;
    }
    if (flags.model && checkModel(label(kFlagModel), *flags.model, errors))
        defaultModel = flags.model->trimmed();

    const struct
    {
        const std::optional<QString> &text;
        const QString &flag;
        const char *path;
    } numeric[] = {
        {flags.rpm, kFlagRpm, "limits.requests_per_minute"},
        {flags.inputTpm, kFlagInputTpm, "limits.input_tokens_per_minute"},
        {flags.outputTpm, kFlagOutputTpm, "limits.output_tokens_per_minute"},
        {flags.concurrency, kFlagConcurrency, "limits.concurrency"},
        {flags.burstSeconds, kFlagBurstSeconds, "limits.burst_seconds"},
    };
    for (const auto &n : numeric) {
        if (n.text)
            applyNumberText(*this, numberField(n.path), label(n.flag), *n.text, errors);
    }

    if (flags.maxRetries) {
        // Counted as the official SDKs count max_retries: retries after the first attempt.
        const NumberField retries{
            nullptr, NumberKind::Integer, 0, true, kMaxAttempts - 1, nullptr, [](Config &c, double v) {
                c.backoff.maxAttempts = int(v) + 1;
            }};
        applyNumberText(*this, retries, label(kFlagMaxRetries), *flags.maxRetries, errors);
    }
    return errors.size() == before;
}

QStringList Config::validate() const
{
    QStringList errors;
    for (const NumberField &f : kNumberFields) {
        if (const auto problem = checkNumber(f, QString::fromLatin1(f.path), f.get(*this)))
            errors << *problem;
    }
    checkTimeZone(kTimeZonePath, limits.dailyQuotaTimeZone, errors);
    checkBaseUrl(kBaseUrlPath, baseUrl.toString(), errors);
    checkModel(kModelPath, defaultModel, errors);

    if (backoff.maxDelay < backoff.initialDelay)
        errors << QStringLiteral("backoff.max_ms: %1 must be >= backoff.initial_ms (%2)")
                      .arg(formatNumber(toMilliseconds(backoff.maxDelay)),
                           formatNumber(toMilliseconds(backoff.initialDelay)));
    if (retry.budget.enabled) {
        // A retry that costs more than the whole budget could never be paid for: retries would be silently
        // off.
        for (const auto &[cost, path] :
             {std::pair{retry.budget.retryCost, "retry.budget.retry_cost"},
              std::pair{retry.budget.timeoutRetryCost, "retry.budget.timeout_retry_cost"}}) {
            if (cost > retry.budget.capacity)
                errors << QStringLiteral(
                              "%1: %2 must be <= retry.budget.capacity (%3), or no retry could ever be "
                              "paid for (set retry.budget.enabled to false to turn the budget off)")
                              .arg(QLatin1StringView(path), formatNumber(cost),
                                   formatNumber(retry.budget.capacity));
        }
    }
    return errors;
}

Config Config::resolve(const ConfigFlags &flags, const QProcessEnvironment &env, QStringList &errors)
{
    Config config;
    if (flags.configFile) {
        if (flags.configFile->isEmpty()) // e.g. `--config "$UNSET_VARIABLE"`: an error, not "no file"
            errors << QStringLiteral("--%1: \"\" is not a file name").arg(kFlagConfig);
        else
            loadFile(*flags.configFile, config, errors);
    }
    config.applyEnvironment(env, errors);
    config.applyFlags(flags, errors);
    // Cross-field rules only make sense once every layer is in. Single-value errors were already reported
    // where they came from and those values were not applied, so validate() does not report them twice.
    errors << config.validate();
    return config;
}

// --- output

QJsonObject Config::toJsonObject() const
{
    QJsonObject root;
    for (const NumberField &f : kNumberFields) {
        const QString path = QString::fromLatin1(f.path);
        const double v = f.get(*this);
        // Whole numbers are written as such (8, not 8.0); one too large to be exact (only possible for a
        // Config built in code, which validate() rejects) is written as a double rather than overflowing.
        const bool whole = f.kind == NumberKind::Integer && std::abs(v) <= kMaxExactInteger;
        const QJsonValue value = whole ? QJsonValue(qint64(v)) : QJsonValue(v);
        if (const RateField *rate = findRateField(path)) {
            insertPath(root, path + QStringLiteral(".per_minute"), value);
            insertPath(root, path + QStringLiteral(".limiter"), limiterKindName((limits.*rate->member).kind));
        } else {
            insertPath(root, path, value);
        }
    }
    insertPath(root, kTimeZonePath, QString::fromUtf8(limits.dailyQuotaTimeZone));
    insertPath(root, kJitterPath, jitterModeName(backoff.jitter));
    insertPath(root, kBudgetEnabledPath, retry.budget.enabled);
    insertPath(root, kBaseUrlPath, baseUrl.toString());
    insertPath(root, kModelPath, defaultModel);
    // Says whether a key is set, never what it is; "_" keeps the output loadable as a config file.
    root.insert(QStringLiteral("_api_key"), apiKey.isEmpty()
                                                ? QStringLiteral("not set (ANTHROPIC_API_KEY is empty)")
                                                : QStringLiteral("set from ANTHROPIC_API_KEY (never shown)"));
    return root;
}

QByteArray Config::toJson() const
{
    return QJsonDocument(toJsonObject()).toJson(QJsonDocument::Indented);
}

} // namespace sluice
