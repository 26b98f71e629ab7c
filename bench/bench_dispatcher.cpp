// Dispatcher costs that the UI and large batches depend on: stats() with 100k requests queued (the UI reads
// it 10 times a second), submit() into a large queue, and one pump() step that dispatches.
#include "dispatcher.h"

#include <QCoreApplication>
#include <QJsonArray>

#include <benchmark/benchmark.h>

using namespace sluice;

namespace {

class NullTransport : public Transport
{
public:
    AttemptId send(const QJsonObject &) override { return ++m_next; }
    void cancel(AttemptId) override {}
    void answer(AttemptId id)
    {
        AttemptOutcome o;
        o.httpStatus = 200;
        o.usage.inputTokens = 10;
        o.usage.outputTokens = 5;
        Q_EMIT finished(id, o);
    }
    AttemptId last() const { return m_next; }

private:
    AttemptId m_next = 0;
};

QJsonObject body()
{
    return QJsonObject{
        {QStringLiteral("model"), QStringLiteral("claude-sonnet-4-5")},
        {QStringLiteral("max_tokens"), 100},
        {QStringLiteral("messages"),
         QJsonArray{QJsonObject{{QStringLiteral("role"), QStringLiteral("user")},
                                {QStringLiteral("content"), QStringLiteral("Hello, world")}}}}};
}

DispatchOptions options()
{
    DispatchOptions o;
    o.limits.requests.perMinute = 4000;
    o.limits.inputTokens.perMinute = 2'000'000;
    o.limits.outputTokens.perMinute = 400'000;
    o.limits.concurrency = 16;
    o.queue.capacity = 2'000'000;
    return o;
}

void BM_StatsWith100kQueued(benchmark::State &state)
{
    ManualClock clock;
    NullTransport transport;
    Dispatcher dispatcher(transport, clock, options());
    const QJsonObject b = body();
    for (int i = 0; i < 100'000; ++i)
        dispatcher.submit(b, i % 8);
    dispatcher.pump();
    for (auto _ : state)
        benchmark::DoNotOptimize(dispatcher.stats());
}
BENCHMARK(BM_StatsWith100kQueued);

void BM_SubmitInto100k(benchmark::State &state)
{
    ManualClock clock;
    NullTransport transport;
    Dispatcher dispatcher(transport, clock, options());
    const QJsonObject b = body();
    for (int i = 0; i < 100'000; ++i)
        dispatcher.submit(b, i % 8);
    int i = 0;
    for (auto _ : state)
        benchmark::DoNotOptimize(dispatcher.submit(b, ++i % 8));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SubmitInto100k);

// One request through: its reply frees a slot and the next pump dispatches the next one, with 100k queued.
void BM_ReplyAndPumpWith100kQueued(benchmark::State &state)
{
    ManualClock clock;
    NullTransport transport;
    DispatchOptions o = options();
    o.limits.requests.perMinute = 0; // only concurrency binds, so every pump dispatches
    o.limits.inputTokens.perMinute = 0;
    o.limits.outputTokens.perMinute = 0;
    o.learnLimits = false;
    Dispatcher dispatcher(transport, clock, o);
    const QJsonObject b = body();
    const int n = 100'000 + int(state.max_iterations);
    for (int i = 0; i < n; ++i)
        dispatcher.submit(b, i % 8);
    dispatcher.pump();
    for (auto _ : state) {
        transport.answer(transport.last());
        dispatcher.pump();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReplyAndPumpWith100kQueued)->Iterations(200'000);

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv); // the dispatcher's timer needs an application object
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
