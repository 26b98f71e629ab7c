#pragma once
// Clock: where every limiter, queue and backoff decision gets "now".
//
// Design note. Nothing in core reads the system time by itself: every decision takes a TimePoint argument, and
// whoever drives it (the dispatcher in the app, a test) asks a Clock. SteadyClock wraps std::chrono::steady_clock,
// which never jumps when the wall clock is set. ManualClock only moves when a test moves it, so a test can assert
// an exact transcript ("the 2nd request left at 1.000 s") without ever sleeping.
//
// Calendar questions (the daily quota resets at midnight of some time zone) need wall time. A Clock maps its own
// monotonic TimePoints to UTC wall time with wallTime(t): SteadyClock fixes the offset between the two clocks once at
// construction, so the mapping is monotonic too; ManualClock maps from an anchor the test chooses.
//
// Worked example (a test):
//   ManualClock clock;                       // t = 0, wall time 2026-01-01T00:00:00Z
//   bucket.take(1, clock.now());
//   clock.advance(std::chrono::milliseconds(200));
//   bucket.timeUntil(1, clock.now());        // -> 0 ms if the bucket refills 5 per second
//
// Threading: now() and wallTime() are safe from any thread; ManualClock's setters are for the test's thread.

#include <QDateTime>
#include <QTimeZone>

#include <atomic>
#include <chrono>

namespace sluice {

// Nanosecond resolution: a 2,000,000 tokens/min bucket refills one token every 30 µs, so milliseconds are too coarse.
using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

// Helpers for the units that people and the API use.
inline double toSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }
inline double toMilliseconds(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
inline Duration fromSeconds(double s) { return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s)); }
inline Duration fromMilliseconds(double ms)
{
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms));
}

class Clock
{
public:
    virtual ~Clock() = default;
    // Monotonic time: never goes backwards for SteadyClock (ManualClock may, so primitives are tested against it).
    virtual TimePoint now() const = 0;
    // The UTC calendar time that corresponds to the monotonic time t.
    virtual QDateTime wallTime(TimePoint t) const = 0;
};

class SteadyClock final : public Clock
{
public:
    SteadyClock()
        : m_anchorSteady(now())
        , m_anchorWallMs(QDateTime::currentMSecsSinceEpoch())
    {
    }
    TimePoint now() const override
    {
        return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
    }
    QDateTime wallTime(TimePoint t) const override
    {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - m_anchorSteady).count();
        return QDateTime::fromMSecsSinceEpoch(m_anchorWallMs + ms, QTimeZone::utc());
    }

private:
    TimePoint m_anchorSteady;
    qint64 m_anchorWallMs;
};

class ManualClock final : public Clock
{
public:
    // Starts at TimePoint{} + 1 s (so "zero" never doubles as "unset"), mapped to 2026-01-01T00:00:00Z by default.
    explicit ManualClock(QDateTime wallAtStart = QDateTime(QDate(2026, 1, 1), QTime(0, 0), QTimeZone::utc()))
        : m_now(TimePoint{} + std::chrono::seconds(1))
        , m_anchorSteady(m_now.load())
        , m_anchorWallMs(wallAtStart.toMSecsSinceEpoch())
    {
    }
    TimePoint now() const override { return m_now.load(); }
    QDateTime wallTime(TimePoint t) const override
    {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - m_anchorSteady).count();
        return QDateTime::fromMSecsSinceEpoch(m_anchorWallMs + ms, QTimeZone::utc());
    }
    void advance(Duration d) { m_now.store(m_now.load() + d); }
    // May move backwards on purpose: primitives must treat that as "no time passed".
    void set(TimePoint t) { m_now.store(t); }

private:
    std::atomic<TimePoint> m_now;
    TimePoint m_anchorSteady;
    qint64 m_anchorWallMs;
};

} // namespace sluice
