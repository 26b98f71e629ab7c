#pragma once
// TokenEstimator: how many input tokens a Messages request will be charged, before the server says.
//
// Design note. The input-token bucket is debited at dispatch, before the server has counted anything, so
// Sluice needs an estimate; the response's usage.input_tokens then settles the difference (refund or debt).
// The estimate is a published heuristic, the one sluice-sim charges by, so against the simulator it is exact,
// and against the real API it is close for English prose (about 4 characters a token) and corrected on
// settle. Where exactness matters, count the request first with POST /v1/messages/count_tokens and pass the
// count instead.
//   3 (framing) + system prompt: 2 + its text + each message: 4 + its content,
//   + tools, if any: ceil(compact JSON length / 4),
// where a text is ceil(UTF-16 length / 4) tokens and any other content block ceil(its compact JSON length /
// 4).
//
// Worked example: {"messages":[{"role":"user","content":"Hello, world"}]} -> 3 + 4 + ceil(12 / 4) = 10
// tokens; a 1,000-character prompt with a 200-character system prompt -> 3 + (2 + 50) + (4 + 250) = 309
// tokens.
//
// Threading: pure functions; any thread.

#include <QJsonObject>
#include <QJsonValue>

namespace sluice {

namespace TokenEstimator {
// Estimated input tokens of a Messages request body; never negative.
qint64 estimateInputTokens(const QJsonObject &body);
// Tokens of one `content` value (a string, or an array of blocks) or a system prompt.
qint64 contentTokens(const QJsonValue &content);
} // namespace TokenEstimator

} // namespace sluice
