// Robust strategies against hand-computed values: coordinate-wise median, trimmed mean and
// Multi-Krum, and what one wild update can (not) do to each.
#include "coordinator/robust_strategies.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <utility>

#include "test_updates.h"

namespace fedseg::coordinator {
namespace {

TEST(RobustStrategiesTest, MedianOfOddAndEvenCounts) {
  // Coordinate 0: {1, 5, 3} -> 3; coordinate 1: {-2, 0, 100} -> 0.
  auto m = CoordinateMedian({U("a", 1, {1, -2}), U("b", 1, {5, 0}), U("c", 1, {3, 100})}, 2);
  ASSERT_TRUE(m.ok());
  EXPECT_FLOAT_EQ((*m)[0], 3.0f);
  EXPECT_FLOAT_EQ((*m)[1], 0.0f);
  // Even: the mean of the two middle values, {1, 2, 4, 10} -> 3; no overflow near FLT_MAX.
  auto e = CoordinateMedian(
      {U("a", 1, {1, FLT_MAX}), U("b", 1, {2, FLT_MAX}), U("c", 1, {4, 0}), U("d", 1, {10, 0})}, 2);
  ASSERT_TRUE(e.ok());
  EXPECT_FLOAT_EQ((*e)[0], 3.0f);
  EXPECT_FLOAT_EQ((*e)[1], FLT_MAX / 2);
}

TEST(RobustStrategiesTest, TrimmedMeanDropsTheEnds) {
  // n = 5, trim 0.2 -> k = 1: {-100, 1, 2, 3, 1e6} -> mean(1, 2, 3) = 2.
  std::vector<ClientUpdate> ups = {U("a", 1, {-100}), U("b", 1, {1}), U("c", 1, {2}),
                                   U("d", 1, {3}), U("e", 1, {1e6f})};
  auto t = TrimmedMean(ups, 1, 0.2);
  ASSERT_TRUE(t.ok());
  EXPECT_FLOAT_EQ((*t)[0], 2.0f);
  // trim 0.1 -> k = floor(0.5) = 0: the plain mean.
  auto plain = TrimmedMean(ups, 1, 0.1);
  ASSERT_TRUE(plain.ok());
  EXPECT_FLOAT_EQ((*plain)[0], (-100.0f + 1 + 2 + 3 + 1e6f) / 5);
  EXPECT_FALSE(TrimmedMean(ups, 1, 0.5).ok());
  EXPECT_FALSE(TrimmedMean({}, 1, 0.2).ok());
  EXPECT_FALSE(TrimmedMean({U("a", 1, {1, 2})}, 1, 0.2).ok());
}

TEST(RobustStrategiesTest, KrumScoresByNearestNeighbours) {
  // n = 5, f = 1: each score sums the n - f - 2 = 2 smallest squared distances.
  // Points 0, 1, 2, 3 on a line and 100: scores 0:(1+4)=5, 1:(1+1)=2, 2:(1+1)=2, 3:(1+4)=5,
  // 100: 97^2 + 98^2 = 18813.
  std::vector<ClientUpdate> ups = {U("a", 1, {0}), U("b", 1, {1}), U("c", 1, {2}), U("d", 1, {3}),
                                   U("evil", 1, {100})};
  auto one = KrumSelect(ups, 1, 1, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, (std::vector<size_t>{1}));  // ties keep input order
  auto multi = KrumSelect(ups, 1, 1, 0);      // m = n - f = 4
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(*multi, (std::vector<size_t>{1, 2, 0, 3}));
  // n < 2f + 3 is refused with the numbers.
  auto few = KrumSelect({U("a", 1, {0}), U("b", 1, {1}), U("c", 1, {2}), U("d", 1, {3})}, 1, 1, 0);
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("at least 5 updates, got 4"), std::string::npos);
}

TEST(RobustStrategiesTest, OneWildUpdateCannotMoveTheRobustAggregates) {
  for (StrategyKind kind :
       {StrategyKind::kMedian, StrategyKind::kTrimmedMean, StrategyKind::kKrum}) {
    StrategyConfig c;
    c.kind = kind;
    auto s = MakeStrategy(c);
    ASSERT_TRUE(s.ok()) << StrategyKindName(kind);
    Eigen::VectorXf g = Eigen::VectorXf::Zero(2);
    std::vector<ClientUpdate> ups = {U("a", 10, {1, 1}), U("b", 10, {1, 1}), U("c", 10, {1, 1}),
                                     U("d", 10, {1, 1}),
                                     U("evil", uint64_t{1} << 40, {FLT_MAX, -FLT_MAX})};
    ASSERT_TRUE((*s)->Aggregate(ups, &g).ok()) << StrategyKindName(kind);
    EXPECT_FLOAT_EQ(g[0], 1.0f) << StrategyKindName(kind);
    EXPECT_FLOAT_EQ(g[1], 1.0f) << StrategyKindName(kind);
    EXPECT_TRUE((*s)->SaveState().empty());
  }
}

TEST(RobustStrategiesTest, NamesParseAndBadParametersAreRefused) {
  EXPECT_EQ(*ParseStrategyKind("trimmed-mean"), StrategyKind::kTrimmedMean);
  EXPECT_EQ(*ParseStrategyKind("median"), StrategyKind::kMedian);
  EXPECT_EQ(*ParseStrategyKind("krum"), StrategyKind::kKrum);
  StrategyConfig c;
  c.kind = StrategyKind::kTrimmedMean;
  c.trim_fraction = 0.5;
  EXPECT_FALSE(MakeStrategy(c).ok());
  c.trim_fraction = 0.2;
  c.krum_byzantine = -1;
  EXPECT_FALSE(MakeStrategy(c).ok());
}

}  // namespace
}  // namespace fedseg::coordinator
