#include "privacy/secagg/shamir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "tests/privacy/secagg/test_random.h"

namespace fedseg::privacy::secagg {
namespace {

std::vector<uint8_t> Bytes(size_t n, uint8_t start) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

std::vector<uint64_t> Points(size_t n) {
  std::vector<uint64_t> xs(n);
  std::iota(xs.begin(), xs.end(), uint64_t{1});
  return xs;
}

TEST(ShamirTest, HandComputedLineReconstructsItsConstantTerm) {
  // f(x) = 11 + 7x: f(1) = 18, f(2) = 25.
  std::vector<ShamirShare> shares = {{1, {18}}, {2, {25}}};
  Result<std::vector<uint8_t>> secret = ShamirCombine(shares, 2, 7);
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_EQ(*secret, (std::vector<uint8_t>{11, 0, 0, 0, 0, 0, 0}));
}

TEST(ShamirTest, HandComputedLineWrapsAroundTheModulus) {
  // f(x) = 3 + (p - 1)x: f(1) = 2, f(2) = 3 + 2p - 2 = 1 (mod p).
  std::vector<ShamirShare> shares = {{2, {1}}, {1, {2}}};
  Result<std::vector<uint8_t>> secret = ShamirCombine(shares, 2, 1);
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_EQ(*secret, std::vector<uint8_t>{3});
}

TEST(ShamirTest, EveryThresholdSubsetRecoversTheSecret) {
  const std::vector<uint8_t> secret = Bytes(32, 200);  // wraps past 255: every byte value class
  const std::vector<uint64_t> xs = Points(5);
  Result<std::vector<ShamirShare>> shares =
      ShamirSplit(secret, 3, xs, SeededRandomBytesForTesting(1));
  ASSERT_TRUE(shares.ok()) << shares.status().ToString();
  ASSERT_EQ(shares->size(), 5u);
  EXPECT_EQ((*shares)[0].y.size(), ShamirLimbCount(32));
  EXPECT_EQ(ShamirLimbCount(32), 5u);
  int subsets = 0;
  for (size_t a = 0; a < 5; ++a) {
    for (size_t b = a + 1; b < 5; ++b) {
      for (size_t c = b + 1; c < 5; ++c) {
        std::vector<ShamirShare> pick = {(*shares)[c], (*shares)[a], (*shares)[b]};
        Result<std::vector<uint8_t>> back = ShamirCombine(pick, 3, 32);
        ASSERT_TRUE(back.ok()) << back.status().ToString();
        EXPECT_EQ(*back, secret);
        ++subsets;
      }
    }
  }
  EXPECT_EQ(subsets, 10);
  // All five shares: the two extra ones are checked against the polynomial and pass.
  Result<std::vector<uint8_t>> all = ShamirCombine(*shares, 3, 32);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, secret);
}

TEST(ShamirTest, OddSizesAndLargePointsRoundTrip) {
  for (size_t size : {size_t{1}, size_t{7}, size_t{8}, size_t{33}}) {
    const std::vector<uint8_t> secret = Bytes(size, 3);
    const std::vector<uint64_t> xs = {kShamirPrime - 1, 12345, 1u << 30};
    Result<std::vector<ShamirShare>> shares =
        ShamirSplit(secret, 2, xs, SeededRandomBytesForTesting(size));
    ASSERT_TRUE(shares.ok());
    std::vector<ShamirShare> two = {(*shares)[0], (*shares)[2]};
    Result<std::vector<uint8_t>> back = ShamirCombine(two, 2, size);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, secret) << size;
  }
}

TEST(ShamirTest, ThresholdOneSharesAreTheSecretItself) {
  const std::vector<uint8_t> secret = {1, 2, 3};
  const std::vector<uint64_t> xs = Points(3);
  Result<std::vector<ShamirShare>> shares =
      ShamirSplit(secret, 1, xs, SeededRandomBytesForTesting(9));
  ASSERT_TRUE(shares.ok());
  for (const ShamirShare& s : *shares) EXPECT_EQ(s.y, std::vector<uint64_t>{0x030201});
}

TEST(ShamirTest, FewerThanThresholdSharesAreRefused) {
  const std::vector<uint8_t> secret = Bytes(32, 0);
  const std::vector<uint64_t> xs = Points(4);
  Result<std::vector<ShamirShare>> shares =
      ShamirSplit(secret, 3, xs, SeededRandomBytesForTesting(2));
  ASSERT_TRUE(shares.ok());
  std::vector<ShamirShare> two = {(*shares)[0], (*shares)[1]};
  Result<std::vector<uint8_t>> back = ShamirCombine(two, 3, 32);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(back.status().message().find("needs 3 shares, got 2"), std::string::npos);
}

TEST(ShamirTest, SharesBelowThresholdLookUniform) {
  // With t = 2 one share is s + a*x for a uniform a: uniform over the field whatever s is.
  // 4,000 shares of a fixed secret in 16 equal buckets: each expected 250 (sd 15.3).
  std::vector<int> buckets(16);
  const std::vector<uint8_t> secret(32, 0);
  const std::vector<uint64_t> xs = {1, 2};
  RandomBytes random = SeededRandomBytesForTesting(3);
  for (int trial = 0; trial < 4000; ++trial) {
    Result<std::vector<ShamirShare>> shares = ShamirSplit(secret, 2, xs, random);
    ASSERT_TRUE(shares.ok());
    ++buckets[(*shares)[0].y[0] / ((kShamirPrime / 16) + 1)];
  }
  for (int count : buckets) {
    EXPECT_GT(count, 170);
    EXPECT_LT(count, 330);
  }
}

TEST(ShamirTest, CorruptedExtraShareIsDetected) {
  const std::vector<uint8_t> secret = Bytes(32, 9);
  const std::vector<uint64_t> xs = Points(5);
  Result<std::vector<ShamirShare>> shares =
      ShamirSplit(secret, 3, xs, SeededRandomBytesForTesting(4));
  ASSERT_TRUE(shares.ok());
  (*shares)[4].y[2] ^= 1;
  Result<std::vector<uint8_t>> back = ShamirCombine(*shares, 3, 32);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), StatusCode::kCorruption);
  EXPECT_NE(back.status().message().find("point 5"), std::string::npos);
}

TEST(ShamirTest, CorruptedShareAmongExactlyThresholdIsDetectedByTheLimbRange) {
  const std::vector<uint8_t> secret = Bytes(32, 9);
  const std::vector<uint64_t> xs = Points(3);
  Result<std::vector<ShamirShare>> shares =
      ShamirSplit(secret, 3, xs, SeededRandomBytesForTesting(5));
  ASSERT_TRUE(shares.ok());
  // With exactly t shares nothing is redundant: only the 56-bit range of each limb can expose a
  // change, which a uniformly random change escapes with probability 2^-5 per limb. This change
  // (2^60 + 12345 at x = 2, whose Lagrange coefficient at 0 among {1, 2, 3} is -3) moves the
  // limb by 2^60 - 37037 (mod p), far outside the range.
  (*shares)[1].y[0] = ((*shares)[1].y[0] + (uint64_t{1} << 60) + 12345) % kShamirPrime;
  Result<std::vector<uint8_t>> back = ShamirCombine(*shares, 3, 32);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), StatusCode::kCorruption);
}

TEST(ShamirTest, BadParametersAreRefused) {
  const std::vector<uint8_t> secret = Bytes(8, 0);
  const RandomBytes random = SeededRandomBytesForTesting(6);
  const std::vector<uint64_t> three = Points(3);
  EXPECT_EQ(ShamirSplit(secret, 0, three, random).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ShamirSplit(secret, 4, three, random).status().code(), StatusCode::kInvalidArgument);
  const std::vector<uint64_t> zero = {0, 1};
  EXPECT_EQ(ShamirSplit(secret, 1, zero, random).status().code(), StatusCode::kInvalidArgument);
  const std::vector<uint64_t> twice = {4, 4};
  Result<std::vector<ShamirShare>> dup = ShamirSplit(secret, 1, twice, random);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("appears twice"), std::string::npos);
  const std::vector<uint64_t> big = {kShamirPrime, 1};
  EXPECT_EQ(ShamirSplit(secret, 1, big, random).status().code(), StatusCode::kInvalidArgument);

  Result<std::vector<ShamirShare>> shares = ShamirSplit(secret, 2, three, random);
  ASSERT_TRUE(shares.ok());
  std::vector<ShamirShare> wrong_length = *shares;
  wrong_length[1].y.push_back(0);
  EXPECT_EQ(ShamirCombine(wrong_length, 2, 8).status().code(), StatusCode::kInvalidArgument);
  std::vector<ShamirShare> outside = *shares;
  outside[0].y[0] = kShamirPrime;
  EXPECT_EQ(ShamirCombine(outside, 2, 8).status().code(), StatusCode::kInvalidArgument);
  std::vector<ShamirShare> same_point = *shares;
  same_point[1].x = same_point[0].x;
  EXPECT_EQ(ShamirCombine(same_point, 2, 8).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ShamirCombine(*shares, 0, 8).status().code(), StatusCode::kInvalidArgument);
}

TEST(ShamirTest, GeneratorFailureIsReported) {
  const std::vector<uint8_t> secret = Bytes(8, 0);
  const std::vector<uint64_t> xs = Points(3);
  Result<std::vector<ShamirShare>> shares =
      ShamirSplit(secret, 2, xs, FailingRandomBytesForTesting());
  ASSERT_FALSE(shares.ok());
  EXPECT_EQ(shares.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace fedseg::privacy::secagg
