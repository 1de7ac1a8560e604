#include "common/data/timestamp.h"

#include <cctype>

#include "common/data/csv.h"

namespace fedseg::data {
namespace {

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads 1..max_digits digits at text[*pos].
bool ReadDigits(std::string_view text, size_t* pos, int max_digits, int min_digits, int64_t* out) {
  int64_t v = 0;
  int n = 0;
  while (*pos < text.size() && n < max_digits &&
         std::isdigit(static_cast<unsigned char>(text[*pos]))) {
    v = v * 10 + (text[*pos] - '0');
    ++*pos;
    ++n;
  }
  if (n < min_digits) return false;
  *out = v;
  return true;
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

CivilDate CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  CivilDate c;
  c.day = doy - (153 * mp + 2) / 5 + 1;
  c.month = mp < 10 ? mp + 3 : mp - 9;
  c.year = static_cast<int64_t>(yoe) + era * 400 + (c.month <= 2);
  return c;
}

unsigned WeekdayFromDays(int64_t z) {
  // 1970-01-01 (day 0) was a Thursday, weekday 3.
  const int64_t w = (z + 3) % 7;
  return static_cast<unsigned>(w < 0 ? w + 7 : w);
}

bool ParseTimestamp(std::string_view text, std::string_view format, double* days) {
  text = data::TrimWhitespace(text);
  if (format == "unix") {
    double seconds = 0;
    if (!data::ParseNumber(text, &seconds)) return false;
    *days = seconds / 86400.0;
    return true;
  }
  int64_t year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  size_t pos = 0;
  for (size_t f = 0; f < format.size(); ++f) {
    if (format[f] != '%') {
      if (pos >= text.size() || text[pos] != format[f]) return false;
      ++pos;
      continue;
    }
    if (++f >= format.size()) return false;
    bool ok = true;
    switch (format[f]) {
      case 'Y':
        ok = ReadDigits(text, &pos, 4, 4, &year);
        break;
      case 'm':
        ok = ReadDigits(text, &pos, 2, 1, &month);
        break;
      case 'd':
        ok = ReadDigits(text, &pos, 2, 1, &day);
        break;
      case 'H':
        ok = ReadDigits(text, &pos, 2, 1, &hour);
        break;
      case 'M':
        ok = ReadDigits(text, &pos, 2, 1, &minute);
        break;
      case 'S':
        ok = ReadDigits(text, &pos, 2, 1, &second);
        break;
      case '%':
        ok = pos < text.size() && text[pos++] == '%';
        break;
      default:
        return false;
    }
    if (!ok) return false;
  }
  if (pos != text.size()) return false;
  if (month < 1 || month > 12 || day < 1 ||
      day > static_cast<int64_t>(DaysInMonth(year, static_cast<unsigned>(month))) || hour > 23 ||
      minute > 59 || second > 60) {
    return false;
  }
  *days = static_cast<double>(
              DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day))) +
          (hour * 3600.0 + minute * 60.0 + second) / 86400.0;
  return true;
}

Status ValidateTimestampFormat(std::string_view format) {
  if (format == "unix") return Status::OK();
  if (format.empty()) return Status::InvalidArgument("the timestamp format is empty");
  for (size_t f = 0; f < format.size(); ++f) {
    if (format[f] != '%') continue;
    const char c = f + 1 < format.size() ? format[f + 1] : '\0';
    if (std::string_view("YmdHMS%").find(c) == std::string_view::npos || c == '\0') {
      return Status::InvalidArgument(
          "timestamp format '" + std::string(format) + "' has an unknown conversion at position " +
          std::to_string(f + 1) + " (use %Y %m %d %H %M %S %%, or \"unix\")");
    }
    ++f;
  }
  return Status::OK();
}

bool ParseReferenceTime(std::string_view text, double* days) {
  return ParseTimestamp(text, "%Y-%m-%d", days) ||
         ParseTimestamp(text, "%Y-%m-%d %H:%M:%S", days) ||
         ParseTimestamp(text, "%Y-%m-%dT%H:%M:%S", days);
}

}  // namespace fedseg::data
