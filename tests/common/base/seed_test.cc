#include "common/base/seed.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>

namespace fedseg {
namespace {

// The coordinator's per-round seed before the move (coordinator.cc's Mix), written out again
// here from the formula so that DeriveSeed is checked against an independent copy.
uint64_t CoordinatorMixBeforeTheMove(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9E3779B97F4A7C15ULL + b + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

TEST(SeedTest, DeriveSeedEqualsTheCoordinatorsSplitMixOfBeforeTheMove) {
  const uint64_t pairs[][2] = {{0, 0}, {7, 1}, {7, 2}, {42, 10}, {123456789, 987654321},
                               {~0ULL, ~0ULL}, {1ULL << 63, 3}};
  for (const auto& p : pairs) {
    EXPECT_EQ(DeriveSeed(p[0], p[1]), CoordinatorMixBeforeTheMove(p[0], p[1]))
        << p[0] << ", " << p[1];
  }
  // The same values, computed outside C++ (Python, arbitrary precision masked to 64 bits).
  EXPECT_EQ(DeriveSeed(0, 0), 0x6DB6CA64564DAEAAULL);
  EXPECT_EQ(DeriveSeed(7, 1), 0xEAD17F0313CDC90AULL);
  EXPECT_EQ(DeriveSeed(7, 2), 0x426DCF219D98090BULL);
  EXPECT_EQ(DeriveSeed(42, 10), 0x1B6AA9203472954FULL);
  EXPECT_EQ(DeriveSeed(123456789, 987654321), 0xF2C6C68B7D98F799ULL);
  EXPECT_EQ(DeriveSeed(~0ULL, ~0ULL), 0xEE911288B2575648ULL);
}

// Mix64 is splitmix64's output function: the generator's state advances by the golden gamma
// 0x9E3779B97F4A7C15 and each output is Mix64(state). Vigna's reference splitmix64.c seeded with
// 1234567 starts 6457827717110365317, 3203168211198807973, 9817491932198370423.
TEST(SeedTest, Mix64IsTheSplitMix64OutputFunction) {
  constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ULL;
  uint64_t state = 1234567;
  state += kGamma;
  EXPECT_EQ(Mix64(state), 6457827717110365317ULL);
  state += kGamma;
  EXPECT_EQ(Mix64(state), 3203168211198807973ULL);
  state += kGamma;
  EXPECT_EQ(Mix64(state), 9817491932198370423ULL);
  // Seeded with 0, the first output.
  EXPECT_EQ(Mix64(kGamma), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(Mix64(0), 0u);
}

TEST(SeedTest, IsAConstantExpression) {
  static_assert(DeriveSeed(0, 0) == 0x6DB6CA64564DAEAAULL);
  static_assert(Mix64(0x9E3779B97F4A7C15ULL) == 0xE220A8397B1DCDAFULL);
  static_assert(DeriveSeed(7, std::string_view("r1")) == 0x96FEB55C6250E39DULL);
  SUCCEED();
}

// DeriveSeed(a, name) is DeriveSeed(a, FNV-1a 64 of the name's bytes); FNV-1a of "" is the offset
// basis 0xCBF29CE484222325 and of "a" is 0xAF63DC4C8601EC8C (the FNV reference test vectors).
TEST(SeedTest, NamedSeedIsDeriveSeedOfTheFnv1aHash) {
  EXPECT_EQ(DeriveSeed(5, std::string_view("")), DeriveSeed(5, 0xCBF29CE484222325ULL));
  EXPECT_EQ(DeriveSeed(5, std::string_view("a")), DeriveSeed(5, 0xAF63DC4C8601EC8CULL));
  EXPECT_EQ(DeriveSeed(7, std::string_view("r1")), 0x96FEB55C6250E39DULL);
  EXPECT_EQ(DeriveSeed(99, std::string_view("region-07")), 0x9B927F0B64427981ULL);
  // Bytes above 0x7f are hashed unsigned, whatever the signedness of char.
  EXPECT_NE(DeriveSeed(1, std::string_view("\xff")), DeriveSeed(1, std::string_view("\x7f")));
}

TEST(SeedTest, NearbyInputsGiveDistinctSeeds) {
  std::set<uint64_t> seen;
  for (uint64_t a = 0; a < 32; ++a) {
    for (uint64_t b = 0; b < 32; ++b) seen.insert(DeriveSeed(a, b));
  }
  EXPECT_EQ(seen.size(), 32u * 32u);
  EXPECT_NE(DeriveSeed(1, 2), DeriveSeed(2, 1));  // the pair is ordered
  EXPECT_NE(DeriveSeed(7, std::string_view("r1")), DeriveSeed(7, std::string_view("r2")));
}

}  // namespace
}  // namespace fedseg
