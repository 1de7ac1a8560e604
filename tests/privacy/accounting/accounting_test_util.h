// Helpers shared by the tests of privacy/accounting.
#ifndef FEDSEG_TESTS_PRIVACY_ACCOUNTING_ACCOUNTING_TEST_UTIL_H_
#define FEDSEG_TESTS_PRIVACY_ACCOUNTING_ACCOUNTING_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "privacy/accounting/rdp_accountant.h"

namespace fedseg::privacy::test {

inline constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

// ComputeEpsilon that must succeed (a failed expectation and NaNs otherwise).
inline EpsilonResult Epsilon(double q, double sigma, int64_t steps, double delta) {
  Result<EpsilonResult> r = ComputeEpsilon(q, sigma, steps, delta);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : EpsilonResult{kNan, kNan};
}

}  // namespace fedseg::privacy::test

#endif  // FEDSEG_TESTS_PRIVACY_ACCOUNTING_ACCOUNTING_TEST_UTIL_H_
