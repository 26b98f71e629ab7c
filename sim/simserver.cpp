#include "simserver.h"

#include "core/clock.h"
#include "simbucket.h"
#include "simhttp.h"
#include "simreply.h"
#include "simrequest.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QLocale>
#include <QMap>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

namespace sluice::sim {

namespace {

enum class Fault
{
    None,
    Status500,
    Status529,
    Reset,
    Stall,
    Malformed,
    StreamError,
    Count
};
enum class Limit
{
    Requests,
    InputTokens,
    OutputTokens,
    Concurrency,
    CountTokensRequests,
    Count
};

const char *faultName(Fault f)
{
    switch (f) {
    case Fault::Status500:
        return "api_error_500";
    case Fault::Status529:
        return "overloaded_529";
    case Fault::Reset:
        return "reset";
    case Fault::Stall:
        return "stall";
    case Fault::Malformed:
        return "malformed";
    case Fault::StreamError:
        return "stream_error";
    default:
        break;
    }
    return "none";
}

const char *limitName(Limit l)
{
    switch (l) {
    case Limit::Requests:
        return "requests";
    case Limit::InputTokens:
        return "input_tokens";
    case Limit::OutputTokens:
        return "output_tokens";
    case Limit::Concurrency:
        return "concurrency";
    case Limit::CountTokensRequests:
        return "count_tokens_requests";
    default:
        break;
    }
    return "unknown";
}

// Streams fail after this many deltas (fewer if the reply is shorter), so a client has already shown partial
// text.
constexpr int kDeltasBeforeStreamFault = 2;
constexpr int kTokensPerDelta = 3;
constexpr Duration kResetGrace = std::chrono::milliseconds(50);
constexpr qint64 kSecondsOfAdmissionHistory = 3600;

QByteArray jsonBytes(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

QByteArray numberHeader(double v)
{
    if (v == std::floor(v) && std::abs(v) < 9e15)
        return QByteArray::number(qint64(v));
    return QByteArray::number(v, 'f', 3);
}

QString thousands(double v)
{
    return QLocale(QLocale::English).toString(qint64(std::llround(v)));
}

struct Counters
{
    qint64 received = 0;
    qint64 admitted = 0;
    qint64 succeeded = 0;
    qint64 rateLimited[int(Limit::Count)] = {};
    qint64 faults[int(Fault::Count)] = {};
    qint64 e400 = 0, e401 = 0, e404 = 0, e405 = 0, e413 = 0;
    qint64 inputTokensAdmitted = 0;
    qint64 outputTokensProduced = 0;
    QMap<qint64, qint64> admissionsPerSecond; // whole seconds since `since` -> admissions
    TimePoint since;
};

// One admitted /v1/messages request on its way to the client. Its lifetime bounds every timer it arms (they
// use it as their context), so a response can never be written after the exchange has ended.
class Exchange : public QObject
{
public:
    QPointer<QTcpSocket> socket;
    QString requestId;
    QString messageId;
    QString model;
    HttpHeaders rateHeaders; // the rate-limit headers, fixed at admission (after this request was counted)
    bool close = false;
    bool stream = false;
    int inputTokens = 0;
    int maxTokens = 0;
    bool reservedOutput = false;
    QStringList pieces;
    QString stopReason;
    Fault fault = Fault::None;
    int sentTokens = 0;
    int sentDeltas = 0;
    TimePoint firstByteAt;
    bool finished = false;
};

} // namespace

class SimServerPrivate
{
public:
    SimServerPrivate(SimServer *q, SimOptions o)
        : q(q)
        , options(std::move(o))
    {
        counters.since = clock.now();
    }

    void syncBuckets(TimePoint now);
    void handle(const SimHttpRequest &req, QTcpSocket *socket);
    void handleMessages(const SimHttpRequest &req, QTcpSocket *socket, const QString &rid, TimePoint now,
                        bool countTokens);
    void handleControl(const SimHttpRequest &req, QTcpSocket *socket, const QString &rid);
    bool authorised(const SimHttpRequest &req, QString *message) const;

    HttpHeaders rateLimitHeaders(TimePoint now, const QList<Limit> &exhausted, bool countTokensRoute) const;
    QByteArray rfc3339(TimePoint t) const;
    void sendJson(QTcpSocket *socket, int status, const QJsonObject &body, const QString &rid, bool close,
                  HttpHeaders extra = {}) const;
    void sendError(QTcpSocket *socket, int status, const QString &type, const QString &message,
                   const QString &rid, bool close, HttpHeaders extra = {}) const;
    void rejectRateLimited(QTcpSocket *socket, const QString &rid, bool close, TimePoint now,
                           const QList<Limit> &failing, Limit named, Duration wait, bool countTokensRoute);

    void at(Exchange *ex, TimePoint when, std::function<void()> fn);
    void startResponse(Exchange *ex);
    void streamNext(Exchange *ex);
    void finish(Exchange *ex, bool succeeded);

    QString nextId(const char *prefix);
    QJsonObject statsJson() const;

    SimServer *q;
    SimOptions options;
    SteadyClock clock;
    SimHttpFrontend *frontend = nullptr;
    quint16 port = 0;
    std::optional<SimBucket> requests, inputTokens, outputTokens, countTokensRequests;
    int inFlight = 0;
    quint64 idSerial = 0;   // every HTTP request: ids
    quint64 drawSerial = 0; // /v1/messages requests: the fault and latency draws
    Counters counters;
};

// ---- SimOptions
// -------------------------------------------------------------------------------------------------

namespace {

struct DoubleField
{
    const char *name;
    double SimOptions::*member;
    bool probability = false;
};
constexpr DoubleField kDoubleFields[] = {
    {"requestsPerMinute", &SimOptions::requestsPerMinute},
    {"inputTokensPerMinute", &SimOptions::inputTokensPerMinute},
    {"outputTokensPerMinute", &SimOptions::outputTokensPerMinute},
    {"countTokensRequestsPerMinute", &SimOptions::countTokensRequestsPerMinute},
    {"enforcementWindowSeconds", &SimOptions::enforcementWindowSeconds},
    {"latencyMeanMs", &SimOptions::latencyMeanMs},
    {"latencyJitterMs", &SimOptions::latencyJitterMs},
    {"msPerOutputToken", &SimOptions::msPerOutputToken},
    {"p500", &SimOptions::p500, true},
    {"p529", &SimOptions::p529, true},
    {"pReset", &SimOptions::pReset, true},
    {"pStall", &SimOptions::pStall, true},
    {"pMalformed", &SimOptions::pMalformed, true},
    {"pStreamError", &SimOptions::pStreamError, true},
};

struct IntField
{
    const char *name;
    int SimOptions::*member;
};
constexpr IntField kIntFields[] = {
    {"concurrency", &SimOptions::concurrency},
    {"outputTokens", &SimOptions::outputTokens},
    {"maxTokensLimit", &SimOptions::maxTokensLimit},
};

} // namespace

SimOptions SimOptions::demo()
{
    SimOptions o;
    o.requestsPerMinute = 300;
    o.inputTokensPerMinute = 100000;
    o.outputTokensPerMinute = 30000;
    o.enforcementWindowSeconds = 1;
    o.latencyMeanMs = 300;
    o.latencyJitterMs = 100;
    o.msPerOutputToken = 2;
    return o;
}

QString SimOptions::validate() const
{
    for (const DoubleField &f : kDoubleFields) {
        const double v = this->*f.member;
        if (!std::isfinite(v) || v < 0)
            return QStringLiteral("%1 must be a number >= 0 (got %2)").arg(QLatin1String(f.name)).arg(v);
        if (f.probability && v > 1)
            return QStringLiteral("%1 is a probability and must be in [0, 1] (got %2)")
                .arg(QLatin1String(f.name))
                .arg(v);
    }
    const double faults = p500 + p529 + pReset + pStall + pMalformed + pStreamError;
    if (faults > 1 + 1e-9)
        return QStringLiteral(
                   "the fault probabilities (p500 + p529 + pReset + pStall + pMalformed + pStreamError) "
                   "add up to %1, more than 1")
            .arg(faults);
    if (enforcementWindowSeconds <= 0)
        return QStringLiteral("enforcementWindowSeconds must be > 0 (got %1)").arg(enforcementWindowSeconds);
    for (const IntField &f : kIntFields) {
        if (this->*f.member < 0)
            return QStringLiteral("%1 must be >= 0 (got %2)").arg(QLatin1String(f.name)).arg(this->*f.member);
    }
    if (maxTokensLimit < 1)
        return QStringLiteral("maxTokensLimit must be >= 1 (got %1)").arg(maxTokensLimit);
    if (maxRequestBytes < 1)
        return QStringLiteral("maxRequestBytes must be >= 1 (got %1)").arg(maxRequestBytes);
    return {};
}

QJsonObject SimOptions::toJson() const
{
    QJsonObject o;
    for (const DoubleField &f : kDoubleFields)
        o.insert(QLatin1String(f.name), this->*f.member);
    for (const IntField &f : kIntFields)
        o.insert(QLatin1String(f.name), this->*f.member);
    o.insert(QLatin1String("seed"), QString::number(seed));
    o.insert(QLatin1String("roundTokenRemaining"), roundTokenRemaining);
    o.insert(QLatin1String("maxRequestBytes"), double(maxRequestBytes));
    o.insert(QLatin1String("apiKeyRequired"), !apiKey.isEmpty()); // read-only: the key itself is never shown
    return o;
}

bool SimOptions::fromJson(const QJsonObject &json, const SimOptions &base, SimOptions *out, QString *error)
{
    SimOptions o = base;
    for (auto it = json.begin(); it != json.end(); ++it) {
        const QString key = it.key();
        const QJsonValue v = it.value();
        bool known = false;
        for (const DoubleField &f : kDoubleFields) {
            if (key == QLatin1String(f.name)) {
                if (!v.isDouble()) {
                    *error = QStringLiteral("%1: expected a number").arg(key);
                    return false;
                }
                o.*f.member = v.toDouble();
                known = true;
            }
        }
        for (const IntField &f : kIntFields) {
            if (key == QLatin1String(f.name)) {
                if (!v.isDouble() || v.toDouble() != std::floor(v.toDouble()) ||
                    std::abs(v.toDouble()) > 2e9) {
                    *error = QStringLiteral("%1: expected an integer").arg(key);
                    return false;
                }
                o.*f.member = v.toInt();
                known = true;
            }
        }
        if (known)
            continue;
        if (key == QLatin1String("seed")) {
            bool ok = v.isDouble() && v.toDouble() >= 0 && v.toDouble() == std::floor(v.toDouble());
            quint64 seed = ok ? quint64(v.toDouble()) : 0;
            if (v.isString())
                seed = v.toString().toULongLong(&ok);
            if (!ok) {
                *error = QStringLiteral("seed: expected a non-negative integer (number or decimal string)");
                return false;
            }
            o.seed = seed;
        } else if (key == QLatin1String("roundTokenRemaining")) {
            if (!v.isBool()) {
                *error = QStringLiteral("roundTokenRemaining: expected true or false");
                return false;
            }
            o.roundTokenRemaining = v.toBool();
        } else if (key == QLatin1String("maxRequestBytes")) {
            if (!v.isDouble()) {
                *error = QStringLiteral("maxRequestBytes: expected a number");
                return false;
            }
            o.maxRequestBytes = qint64(v.toDouble());
        } else if (key == QLatin1String("apiKey")) {
            if (!v.isString()) {
                *error = QStringLiteral("apiKey: expected a string");
                return false;
            }
            o.apiKey = v.toString();
        } else if (key != QLatin1String("apiKeyRequired")) {
            *error = QStringLiteral("unknown option: %1").arg(key);
            return false;
        }
    }
    const QString problem = o.validate();
    if (!problem.isEmpty()) {
        *error = problem;
        return false;
    }
    *out = o;
    return true;
}

// ---- SimServer
// --------------------------------------------------------------------------------------------------

SimServer::SimServer(SimOptions options, QObject *parent)
    : QObject(parent)
    , d(std::make_unique<SimServerPrivate>(this, std::move(options)))
{
    Q_ASSERT_X(d->options.validate().isEmpty(), "SimServer", qPrintable(d->options.validate()));
    d->syncBuckets(d->clock.now());
    d->frontend = new SimHttpFrontend(
        [this](const SimHttpRequest &req, QTcpSocket *socket) { d->handle(req, socket); }, this);
}

SimServer::~SimServer()
{
    // Children go before d, whom they call: first the front end (its sockets' destruction ends their
    // exchanges through finish(), which needs d), then the exchanges themselves with their timers.
    delete d->frontend;
    d->frontend = nullptr;
    qDeleteAll(findChildren<QObject *>(Qt::FindDirectChildrenOnly));
}

bool SimServer::listen(quint16 port, const QHostAddress &address)
{
    auto *tcp = new QTcpServer(d->frontend);
    if (!tcp->listen(address, port)) {
        delete tcp;
        return false;
    }
    d->frontend->bind(tcp);
    d->port = tcp->serverPort();
    return true;
}

quint16 SimServer::port() const
{
    return d->port;
}

QUrl SimServer::baseUrl() const
{
    return QUrl(QStringLiteral("http://127.0.0.1:%1").arg(d->port));
}

bool SimServer::setOptions(const SimOptions &options)
{
    if (!options.validate().isEmpty())
        return false;
    d->options = options;
    d->syncBuckets(d->clock.now());
    return true;
}

SimOptions SimServer::options() const
{
    return d->options;
}

QJsonObject SimServer::stats() const
{
    return d->statsJson();
}

void SimServer::resetStats()
{
    d->counters = Counters{};
    d->counters.since = d->clock.now();
}

// ---- Private
// ----------------------------------------------------------------------------------------------------

void SimServerPrivate::syncBuckets(TimePoint now)
{
    const double window = options.enforcementWindowSeconds;
    auto sync = [&](std::optional<SimBucket> &bucket, double perMinute) {
        if (perMinute <= 0)
            bucket.reset();
        else if (!bucket)
            bucket.emplace(perMinute, window, now);
        else
            bucket->reconfigure(perMinute, window, now);
    };
    sync(requests, options.requestsPerMinute);
    sync(inputTokens, options.inputTokensPerMinute);
    sync(outputTokens, options.outputTokensPerMinute);
    sync(countTokensRequests, options.countTokensRequestsPerMinute);
}

QString SimServerPrivate::nextId(const char *prefix)
{
    SimRng rng(options.seed, ++idSerial ^ 0x1d5ULL);
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    QString id = QLatin1String(prefix) + QLatin1String("01");
    for (int i = 0; i < 22; ++i)
        id += QLatin1Char(alphabet[rng.next() % 62]);
    return id;
}

QByteArray SimServerPrivate::rfc3339(TimePoint t) const
{
    // Rounded up to the whole second: a client must never believe the bucket full before it is.
    const qint64 ms = clock.wallTime(t).toMSecsSinceEpoch();
    const qint64 up = (ms + 999) / 1000 * 1000;
    return QDateTime::fromMSecsSinceEpoch(up, Qt::UTC).toString(Qt::ISODate).toLatin1();
}

HttpHeaders SimServerPrivate::rateLimitHeaders(TimePoint now, const QList<Limit> &exhausted,
                                               bool countTokensRoute) const
{
    HttpHeaders h;
    auto remainingOf = [&](const SimBucket &b, Limit which, bool tokens) {
        if (exhausted.contains(which))
            return 0.0;
        double r = std::max(0.0, std::floor(b.level(now)));
        if (tokens && options.roundTokenRemaining)
            r = std::round(r / 1000.0) * 1000.0;
        return r;
    };
    auto add = [&](const char *name, const SimBucket &b, double remaining) {
        const QByteArray base = QByteArray("anthropic-ratelimit-") + name;
        h.append({base + "-limit", numberHeader(b.perMinute())});
        h.append({base + "-remaining", numberHeader(remaining)});
        h.append({base + "-reset", rfc3339(b.fullAt(now))});
    };
    const auto &requestBucket = countTokensRoute ? countTokensRequests : requests;
    const Limit requestLimit = countTokensRoute ? Limit::CountTokensRequests : Limit::Requests;
    if (requestBucket)
        add("requests", *requestBucket, remainingOf(*requestBucket, requestLimit, false));
    std::optional<std::pair<const SimBucket *, double>> tightest;
    if (inputTokens) {
        const double r = remainingOf(*inputTokens, Limit::InputTokens, true);
        add("input-tokens", *inputTokens, r);
        tightest = {&*inputTokens, exhausted.contains(Limit::InputTokens) ? -1.0 : inputTokens->level(now)};
    }
    if (outputTokens) {
        const double r = remainingOf(*outputTokens, Limit::OutputTokens, true);
        add("output-tokens", *outputTokens, r);
        const double key = exhausted.contains(Limit::OutputTokens) ? -1.0 : outputTokens->level(now);
        if (!tightest || key < tightest->second)
            tightest = {&*outputTokens, key};
    }
    if (tightest) {
        const SimBucket &b = *tightest->first;
        const Limit which = inputTokens && &b == &*inputTokens ? Limit::InputTokens : Limit::OutputTokens;
        add("tokens", b, remainingOf(b, which, true));
    }
    return h;
}

void SimServerPrivate::sendJson(QTcpSocket *socket, int status, const QJsonObject &body, const QString &rid,
                                bool close, HttpHeaders extra) const
{
    HttpHeaders h{{"content-type", "application/json"}, {"request-id", rid.toLatin1()}};
    h += extra;
    SimHttp::writeResponse(socket, status, h, jsonBytes(body), close);
}

void SimServerPrivate::sendError(QTcpSocket *socket, int status, const QString &type, const QString &message,
                                 const QString &rid, bool close, HttpHeaders extra) const
{
    const bool retry = status == 429 || status >= 500;
    extra.append({QByteArray("x-should-retry"), QByteArray(retry ? "true" : "false")});
    sendJson(socket, status, SimReply::errorBody(type, message, rid), rid, close, extra);
}

bool SimServerPrivate::authorised(const SimHttpRequest &req, QString *message) const
{
    if (options.apiKey.isEmpty())
        return true;
    QByteArray given = req.header("x-api-key");
    const QByteArray authorization = req.header("authorization");
    if (given.isEmpty() && authorization.startsWith("Bearer "))
        given = authorization.mid(7).trimmed();
    if (given.isEmpty()) {
        *message = QStringLiteral("x-api-key header is required");
        return false;
    }
    if (given != options.apiKey.toUtf8()) {
        *message = QStringLiteral("invalid x-api-key");
        return false;
    }
    return true;
}

void SimServerPrivate::handle(const SimHttpRequest &req, QTcpSocket *socket)
{
    const TimePoint now = clock.now();
    const QString rid = nextId("req_");
    const bool close = req.wantsClose();
    const bool messages = req.path == QLatin1String("/v1/messages");
    const bool countTokens = req.path == QLatin1String("/v1/messages/count_tokens");

    auto methodNotAllowed = [&](const QByteArray &allow) {
        ++counters.e405;
        sendError(socket, 405, QStringLiteral("invalid_request_error"),
                  QStringLiteral("Method Not Allowed: %1 %2").arg(QLatin1String(req.method), req.path), rid,
                  close, HttpHeaders{{"allow", allow}} + rateLimitHeaders(now, {}, false));
    };

    if (messages || countTokens) {
        if (req.method != "POST")
            return methodNotAllowed("POST");
        return handleMessages(req, socket, rid, now, countTokens);
    }
    if (req.path == QLatin1String("/stats")) {
        if (req.method != "GET")
            return methodNotAllowed("GET");
        return sendJson(socket, 200, statsJson(), rid, close, rateLimitHeaders(now, {}, false));
    }
    if (req.path == QLatin1String("/stats/reset")) {
        if (req.method != "POST")
            return methodNotAllowed("POST");
        q->resetStats();
        return sendJson(socket, 200, statsJson(), rid, close, rateLimitHeaders(now, {}, false));
    }
    if (req.path == QLatin1String("/control")) {
        if (req.method != "GET" && req.method != "POST")
            return methodNotAllowed("GET, POST");
        return handleControl(req, socket, rid);
    }
    ++counters.e404;
    sendError(socket, 404, QStringLiteral("not_found_error"), QStringLiteral("Not Found"), rid, close,
              rateLimitHeaders(now, {}, false));
}

void SimServerPrivate::handleControl(const SimHttpRequest &req, QTcpSocket *socket, const QString &rid)
{
    const bool close = req.wantsClose();
    if (req.method == "POST") {
        const QJsonDocument doc = QJsonDocument::fromJson(req.body);
        QString error;
        SimOptions next;
        if (!doc.isObject()) {
            error = QStringLiteral("the body must be a JSON object of option fields");
        } else if (SimOptions::fromJson(doc.object(), options, &next, &error)) {
            q->setOptions(next);
        }
        if (!error.isEmpty())
            return sendError(socket, 400, QStringLiteral("invalid_request_error"), error, rid, close);
    }
    sendJson(socket, 200, options.toJson(), rid, close);
}

void SimServerPrivate::rejectRateLimited(QTcpSocket *socket, const QString &rid, bool close, TimePoint now,
                                         const QList<Limit> &failing, Limit named, Duration wait,
                                         bool countTokensRoute)
{
    ++counters.rateLimited[int(named)];
    const qint64 retryAfter = std::max<qint64>(1, qint64(std::ceil(toSeconds(wait) - 1e-9)));
    QString what;
    switch (named) {
    case Limit::Requests:
        what = thousands(options.requestsPerMinute) + QLatin1String(" requests per minute");
        break;
    case Limit::InputTokens:
        what = thousands(options.inputTokensPerMinute) + QLatin1String(" input tokens per minute");
        break;
    case Limit::OutputTokens:
        what = thousands(options.outputTokensPerMinute) + QLatin1String(" output tokens per minute");
        break;
    case Limit::CountTokensRequests:
        what = thousands(options.countTokensRequestsPerMinute) +
               QLatin1String(" count_tokens requests per minute");
        break;
    default:
        break;
    }
    const QString message =
        named == Limit::Concurrency
            ? QStringLiteral(
                  "Number of concurrent connections has exceeded your rate limit of %1. Please try again "
                  "later or reduce the number of concurrent requests.")
                  .arg(options.concurrency)
            : QStringLiteral(
                  "This request would exceed the rate limit for your organization of %1. For details, "
                  "refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers "
                  "for current usage. Please reduce the prompt length or the maximum tokens requested, "
                  "or try again later.")
                  .arg(what);
    HttpHeaders extra{{"retry-after", QByteArray::number(retryAfter)}};
    extra += rateLimitHeaders(now, failing, countTokensRoute);
    sendError(socket, 429, QStringLiteral("rate_limit_error"), message, rid, close, extra);
}

void SimServerPrivate::handleMessages(const SimHttpRequest &req, QTcpSocket *socket, const QString &rid,
                                      TimePoint now, bool countTokens)
{
    const bool close = req.wantsClose();
    ++counters.received;
    QString message;
    if (!authorised(req, &message)) {
        ++counters.e401;
        return sendError(socket, 401, QStringLiteral("authentication_error"), message, rid, close,
                         rateLimitHeaders(now, {}, countTokens));
    }
    if (req.body.size() > options.maxRequestBytes) {
        ++counters.e413;
        return sendError(socket, 413, QStringLiteral("request_too_large"),
                         QStringLiteral("Request exceeds the maximum allowed number of bytes."), rid, true);
    }
    SimRequest r;
    const auto kind = countTokens ? SimRequest::Kind::CountTokens : SimRequest::Kind::Messages;
    if (!SimRequest::parse(req.body, kind, options.maxTokensLimit, &r, &message)) {
        ++counters.e400;
        return sendError(socket, 400, QStringLiteral("invalid_request_error"), message, rid, close,
                         rateLimitHeaders(now, {}, countTokens));
    }

    if (countTokens) {
        if (countTokensRequests && !countTokensRequests->take(1, now)) {
            return rejectRateLimited(socket, rid, close, now, {Limit::CountTokensRequests},
                                     Limit::CountTokensRequests, countTokensRequests->timeUntil(1, now),
                                     true);
        }
        ++counters.admitted;
        return sendJson(socket, 200, QJsonObject{{QStringLiteral("input_tokens"), r.inputTokens}}, rid, close,
                        rateLimitHeaders(now, {}, true));
    }

    if (options.concurrency > 0 && inFlight >= options.concurrency)
        return rejectRateLimited(socket, rid, close, now, {Limit::Concurrency}, Limit::Concurrency,
                                 std::chrono::seconds(1), false);
    QList<Limit> failing;
    Limit named = Limit::Requests;
    Duration longest = Duration::zero();
    auto check = [&](const std::optional<SimBucket> &bucket, double cost, Limit which) {
        if (!bucket)
            return;
        const Duration wait = bucket->timeUntil(cost, now);
        if (wait <= Duration::zero())
            return;
        failing.append(which);
        if (wait > longest) {
            longest = wait;
            named = which;
        }
    };
    check(requests, 1, Limit::Requests);
    check(inputTokens, r.inputTokens, Limit::InputTokens);
    check(outputTokens, r.maxTokens, Limit::OutputTokens);
    if (!failing.isEmpty())
        return rejectRateLimited(socket, rid, close, now, failing, named, longest, false);

    // Admitted: take everything at once (each take succeeds: all were checked at this same instant).
    if (requests)
        requests->take(1, now);
    if (inputTokens)
        inputTokens->take(r.inputTokens, now);
    if (outputTokens)
        outputTokens->take(r.maxTokens, now);
    ++inFlight;
    ++counters.admitted;
    counters.inputTokensAdmitted += r.inputTokens;
    ++counters.admissionsPerSecond[qint64(toSeconds(now - counters.since))];

    SimRng rng(options.seed, ++drawSerial);
    const double faultDraw = rng.uniform();
    const double latencyDraw = rng.uniform();
    Fault fault = Fault::None;
    const std::pair<double, Fault> table[] = {
        {options.p500, Fault::Status500},       {options.p529, Fault::Status529},
        {options.pReset, Fault::Reset},         {options.pStall, Fault::Stall},
        {options.pMalformed, Fault::Malformed}, {options.pStreamError, Fault::StreamError},
    };
    double edge = 0;
    for (const auto &[p, f] : table) {
        edge += p;
        if (faultDraw < edge) {
            fault = f;
            break;
        }
    }
    if (fault == Fault::StreamError && !r.stream)
        fault = Fault::None;
    if (fault != Fault::None)
        ++counters.faults[int(fault)];

    auto *ex = new Exchange;
    ex->setParent(q);
    ex->socket = socket;
    ex->requestId = rid;
    ex->messageId = nextId("msg_");
    ex->model = r.model;
    ex->rateHeaders = rateLimitHeaders(now, {}, false);
    ex->close = close;
    ex->stream = r.stream;
    ex->inputTokens = r.inputTokens;
    ex->maxTokens = r.maxTokens;
    ex->reservedOutput = outputTokens.has_value();
    ex->fault = fault;
    const int natural =
        options.outputTokens > 0 ? options.outputTokens : SimReply::naturalLength(options.seed, r.promptHash);
    const int count = std::min(natural, r.maxTokens);
    ex->stopReason = natural > r.maxTokens ? QStringLiteral("max_tokens") : QStringLiteral("end_turn");
    ex->pieces = SimReply::pieces(options.seed, r.promptHash, count);
    const double latencyMs =
        std::max(0.0, options.latencyMeanMs + options.latencyJitterMs * (2.0 * latencyDraw - 1.0));
    ex->firstByteAt = now + fromMilliseconds(latencyMs);

    // A stalled or streaming client that goes away ends the exchange: settle what was produced, free the
    // slot.
    QObject::connect(socket, &QAbstractSocket::disconnected, ex, [this, ex] { finish(ex, false); });
    QObject::connect(socket, &QObject::destroyed, ex, [this, ex] { finish(ex, false); });

    if (fault == Fault::Stall)
        return;
    startResponse(ex);
}

void SimServerPrivate::at(Exchange *ex, TimePoint when, std::function<void()> fn)
{
    const Duration delay = when - clock.now();
    const auto ms = std::max<qint64>(0, std::chrono::ceil<std::chrono::milliseconds>(delay).count());
    QTimer::singleShot(std::chrono::milliseconds(ms), Qt::PreciseTimer, ex, [ex, fn = std::move(fn)] {
        if (!ex->finished && ex->socket)
            fn();
    });
}

void SimServerPrivate::startResponse(Exchange *ex)
{
    const Duration perToken = fromMilliseconds(options.msPerOutputToken);
    switch (ex->fault) {
    case Fault::Status500:
    case Fault::Status529:
        return at(ex, ex->firstByteAt, [this, ex] {
            const bool overloaded = ex->fault == Fault::Status529;
            sendError(ex->socket, overloaded ? 529 : 500,
                      overloaded ? QStringLiteral("overloaded_error") : QStringLiteral("api_error"),
                      overloaded ? QStringLiteral("Overloaded") : QStringLiteral("Internal server error"),
                      ex->requestId, ex->close, ex->rateHeaders);
            finish(ex, false);
        });
    case Fault::Reset:
        if (!ex->stream) {
            return at(ex, ex->firstByteAt, [this, ex] {
                SimHttp::reset(ex->socket);
                finish(ex, false);
            });
        }
        break;
    default:
        break;
    }

    if (!ex->stream) {
        const TimePoint done = ex->firstByteAt + perToken * ex->pieces.size();
        return at(ex, done, [this, ex] {
            ex->sentTokens = int(ex->pieces.size());
            const QJsonObject message =
                SimReply::message(ex->messageId, ex->model, ex->pieces.join(QString()), ex->stopReason,
                                  ex->inputTokens, ex->sentTokens);
            QByteArray body = jsonBytes(message);
            HttpHeaders h{{"content-type", "application/json"}, {"request-id", ex->requestId.toLatin1()}};
            h += ex->rateHeaders;
            if (ex->fault == Fault::Malformed)
                body.truncate(body.size() / 2);
            SimHttp::writeResponse(ex->socket, 200, h, body, ex->close);
            finish(ex, ex->fault == Fault::None);
        });
    }

    at(ex, ex->firstByteAt, [this, ex] {
        HttpHeaders h{{"content-type", "text/event-stream; charset=utf-8"},
                      {"cache-control", "no-cache"},
                      {"request-id", ex->requestId.toLatin1()}};
        h += ex->rateHeaders;
        SimHttp::writeChunkedHead(ex->socket, 200, h);
        QJsonObject start =
            SimReply::message(ex->messageId, ex->model, QString(), QString(), ex->inputTokens, 1);
        start.insert(QStringLiteral("content"), QJsonArray());
        QByteArray events =
            SimReply::sseEvent("message_start", {{QStringLiteral("type"), QStringLiteral("message_start")},
                                                 {QStringLiteral("message"), start}});
        events += SimReply::sseEvent(
            "content_block_start",
            {{QStringLiteral("type"), QStringLiteral("content_block_start")},
             {QStringLiteral("index"), 0},
             {QStringLiteral("content_block"), QJsonObject{{QStringLiteral("type"), QStringLiteral("text")},
                                                           {QStringLiteral("text"), QString()}}}});
        events += SimReply::sseEvent("ping", {{QStringLiteral("type"), QStringLiteral("ping")}});
        SimHttp::writeChunk(ex->socket, events);
        streamNext(ex);
    });
}

void SimServerPrivate::streamNext(Exchange *ex)
{
    const int total = int(ex->pieces.size());
    const int deltas = (total + kTokensPerDelta - 1) / kTokensPerDelta;
    if (ex->fault != Fault::None && ex->sentDeltas >= std::min(kDeltasBeforeStreamFault, deltas)) {
        switch (ex->fault) {
        case Fault::Reset:
            // A RST makes the peer's kernel drop data it has not yet handed to the client, so give the deltas
            // already written a moment to be read: the client should see partial text, then the reset.
            ex->socket->flush();
            return at(ex, clock.now() + kResetGrace, [this, ex] {
                SimHttp::reset(ex->socket);
                finish(ex, false);
            });
        case Fault::Malformed:
            SimHttp::writeChunk(ex->socket,
                                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                                "\"index\":0,\"delta\":{\"type\":\"text_del\n\n");
            SimHttp::endChunks(ex->socket, ex->close);
            break;
        default: {
            const QJsonObject error{{QStringLiteral("type"), QStringLiteral("error")},
                                    {QStringLiteral("error"),
                                     QJsonObject{{QStringLiteral("type"), QStringLiteral("overloaded_error")},
                                                 {QStringLiteral("message"), QStringLiteral("Overloaded")}}}};
            SimHttp::writeChunk(ex->socket, SimReply::sseEvent("error", error));
            SimHttp::endChunks(ex->socket, ex->close);
            break;
        }
        }
        return finish(ex, false);
    }
    if (ex->sentTokens >= total) {
        QByteArray events = SimReply::sseEvent(
            "content_block_stop",
            {{QStringLiteral("type"), QStringLiteral("content_block_stop")}, {QStringLiteral("index"), 0}});
        events += SimReply::sseEvent(
            "message_delta",
            {{QStringLiteral("type"), QStringLiteral("message_delta")},
             {QStringLiteral("delta"),
              QJsonObject{{QStringLiteral("stop_reason"), ex->stopReason},
                          {QStringLiteral("stop_sequence"), QJsonValue(QJsonValue::Null)}}},
             {QStringLiteral("usage"), QJsonObject{{QStringLiteral("output_tokens"), ex->sentTokens}}}});
        events +=
            SimReply::sseEvent("message_stop", {{QStringLiteral("type"), QStringLiteral("message_stop")}});
        SimHttp::writeChunk(ex->socket, events);
        SimHttp::endChunks(ex->socket, ex->close);
        return finish(ex, true);
    }
    const int n = std::min(kTokensPerDelta, total - ex->sentTokens);
    const TimePoint due = ex->firstByteAt + fromMilliseconds(options.msPerOutputToken * (ex->sentTokens + n));
    at(ex, due, [this, ex, n] {
        const QString text = ex->pieces.mid(ex->sentTokens, n).join(QString());
        ex->sentTokens += n;
        ++ex->sentDeltas;
        SimHttp::writeChunk(
            ex->socket,
            SimReply::sseEvent(
                "content_block_delta",
                {{QStringLiteral("type"), QStringLiteral("content_block_delta")},
                 {QStringLiteral("index"), 0},
                 {QStringLiteral("delta"), QJsonObject{{QStringLiteral("type"), QStringLiteral("text_delta")},
                                                       {QStringLiteral("text"), text}}}}));
        streamNext(ex);
    });
}

void SimServerPrivate::finish(Exchange *ex, bool succeeded)
{
    if (ex->finished)
        return;
    ex->finished = true;
    --inFlight;
    if (ex->reservedOutput && outputTokens)
        outputTokens->settle(ex->maxTokens - ex->sentTokens, clock.now());
    counters.outputTokensProduced += ex->sentTokens;
    if (succeeded)
        ++counters.succeeded;
    ex->deleteLater();
}

QJsonObject SimServerPrivate::statsJson() const
{
    const TimePoint now = clock.now();
    QJsonObject rateLimited;
    qint64 total = 0;
    for (int i = 0; i < int(Limit::Count); ++i) {
        rateLimited.insert(QLatin1String(limitName(Limit(i))), counters.rateLimited[i]);
        total += counters.rateLimited[i];
    }
    rateLimited.insert(QLatin1String("total"), total);
    QJsonObject faults;
    for (int i = int(Fault::Status500); i < int(Fault::Count); ++i)
        faults.insert(QLatin1String(faultName(Fault(i))), counters.faults[i]);
    const QJsonObject errors{
        {QStringLiteral("invalid_request_400"), counters.e400},
        {QStringLiteral("authentication_401"), counters.e401},
        {QStringLiteral("not_found_404"), counters.e404},
        {QStringLiteral("method_405"), counters.e405},
        {QStringLiteral("too_large_413"), counters.e413},
    };
    const qint64 current = qint64(toSeconds(now - counters.since));
    QJsonArray perSecond;
    qint64 maxPerSecond = 0;
    for (qint64 s = std::max<qint64>(0, current - kSecondsOfAdmissionHistory + 1); s <= current; ++s)
        perSecond.append(counters.admissionsPerSecond.value(s, 0));
    for (qint64 n : counters.admissionsPerSecond)
        maxPerSecond = std::max(maxPerSecond, n);
    return QJsonObject{
        {QStringLiteral("received"), counters.received},
        {QStringLiteral("admitted"), counters.admitted},
        {QStringLiteral("succeeded"), counters.succeeded},
        {QStringLiteral("rate_limited"), rateLimited},
        {QStringLiteral("faults"), faults},
        {QStringLiteral("errors"), errors},
        {QStringLiteral("in_flight"), inFlight},
        {QStringLiteral("input_tokens_admitted"), counters.inputTokensAdmitted},
        {QStringLiteral("output_tokens_produced"), counters.outputTokensProduced},
        {QStringLiteral("admissions_per_second"), perSecond},
        {QStringLiteral("max_admissions_per_second"), maxPerSecond},
        {QStringLiteral("uptime_seconds"), toSeconds(now - counters.since)},
    };
}

} // namespace sluice::sim
