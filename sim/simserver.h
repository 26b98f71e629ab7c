#pragma once
// SimServer: a local stand-in for the Claude Messages API, with real limits, headers and faults.
//
// Design note. Sluice must be tested against something that behaves like the API where it matters to a
// scheduler: per-minute limits enforced as continuously refilled buckets over a short window, 429s with an
// honest retry-after, rate-limit headers on every response, latency, and the faults a client must survive.
// SimServer is an independent implementation of the server side (it shares no code with core/ beyond the
// clock), so a bug in the client's accounting cannot be mirrored by the same bug here.
//
// Limits. Each per-minute limit L is a bucket of capacity L/60 * enforcementWindowSeconds, refilled at L/60
// per second. A request is admitted only if all buckets (1 request, its input tokens, its max_tokens) and a
// concurrency slot are available at once; otherwise it gets a 429 and nothing is taken. Output tokens are
// reserved as max_tokens at admission and settled to the tokens actually produced when the response ends (as
// the API does). A cost larger than a bucket's capacity is admitted when that bucket is full and leaves it in
// debt, so oversize requests are paced at the average rate instead of being refused for ever.
//
// Worked example (60 RPM, window 1 s): the bucket holds 1 request and refills 1 per second. Request A at t =
// 0 is admitted (level 1 -> 0); request B at t = 0.01 s gets 429 with retry-after: 1 (ceil(0.99 s)) and
// anthropic-ratelimit-requests-remaining: 0; request C at t = 1.0 s is admitted.
//
// Faults. For each request to /v1/messages one uniform draw picks at most one fault, with probabilities p500,
// p529, pReset, pStall, pMalformed, pStreamError taken in that order (their sum must not exceed 1). The
// draws come from a generator seeded with (seed, n) for the n-th admitted request, so the same sequence of
// requests meets the same faults in every run, whatever the timing. pStreamError applies to streaming
// requests only. Limits come first (a 429 meets no fault); count_tokens meets none.
//
// Routes. POST /v1/messages, POST /v1/messages/count_tokens (the API's shapes), GET /stats (counters as
// JSON), GET /control (the options as JSON), POST /control (a JSON object of option fields to change; others
// are kept), POST /stats/reset. The control routes need no key.
//
// Threading: a SimServer lives in one thread (the one that created it) and serves from that thread's event
// loop; call its methods from that thread only.

#include <QHostAddress>
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QUrl>

#include <memory>

namespace sluice::sim {

struct SimOptions
{
    // Limits, per minute; 0 = unlimited.
    double requestsPerMinute = 0;
    double inputTokensPerMinute = 0;
    double outputTokensPerMinute = 0;
    double countTokensRequestsPerMinute = 0; // /v1/messages/count_tokens has its own, independent RPM limit
    double enforcementWindowSeconds = 1.0;   // bucket capacity = limit/60 * this (seconds, > 0)
    int concurrency = 0;                     // requests in flight at once; 0 = unlimited

    // Latency, milliseconds. The first byte of a response comes after latencyMeanMs +-
    // uniform(latencyJitterMs); generating the output then takes msPerOutputToken per token (streamed deltas
    // are spaced by it; a non-streamed response is sent when generation would have ended).
    double latencyMeanMs = 0;
    double latencyJitterMs = 0;
    double msPerOutputToken = 0;

    // Fault probabilities per /v1/messages request, each in [0, 1].
    double p500 = 0;         // 500 api_error
    double p529 = 0;         // 529 overloaded_error
    double pReset = 0;       // connection reset without a response (streaming: after a few deltas)
    double pStall = 0;       // accept and never answer, until the client gives up
    double pMalformed = 0;   // 200 with a truncated JSON body (streaming: an event whose data is not JSON)
    double pStreamError = 0; // streaming only: `event: error` (overloaded_error) after a few deltas
    quint64 seed = 1;

    // Authentication: empty = accept any key or none; otherwise x-api-key or Authorization: Bearer must
    // match.
    QString apiKey;

    // Responses. outputTokens = 0: the reply's length is derived from the prompt (16 to 48 tokens); > 0:
    // exactly this many. Either way capped by max_tokens (stop_reason "max_tokens" then).
    int outputTokens = 0;
    int maxTokensLimit = 64000; // max_tokens above this is a 400, as for the real models
    // Token -remaining headers rounded to the nearest thousand, as the API does. With small limits that often
    // reads 0 (or 1000): tests that assert exact levels turn it off.
    bool roundTokenRemaining = true;
    qint64 maxRequestBytes = 32LL << 20; // larger bodies get 413 request_too_large (the Messages API's 32 MB)

    // Empty if every field is in range; otherwise a message naming the first bad field and its value.
    QString validate() const;
    // Field names are the member names above (seed as a decimal string or number); apiKey is never written
    // out.
    QJsonObject toJson() const;
    // Applies the fields present in `json` on top of `base`. On a bad field or value, returns false and sets
    // *error.
    static bool fromJson(const QJsonObject &json, const SimOptions &base, SimOptions *out, QString *error);

    // Demo mode's simulator (sluice with no key and no base URL, GUI or headless): limits a tier-1 key might
    // have, a realistic latency, no faults, so the demo runs the same way every time.
    static SimOptions demo();

    bool operator==(const SimOptions &) const = default;
};

class SimServerPrivate;

class SimServer : public QObject
{
    Q_OBJECT
public:
    explicit SimServer(SimOptions options, QObject *parent = nullptr);
    ~SimServer() override;

    // Starts listening; port 0 picks a free port (read it back with port()). False if the port is taken.
    bool listen(quint16 port = 0, const QHostAddress &address = QHostAddress::LocalHost);
    quint16 port() const;
    QUrl baseUrl() const; // http://127.0.0.1:PORT (no trailing slash)

    // Changes limits, latency and faults at once; buckets keep their current level (clamped to a smaller
    // capacity), a limit switched on starts full. Returns false (and changes nothing) if options.validate()
    // fails.
    bool setOptions(const SimOptions &options);
    SimOptions options() const;

    // Counters since start or the last resetStats() (GET /stats returns the same object):
    //   received: requests to /v1/messages and /v1/messages/count_tokens
    //   admitted: requests that passed every limit (count_tokens included)
    //   succeeded: complete 200 responses (a stream counts once message_stop was sent)
    //   rate_limited: {total, requests, input_tokens, output_tokens, concurrency, count_tokens_requests}
    //   faults: {api_error_500, overloaded_529, reset, stall, malformed, stream_error}
    //   errors: {invalid_request_400, authentication_401, not_found_404, method_405, too_large_413}
    //   in_flight: admitted requests whose response has not ended
    //   input_tokens_admitted, output_tokens_produced: token totals
    //   admissions_per_second: [n0, n1, ...] /v1/messages admissions per whole second (the last 3600 s)
    //   max_admissions_per_second, uptime_seconds
    QJsonObject stats() const;
    void resetStats();

private:
    std::unique_ptr<SimServerPrivate> d;
};

} // namespace sluice::sim
