#include "batchio.h"

#include <QJsonDocument>
#include <QJsonParseError>

#include <cmath>
#include <limits>

namespace sluice {

namespace {

QString typeName(const QJsonValue &v)
{
    switch (v.type()) {
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Bool:
        return QStringLiteral("a boolean");
    case QJsonValue::Double:
        return QStringLiteral("a number");
    case QJsonValue::String:
        return QStringLiteral("a string");
    case QJsonValue::Array:
        return QStringLiteral("an array");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    case QJsonValue::Undefined:
        break;
    }
    return QStringLiteral("nothing");
}

bool isBlank(const QByteArray &text)
{
    for (char c : text)
        if (c != ' ' && c != '\t' && c != '\r' && c != '\f' && c != '\v')
            return false;
    return true;
}

} // namespace

BatchReader::Parsed BatchReader::parse(const QByteArray &raw, int lineNumber)
{
    Parsed out;
    QByteArray text = raw;
    if (text.endsWith('\r'))
        text.chop(1);
    if (lineNumber == 1 && text.startsWith("\xEF\xBB\xBF"))
        text.remove(0, 3);
    if (isBlank(text))
        return out; // Kind::Blank

    const QString where = QStringLiteral("line %1: ").arg(lineNumber);
    auto fail = [&](const QString &why) {
        out.kind = Kind::Error;
        out.error = where + why;
        return out;
    };

    QJsonParseError parseError{};
    const QJsonDocument doc = QJsonDocument::fromJson(text, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return fail(QStringLiteral("not JSON (%1 at character %2)")
                        .arg(parseError.errorString())
                        .arg(parseError.offset + 1));
    if (!doc.isObject())
        return fail(QStringLiteral("not a JSON object (got an array)"));
    const QJsonObject o = doc.object();

    const QJsonValue id = o.value(QLatin1String("custom_id"));
    if (id.isUndefined())
        return fail(QStringLiteral("custom_id is missing"));
    if (!id.isString())
        return fail(QStringLiteral("custom_id must be a string, got %1").arg(typeName(id)));
    const QString customId = id.toString();
    if (customId.isEmpty())
        return fail(QStringLiteral("custom_id is empty"));
    const auto seen = m_seen.constFind(customId);
    if (seen != m_seen.constEnd())
        return fail(QStringLiteral("custom_id \"%1\" duplicates line %2").arg(customId).arg(seen.value()));
    // From here on the line owns its custom_id, even if the rest of it is bad: a later line with the same id
    // is a duplicate either way.
    m_seen.insert(customId, lineNumber);
    out.customId = customId;

    const QJsonValue params = o.value(QLatin1String("params"));
    if (params.isUndefined())
        return fail(QStringLiteral("params is missing"));
    if (!params.isObject())
        return fail(QStringLiteral("params must be an object, got %1").arg(typeName(params)));

    int priority = 0;
    const QJsonValue p = o.value(QLatin1String("priority"));
    if (!p.isUndefined()) {
        if (!p.isDouble())
            return fail(QStringLiteral("priority must be an integer, got %1").arg(typeName(p)));
        const double v = p.toDouble();
        if (v != std::floor(v))
            return fail(QStringLiteral("priority must be an integer, got %1").arg(v));
        if (v < double(std::numeric_limits<int>::min()) || v > double(std::numeric_limits<int>::max()))
            return fail(QStringLiteral("priority %1 is out of range (%2..%3)")
                            .arg(v, 0, 'g', 17)
                            .arg(std::numeric_limits<int>::min())
                            .arg(std::numeric_limits<int>::max()));
        priority = int(v);
    }

    out.kind = Kind::Request;
    out.request = BatchLine{lineNumber, customId, params.toObject(), priority};
    return out;
}

BatchResultWriter::BatchResultWriter(const QString &secret)
    : m_secret(secret.toUtf8())
{}

QJsonObject BatchResultWriter::toJson(const BatchResult &r)
{
    QJsonObject result;
    switch (r.type) {
    case BatchResult::Type::Succeeded:
        result.insert(QStringLiteral("type"), QStringLiteral("succeeded"));
        result.insert(QStringLiteral("message"), r.message);
        break;
    case BatchResult::Type::Errored:
        result.insert(QStringLiteral("type"), QStringLiteral("errored"));
        result.insert(
            QStringLiteral("error"),
            QJsonObject{{QStringLiteral("type"), QStringLiteral("error")},
                        {QStringLiteral("error"), QJsonObject{{QStringLiteral("type"), r.errorType},
                                                              {QStringLiteral("message"), r.errorMessage}}}});
        break;
    case BatchResult::Type::Canceled:
        result.insert(QStringLiteral("type"), QStringLiteral("canceled"));
        break;
    }

    const BatchMeta &m = r.meta;
    QJsonObject meta{
        {QStringLiteral("line"), m.line},
        {QStringLiteral("attempts"), m.attempts},
        {QStringLiteral("queue_wait_ms"), double(m.queueWaitMs)},
        {QStringLiteral("latency_ms"), double(m.latencyMs)},
        {QStringLiteral("finished_ms"), double(m.finishedMs)},
        {QStringLiteral("request_id"),
         m.requestId.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(m.requestId)},
        {QStringLiteral("error_kind"),
         m.errorKind.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(m.errorKind)},
    };
    if (r.type == BatchResult::Type::Canceled)
        meta.insert(QStringLiteral("reason"), m.reason);

    return QJsonObject{
        {QStringLiteral("custom_id"), r.customId.isString() ? r.customId : QJsonValue(QJsonValue::Null)},
        {QStringLiteral("result"), result},
        {QStringLiteral("sluice"), meta}};
}

QByteArray BatchResultWriter::line(const BatchResult &result) const
{
    QByteArray out = QJsonDocument(toJson(result)).toJson(QJsonDocument::Compact);
    // A key is plain ASCII ([A-Za-z0-9_-]), which JSON writes unescaped, so a byte search finds every copy.
    if (!m_secret.isEmpty())
        out.replace(m_secret, QByteArrayLiteral("[redacted]"));
    out.append('\n');
    return out;
}

} // namespace sluice
