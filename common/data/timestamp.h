// Timestamps of event rows, as days since 1970-01-01 (UTC, a fraction for the time of day), so
// windows, recency and tenure are plain subtraction. A format is strftime-like: %Y (4 digits),
// %m %d %H %M %S (1 or 2 digits, so both "11/8/2016" and "20161108" parse), %% and literal
// characters; or "unix" (seconds since the epoch, a decimal number). The whole field must match;
// ranges are checked (month 1-12, the day within its month, 24 hours). Days from a civil date
// follow H. Hinnant's days_from_civil ("chrono-Compatible Low-Level Date Algorithms").
#ifndef FEDSEG_COMMON_DATA_TIMESTAMP_H_
#define FEDSEG_COMMON_DATA_TIMESTAMP_H_

#include <cstdint>
#include <string_view>

#include "common/base/status.h"

namespace fedseg::data {

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

// The civil date of day `z` (days from 1970-01-01): the inverse of DaysFromCivil.
struct CivilDate {
  int64_t year = 1970;
  unsigned month = 1;  // 1..12
  unsigned day = 1;    // 1..31
};
CivilDate CivilFromDays(int64_t z);

// The day of the week of day `z`: 0 Monday ... 6 Sunday (ISO 8601 order; 1970-01-01 was a
// Thursday).
unsigned WeekdayFromDays(int64_t z);

// Parses `text` (surrounding spaces ignored) with `format` into *days. False if it does not match.
bool ParseTimestamp(std::string_view text, std::string_view format, double* days);

// An error naming the format if it has an unknown conversion (%x) or is empty.
Status ValidateTimestampFormat(std::string_view format);

// The spec's reference time: "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS".
bool ParseReferenceTime(std::string_view text, double* days);

}  // namespace fedseg::data

#endif  // FEDSEG_COMMON_DATA_TIMESTAMP_H_
