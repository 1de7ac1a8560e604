// privacy/secagg/wire: what a region masks (its clipped delta and weight) and what the coordinator
// reads back from the sum: three regions' encodings, summed in the ring, decode to the
// example-weighted mean within the codec's bound; clipping, the weight cap and malformed keys.
#include "privacy/secagg/wire/secagg_wire.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/privacy/secagg/test_random.h"

namespace fedseg::privacy::secagg {
namespace {

TEST(SecAggWireTest, ThreeRegionsDecodeToTheExampleWeightedMean) {
  const std::vector<std::vector<float>> deltas = {
      {0.25f, -0.5f, 0.125f, 0.0f}, {-0.1f, 0.3f, 0.9f, -0.7f}, {0.01f, 0.02f, -0.03f, 0.4f}};
  const std::vector<uint64_t> examples = {100, 300, 50};
  const double scale = 300;
  Result<FixedPointCodec> codec = RoundCodec(1.0, 3);
  ASSERT_TRUE(codec.ok());
  std::vector<uint32_t> ring(5, 0);
  RandomBytes random = SeededRandomBytesForTesting(21);
  for (size_t i = 0; i < 3; ++i) {
    size_t clipped = 99;
    auto x = WeightedClippedInput(deltas[i], examples[i], scale, 1.0, &clipped);
    ASSERT_TRUE(x.ok());
    EXPECT_EQ(clipped, 0u);
    auto enc = codec->Encode(*x, random);
    ASSERT_TRUE(enc.ok());
    for (size_t j = 0; j < ring.size(); ++j) ring[j] += (*enc)[j];
  }
  const std::vector<double> sum = codec->DecodeSum(ring);
  auto mean = MeanFromSum(sum);
  ASSERT_TRUE(mean.ok());
  ASSERT_EQ(mean->size(), 4);
  const double total = 100 + 300 + 50;
  const double weight_sum = total / scale;
  // The codec's bound plus the float rounding of each region's weight (the input is float).
  EXPECT_NEAR(sum[4], weight_sum, codec->ErrorBound() + 3 * 6e-8);
  for (int j = 0; j < 4; ++j) {
    double want = 0;
    for (size_t i = 0; i < 3; ++i) want += examples[i] * deltas[i][j] / total;
    // The bound on the sum, divided by the decoded weight, plus float rounding.
    EXPECT_NEAR((*mean)[j], want, 2 * codec->ErrorBound() / weight_sum + 1e-6) << j;
  }
}

TEST(SecAggWireTest, ClipsEachCoordinateAndCapsTheWeightAtOne) {
  size_t clipped = 0;
  auto x = WeightedClippedInput(std::vector<float>{2.0f, -3.0f, 0.5f}, 400, 200, 1.0, &clipped);
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(clipped, 2u);
  EXPECT_EQ(*x, (std::vector<float>{1.0f, -1.0f, 0.5f, 1.0f}));
  auto half = WeightedClippedInput(std::vector<float>{0.5f}, 100, 200, 1.0, &clipped);
  ASSERT_TRUE(half.ok());
  EXPECT_EQ(*half, (std::vector<float>{0.25f, 0.5f}));
}

TEST(SecAggWireTest, RefusesNonFiniteValuesBadScalesAndAZeroWeight) {
  EXPECT_FALSE(WeightedClippedInput(std::vector<float>{NAN}, 1, 1, 1, nullptr).ok());
  EXPECT_FALSE(WeightedClippedInput(std::vector<float>{0}, 1, 0, 1, nullptr).ok());
  EXPECT_FALSE(WeightedClippedInput(std::vector<float>{0}, 1, 1, -1, nullptr).ok());
  EXPECT_FALSE(MeanFromSum(std::vector<double>{1.0, 0.0}).ok());
  EXPECT_FALSE(RoundCodec(1.0, 0).ok());
}

TEST(SecAggWireTest, KeysOfTheWrongSizeAreRefusedNamingTheRegion) {
  protocol::SecAggKeysMsg m{1,     "r7", std::vector<uint8_t>(31, 1), std::vector<uint8_t>(32, 2),
                            "sig", "pem"};
  auto keys = KeysFromWire(m);
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.status().message().find("region 'r7' has 31 bytes"), std::string::npos)
      << keys.status().message();
  m.envelope_public_key.resize(32);
  ASSERT_TRUE(KeysFromWire(m).ok());
  protocol::SecAggRosterMsg roster;
  roster.round = 2;
  roster.vector_length = 5;
  roster.regions = {m};  // keys of round 1 in a roster of round 2
  EXPECT_FALSE(RosterFromWire(roster).ok());
}

TEST(SecAggWireTest, ARegionsRosterNamesItsNonNeighboursOnly) {
  protocol::SecAggRosterMsg full;
  full.round = 3;
  full.vector_length = 5;
  full.neighbours = 4;
  full.graph_seed = 8;
  std::vector<std::string> names;
  for (int i = 10; i < 22; ++i) {
    names.push_back("r" + std::to_string(i));
    full.regions.push_back({3, names.back(), std::vector<uint8_t>(32, uint8_t(i)),
                            std::vector<uint8_t>(32, uint8_t(i + 1)), "sig", "pem"});
  }
  SecAggParams params;
  params.neighbours = 4;
  params.graph_seed = 8;
  const std::vector<std::string> neighbours = Neighbours(names, "r10", params);
  const protocol::SecAggRosterMsg mine = RosterFor(full, "r10");
  ASSERT_EQ(mine.regions.size(), 12u);
  auto roster = RosterFromWire(mine);
  ASSERT_TRUE(roster.ok()) << roster.status().ToString();
  for (size_t i = 0; i < names.size(); ++i) {
    const bool full_record =
        names[i] == "r10" || std::binary_search(neighbours.begin(), neighbours.end(), names[i]);
    EXPECT_EQ(mine.regions[i].region, names[i]);
    EXPECT_EQ(mine.regions[i].certificate_pem.empty(), !full_record) << names[i];
    EXPECT_EQ(roster->regions[i].signature.empty(), !full_record) << names[i];
    EXPECT_EQ(roster->regions[i].mask_public_key[0], full_record ? uint8_t(10 + i + 1) : 0)
        << names[i];
  }
  // The complete graph (or k + 1 >= n): every region gets the whole roster.
  full.neighbours = 0;
  EXPECT_EQ(RosterFor(full, "r10").regions[5].certificate_pem, "pem");
  // A record with keys but no signature is not a name-only record: its keys are checked.
  full.regions[3].envelope_public_key.clear();
  EXPECT_FALSE(RosterFromWire(full).ok());
}

}  // namespace
}  // namespace fedseg::privacy::secagg
