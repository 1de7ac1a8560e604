// The server-side defences against hand-computed rounds: weight caps, outlier refusal by norm and
// by largest value, fixed and adaptive norm bounding, and the aggregate's sanity bound.
#include "coordinator/update_screen.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <utility>

#include "test_updates.h"

namespace fedseg::coordinator {
namespace {

TEST(UpdateScreenTest, ClaimsBeyondTheDeclaredRowsAreRefusedAndUnknownOnesCapped) {
  const std::map<std::string, uint64_t> declared = {{"a", 100}, {"b", 200}, {"c", 300}};
  ScreenedRound r = ScreenUpdates(
      {U("a", 100, {3, 4}), U("b", uint64_t{1} << 40, {3, 4}), U("c", 250, {3, 4})}, declared, {});
  ASSERT_EQ(r.accepted.size(), 2u);
  EXPECT_EQ(r.accepted[0].num_examples, 100u);
  EXPECT_EQ(r.accepted[1].num_examples, 250u);  // fewer than declared: kept
  ASSERT_EQ(r.refused.size(), 1u);
  EXPECT_EQ(r.refused[0].region, "b");
  EXPECT_EQ(r.refused[0].what, "claims 1099511627776 training examples but declared 200 at join");
  // A region with no declared count is capped at the round's median count (the lower median
  // of {100, 2^40, 250} is 250).
  ScreenedRound unknown =
      ScreenUpdates({U("a", 100, {3, 4}), U("x", uint64_t{1} << 40, {3, 4}), U("c", 250, {3, 4})},
                    {{"a", 100}, {"c", 300}}, {});
  ASSERT_EQ(unknown.accepted.size(), 3u);
  EXPECT_EQ(unknown.accepted[1].num_examples, 250u);
  ASSERT_EQ(unknown.capped.size(), 1u);
  EXPECT_NE(unknown.capped[0].what.find("claimed 1099511627776"), std::string::npos);
}

TEST(UpdateScreenTest, OutliersAreRefusedByNameAndTheRestClipped) {
  // Norms 5, 10, 5, 1000: lower median 5; factor 10 refuses 1000 (> 50), keeps 10.
  DefenceConfig c;
  ScreenedRound r = ScreenUpdates(
      {U("a", 1, {3, 4}), U("b", 1, {6, 8}), U("c", 1, {4, 3}), U("evil", 1, {600, 800})}, {}, c);
  ASSERT_EQ(r.refused.size(), 1u);
  EXPECT_EQ(r.refused[0].region, "evil");
  EXPECT_NE(r.refused[0].what.find("norm 1000"), std::string::npos) << r.refused[0].what;
  EXPECT_DOUBLE_EQ(r.median_norm, 5.0);
  // Adaptive bound: 2 x the lower median of the kept norms {5, 10, 5} = 10: nothing clipped.
  ASSERT_EQ(r.accepted.size(), 3u);
  EXPECT_DOUBLE_EQ(r.clip_bound, 10.0);
  EXPECT_EQ(r.clipped, 0u);
  // A fixed bound of 5 scales b's (6, 8) to (3, 4).
  c.clip_norm = 5;
  ScreenedRound f = ScreenUpdates({U("a", 1, {3, 4}), U("b", 1, {6, 8}), U("c", 1, {4, 3})}, {}, c);
  EXPECT_EQ(f.clipped, 1u);
  EXPECT_FLOAT_EQ(f.accepted[1].delta[0], 3.0f);
  EXPECT_FLOAT_EQ(f.accepted[1].delta[1], 4.0f);
}

TEST(UpdateScreenTest, FltMaxAndSpikesAreRefused) {
  // FLT_MAX values: the norm overflows float but not double, and is refused.
  ScreenedRound r =
      ScreenUpdates({U("a", 1, {1, 0, 0, 0}), U("b", 1, {0, 1, 0, 0}), U("c", 1, {0, 0, 1, 0}),
                     U("evil", 1, {FLT_MAX, -FLT_MAX, 0, 0})},
                    {}, {});
  ASSERT_EQ(r.refused.size(), 1u);
  EXPECT_EQ(r.refused[0].region, "evil");
  // A spike: its norm 3 is within 10 x the median norm 0.5, but its largest |value| 3 is more
  // than 10 x the median largest value 0.25.
  ScreenedRound s = ScreenUpdates(
      {U("a", 1, {0.25f, 0.25f, 0.25f, 0.25f}), U("b", 1, {0.25f, -0.25f, 0.25f, 0.25f}),
       U("c", 1, {-0.25f, 0.25f, 0.25f, 0.25f}), U("spike", 1, {3, 0, 0, 0})},
      {}, {});
  ASSERT_EQ(s.refused.size(), 1u);
  EXPECT_EQ(s.refused[0].region, "spike");
  EXPECT_NE(s.refused[0].what.find("largest |value| 3"), std::string::npos) << s.refused[0].what;
}

TEST(UpdateScreenTest, AnUpdateOpposingTheMedianDirectionIsRefused) {
  // Median of x {-1, 0.9, 1, 1} = 0.95 and of y {-1, 0.8, 1, 1} = 0.9; "flip" (-1, -1) has the
  // same norm as the others but the cosine -(0.95 + 0.9) / (sqrt(2) * |(0.95, 0.9)|) = -0.9996.
  ScreenedRound r = ScreenUpdates(
      {U("a", 1, {1, 1}), U("b", 1, {1, 0.8f}), U("c", 1, {0.9f, 1}), U("flip", 1, {-1, -1})}, {},
      {});
  ASSERT_EQ(r.refused.size(), 1u);
  EXPECT_EQ(r.refused[0].region, "flip");
  EXPECT_NE(r.refused[0].what.find("opposes the round's coordinate-wise median update (cosine "
                                   "similarity -1.000)"),
            std::string::npos)
      << r.refused[0].what;
  EXPECT_EQ(r.accepted.size(), 3u);
  // With two updates there is no majority to define a direction: both are kept.
  EXPECT_EQ(ScreenUpdates({U("a", 1, {1, 1}), U("flip", 1, {-1, -1})}, {}, {}).accepted.size(), 2u);
}

TEST(UpdateScreenTest, TheAggregateMustBeFiniteAndWithinTheBound) {
  DefenceConfig c;
  c.max_weight_abs = 10;
  Eigen::VectorXf ok(3);
  ok << 1, -10, 3;
  EXPECT_TRUE(CheckAggregate(ok, c).ok());
  Eigen::VectorXf big = ok;
  big[1] = -10.5f;
  Status st = CheckAggregate(big, c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("weight 1 is -10.5"), std::string::npos) << st.message();
  Eigen::VectorXf nan = ok;
  nan[2] = NAN;
  EXPECT_FALSE(CheckAggregate(nan, c).ok());
  // Without defences only finiteness is checked.
  c.enabled = false;
  EXPECT_TRUE(CheckAggregate(big, c).ok());
  EXPECT_FALSE(CheckAggregate(nan, c).ok());
}

TEST(UpdateScreenTest, BadConfigIsRefused) {
  DefenceConfig c;
  EXPECT_TRUE(c.Validate().ok());
  c.outlier_factor = 1;
  EXPECT_FALSE(c.Validate().ok());
  c = {};
  c.clip_norm = -1;
  EXPECT_FALSE(c.Validate().ok());
  c = {};
  c.max_weight_abs = INFINITY;
  EXPECT_FALSE(c.Validate().ok());
}

}  // namespace
}  // namespace fedseg::coordinator
