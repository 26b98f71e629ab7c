#include "simreply.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <array>

namespace sluice::sim {

namespace {
constexpr std::array<const char *, 48> kWords = {
    "water", "gate",  "river",   "flow",   "stone",  "level",  "channel", "steady", "the",    "a",
    "keeps", "opens", "closes",  "slowly", "every",  "second", "bucket",  "token",  "limit",  "queue",
    "of",    "and",   "through", "under",  "bright", "calm",   "current", "lock",   "meadow", "mill",
    "wheel", "turns", "waits",   "admits", "one",    "more",   "quietly", "along",  "bank",   "reed",
    "heron", "watch", "measure", "pace",   "rain",   "cloud",  "valley",  "sea"};
} // namespace

int SimReply::naturalLength(quint64 seed, quint64 promptHash)
{
    SimRng rng(seed, promptHash ^ 0x5bd1e995ULL);
    return 16 + int(rng.next() % 33);
}

QStringList SimReply::pieces(quint64 seed, quint64 promptHash, int count)
{
    SimRng rng(seed, promptHash);
    QStringList out;
    out.reserve(count);
    for (int i = 0; i < count; ++i) {
        QString word = QString::fromLatin1(kWords[rng.next() % kWords.size()]);
        if (i == 0)
            word[0] = word[0].toUpper();
        else
            word.prepend(QLatin1Char(' '));
        if (i == count - 1)
            word.append(QLatin1Char('.'));
        out.append(word);
    }
    return out;
}

QJsonObject SimReply::message(const QString &id, const QString &model, const QString &text,
                              const QString &stopReason, int inputTokens, int outputTokens)
{
    return QJsonObject{
        {QStringLiteral("id"), id},
        {QStringLiteral("type"), QStringLiteral("message")},
        {QStringLiteral("role"), QStringLiteral("assistant")},
        {QStringLiteral("model"), model},
        {QStringLiteral("content"), QJsonArray{QJsonObject{{QStringLiteral("type"), QStringLiteral("text")},
                                                           {QStringLiteral("text"), text}}}},
        {QStringLiteral("stop_reason"),
         stopReason.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(stopReason)},
        {QStringLiteral("stop_sequence"), QJsonValue(QJsonValue::Null)},
        {QStringLiteral("usage"), QJsonObject{{QStringLiteral("input_tokens"), inputTokens},
                                              {QStringLiteral("output_tokens"), outputTokens},
                                              {QStringLiteral("cache_creation_input_tokens"), 0},
                                              {QStringLiteral("cache_read_input_tokens"), 0}}},
    };
}

QJsonObject SimReply::errorBody(const QString &type, const QString &message, const QString &requestId)
{
    return QJsonObject{
        {QStringLiteral("type"), QStringLiteral("error")},
        {QStringLiteral("error"),
         QJsonObject{{QStringLiteral("type"), type}, {QStringLiteral("message"), message}}},
        {QStringLiteral("request_id"), requestId},
    };
}

QByteArray SimReply::sseEvent(const QByteArray &name, const QJsonObject &data)
{
    return "event: " + name + "\ndata: " + QJsonDocument(data).toJson(QJsonDocument::Compact) + "\n\n";
}

} // namespace sluice::sim
