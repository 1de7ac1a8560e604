#include "privacy/secagg/mask.h"

#include <gtest/gtest.h>

#include <bit>
#include <vector>

namespace fedseg::privacy::secagg {
namespace {

SymmetricKey Seed(uint8_t start) {
  SymmetricKey key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(start + i);
  return key;
}

TEST(MaskTest, StreamIsAes256CtrFromAZeroCounter) {
  // `openssl enc -aes-256-ctr -K 000102...1f -iv 00...00` on 32 zero bytes gives
  // f29000b6 2a499fd0 a9f39a6a dd2e7780 f05d76ae 4ab99fe5 a6f69b31 48c2363d.
  std::vector<uint32_t> v(8, 0);
  ASSERT_TRUE(ApplyMask(Seed(0), MaskSign::kAdd, v).ok());
  EXPECT_EQ(v[0], 0xb60090f2u);
  EXPECT_EQ(v[1], 0xd09f492au);
  EXPECT_EQ(v[7], 0x3d36c248u);
}

TEST(MaskTest, SubtractingUndoesAddingAcrossChunks) {
  std::vector<uint32_t> v(10000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint32_t>(i * 2654435761u);
  const std::vector<uint32_t> original = v;
  ASSERT_TRUE(ApplyMask(Seed(5), MaskSign::kAdd, v).ok());
  EXPECT_NE(v, original);
  ASSERT_TRUE(ApplyMask(Seed(5), MaskSign::kSubtract, v).ok());
  EXPECT_EQ(v, original);
}

TEST(MaskTest, PairwiseMasksCancelExactlyInTheSum) {
  // Three parties; pair (i, j) with i < j: i adds, j subtracts the pair's stream.
  const size_t n = 5000;
  std::vector<std::vector<uint32_t>> inputs(3, std::vector<uint32_t>(n));
  std::vector<uint32_t> plain_sum(n, 0);
  for (size_t p = 0; p < 3; ++p) {
    for (size_t i = 0; i < n; ++i) {
      inputs[p][i] = static_cast<uint32_t>((p + 1) * 1000003u * (i + 7));
      plain_sum[i] += inputs[p][i];
    }
  }
  const SymmetricKey pair_seed[3][3] = {{{}, Seed(10), Seed(20)}, {{}, {}, Seed(30)}, {}};
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = 0; j < 3; ++j) {
      if (i == j) continue;
      const SymmetricKey& seed = i < j ? pair_seed[i][j] : pair_seed[j][i];
      ASSERT_TRUE(ApplyMask(seed, i < j ? MaskSign::kAdd : MaskSign::kSubtract, inputs[i]).ok());
    }
  }
  std::vector<uint32_t> masked_sum(n, 0);
  for (const auto& in : inputs) {
    for (size_t i = 0; i < n; ++i) masked_sum[i] += in[i];
  }
  EXPECT_EQ(masked_sum, plain_sum);
}

TEST(MaskTest, MaskedZerosLookUniform) {
  // Every bit of the masked words is set about half the time: 32 x 20,000 bits, each bit position
  // expected 10,000 (sd 71).
  std::vector<uint32_t> v(20000, 0);
  ASSERT_TRUE(ApplyMask(Seed(77), MaskSign::kAdd, v).ok());
  for (int bit = 0; bit < 32; ++bit) {
    int ones = 0;
    for (uint32_t w : v) ones += (w >> bit) & 1;
    EXPECT_GT(ones, 9600) << bit;
    EXPECT_LT(ones, 10400) << bit;
  }
}

}  // namespace
}  // namespace fedseg::privacy::secagg
