#include "tokenestimator.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace sluice::TokenEstimator {

namespace {

qint64 ceilQuarter(qint64 n)
{
    return (n + 3) / 4;
}

qint64 compactJsonTokens(const QJsonValue &v)
{
    QByteArray json;
    if (v.isObject())
        json = QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact);
    else if (v.isArray())
        json = QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact);
    else
        json = v.toVariant().toString().toUtf8();
    return ceilQuarter(json.size());
}

} // namespace

qint64 contentTokens(const QJsonValue &content)
{
    if (content.isString())
        return ceilQuarter(content.toString().size());
    if (!content.isArray())
        return 0;
    qint64 tokens = 0;
    for (const QJsonValue &block : content.toArray()) {
        const QJsonObject b = block.toObject();
        if (b.value(QLatin1String("type")).toString() == QLatin1String("text"))
            tokens += ceilQuarter(b.value(QLatin1String("text")).toString().size());
        else
            tokens += compactJsonTokens(b);
    }
    return tokens;
}

qint64 estimateInputTokens(const QJsonObject &body)
{
    qint64 tokens = 3;
    const QJsonValue system = body.value(QLatin1String("system"));
    if (!system.isUndefined() && !system.isNull())
        tokens += 2 + contentTokens(system);
    for (const QJsonValue &m : body.value(QLatin1String("messages")).toArray())
        tokens += 4 + contentTokens(m.toObject().value(QLatin1String("content")));
    const QJsonValue tools = body.value(QLatin1String("tools"));
    if (tools.isArray() && !tools.toArray().isEmpty())
        tokens += compactJsonTokens(tools);
    return tokens;
}

} // namespace sluice::TokenEstimator
