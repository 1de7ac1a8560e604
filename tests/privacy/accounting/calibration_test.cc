#include "privacy/accounting/calibration.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "privacy/accounting/rdp_accountant.h"
#include "tests/privacy/accounting/accounting_test_util.h"

namespace fedseg::privacy {
namespace {

using test::Epsilon;
using test::kNan;


TEST(CalibrateTest, RoundTrip) {
  struct Case {
    double target;
    double q;
    int64_t steps;
    double delta;
  };
  for (const Case& c : {Case{1.0, 0.01, 10000, 1e-5}, Case{8.0, 0.004, 15625, 1e-5},
                        Case{0.5, 1e-4, 1000000, 1e-10}, Case{3.0, 1.0, 1, 1e-5},
                        Case{50.0, 0.1, 100, 1e-3}, Case{0.1, 0.001, 1000, 1e-6}}) {
    Result<double> sigma = CalibrateNoiseMultiplier(c.target, c.q, c.steps, c.delta);
    ASSERT_TRUE(sigma.ok()) << sigma.status().ToString();
    EXPECT_LE(Epsilon(c.q, *sigma, c.steps, c.delta).epsilon, c.target) << c.target;
    EXPECT_GT(Epsilon(c.q, *sigma * (1 - 1e-3), c.steps, c.delta).epsilon, c.target) << c.target;
    // Within the stated tolerance of the smallest such sigma.
    EXPECT_GT(
        Epsilon(c.q, *sigma * (1 - 2 * kCalibrationRelativeTolerance), c.steps, c.delta).epsilon,
        c.target)
        << c.target;
  }
}

TEST(CalibrateTest, InvertsComputeEpsilon) {
  const double eps = Epsilon(0.01, 1.1, 10000, 1e-5).epsilon;
  Result<double> sigma = CalibrateNoiseMultiplier(eps, 0.01, 10000, 1e-5);
  ASSERT_TRUE(sigma.ok());
  // sigma = 1.1 meets the target exactly, so the smallest sigma is at most 1.1 and the result
  // at most kCalibrationRelativeTolerance above it.
  EXPECT_LE(*sigma, 1.1 * (1 + kCalibrationRelativeTolerance));
  EXPECT_GT(*sigma, 1.1 * (1 - 1e-6));
}

TEST(CalibrateTest, FailsClearlyWhenUnreachable) {
  // Even sigma = 1e4 leaves the conversion's own epsilon (about 3.5e-3 at delta = 1e-5).
  Result<double> r = CalibrateNoiseMultiplier(1e-4, 0.01, 100, 1e-5);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("target_epsilon 0.0001 is unreachable"), std::string::npos)
      << r.status().message();
  r = CalibrateNoiseMultiplier(0.0, 0.01, 100, 1e-5);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "target_epsilon must be finite and positive, got 0");
  r = CalibrateNoiseMultiplier(kNan, 0.01, 100, 1e-5);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "target_epsilon must be finite and positive, got nan");
  r = CalibrateNoiseMultiplier(1.0, 0.01, 0, 1e-5);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "steps must be positive, got 0");
  r = CalibrateNoiseMultiplier(1e12, 1e-4, 1, 1e-3);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("is met even by noise_multiplier 0.001"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace fedseg::privacy
