#include "privacy/accounting/number_format.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace fedseg::privacy {

std::string FormatShortest(double v) {
  std::array<char, 32> buf;  // "%.17g" of any double needs at most 24 characters
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf.data(), buf.size(), "%.*g", digits, v);
    if (std::strtod(buf.data(), nullptr) == v) break;  // NaN: all 17 tries print "nan"
  }
  std::string shortest = buf.data();
  // %g switches to an exponent once the exponent reaches the precision: 30 is "3e+01". Fixed
  // notation wins when it is no longer (30, 10, 1500), the exponent when it is shorter (1e-07).
  if (shortest.find('e') != std::string::npos && std::isfinite(v) && std::fabs(v) < 1e17) {
    for (int decimals = 0; decimals <= 17; ++decimals) {
      std::snprintf(buf.data(), buf.size(), "%.*f", decimals, v);
      if (std::strtod(buf.data(), nullptr) == v) {
        if (std::strlen(buf.data()) <= shortest.size()) shortest = buf.data();
        break;
      }
    }
  }
  return shortest;
}

}  // namespace fedseg::privacy
