#pragma once
// Formatting: how numbers, durations and rates read in the console, written once so every panel agrees.
//
// Design note. Gauges, charts, tables and the log all show the same few kinds of quantity: counts that span
// from fractions of a request to millions of tokens, durations from microseconds to minutes, and percentages.
// People read "33.3k" faster than "33333.33", and a column of "850 ms", "2.4 s", "1 min 05 s" faster than one
// of raw seconds, so every widget goes through these functions instead of QString::number.
//
// Worked examples:
//   formatQuantity(0.8333)    -> "0.83"       formatQuantity(950)      -> "950"
//   formatQuantity(12345)     -> "12.3k"      formatQuantity(2000000)  -> "2M"
//   formatSeconds(0.000042)   -> "42 µs"      formatSeconds(0.85)      -> "850 ms"
//   formatSeconds(2.44)       -> "2.4 s"      formatSeconds(65)        -> "1 min 05 s"
//   formatPercent(0.123)      -> "12 %"
//
// Threading: pure functions, reentrant.

#include <QString>

namespace sluice {

// A count or a rate with a k/M suffix and at most three significant digits; negative values keep their sign.
QString formatQuantity(double value);
// A duration given in seconds, in the largest unit that keeps it readable. Negative durations read as "0 ms".
QString formatSeconds(double seconds);
// A fraction (0.5 = 50 %) as a whole percentage.
QString formatPercent(double fraction);

} // namespace sluice
