#include "ratelimitheaders.h"

#include <QTimeZone>

#include <array>
#include <cmath>

namespace sluice {

namespace {

// Server delays beyond this are clamped rather than overflowing a nanosecond Duration (which spans ~292
// years).
constexpr double kMaxDelayMs = 365.0 * 24 * 3600 * 1000;

bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}
bool isBlank(char c)
{
    return c == ' ' || c == '\t';
}

QByteArrayView trimmed(QByteArrayView v)
{
    while (!v.isEmpty() && isBlank(v.front()))
        v = v.sliced(1);
    while (!v.isEmpty() && isBlank(v.back()))
        v.chop(1);
    return v;
}

bool equalsIgnoreCase(QByteArrayView a, QByteArrayView b)
{
    if (a.size() != b.size())
        return false;
    for (qsizetype i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i]))
            return false;
    }
    return true;
}

// Exactly `n` digits at `pos` (advanced past them), as a number; -1 when they are not all there.
int fixedDigits(QByteArrayView v, qsizetype &pos, int n)
{
    if (pos + n > v.size())
        return -1;
    int value = 0;
    for (int i = 0; i < n; ++i) {
        const char c = v[pos + i];
        if (!isDigit(c))
            return -1;
        value = value * 10 + (c - '0');
    }
    pos += n;
    return value;
}

bool expect(QByteArrayView v, qsizetype &pos, char c)
{
    if (pos >= v.size() || v[pos] != c)
        return false;
    ++pos;
    return true;
}

// A plain decimal: digits with an optional fraction ("12", "12.5", ".5", "12."); no sign, exponent, inf or
// nan.
std::optional<double> parseDecimal(QByteArrayView v)
{
    v = trimmed(v);
    qsizetype digits = 0;
    qsizetype dots = 0;
    for (char c : v) {
        if (isDigit(c))
            ++digits;
        else if (c == '.')
            ++dots;
        else
            return std::nullopt;
    }
    if (digits == 0 || dots > 1)
        return std::nullopt;
    bool ok = false;
    const double d = QByteArray(v.data(), v.size()).toDouble(&ok);
    if (!ok || !std::isfinite(d) || d < 0)
        return std::nullopt;
    return d;
}

Duration clampedMilliseconds(double ms)
{
    return fromMilliseconds(std::min(ms, kMaxDelayMs));
}

int monthFromName(QByteArrayView name)
{
    static constexpr std::array<const char *, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; ++i)
        if (name == QByteArrayView(months[i]))
            return i + 1;
    return 0;
}

bool isDayName(QByteArrayView name, bool longForm)
{
    static constexpr std::array<const char *, 7> shortNames = {"Mon", "Tue", "Wed", "Thu",
                                                               "Fri", "Sat", "Sun"};
    static constexpr std::array<const char *, 7> longNames = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                              "Friday", "Saturday", "Sunday"};
    for (const char *n : longForm ? longNames : shortNames)
        if (name == QByteArrayView(n))
            return true;
    return false;
}

// "hh:mm:ss" at pos; fills h/m/s.
bool timeOfDay(QByteArrayView v, qsizetype &pos, int &h, int &m, int &s)
{
    h = fixedDigits(v, pos, 2);
    if (h < 0 || !expect(v, pos, ':'))
        return false;
    m = fixedDigits(v, pos, 2);
    if (m < 0 || !expect(v, pos, ':'))
        return false;
    s = fixedDigits(v, pos, 2);
    return s >= 0;
}

std::optional<QDateTime> makeUtc(int year, int month, int day, int h, int m, int s, int ms = 0)
{
    const QDate date(year, month, day);
    const QTime time(h, m, s, ms);
    if (!date.isValid() || !time.isValid())
        return std::nullopt;
    return QDateTime(date, time, QTimeZone::utc());
}

// Splits on runs of blanks.
QList<QByteArrayView> words(QByteArrayView v)
{
    QList<QByteArrayView> out;
    qsizetype i = 0;
    while (i < v.size()) {
        while (i < v.size() && isBlank(v[i]))
            ++i;
        const qsizetype start = i;
        while (i < v.size() && !isBlank(v[i]))
            ++i;
        if (i > start)
            out.append(v.sliced(start, i - start));
    }
    return out;
}

std::optional<QDateTime> timeAndDate(int year, int month, int day, QByteArrayView clock)
{
    qsizetype pos = 0;
    int h = 0, m = 0, s = 0;
    if (!timeOfDay(clock, pos, h, m, s) || pos != clock.size())
        return std::nullopt;
    return makeUtc(year, month, day, h, m, s);
}

} // namespace

std::optional<QByteArray> findHeader(const RawHeaders &headers, QByteArrayView name)
{
    for (const RawHeader &h : headers)
        if (equalsIgnoreCase(h.first, name))
            return h.second;
    return std::nullopt;
}

std::optional<qint64> RateLimitHeaders::parseCount(QByteArrayView value)
{
    value = trimmed(value);
    // 18 digits always fit in qint64; a count that large is not a real limit anyway.
    if (value.isEmpty() || value.size() > 18)
        return std::nullopt;
    qint64 n = 0;
    for (char c : value) {
        if (!isDigit(c))
            return std::nullopt;
        n = n * 10 + (c - '0');
    }
    return n;
}

std::optional<QDateTime> RateLimitHeaders::parseRfc3339(QByteArrayView value)
{
    const QByteArrayView v = trimmed(value);
    qsizetype pos = 0;
    const int year = fixedDigits(v, pos, 4);
    if (year < 0 || !expect(v, pos, '-'))
        return std::nullopt;
    const int month = fixedDigits(v, pos, 2);
    if (month < 0 || !expect(v, pos, '-'))
        return std::nullopt;
    const int day = fixedDigits(v, pos, 2);
    if (day < 0 || pos >= v.size())
        return std::nullopt;
    const char sep = v[pos++];
    if (sep != 'T' && sep != 't' && sep != ' ')
        return std::nullopt;
    int h = 0, m = 0, s = 0;
    if (!timeOfDay(v, pos, h, m, s))
        return std::nullopt;
    int ms = 0;
    if (pos < v.size() && v[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < v.size() && isDigit(v[pos])) {
            if (digits < 3)
                ms = ms * 10 + (v[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0)
            return std::nullopt;
        for (int d = digits; d < 3; ++d)
            ms *= 10; // ".2" is 200 ms; digits past milliseconds are dropped
    }
    if (pos >= v.size())
        return std::nullopt; // no zone: not RFC 3339
    int offsetSeconds = 0;
    const char zone = v[pos++];
    if (zone == '+' || zone == '-') {
        const int oh = fixedDigits(v, pos, 2);
        if (oh < 0 || oh > 23 || !expect(v, pos, ':'))
            return std::nullopt;
        const int om = fixedDigits(v, pos, 2);
        if (om < 0 || om > 59)
            return std::nullopt;
        offsetSeconds = (zone == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    } else if (zone != 'Z' && zone != 'z') {
        return std::nullopt;
    }
    if (pos != v.size())
        return std::nullopt;
    // A leap second (ss = 60) is read as the last millisecond before the next minute: QTime has no 60th
    // second.
    if (s == 60) {
        s = 59;
        ms = 999;
    }
    const auto local = makeUtc(year, month, day, h, m, s, ms);
    if (!local)
        return std::nullopt;
    // The wall-clock fields are in the given offset; UTC is that minus the offset.
    return local->addSecs(-offsetSeconds);
}

RateLimitHeaders RateLimitHeaders::parse(const RawHeaders &headers)
{
    auto group = [&](QByteArrayView name) {
        RateLimitGroup g;
        const QByteArray prefix = QByteArrayLiteral("anthropic-ratelimit-") + name.toByteArray() + '-';
        if (const auto v = findHeader(headers, QByteArray(prefix + "limit")))
            g.limit = parseCount(*v);
        if (const auto v = findHeader(headers, QByteArray(prefix + "remaining")))
            g.remaining = parseCount(*v);
        if (const auto v = findHeader(headers, QByteArray(prefix + "reset")))
            g.reset = parseRfc3339(*v);
        return g;
    };
    RateLimitHeaders r;
    r.requests = group("requests");
    r.tokens = group("tokens");
    r.inputTokens = group("input-tokens");
    r.outputTokens = group("output-tokens");
    return r;
}

std::optional<Duration> ServerRetryHint::parseRetryAfterMs(QByteArrayView value)
{
    const auto ms = parseDecimal(value);
    if (!ms)
        return std::nullopt;
    return clampedMilliseconds(*ms);
}

std::optional<Duration> ServerRetryHint::parseRetryAfter(QByteArrayView value, const QDateTime &wallNow)
{
    if (const auto seconds = parseDecimal(value))
        return clampedMilliseconds(*seconds * 1000.0);
    const auto when = parseHttpDate(value);
    if (!when || !wallNow.isValid())
        return std::nullopt;
    const qint64 ms = wallNow.msecsTo(*when);
    return clampedMilliseconds(double(std::max<qint64>(ms, 0)));
}

std::optional<QDateTime> ServerRetryHint::parseHttpDate(QByteArrayView value)
{
    const QList<QByteArrayView> w = words(trimmed(value));
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (w.size() == 6 && w[0].size() == 4 && w[0].back() == ',' && isDayName(w[0].chopped(1), false) &&
        w[5] == QByteArrayView("GMT")) {
        qsizetype p = 0;
        const int day = w[1].size() == 2 ? fixedDigits(w[1], p, 2) : -1;
        p = 0;
        const int year = w[3].size() == 4 ? fixedDigits(w[3], p, 4) : -1;
        const int month = monthFromName(w[2]);
        if (day < 0 || year < 0 || month == 0)
            return std::nullopt;
        return timeAndDate(year, month, day, w[4]);
    }
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    if (w.size() == 4 && w[0].size() > 1 && w[0].back() == ',' && isDayName(w[0].chopped(1), true) &&
        w[3] == QByteArrayView("GMT") && w[1].size() == 9) {
        const QByteArrayView d = w[1];
        qsizetype p = 0;
        const int day = fixedDigits(d, p, 2);
        if (day < 0 || !expect(d, p, '-'))
            return std::nullopt;
        const int month = monthFromName(d.sliced(p, 3));
        p += 3;
        if (month == 0 || !expect(d, p, '-'))
            return std::nullopt;
        const int yy = fixedDigits(d, p, 2);
        if (yy < 0)
            return std::nullopt;
        // Two-digit years: 70-99 are the 1900s, the rest this century (RFC 9110 asks for "not > 50 years
        // ahead").
        return timeAndDate(yy >= 70 ? 1900 + yy : 2000 + yy, month, day, w[2]);
    }
    // asctime: "Sun Nov  6 08:49:37 1994"
    if (w.size() == 5 && isDayName(w[0], false)) {
        const int month = monthFromName(w[1]);
        qsizetype p = 0;
        const int day = (w[2].size() == 1 || w[2].size() == 2) ? fixedDigits(w[2], p, int(w[2].size())) : -1;
        p = 0;
        const int year = w[4].size() == 4 ? fixedDigits(w[4], p, 4) : -1;
        if (month == 0 || day < 0 || year < 0)
            return std::nullopt;
        return timeAndDate(year, month, day, w[3]);
    }
    return std::nullopt;
}

ServerRetryHint ServerRetryHint::parse(const RawHeaders &headers, const QDateTime &wallNow)
{
    ServerRetryHint hint;
    if (const auto ms = findHeader(headers, "retry-after-ms"))
        hint.retryAfter = parseRetryAfterMs(*ms);
    if (!hint.retryAfter) {
        // A garbage retry-after-ms does not hide a good retry-after.
        if (const auto v = findHeader(headers, "retry-after"))
            hint.retryAfter = parseRetryAfter(*v, wallNow);
    }
    if (const auto v = findHeader(headers, "x-should-retry")) {
        const QByteArrayView t = trimmed(*v);
        if (equalsIgnoreCase(t, "true"))
            hint.shouldRetry = true;
        else if (equalsIgnoreCase(t, "false"))
            hint.shouldRetry = false;
    }
    return hint;
}

} // namespace sluice
