#include "privacy/secagg/key_agreement.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/privacy/secagg/test_random.h"

namespace fedseg::privacy::secagg {
namespace {

X25519Key FromHex(const std::string& hex) {
  X25519Key key{};
  for (size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  return key;
}

std::string Hex(const SymmetricKey& key) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : key) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// RFC 7748, section 6.1.
const X25519Key kAlicePrivate =
    FromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
const X25519Key kAlicePublic =
    FromHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
const X25519Key kBobPrivate =
    FromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
const X25519Key kBobPublic =
    FromHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");

TEST(KeyAgreementTest, PublicKeysMatchRfc7748) {
  Result<X25519Key> alice = X25519PublicKey(kAlicePrivate);
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  EXPECT_EQ(*alice, kAlicePublic);
  Result<X25519Key> bob = X25519PublicKey(kBobPrivate);
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(*bob, kBobPublic);
}

TEST(KeyAgreementTest, DerivedKeyIsHkdfOfTheRfc7748SharedSecret) {
  // Expected: HKDF-SHA-256 (RFC 5869, empty salt) of the RFC's shared secret 4a5d9d5b...161742 with
  // info "fedseg test label", computed independently with Python's hmac module.
  Result<SymmetricKey> a = DeriveSharedKey(kAlicePrivate, kBobPublic, "fedseg test label");
  Result<SymmetricKey> b = DeriveSharedKey(kBobPrivate, kAlicePublic, "fedseg test label");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Hex(*a), "fccaaf9fe31f3e131f9f5ccb4b9cd7409646f57c69ee52c00bfc02f90fd3ae86");
  EXPECT_EQ(*a, *b);
}

TEST(KeyAgreementTest, LabelsAndPeersSeparateKeys) {
  RandomBytes random = SeededRandomBytesForTesting(7);
  Result<X25519KeyPair> a = GenerateX25519KeyPair(random);
  Result<X25519KeyPair> b = GenerateX25519KeyPair(random);
  Result<X25519KeyPair> c = GenerateX25519KeyPair(random);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  Result<SymmetricKey> ab_mask = DeriveSharedKey(a->private_key, b->public_key, "mask round 1");
  Result<SymmetricKey> ba_mask = DeriveSharedKey(b->private_key, a->public_key, "mask round 1");
  Result<SymmetricKey> ab_next = DeriveSharedKey(a->private_key, b->public_key, "mask round 2");
  Result<SymmetricKey> ac_mask = DeriveSharedKey(a->private_key, c->public_key, "mask round 1");
  ASSERT_TRUE(ab_mask.ok() && ba_mask.ok() && ab_next.ok() && ac_mask.ok());
  EXPECT_EQ(*ab_mask, *ba_mask);
  EXPECT_NE(*ab_mask, *ab_next);
  EXPECT_NE(*ab_mask, *ac_mask);
}

TEST(KeyAgreementTest, TwoLabelsFromOneAgreementAreTheKeysOfTwoDerivations) {
  Result<X25519Agreement> alice = X25519Agreement::Create(kAlicePrivate);
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  Result<std::array<SymmetricKey, 2>> both =
      alice->Derive(kBobPublic, "fedseg test label", "the other direction");
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(Hex((*both)[0]), "fccaaf9fe31f3e131f9f5ccb4b9cd7409646f57c69ee52c00bfc02f90fd3ae86");
  Result<SymmetricKey> second = DeriveSharedKey(kBobPrivate, kAlicePublic, "the other direction");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*both)[1], *second);
  EXPECT_NE((*both)[0], (*both)[1]);
  const X25519Key zero{};
  EXPECT_EQ(alice->Derive(zero, "a", "b").status().code(), StatusCode::kInvalidArgument);
}

TEST(KeyAgreementTest, SmallOrderPeerKeyIsRefused) {
  const X25519Key zero{};  // the identity: every shared secret would be all zeros
  Result<SymmetricKey> key = DeriveSharedKey(kAlicePrivate, zero, "mask");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
}

TEST(KeyAgreementTest, GeneratorFailureIsReported) {
  Result<X25519KeyPair> pair = GenerateX25519KeyPair(FailingRandomBytesForTesting());
  ASSERT_FALSE(pair.ok());
  EXPECT_EQ(pair.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace fedseg::privacy::secagg
