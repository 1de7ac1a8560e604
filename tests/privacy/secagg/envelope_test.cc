#include "privacy/secagg/envelope.h"

#include <gtest/gtest.h>

#include "tests/privacy/secagg/test_random.h"

namespace fedseg::privacy::secagg {
namespace {

SymmetricKey Key(uint8_t fill) {
  SymmetricKey key;
  key.fill(fill);
  return key;
}

TEST(EnvelopeTest, RoundTripsAndHidesThePlaintext) {
  const std::vector<uint8_t> plaintext = {'s', 'h', 'a', 'r', 'e', 0, 1, 2};
  Result<std::vector<uint8_t>> sealed =
      SealEnvelope(Key(1), "round 3 eu->us", plaintext, SeededRandomBytesForTesting(1));
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->size(), plaintext.size() + kEnvelopeOverhead);
  EXPECT_EQ(std::search(sealed->begin(), sealed->end(), plaintext.begin(), plaintext.begin() + 5),
            sealed->end());
  Result<std::vector<uint8_t>> opened = OpenEnvelope(Key(1), "round 3 eu->us", *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plaintext);
}

TEST(EnvelopeTest, EmptyPlaintextRoundTrips) {
  Result<std::vector<uint8_t>> sealed =
      SealEnvelope(Key(2), "", {}, SeededRandomBytesForTesting(2));
  ASSERT_TRUE(sealed.ok());
  Result<std::vector<uint8_t>> opened = OpenEnvelope(Key(2), "", *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

TEST(EnvelopeTest, EveryAlterationIsRefused) {
  const std::vector<uint8_t> plaintext(40, 7);
  Result<std::vector<uint8_t>> sealed =
      SealEnvelope(Key(3), "round 1 a->b", plaintext, SeededRandomBytesForTesting(3));
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {  // nonce, ciphertext and tag bytes alike
    std::vector<uint8_t> bad = *sealed;
    bad[i] ^= 0x80;
    Result<std::vector<uint8_t>> opened = OpenEnvelope(Key(3), "round 1 a->b", bad);
    ASSERT_FALSE(opened.ok()) << "byte " << i;
    EXPECT_EQ(opened.status().code(), StatusCode::kCorruption);
  }
  EXPECT_FALSE(OpenEnvelope(Key(3), "round 2 a->b", *sealed).ok());  // replayed into another round
  EXPECT_FALSE(OpenEnvelope(Key(3), "round 1 a->c", *sealed).ok());  // moved to another recipient
  EXPECT_FALSE(OpenEnvelope(Key(4), "round 1 a->b", *sealed).ok());  // another key
  std::vector<uint8_t> truncated(sealed->begin(), sealed->begin() + 27);
  Result<std::vector<uint8_t>> short_one = OpenEnvelope(Key(3), "round 1 a->b", truncated);
  ASSERT_FALSE(short_one.ok());
  EXPECT_NE(short_one.status().message().find("impossible size"), std::string::npos);
}

TEST(EnvelopeTest, GeneratorFailureIsReported) {
  const std::vector<uint8_t> plaintext(4, 1);
  EXPECT_EQ(SealEnvelope(Key(5), "", plaintext, FailingRandomBytesForTesting()).status().code(),
            StatusCode::kUnavailable);
}

}  // namespace
}  // namespace fedseg::privacy::secagg
