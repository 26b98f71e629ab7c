#include "simrequest.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QtEndian>

#include <cmath>

namespace sluice::sim {

namespace {

int textTokens(qsizetype length)
{
    return int((length + 3) / 4);
}

int jsonTokens(const QJsonValue &value)
{
    const QByteArray compact =
        value.isObject()  ? QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact)
        : value.isArray() ? QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact)
                          : QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
    return textTokens(compact.size());
}

int contentTokens(const QJsonValue &content)
{
    if (content.isString())
        return textTokens(content.toString().size());
    int tokens = 0;
    for (const QJsonValue &block : content.toArray()) {
        const QJsonObject b = block.toObject();
        if (b.value(QLatin1String("type")).toString() == QLatin1String("text"))
            tokens += textTokens(b.value(QLatin1String("text")).toString().size());
        else
            tokens += jsonTokens(b);
    }
    return tokens;
}

// A JSON number that is a whole number, as pydantic's strict-ish int parsing accepts (1024 or 1024.0).
bool isInteger(const QJsonValue &v)
{
    if (!v.isDouble())
        return false;
    const double d = v.toDouble();
    return std::isfinite(d) && d == std::floor(d) && std::abs(d) < 2e9;
}

QString validateBlocks(const QJsonArray &blocks, const QString &where)
{
    for (qsizetype i = 0; i < blocks.size(); ++i) {
        const QString at = where + QLatin1Char('.') + QString::number(i);
        if (!blocks.at(i).isObject())
            return at +
                   QLatin1String(": Input should be a valid dictionary or object to extract fields from");
        const QJsonObject block = blocks.at(i).toObject();
        const QJsonValue type = block.value(QLatin1String("type"));
        if (type.isUndefined())
            return at + QLatin1String(".type: Field required");
        if (!type.isString())
            return at + QLatin1String(".type: Input should be a valid string");
        if (type.toString() == QLatin1String("text")) {
            const QJsonValue text = block.value(QLatin1String("text"));
            if (text.isUndefined())
                return at + QLatin1String(".text: Field required");
            if (!text.isString())
                return at + QLatin1String(".text: Input should be a valid string");
            if (text.toString().isEmpty())
                return where.section(QLatin1Char('.'), 0, 0) +
                       QLatin1String(": text content blocks must be non-empty");
        }
    }
    return {};
}

QString validateMessages(const QJsonValue &messages)
{
    if (messages.isUndefined())
        return QStringLiteral("messages: Field required");
    if (!messages.isArray())
        return QStringLiteral("messages: Input should be a valid list");
    const QJsonArray list = messages.toArray();
    if (list.isEmpty())
        return QStringLiteral("messages: at least one message is required");
    for (qsizetype i = 0; i < list.size(); ++i) {
        const QString at = QStringLiteral("messages.%1").arg(i);
        if (!list.at(i).isObject())
            return at +
                   QLatin1String(": Input should be a valid dictionary or object to extract fields from");
        const QJsonObject m = list.at(i).toObject();
        const QJsonValue role = m.value(QLatin1String("role"));
        if (role.isUndefined())
            return at + QLatin1String(".role: Field required");
        if (role.toString() != QLatin1String("user") && role.toString() != QLatin1String("assistant"))
            return at + QLatin1String(".role: Input should be 'user' or 'assistant'");
        const QJsonValue content = m.value(QLatin1String("content"));
        if (content.isUndefined())
            return at + QLatin1String(".content: Field required");
        if (!content.isString() && !content.isArray())
            return at + QLatin1String(".content: Input should be a valid string or a list of content blocks");
        if (content.isArray()) {
            const QString blocks = validateBlocks(content.toArray(), at + QLatin1String(".content"));
            if (!blocks.isEmpty())
                return blocks;
        }
        const bool empty = content.isString() ? content.toString().isEmpty() : content.toArray().isEmpty();
        const bool finalAssistant = i == list.size() - 1 && role.toString() == QLatin1String("assistant");
        if (empty && !finalAssistant)
            return at +
                   QLatin1String(": all messages must have non-empty content except for the optional final "
                                 "assistant message");
    }
    if (list.first().toObject().value(QLatin1String("role")).toString() != QLatin1String("user"))
        return QStringLiteral("messages: first message must use the \"user\" role");
    return {};
}

QString validateOptional(const QJsonObject &body)
{
    const QJsonValue system = body.value(QLatin1String("system"));
    if (!system.isUndefined() && !system.isNull()) {
        if (!system.isString() && !system.isArray())
            return QStringLiteral("system: Input should be a valid string or a list of text blocks");
        if (system.isArray()) {
            const QString blocks = validateBlocks(system.toArray(), QStringLiteral("system"));
            if (!blocks.isEmpty())
                return blocks;
        }
    }
    const QJsonValue temperature = body.value(QLatin1String("temperature"));
    if (!temperature.isUndefined() && !temperature.isNull()) {
        if (!temperature.isDouble())
            return QStringLiteral("temperature: Input should be a valid number");
        if (temperature.toDouble() < 0)
            return QStringLiteral("temperature: Input should be greater than or equal to 0");
        if (temperature.toDouble() > 1)
            return QStringLiteral("temperature: Input should be less than or equal to 1");
    }
    const QJsonValue stream = body.value(QLatin1String("stream"));
    if (!stream.isUndefined() && !stream.isNull() && !stream.isBool())
        return QStringLiteral("stream: Input should be a valid boolean");
    const QJsonValue stops = body.value(QLatin1String("stop_sequences"));
    if (!stops.isUndefined() && !stops.isNull()) {
        if (!stops.isArray())
            return QStringLiteral("stop_sequences: Input should be a valid list");
        const QJsonArray list = stops.toArray();
        for (qsizetype i = 0; i < list.size(); ++i) {
            if (!list.at(i).isString())
                return QStringLiteral("stop_sequences.%1: Input should be a valid string").arg(i);
        }
    }
    return {};
}

} // namespace

bool SimRequest::parse(const QByteArray &json, Kind kind, int maxTokensLimit, SimRequest *out, QString *error)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        *error = QStringLiteral("There was an error parsing the body of your request: %1 at offset %2")
                     .arg(parseError.errorString())
                     .arg(parseError.offset);
        return false;
    }
    if (!doc.isObject()) {
        *error = QStringLiteral("Input should be a valid dictionary or object to extract fields from");
        return false;
    }
    SimRequest r;
    r.body = doc.object();

    const QJsonValue model = r.body.value(QLatin1String("model"));
    if (model.isUndefined()) {
        *error = QStringLiteral("model: Field required");
        return false;
    }
    if (!model.isString()) {
        *error = QStringLiteral("model: Input should be a valid string");
        return false;
    }
    if (model.toString().trimmed().isEmpty()) {
        *error = QStringLiteral("model: String should have at least 1 character");
        return false;
    }
    r.model = model.toString();

    if (kind == Kind::Messages) {
        const QJsonValue maxTokens = r.body.value(QLatin1String("max_tokens"));
        if (maxTokens.isUndefined()) {
            *error = QStringLiteral("max_tokens: Field required");
            return false;
        }
        if (!isInteger(maxTokens)) {
            *error = QStringLiteral("max_tokens: Input should be a valid integer");
            return false;
        }
        r.maxTokens = maxTokens.toInt();
        if (r.maxTokens < 1) {
            *error = QStringLiteral("max_tokens: Input should be greater than or equal to 1");
            return false;
        }
        if (r.maxTokens > maxTokensLimit) {
            *error = QStringLiteral(
                         "max_tokens: %1 > %2, which is the maximum allowed number of output tokens for %3")
                         .arg(r.maxTokens)
                         .arg(maxTokensLimit)
                         .arg(r.model);
            return false;
        }
    }

    QString problem = validateMessages(r.body.value(QLatin1String("messages")));
    if (problem.isEmpty())
        problem = validateOptional(r.body);
    if (!problem.isEmpty()) {
        *error = problem;
        return false;
    }

    r.stream = kind == Kind::Messages && r.body.value(QLatin1String("stream")).toBool(false);
    r.inputTokens = countInputTokens(r.body);
    QJsonObject prompt;
    prompt.insert(QLatin1String("system"), r.body.value(QLatin1String("system")));
    prompt.insert(QLatin1String("messages"), r.body.value(QLatin1String("messages")));
    const QByteArray digest = QCryptographicHash::hash(QJsonDocument(prompt).toJson(QJsonDocument::Compact),
                                                       QCryptographicHash::Sha256);
    r.promptHash = qFromLittleEndian<quint64>(digest.constData());
    *out = std::move(r);
    return true;
}

int SimRequest::countInputTokens(const QJsonObject &body)
{
    int tokens = 3;
    const QJsonValue system = body.value(QLatin1String("system"));
    if (system.isString() || system.isArray())
        tokens += 2 + contentTokens(system);
    for (const QJsonValue &m : body.value(QLatin1String("messages")).toArray())
        tokens += 4 + contentTokens(m.toObject().value(QLatin1String("content")));
    const QJsonValue tools = body.value(QLatin1String("tools"));
    if (tools.isArray() && !tools.toArray().isEmpty())
        tokens += jsonTokens(tools);
    return tokens;
}

} // namespace sluice::sim
