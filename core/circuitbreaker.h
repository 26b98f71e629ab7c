#pragma once
// CircuitBreaker: stops dispatching when the far side is broken, so that a dead server or a wrong key does
// not eat every request's attempts and the retry budget.
//
// Design note. Two ways to open, because they need different cures:
//  - AuthFailure: one 401 or 403 (ErrorKind::Auth / Permission) opens it at once, and it stays open until the
//  user
//    acts (reset(), e.g. after fixing the key). Waiting cannot fix a wrong key, so there is no cool-off and
//    no probe.
//  - ServerErrors: failureThreshold server-side failures in a row (Server, Overloaded, Network, Timeout) open
//  it for
//    coolOff. After that it is half-open and lets exactly one probe request through; the probe's success
//    closes it, its failure opens it for another cool-off.
// Everything else is neutral: a 429 is pacing (the rate limiter and the global cooldown handle it), a
// 400/404/413 is that request's own fault, Malformed and Cancelled say nothing about the server. Neutral
// outcomes neither count nor reset the run; in half-open, a neutral outcome ends the probe without a verdict
// and frees the slot for another. A success while closed resets the run.
//
// Open -> half-open is a matter of time, so it is not an event: state(now) derives it from when the circuit
// opened, and nextChange(now) tells the dispatcher when to pump again. Outcomes of requests sent before the
// circuit opened may arrive while it is open; they are ignored (except a 401/403, which always opens it for
// auth). Any success or server failure that arrives while half-open is taken as the verdict, whether or not
// it came from the probe: both are fresh news about the server.
//
// Worked example, defaults (threshold 5, cool-off 30 s), t in seconds:
//   t=0..4   five 500s                  -> Open (ServerErrors), allowRequest false, nextChange = t 34
//   t=34     state HalfOpen; allowRequest -> true (the probe), allowRequest again -> false
//   t=35     the probe gets a 529        -> Open until t 65
//   t=65     probe allowed; t=66 it succeeds -> Closed, the run is 0
//   t=70     a 401                       -> Open (AuthFailure), nextChange empty; t=10000 still open; reset()
//   closes
//
// Threading: not thread-safe; the dispatcher owns it. Plain class, not a QObject: the dispatcher signals
// changes.

#include "clock.h"
#include "errorkind.h"
#include "options.h"

#include <optional>

namespace sluice {

enum class CircuitState
{
    Closed,   // requests flow
    Open,     // requests are refused
    HalfOpen, // one probe may go
};

enum class CircuitOpenReason
{
    None,         // closed
    AuthFailure,  // a 401/403: stays open until reset()
    ServerErrors, // failureThreshold server failures in a row: cool-off, then a probe
};

class CircuitBreaker
{
public:
    explicit CircuitBreaker(CircuitBreakerOptions options = {});

    const CircuitBreakerOptions &options() const { return m_options; }
    // A new coolOff applies to the current opening too (it is measured from when the circuit opened).
    void setOptions(const CircuitBreakerOptions &options) { m_options = options; }

    CircuitState state(TimePoint now) const;
    // Why it is open or half-open; None when closed.
    CircuitOpenReason openReason() const { return m_reason; }
    // When it opened (most recently); meaningful only while openReason() != None.
    TimePoint openedAt() const { return m_openedAt; }
    // Server failures in a row so far (reset by a success while closed, and by reset()).
    int consecutiveFailures() const { return m_failures; }
    bool probeInFlight() const { return m_probeInFlight; }

    // May a request be sent now? Closed: yes. Open: no. Half-open: yes exactly once (that request is the
    // probe), then no until an outcome is recorded. Call it only when actually about to send.
    bool allowRequest(TimePoint now);
    // Record the outcome of a request that was sent.
    void recordSuccess(TimePoint now);
    void recordFailure(ErrorKind kind, TimePoint now);
    // The user acted: closed, run cleared, whatever the reason it was open.
    void reset();

    // The next moment the answer of allowRequest() changes by time alone: the end of the cool-off while open
    // for ServerErrors; empty otherwise (closed, half-open, or open for auth, which only reset() ends).
    std::optional<TimePoint> nextChange(TimePoint now) const;

    // The kinds that count towards opening for ServerErrors / that open it for AuthFailure.
    static bool isServerFailure(ErrorKind kind);
    static bool isAuthFailure(ErrorKind kind);

private:
    TimePoint coolOffEnd() const;
    void open(CircuitOpenReason reason, TimePoint now);

    CircuitBreakerOptions m_options;
    CircuitOpenReason m_reason = CircuitOpenReason::None;
    TimePoint m_openedAt{};
    int m_failures = 0;
    bool m_probeInFlight = false;
};

} // namespace sluice
