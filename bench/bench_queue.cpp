// RequestQueue throughput: push+pop pairs with a standing backlog, and the cost of cancel / re-prioritise by
// id. Target (issue 2): at least 1,000,000 push+pop pairs per second with 100,000 items queued.
//
// Run: build-*/bench/bench_queue  (items_per_second is pairs, or cancels, per second).
#include "requestqueue.h"

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

using namespace sluice;

namespace {

constexpr int kPriorities = 8;

// A queue holding `backlog` entries with priorities 0..7, plus the generator that made them.
struct Backlog
{
    explicit Backlog(qsizetype backlog)
        : queue(QueueOptions{backlog + 16})
    {
        for (RequestId id = 1; id <= RequestId(backlog); ++id)
            queue.push(id, nextPriority());
        nextId = RequestId(backlog) + 1;
    }
    int nextPriority() { return int(rng() % kPriorities); }
    RequestQueue queue;
    std::mt19937_64 rng{42};
    RequestId nextId = 1;
};

// One iteration = push a new id with a random priority, then pop the head: the queue stays at `backlog`.
void BM_PushPop(benchmark::State &state)
{
    Backlog b(state.range(0));
    for (auto _ : state) {
        b.queue.push(b.nextId++, b.nextPriority());
        benchmark::DoNotOptimize(b.queue.pop());
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel("push+pop pairs");
}
BENCHMARK(BM_PushPop)->Arg(1'000)->Arg(100'000)->Arg(1'000'000);

// Pushes of new work with priorities that favour the existing order (all the same priority: FIFO append).
void BM_PushPopFifo(benchmark::State &state)
{
    RequestQueue q(QueueOptions{state.range(0) + 16});
    RequestId id = 1;
    for (; id <= RequestId(state.range(0)); ++id)
        q.push(id, 0);
    for (auto _ : state) {
        q.push(id++, 0);
        benchmark::DoNotOptimize(q.pop());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PushPopFifo)->Arg(100'000);

// One iteration = cancel a random queued id (anywhere in the heap) and push a fresh one to keep the size.
void BM_CancelById(benchmark::State &state)
{
    const qsizetype n = state.range(0);
    Backlog b(n);
    std::vector<RequestId> live(static_cast<size_t>(n));
    for (qsizetype i = 0; i < n; ++i)
        live[size_t(i)] = RequestId(i + 1);
    for (auto _ : state) {
        const size_t k = size_t(b.rng() % live.size());
        benchmark::DoNotOptimize(b.queue.cancel(live[k]));
        live[k] = b.nextId++;
        b.queue.push(live[k], b.nextPriority());
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel("cancel+push pairs");
}
BENCHMARK(BM_CancelById)->Arg(100'000);

// One iteration = re-prioritise a random queued id.
void BM_Reprioritise(benchmark::State &state)
{
    const qsizetype n = state.range(0);
    Backlog b(n);
    for (auto _ : state)
        benchmark::DoNotOptimize(b.queue.reprioritise(RequestId(1 + b.rng() % quint64(n)), b.nextPriority()));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Reprioritise)->Arg(100'000);

// Backfill's look behind the head: visit the first 32 entries in order.
void BM_IterateFirst32(benchmark::State &state)
{
    Backlog b(state.range(0));
    for (auto _ : state) {
        int seen = 0;
        b.queue.forEachInOrder([&](const RequestQueue::Entry &e) {
            benchmark::DoNotOptimize(e.id);
            return ++seen < 32;
        });
    }
    state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_IterateFirst32)->Arg(100'000);

// Retries: park one in the delay queue and promote the one that is due.
void BM_DelayPromote(benchmark::State &state)
{
    Backlog b(state.range(0));
    TimePoint now{};
    for (RequestId i = 0; i < 1000; ++i)
        b.queue.pushDelayed(b.nextId++, b.nextPriority(), now + Duration(qint64(i) * 1000));
    for (auto _ : state) {
        now += Duration(1000);
        benchmark::DoNotOptimize(b.queue.promoteDue(now));
        const auto e = b.queue.pop();
        b.queue.pushDelayed(e->id, e->priority, now + Duration(1'000'000), e->ticket);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel("promote+pop+pushDelayed");
}
BENCHMARK(BM_DelayPromote)->Arg(100'000);

} // namespace

BENCHMARK_MAIN();
