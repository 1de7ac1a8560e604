#include "privacy/accounting/parameter_checks.h"
#include "tests/privacy/accounting/accounting_test_util.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace fedseg::privacy {
namespace {

using test::kInf;
using test::kNan;


TEST(ParameterChecksTest, SamplingRate) {
  EXPECT_TRUE(CheckSamplingRate(1.0).ok());
  EXPECT_TRUE(CheckSamplingRate(1e-9).ok());
  EXPECT_EQ(CheckSamplingRate(0.0).message(), "sampling_rate must be in (0, 1], got 0");
  EXPECT_EQ(CheckSamplingRate(1.5).message(), "sampling_rate must be in (0, 1], got 1.5");
  EXPECT_EQ(CheckSamplingRate(kNan).message(), "sampling_rate must be in (0, 1], got nan");
  EXPECT_TRUE(CheckSamplingRate(-0.1).IsInvalidArgument());
}

TEST(ParameterChecksTest, NoiseMultiplier) {
  EXPECT_TRUE(CheckNoiseMultiplier(1e-6).ok());
  EXPECT_TRUE(CheckNoiseMultiplier(1e6).ok());
  EXPECT_EQ(CheckNoiseMultiplier(0.0).message(),
            "noise_multiplier must be finite and positive, got 0");
  EXPECT_EQ(CheckNoiseMultiplier(kInf).message(),
            "noise_multiplier must be finite and positive, got inf");
  EXPECT_TRUE(CheckNoiseMultiplier(-1.0).IsInvalidArgument());
}

TEST(ParameterChecksTest, Steps) {
  EXPECT_TRUE(CheckSteps(1).ok());
  EXPECT_TRUE(CheckSteps(std::numeric_limits<int64_t>::max()).ok());
  EXPECT_EQ(CheckSteps(0).message(), "steps must be positive, got 0");
  EXPECT_EQ(CheckSteps(-3).message(), "steps must be positive, got -3");
}

TEST(ParameterChecksTest, Delta) {
  EXPECT_TRUE(CheckDelta(1e-5).ok());
  EXPECT_EQ(CheckDelta(0.0).message(), "delta must be in (0, 1), got 0");
  EXPECT_EQ(CheckDelta(1.0).message(), "delta must be in (0, 1), got 1");
  EXPECT_EQ(CheckDelta(kNan).message(), "delta must be in (0, 1), got nan");
  EXPECT_TRUE(CheckDelta(2.0).IsInvalidArgument());
}

}  // namespace
}  // namespace fedseg::privacy
