#pragma once
// SimReply: the assistant's reply and the API's response shapes (message JSON, SSE events, error bodies).
//
// Design note. The reply is a deterministic function of (seed, prompt digest, length): a sequence of pieces,
// one per output token, drawn from a small vocabulary by a splitmix64 stream. One piece is one token, so
// usage.output_tokens is exactly the number of pieces sent, and the text of a stream's deltas adds up to the
// non-streamed text for the same request. The natural length of a reply (when SimOptions::outputTokens is 0)
// is 16 to 48 tokens, also derived from the digest, so the same prompt always gets the same answer.
//
// Worked example: pieces(seed, digest, 4) is four words such as {"Water", " keeps", " the", " river."}: the
// text is "Water keeps the river.", output_tokens 4, and a stream sends it in deltas of up to 3 tokens,
// "Water keeps the" then " river.".
//
// Threading: pure functions; any thread.

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <QStringList>

namespace sluice::sim {

// splitmix64: tiny, fast, and good enough for simulation draws; seeded per request so runs repeat exactly.
class SimRng
{
public:
    explicit SimRng(quint64 seed)
        : m_state(seed)
    {}
    SimRng(quint64 seed, quint64 stream)
        : m_state(mix(seed) ^ mix(stream + 0x632be59bd9b4e019ULL))
    {}
    quint64 next()
    {
        m_state += 0x9e3779b97f4a7c15ULL;
        return mix(m_state);
    }
    // Uniform in [0, 1).
    double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }

private:
    static quint64 mix(quint64 z)
    {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    quint64 m_state;
};

struct SimReply
{
    // The natural length of the reply to this prompt: 16..48 tokens.
    static int naturalLength(quint64 seed, quint64 promptHash);
    // `count` pieces, one per token; joined they are the reply's text.
    static QStringList pieces(quint64 seed, quint64 promptHash, int count);

    // {id, type:"message", role:"assistant", model, content:[{type:"text", text}], stop_reason,
    // stop_sequence, usage}
    static QJsonObject message(const QString &id, const QString &model, const QString &text,
                               const QString &stopReason, int inputTokens, int outputTokens);
    // {"type":"error","error":{"type":type,"message":message},"request_id":requestId}
    static QJsonObject errorBody(const QString &type, const QString &message, const QString &requestId);
    // "event: NAME\ndata: {compact JSON}\n\n"
    static QByteArray sseEvent(const QByteArray &name, const QJsonObject &data);
};

} // namespace sluice::sim
