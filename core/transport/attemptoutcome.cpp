#include "attemptoutcome.h"

#include <QHash>
#include <QJsonValue>
#include <QStringList>

namespace sluice {

namespace {

// A token count from JSON: non-numbers, negatives and NaN are 0, absurdly large values are clamped
// (converting a double beyond qint64's range would be undefined behaviour).
qint64 count(const QJsonValue &v)
{
    const double d = v.toDouble(0);
    if (!(d > 0))
        return 0;
    return d >= 9.0e18 ? qint64(9'000'000'000'000'000'000) : qint64(d);
}

} // namespace

Usage Usage::fromJson(const QJsonObject &usage)
{
    Usage u;
    u.merge(usage);
    return u;
}

void Usage::merge(const QJsonObject &usage)
{
    if (usage.contains(QLatin1String("input_tokens")))
        inputTokens = count(usage.value(QLatin1String("input_tokens")));
    if (usage.contains(QLatin1String("output_tokens")))
        outputTokens = count(usage.value(QLatin1String("output_tokens")));
    if (usage.contains(QLatin1String("cache_creation_input_tokens")))
        cacheCreationInputTokens = count(usage.value(QLatin1String("cache_creation_input_tokens")));
    if (usage.contains(QLatin1String("cache_read_input_tokens")))
        cacheReadInputTokens = count(usage.value(QLatin1String("cache_read_input_tokens")));
}

QString AttemptOutcome::summary() const
{
    QString s = errorKindName(kind);
    QStringList detail;
    if (httpStatus != 0)
        detail << QString::number(httpStatus);
    if (!errorType.isEmpty())
        detail << errorType;
    if (errorInStream)
        detail << QStringLiteral("in stream");
    if (!detail.isEmpty())
        s += QStringLiteral(" (") + detail.join(QLatin1Char(' ')) + QLatin1Char(')');
    if (!errorMessage.isEmpty())
        s += QStringLiteral(": ") + errorMessage;
    if (!requestId.isEmpty())
        s += QStringLiteral(" [") + requestId + QLatin1Char(']');
    return s;
}

int statusForApiErrorType(const QString &type)
{
    static const QHash<QString, int> statuses = {
        {QStringLiteral("invalid_request_error"), 400}, {QStringLiteral("authentication_error"), 401},
        {QStringLiteral("billing_error"), 402},         {QStringLiteral("permission_error"), 403},
        {QStringLiteral("not_found_error"), 404},       {QStringLiteral("request_too_large"), 413},
        {QStringLiteral("rate_limit_error"), 429},      {QStringLiteral("api_error"), 500},
        {QStringLiteral("timeout_error"), 504},         {QStringLiteral("overloaded_error"), 529},
    };
    return statuses.value(type, 0);
}

ErrorKind errorKindForApiErrorType(const QString &type, ErrorKind fallback)
{
    const int status = statusForApiErrorType(type);
    return status == 0 ? fallback : errorKindForStatus(status);
}

} // namespace sluice
