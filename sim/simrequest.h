#pragma once
// SimRequest: one Messages (or count_tokens) request body, validated with the API's wording and counted in
// tokens.
//
// Design note. The simulator must refuse what the API refuses, with messages a person would recognise from
// the real service ("max_tokens: Field required", "messages: at least one message is required"), because a
// client's handling of 400s is only tested if the 400s look real. Validation stops at the first problem, in
// the API's order: model, max_tokens, messages (shape, roles, content), then the optional fields.
//
// Input tokens are counted with a documented heuristic, the same for /v1/messages and count_tokens, so a
// client that counts first can reserve exactly what the server will charge:
//   3 (framing) + for the system prompt: 2 + text tokens + for each message: 4 + its content's tokens,
//   + tools, if any: ceil(compact JSON length / 4),
// where a text is ceil(UTF-16 length / 4) tokens and a non-text block (image, tool_use, ...) is ceil(its
// compact JSON length / 4). Worked example: {"messages":[{"role":"user","content":"Hello, world"}]} -> 3 + 4
// + ceil(12/4) = 10 tokens.
//
// Threading: pure functions; any thread.

#include <QByteArray>
#include <QJsonObject>
#include <QString>

namespace sluice::sim {

struct SimRequest
{
    enum class Kind
    {
        Messages,
        CountTokens
    };

    QJsonObject body;
    QString model;
    int maxTokens = 0; // 0 for count_tokens (it takes none)
    bool stream = false;
    int inputTokens = 0;
    quint64 promptHash = 0; // a stable digest of the prompt, from which the reply is generated

    // Parses and validates a request body. On failure returns false and sets *error to the API's message.
    static bool parse(const QByteArray &json, Kind kind, int maxTokensLimit, SimRequest *out, QString *error);
    // The heuristic above, for an already valid body.
    static int countInputTokens(const QJsonObject &body);
};

} // namespace sluice::sim
