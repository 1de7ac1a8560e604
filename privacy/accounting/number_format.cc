#include "privacy/accounting/number_format.h"

#include <array>
#include <cstdio>
#include <cstdlib>

namespace fedseg::privacy {

std::string FormatShortest(double v) {
  std::array<char, 32> buf;  // "%.17g" of any double needs at most 24 characters
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf.data(), buf.size(), "%.*g", digits, v);
    if (std::strtod(buf.data(), nullptr) == v) break;  // NaN: all 17 tries print "nan"
  }
  return buf.data();
}

}  // namespace fedseg::privacy
