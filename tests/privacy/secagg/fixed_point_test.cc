#include "privacy/secagg/fixed_point.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/privacy/secagg/test_random.h"

namespace fedseg::privacy::secagg {
namespace {

TEST(FixedPointTest, ScaleIsTheLargestThatKeepsTheSumInRange) {
  Result<FixedPointCodec> codec = FixedPointCodec::Create(1.0, 10);
  ASSERT_TRUE(codec.ok());
  EXPECT_EQ(codec->scale_bits(), 30);  // 2^30 + 10 < 2^31 <= 2^31 + 10
  EXPECT_DOUBLE_EQ(codec->ErrorBound(), 10.0 / (1 << 30));
  Result<FixedPointCodec> wide = FixedPointCodec::Create(12330.0, 100);
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(wide->scale_bits(), 17);  // 12330 * 2^17 = 1.616e9 < 2^31 - 100; 2^18 would not fit
}

TEST(FixedPointTest, SumOfEncodingsDecodesWithinTheBound) {
  const uint32_t parties = 9;
  Result<FixedPointCodec> codec = FixedPointCodec::Create(9 * 1.5, parties);
  ASSERT_TRUE(codec.ok());
  RandomBytes random = SeededRandomBytesForTesting(11);
  const size_t n = 1000;
  std::vector<uint32_t> ring_sum(n, 0);
  std::vector<double> true_sum(n, 0);
  for (uint32_t p = 0; p < parties; ++p) {
    std::vector<float> values(n);
    for (size_t i = 0; i < n; ++i) {
      values[i] = static_cast<float>(std::sin(0.37 * double(i) + p) * 1.5);
      true_sum[i] += values[i];
    }
    Result<std::vector<uint32_t>> encoded = codec->Encode(values, random);
    ASSERT_TRUE(encoded.ok());
    for (size_t i = 0; i < n; ++i) ring_sum[i] += (*encoded)[i];
  }
  const std::vector<double> decoded = codec->DecodeSum(ring_sum);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_LE(std::fabs(decoded[i] - true_sum[i]), codec->ErrorBound()) << i;
  }
}

TEST(FixedPointTest, NegativeValuesAndTheExtremesSurvive) {
  Result<FixedPointCodec> codec = FixedPointCodec::Create(2.0, 1);
  ASSERT_TRUE(codec.ok());
  const std::vector<float> values = {-2.0f, -1.5f, 0.0f, 2.0f};
  Result<std::vector<uint32_t>> encoded = codec->Encode(values, SeededRandomBytesForTesting(12));
  ASSERT_TRUE(encoded.ok());
  const std::vector<double> decoded = codec->DecodeSum(*encoded);
  for (size_t i = 0; i < values.size(); ++i) EXPECT_DOUBLE_EQ(decoded[i], values[i]);  // on-grid
}

TEST(FixedPointTest, StochasticRoundingIsUnbiased) {
  // A value a quarter of a grid step: rounds up with probability 1/4. 20,000 draws: mean 0.25 steps
  // (sd of the mean 0.0031).
  Result<FixedPointCodec> codec = FixedPointCodec::Create(1.0, 1);
  ASSERT_TRUE(codec.ok());
  const float quarter = static_cast<float>(std::ldexp(0.25, -codec->scale_bits()));
  std::vector<float> values(20000, quarter);
  Result<std::vector<uint32_t>> encoded = codec->Encode(values, SeededRandomBytesForTesting(13));
  ASSERT_TRUE(encoded.ok());
  double ups = 0;
  for (uint32_t e : *encoded) {
    ASSERT_TRUE(e == 0 || e == 1);
    ups += e;
  }
  EXPECT_NEAR(ups / double(values.size()), 0.25, 0.016);
}

TEST(FixedPointTest, OutOfRangeAndNonFiniteValuesAreRefused) {
  Result<FixedPointCodec> codec = FixedPointCodec::Create(1.0, 4);
  ASSERT_TRUE(codec.ok());
  for (float bad : {1.01f, -3.0f, NAN, INFINITY}) {
    const std::vector<float> values = {0.5f, bad};
    Result<std::vector<uint32_t>> encoded = codec->Encode(values, SeededRandomBytesForTesting(14));
    ASSERT_FALSE(encoded.ok()) << bad;
    EXPECT_NE(encoded.status().message().find("index 1"), std::string::npos);
  }
  const std::vector<float> ok = {0.5f};
  EXPECT_EQ(codec->Encode(ok, FailingRandomBytesForTesting()).status().code(),
            StatusCode::kUnavailable);
}

TEST(FixedPointTest, ImpossibleParametersAreRefused) {
  EXPECT_FALSE(FixedPointCodec::Create(0.0, 3).ok());
  EXPECT_FALSE(FixedPointCodec::Create(-1.0, 3).ok());
  EXPECT_FALSE(FixedPointCodec::Create(INFINITY, 3).ok());
  EXPECT_FALSE(FixedPointCodec::Create(1.0, 0).ok());
  EXPECT_FALSE(FixedPointCodec::Create(2e9, 3).ok());  // no bit of resolution left
}

}  // namespace
}  // namespace fedseg::privacy::secagg
