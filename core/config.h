#pragma once
// Config: every setting Sluice runs with, read from defaults, a JSON file, the environment and the command
// line.
//
// Design note. The option structs of the primitives (options.h) hold the defaults; Config only aggregates
// them and adds the few app-level settings (where the API is, which key, which model). Settings are layered,
// each layer overriding the one before:
//     defaults (options.h)  <  --config FILE  <  ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY  <  command-line
//     flags
// Every layer validates what it sets and says where a bad value came from: a JSON path for the file
// ("limits.requests_per_minute: -5 must be >= 0"), the variable for the environment, the flag for the command
// line
// ("--rpm: \"abc\" is not a number"). A bad value is reported and not applied, and reading carries on, so one
// run lists every problem at once instead of one per attempt. Unknown keys are errors too: a typo such as
// "requests_per_minut" must not silently leave a limit at its default. Keys that start with "_" are comments.
// One table in config.cpp describes every numeric field (path, unit, bounds), so the reader, the validator
// and toJson cannot disagree about a name or a range.
//
// The API key is only ever read from ANTHROPIC_API_KEY (never from a file, which gets copied and committed),
// and is never written by toJson() nor included in any message.
//
// Worked example:
//   sluice.json: {"limits": {"requests_per_minute": 50, "concurrency": 4}}
//   environment: ANTHROPIC_BASE_URL=http://127.0.0.1:8080
//   command:     sluice --config sluice.json --rpm 40
//   effective:   requests 40/min (flag beats file), concurrency 4 (file), base URL http://127.0.0.1:8080
//   (env),
//                input/output tokens per minute off (defaults: 0 means "no local limit").
//   `sluice --config sluice.json --rpm -5` prints "sluice: --rpm: -5 must be >= 0" and exits with status 2.
//
// Threading: Config is a plain value; all functions are reentrant and touch nothing global (the environment
// is passed in as a QProcessEnvironment, so tests never modify the real one).

#include "options.h"

#include <QByteArray>
#include <QJsonObject>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <optional>

class QCommandLineParser;

namespace sluice {

// The command-line flags that override the configuration, as the raw text the user typed: Config::applyFlags
// validates them with messages that name the flag. Register them on a parser with addTo(), read them back
// after QCommandLineParser::parse() with read(); tests may also fill the struct directly.
struct ConfigFlags
{
    std::optional<QString> configFile;  // --config FILE (none: no file is read)
    bool printConfig = false;           // --print-config: print the effective config as JSON and exit
    bool exampleConfig = false;         // --example-config: print the documented example config and exit
    std::optional<QString> baseUrl;     // --base-url URL
    std::optional<QString> model;       // --model NAME
    std::optional<QString> rpm;         // --rpm N            requests per minute (0 = off)
    std::optional<QString> inputTpm;    // --input-tpm N      input tokens per minute (0 = off)
    std::optional<QString> outputTpm;   // --output-tpm N     output tokens per minute (0 = off)
    std::optional<QString> concurrency; // --concurrency N    requests in flight (0 = unlimited)
    std::optional<QString>
        maxRetries; // --max-retries N    retries after the first attempt: max_attempts = N + 1
    std::optional<QString> burstSeconds; // --burst-seconds S  seconds of rate a bucket may hold

    // Adds every flag above to parser (main thread, before parse()).
    static void addTo(QCommandLineParser &parser);
    // Reads the flags back from a parser on which addTo() and parse() were called.
    static ConfigFlags read(const QCommandLineParser &parser);
};

struct Config
{
    LimitOptions limits;
    BackoffOptions backoff;
    RetryOptions retry;
    CircuitBreakerOptions circuitBreaker;
    QueueOptions queue;
    TransportOptions transport;
    QUrl baseUrl =
        QUrl(QStringLiteral("https://api.anthropic.com")); // the Messages API lives at {baseUrl}/v1/messages
    QString defaultModel = QStringLiteral("claude-sonnet-4-5"); // for prompts that do not name a model
    QString apiKey; // from ANTHROPIC_API_KEY only; empty means none. Never written out, never logged.

    bool operator==(const Config &) const = default;

    // --- Layers. Each applies on top of what is already set, appends one message per problem to `errors` and
    // returns true when it added none. A bad value is not applied; the others still are.

    // Reads a JSON config document. Messages name the JSON path ("backoff.jitter: ...").
    bool loadJson(const QByteArray &json, QStringList &errors);
    // Reads the JSON config file at path; messages are prefixed with the path ("sluice.json: limits...").
    static bool loadFile(const QString &path, Config &config, QStringList &errors);
    // ANTHROPIC_API_KEY (surrounding whitespace trimmed; empty = unset) and ANTHROPIC_BASE_URL.
    bool applyEnvironment(const QProcessEnvironment &env, QStringList &errors);
    // The command-line flags except --config (resolve() reads that file first). Messages name the flag.
    bool applyFlags(const ConfigFlags &flags, QStringList &errors);

    // Checks every field of this config, including rules that involve two fields (backoff.max_ms >=
    // initial_ms); for a Config built in code, or after all layers. Returns one message per problem, naming
    // the JSON path.
    QStringList validate() const;

    // All layers in order: defaults, flags.configFile (if any), env, flags, then validate(). errors collects
    // every problem from every layer; the config is only meant to be used when it stays empty.
    static Config resolve(const ConfigFlags &flags, const QProcessEnvironment &env, QStringList &errors);

    // The effective configuration in the file's own shape, so it can be saved and loaded again. The API key
    // is never included: a "_api_key" comment only says whether one is set.
    QJsonObject toJsonObject() const;
    QByteArray toJson() const; // indented, UTF-8
};

// "token_bucket", "sliding_window" (the names the config file uses), and back; nullopt for an unknown name.
QString limiterKindName(LimiterKind kind);
std::optional<LimiterKind> limiterKindFromName(const QString &name);
// "none", "proportional", "full", "equal", "decorrelated", and back.
QString jitterModeName(JitterMode mode);
std::optional<JitterMode> jitterModeFromName(const QString &name);

} // namespace sluice
