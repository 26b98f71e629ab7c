#pragma once
// DemoLoad: the varied requests and the modest fault rates of demo mode's "Demo load" action.
//
// Design note. Demo mode exists so a user can watch Sluice work without a key; an empty console shows
// nothing. "Demo load" (Dispatch menu, or SLUICE_DEMO_LOAD=N in the environment at start) queues N requests
// that look like real work: a dozen different prompts, two models, max_tokens from 64 to 256, priorities 0 to
// 3 (so dispatch order is not submit order), every third one streamed, custom ids "demo-0001" ... It also
// gives a simulator without faults a modest fault rate (2 % 529 overloaded, 1 % 500, 1 % connection resets),
// so retries, backoff and the errors chart have something to show. And kSqueezeAfterMs (30 s) later the
// simulator cuts its requests-per-minute limit to a quarter for kSqueezeForMs (30 s), as when other clients
// start sharing the organisation's limit: Sluice, paced to the old limit, meets a 429 or two, every dispatch
// waits out the cooldown (the banner counts it down), the responses' headers teach it the new limit (the
// gauge says "learned from server"), and when the squeeze ends it learns the old limit back. Without this a
// demo never shows a 429: Sluice learns the limits from the first response and stays under them. Nothing
// here runs outside demo mode: the main window offers the action only with a built-in simulator.
//
// The requests are a pure function of (count, first): the same demo every time.
//
// Example: demoRequests(3, 1) -> customIds "demo-0001", "demo-0002", "demo-0003"; the first has priority 0,
// max_tokens 64, model claude-haiku-4-5, and is not streamed; the third is streamed.
//
// Threading: reentrant.

#include "simserver.h"

#include <QJsonObject>

#include <vector>

namespace sluice {

struct DemoRequest
{
    QJsonObject body; // a Messages API request body
    int priority = 0;
    QString customId;
};

// `count` requests numbered from `first` (>= 1).
std::vector<DemoRequest> demoRequests(int count, int first = 1);

// `options` with the demo's fault rates if it has no faults at all; otherwise unchanged (the user chose).
sim::SimOptions withDemoFaults(const sim::SimOptions &options);

// When, after a demo load starts, the simulator's request limit is squeezed, and for how long.
inline constexpr int kSqueezeAfterMs = 30'000;
inline constexpr int kSqueezeForMs = 30'000;
// `options` with a quarter of the requests-per-minute limit (rounded, at least 1); unchanged if that limit is
// off. Example: 300/min -> 75/min.
sim::SimOptions withSqueezedRequests(const sim::SimOptions &options);

} // namespace sluice
