// sluice-sim: runs a SimServer on loopback until killed.
//
// Prints exactly one line on stdout once it listens, `listening on 127.0.0.1:PORT`, so a script can start it
// with
// --port 0 and read the port it got. Everything else (errors) goes to stderr. Limits and faults can be
// changed while it runs with POST /control; counters are at GET /stats.
//
// Example: sluice-sim --port 0 --rpm 60 --output-tpm 8000 --p529 0.05 --seed 7

#include "simserver.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>

#include <cstdio>

using sluice::sim::SimOptions;
using sluice::sim::SimServer;

namespace {

struct NumberFlag
{
    const char *name;
    const char *help;
    double SimOptions::*member;
};

const NumberFlag kNumberFlags[] = {
    {"rpm", "Requests per minute (0 = unlimited).", &SimOptions::requestsPerMinute},
    {"input-tpm", "Input tokens per minute (0 = unlimited).", &SimOptions::inputTokensPerMinute},
    {"output-tpm", "Output tokens per minute (0 = unlimited).", &SimOptions::outputTokensPerMinute},
    {"count-tokens-rpm", "count_tokens requests per minute (0 = unlimited).",
     &SimOptions::countTokensRequestsPerMinute},
    {"window", "Enforcement window in seconds (bucket = limit/60 * window).",
     &SimOptions::enforcementWindowSeconds},
    {"latency-ms", "Mean latency to the first byte, milliseconds.", &SimOptions::latencyMeanMs},
    {"jitter-ms", "Latency jitter, +- milliseconds (uniform).", &SimOptions::latencyJitterMs},
    {"ms-per-token", "Generation time per output token, milliseconds.", &SimOptions::msPerOutputToken},
    {"p500", "Probability of a 500 api_error.", &SimOptions::p500},
    {"p529", "Probability of a 529 overloaded_error.", &SimOptions::p529},
    {"p-reset", "Probability of a connection reset.", &SimOptions::pReset},
    {"p-stall", "Probability of never answering.", &SimOptions::pStall},
    {"p-malformed", "Probability of a truncated/invalid body.", &SimOptions::pMalformed},
    {"p-stream-error", "Probability of an error event mid-stream.", &SimOptions::pStreamError},
};

struct IntFlag
{
    const char *name;
    const char *help;
    int SimOptions::*member;
};

const IntFlag kIntFlags[] = {
    {"concurrency", "Requests in flight at once (0 = unlimited).", &SimOptions::concurrency},
    {"output-tokens", "Fixed reply length in tokens (0 = derived from the prompt, 16..48).",
     &SimOptions::outputTokens},
    {"max-tokens-limit", "Largest max_tokens accepted.", &SimOptions::maxTokensLimit},
};

int fail(const QString &message)
{
    QTextStream(stderr) << "sluice-sim: " << message << '\n';
    return 2;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("sluice-sim"));
    QCoreApplication::setApplicationVersion(QStringLiteral(SLUICE_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("A local Claude Messages API simulator with rate limits, latency and faults."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOption({QStringLiteral("port"), QStringLiteral("TCP port on 127.0.0.1 (0 = any free port)."),
                      QStringLiteral("port"), QStringLiteral("0")});
    for (const NumberFlag &f : kNumberFlags)
        parser.addOption({QLatin1String(f.name), QLatin1String(f.help), QStringLiteral("n")});
    for (const IntFlag &f : kIntFlags)
        parser.addOption({QLatin1String(f.name), QLatin1String(f.help), QStringLiteral("n")});
    parser.addOption({QStringLiteral("seed"), QStringLiteral("Seed of the fault and latency draws."),
                      QStringLiteral("n")});
    parser.addOption(
        {QStringLiteral("api-key"),
         QStringLiteral("Require this key (x-api-key or Authorization: Bearer). Default: accept any. "
                        "Also read from SLUICE_SIM_API_KEY."),
         QStringLiteral("key")});
    parser.addOption(
        {QStringLiteral("exact-remaining"),
         QStringLiteral("Report token -remaining headers exactly instead of rounded to thousands.")});
    parser.process(app);

    SimOptions options;
    for (const NumberFlag &f : kNumberFlags) {
        if (!parser.isSet(QLatin1String(f.name)))
            continue;
        bool ok = false;
        options.*f.member = parser.value(QLatin1String(f.name)).toDouble(&ok);
        if (!ok)
            return fail(QStringLiteral("--%1 expects a number, got '%2'")
                            .arg(QLatin1String(f.name), parser.value(QLatin1String(f.name))));
    }
    for (const IntFlag &f : kIntFlags) {
        if (!parser.isSet(QLatin1String(f.name)))
            continue;
        bool ok = false;
        options.*f.member = parser.value(QLatin1String(f.name)).toInt(&ok);
        if (!ok)
            return fail(QStringLiteral("--%1 expects an integer, got '%2'")
                            .arg(QLatin1String(f.name), parser.value(QLatin1String(f.name))));
    }
    if (parser.isSet(QStringLiteral("seed"))) {
        bool ok = false;
        options.seed = parser.value(QStringLiteral("seed")).toULongLong(&ok);
        if (!ok)
            return fail(QStringLiteral("--seed expects a non-negative integer, got '%1'")
                            .arg(parser.value(QStringLiteral("seed"))));
    }
    options.apiKey = parser.isSet(QStringLiteral("api-key")) ? parser.value(QStringLiteral("api-key"))
                                                             : qEnvironmentVariable("SLUICE_SIM_API_KEY");
    options.roundTokenRemaining = !parser.isSet(QStringLiteral("exact-remaining"));
    const QString problem = options.validate();
    if (!problem.isEmpty())
        return fail(problem);

    bool portOk = false;
    const uint port = parser.value(QStringLiteral("port")).toUInt(&portOk);
    if (!portOk || port > 65535)
        return fail(
            QStringLiteral("--port expects 0..65535, got '%1'").arg(parser.value(QStringLiteral("port"))));

    SimServer server(options);
    if (!server.listen(quint16(port)))
        return fail(QStringLiteral("cannot listen on 127.0.0.1:%1").arg(port));
    std::printf("listening on 127.0.0.1:%u\n", unsigned(server.port()));
    std::fflush(stdout);
    return app.exec();
}
