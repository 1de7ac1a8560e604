// Plain decimals ("12.34", "-7", "0.5") are most numeric cells of event logs. FastParseDecimal
// reads them without std::from_chars when the result is provably the same: with at most 15
// significant digits the digits form an integer m < 2^53 and the value is m / 10^k with k <= 22,
// both exact doubles, so the one correctly rounded IEEE division is the correctly rounded value
// of the text (Clinger, "How to read floating point numbers accurately", PLDI 1990, the fast
// path) — what from_chars returns. Anything else (exponents, '+', spaces, more digits, "inf")
// returns false and goes to data::ParseNumber.
#ifndef FEDSEG_COMMON_FEATURES_INTERNAL_FAST_NUMBER_H_
#define FEDSEG_COMMON_FEATURES_INTERNAL_FAST_NUMBER_H_

#include <cstdint>
#include <string_view>

namespace fedseg::features::internal {

inline bool FastParseDecimal(std::string_view s, double* out) {
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) ++i;
  uint64_t m = 0;
  int digits = 0;  // counted from the first digit, leading zeros included (a safe bound)
  const size_t int_start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    m = m * 10 + static_cast<uint64_t>(s[i] - '0');
    ++digits;
    ++i;
  }
  if (i == int_start) return false;  // no digit before the point (".5", "-", "")
  int scale = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t frac_start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      m = m * 10 + static_cast<uint64_t>(s[i] - '0');
      ++digits;
      ++i;
    }
    if (i == frac_start) return false;  // "5."
    scale = static_cast<int>(i - frac_start);
  }
  if (i != s.size() || digits > 15 || scale > 22) return false;
  const double v = static_cast<double>(m) / kPow10[scale];
  *out = negative ? -v : v;
  return true;
}

}  // namespace fedseg::features::internal

#endif  // FEDSEG_COMMON_FEATURES_INTERNAL_FAST_NUMBER_H_
