#include "privacy/secagg/neighbourhood.h"

#include <gtest/gtest.h>

namespace fedseg::privacy::secagg {
namespace {

TEST(NeighbourhoodTest, CompleteGraphForSmallFederationsThenLogarithmicDegrees) {
  const NeighbourhoodAssumptions defaults;  // 30% dropouts, 20% colluders, threshold 0.5
  for (size_t n : {3, 4, 10, 30, 64}) EXPECT_EQ(DefaultNeighbours(n, defaults), 0u) << n;
  // The values of the bounds (checked against an independent Python computation of the same
  // hypergeometric tails and union bounds).
  EXPECT_EQ(DefaultNeighbours(65, defaults), 38u);
  EXPECT_EQ(DefaultNeighbours(100, defaults), 58u);
  EXPECT_EQ(DefaultNeighbours(200, defaults), 90u);
  EXPECT_EQ(DefaultNeighbours(300, defaults), 110u);
  EXPECT_EQ(DefaultNeighbours(1000, defaults), 166u);
  EXPECT_EQ(DefaultNeighbours(10000, defaults), 222u);
}

TEST(NeighbourhoodTest, TheDegreeIsTheSmallestThatMeetsTheBounds) {
  const NeighbourhoodAssumptions defaults;
  for (size_t n : {65, 100, 250, 1000, 5000}) {
    const uint32_t k = DefaultNeighbours(n, defaults);
    ASSERT_GT(k, 0u) << n;
    EXPECT_EQ(k % 2, 0u);
    EXPECT_LT(k, n - 1);
    EXPECT_TRUE(NeighboursMeetBounds(n, k, defaults)) << n;
    EXPECT_FALSE(NeighboursMeetBounds(n, k - 2, defaults)) << n;
  }
  EXPECT_FALSE(NeighboursMeetBounds(100, 0, defaults));
  EXPECT_FALSE(NeighboursMeetBounds(100, 57, defaults));  // odd
  EXPECT_FALSE(NeighboursMeetBounds(100, 99, defaults));  // not sparse
}

TEST(NeighbourhoodTest, MoreDropoutsOrColludersNeedMoreNeighbours) {
  const NeighbourhoodAssumptions defaults;
  NeighbourhoodAssumptions fewer_dropouts = defaults, more_dropouts = defaults,
                           more_colluders = defaults;
  fewer_dropouts.dropout = 0.2;
  more_dropouts.dropout = 0.4;
  more_colluders.colluding = 1.0 / 3;
  EXPECT_LT(DefaultNeighbours(1000, fewer_dropouts), DefaultNeighbours(1000, defaults));
  EXPECT_GT(DefaultNeighbours(1000, more_dropouts), DefaultNeighbours(1000, defaults));
  EXPECT_GT(DefaultNeighbours(1000, more_colluders), DefaultNeighbours(1000, defaults));
  // With as many colluders as the threshold fraction no sparse graph is private: the complete
  // graph (which the config then refuses too: colluding_fraction must stay below it).
  NeighbourhoodAssumptions hopeless = defaults;
  hopeless.colluding = 0.5;
  EXPECT_EQ(DefaultNeighbours(1000, hopeless), 0u);
}

}  // namespace
}  // namespace fedseg::privacy::secagg
