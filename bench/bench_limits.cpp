// LimitSet admission decisions: the dispatcher makes one per queued head on every pump, and the UI reads a
// snapshot ten times a second. Target: at most 2 us per decision.
//
// All five limits are on (tier-4-like numbers: 4,000 RPM, 2,000,000 ITPM, 400,000 OTPM, 16 in flight, a daily
// quota in a non-UTC zone). The clock moves 16 ms per admission, so every request fits and the admit path is
// the one measured, not the early refusal.

#include "clock.h"
#include "limitset.h"

#include <benchmark/benchmark.h>

using namespace sluice;
using namespace std::chrono_literals;

namespace {

LimitOptions benchOptions(LimiterKind kind)
{
    LimitOptions o;
    o.requests = {4000, kind};
    o.inputTokens = {2'000'000, kind};
    o.outputTokens = {400'000, kind};
    o.concurrency = 16;
    o.dailyQuota = 1'000'000'000'000;
    o.dailyQuotaTimeZone = "America/New_York";
    o.burstSeconds = 1.0;
    return o;
}

constexpr Duration kStep = 16ms; // just under 4,000 RPM (one request per 15 ms): every request fits
const Cost kReserved{1, 400, 100};
const Cost kActual{1, 380, 60};

void checkOnly(benchmark::State &state, LimiterKind kind)
{
    ManualClock clock;
    LimitSet set(benchOptions(kind), clock);
    TimePoint now = clock.now();
    // Some history, so the sliding windows hold entries as they would in a run.
    for (int i = 0; i < 100; ++i) {
        now += kStep;
        set.tryAdmit(kReserved, now);
        set.release();
    }
    for (auto _ : state) {
        now += 1us;
        benchmark::DoNotOptimize(set.check(kReserved, now));
    }
    state.SetItemsProcessed(state.iterations());
}

void admitSettleRelease(benchmark::State &state, LimiterKind kind)
{
    ManualClock clock;
    LimitSet set(benchOptions(kind), clock);
    TimePoint now = clock.now();
    int64_t admitted = 0;
    for (auto _ : state) {
        now += kStep;
        const bool ok = set.tryAdmit(kReserved, now);
        admitted += ok;
        if (ok) {
            set.settle(kReserved, kActual, now);
            set.release();
        }
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["admitted"] = benchmark::Counter(double(admitted) / double(state.iterations()));
}

void snapshot(benchmark::State &state, LimiterKind kind)
{
    ManualClock clock;
    LimitSet set(benchOptions(kind), clock);
    TimePoint now = clock.now();
    for (auto _ : state) {
        now += 1ms;
        benchmark::DoNotOptimize(set.snapshot(now));
    }
}

} // namespace

BENCHMARK_CAPTURE(checkOnly, token_bucket, LimiterKind::TokenBucket);
BENCHMARK_CAPTURE(checkOnly, sliding_window, LimiterKind::SlidingWindow);
BENCHMARK_CAPTURE(admitSettleRelease, token_bucket, LimiterKind::TokenBucket);
BENCHMARK_CAPTURE(admitSettleRelease, sliding_window, LimiterKind::SlidingWindow);
BENCHMARK_CAPTURE(snapshot, token_bucket, LimiterKind::TokenBucket);

BENCHMARK_MAIN();
