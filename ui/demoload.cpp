#include "demoload.h"

#include <QJsonArray>

#include <algorithm>
#include <cmath>

namespace sluice {

namespace {

const char *const kPrompts[] = {
    "Summarise the plot of Hamlet in three sentences.",
    "Explain token buckets to a new engineer, with one example.",
    "Write a haiku about rate limits.",
    "List five ways to make a Python script faster.",
    "Translate 'the queue is draining nicely' into French, German and Spanish.",
    "What is the difference between a 429 and a 529 HTTP status?",
    "Draft a polite email asking for a deadline extension.",
    "Give three test cases for a function that parses ISO 8601 dates.",
    "Explain exponential backoff with full jitter in plain words.",
    "Suggest a name for a tool that paces API requests.",
    "Describe a circuit breaker in distributed systems in two paragraphs.",
    "Classify this review as positive or negative: 'Fast, quiet, and it just works.'",
};
constexpr int kPromptCount = int(sizeof kPrompts / sizeof *kPrompts);

} // namespace

std::vector<DemoRequest> demoRequests(int count, int first)
{
    std::vector<DemoRequest> out;
    out.reserve(size_t(std::max(0, count)));
    for (int i = 0; i < count; ++i) {
        const int n = first + i;
        // Strides coprime with the list sizes, so neighbouring requests differ in every field.
        const int k = n - 1;
        QJsonObject body{{QStringLiteral("model"), k % 4 == 3 ? QStringLiteral("claude-sonnet-4-5")
                                                              : QStringLiteral("claude-haiku-4-5")},
                         {QStringLiteral("max_tokens"), 64 * (1 + (k * 3) % 4)},
                         {QStringLiteral("messages"),
                          QJsonArray{QJsonObject{{QStringLiteral("role"), QStringLiteral("user")},
                                                 {QStringLiteral("content"),
                                                  QLatin1String(kPrompts[(k * 5) % kPromptCount])}}}}};
        if (k % 3 == 2)
            body.insert(QStringLiteral("stream"), true);
        out.push_back({body, (k * 7) % 4, QStringLiteral("demo-%1").arg(n, 4, 10, QLatin1Char('0'))});
    }
    return out;
}

sim::SimOptions withDemoFaults(const sim::SimOptions &options)
{
    const sim::SimOptions &o = options;
    if (o.p500 + o.p529 + o.pReset + o.pStall + o.pMalformed + o.pStreamError > 0)
        return options;
    sim::SimOptions faulty = options;
    faulty.p529 = 0.02;
    faulty.p500 = 0.01;
    faulty.pReset = 0.01;
    return faulty;
}

sim::SimOptions withSqueezedRequests(const sim::SimOptions &options)
{
    sim::SimOptions squeezed = options;
    if (options.requestsPerMinute > 0)
        squeezed.requestsPerMinute = std::max(1.0, std::round(options.requestsPerMinute / 4));
    return squeezed;
}

} // namespace sluice
