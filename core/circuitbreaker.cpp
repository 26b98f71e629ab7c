#include "circuitbreaker.h"

#include <algorithm>

namespace sluice {

CircuitBreaker::CircuitBreaker(CircuitBreakerOptions options)
    : m_options(options)
{}

bool CircuitBreaker::isServerFailure(ErrorKind kind)
{
    return kind == ErrorKind::Server || kind == ErrorKind::Overloaded || kind == ErrorKind::Network ||
           kind == ErrorKind::Timeout;
}

bool CircuitBreaker::isAuthFailure(ErrorKind kind)
{
    return kind == ErrorKind::Auth || kind == ErrorKind::Permission;
}

TimePoint CircuitBreaker::coolOffEnd() const
{
    const Duration coolOff = std::max(m_options.coolOff, Duration::zero());
    // Saturate rather than overflow for an absurd cool-off (only a positive start can overflow).
    if (m_openedAt.time_since_epoch() > Duration::zero() && coolOff > TimePoint::max() - m_openedAt)
        return TimePoint::max();
    return m_openedAt + coolOff;
}

CircuitState CircuitBreaker::state(TimePoint now) const
{
    switch (m_reason) {
    case CircuitOpenReason::None:
        return CircuitState::Closed;
    case CircuitOpenReason::AuthFailure:
        return CircuitState::Open;
    case CircuitOpenReason::ServerErrors:
        return now < coolOffEnd() ? CircuitState::Open : CircuitState::HalfOpen;
    }
    return CircuitState::Open;
}

bool CircuitBreaker::allowRequest(TimePoint now)
{
    switch (state(now)) {
    case CircuitState::Closed:
        return true;
    case CircuitState::Open:
        return false;
    case CircuitState::HalfOpen:
        if (m_probeInFlight)
            return false;
        m_probeInFlight = true;
        return true;
    }
    return false;
}

void CircuitBreaker::recordSuccess(TimePoint now)
{
    switch (state(now)) {
    case CircuitState::Closed:
        m_failures = 0;
        break;
    case CircuitState::HalfOpen:
        if (m_reason == CircuitOpenReason::ServerErrors)
            reset();
        break;
    case CircuitState::Open:
        break; // an answer to a request sent before it opened: no news about the server now
    }
}

void CircuitBreaker::recordFailure(ErrorKind kind, TimePoint now)
{
    if (isAuthFailure(kind)) {
        open(CircuitOpenReason::AuthFailure, now);
        return;
    }
    const CircuitState s = state(now);
    if (isServerFailure(kind)) {
        if (s == CircuitState::Closed) {
            ++m_failures;
            if (m_failures >= std::max(m_options.failureThreshold, 1))
                open(CircuitOpenReason::ServerErrors, now);
        } else if (s == CircuitState::HalfOpen) {
            ++m_failures;
            open(CircuitOpenReason::ServerErrors, now); // another cool-off
        }
        return;
    }
    // Neutral: no verdict; a probe that ended this way frees the slot for the next one.
    if (s == CircuitState::HalfOpen)
        m_probeInFlight = false;
}

void CircuitBreaker::reset()
{
    m_reason = CircuitOpenReason::None;
    m_failures = 0;
    m_probeInFlight = false;
}

std::optional<TimePoint> CircuitBreaker::nextChange(TimePoint now) const
{
    if (m_reason == CircuitOpenReason::ServerErrors && now < coolOffEnd())
        return coolOffEnd();
    return std::nullopt;
}

void CircuitBreaker::open(CircuitOpenReason reason, TimePoint now)
{
    m_reason = reason;
    m_openedAt = now;
    m_probeInFlight = false;
}

} // namespace sluice
