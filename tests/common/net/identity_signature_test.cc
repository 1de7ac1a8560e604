// Identity signatures against certificates made by scripts/gen-certs.sh: a region's signature
// verifies under its certificate and CN, and IdentityVerifier (the CA loaded once, each certificate
// remembered once it verified) refuses exactly what VerifyIdentitySignature refuses, on the first
// and on later calls for the same certificate.
#include "common/net/identity_signature.h"

#include <gtest/gtest.h>

#include "net_test_util.h"

namespace fedseg::net {
namespace {

using test_util::Contains;
using test_util::TestPki;

class IdentitySignatureTest : public ::testing::Test {
 protected:
  // pki: the federation (eu-west, us-east, an expired old-region). other: an unrelated CA.
  static void SetUpTestSuite() {
    pki_ = new TestPki({"@GEN --out @DIR/pki --expired old-region eu-west us-east",
                        "@GEN --out @DIR/other rogue eu-west"});
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(pki_->error(), "") << pki_->error(); }

  static std::string Path(const std::string& set, const std::string& file) {
    return pki_->Path(set, file);
  }
  static std::string Pem(const std::string& set, const std::string& name) {
    auto pem = ReadCertificatePem(Path(set, name + ".crt"));
    EXPECT_TRUE(pem.ok()) << pem.status().ToString();
    return pem.ok() ? *pem : std::string();
  }
  static std::string Sign(const std::string& set, const std::string& name,
                          std::string_view message) {
    auto sig = SignWithKeyFile(Path(set, name + ".key"), message);
    EXPECT_TRUE(sig.ok()) << sig.status().ToString();
    return sig.ok() ? *sig : std::string();
  }

  static TestPki* pki_;
};

TestPki* IdentitySignatureTest::pki_ = nullptr;

TEST_F(IdentitySignatureTest, VerifierAcceptsAndRefusesAsTheOneShotCheckOnEveryCall) {
  auto verifier = IdentityVerifier::Create(Path("pki", "ca.crt"));
  ASSERT_TRUE(verifier.ok()) << verifier.status().ToString();
  const std::string pem = Pem("pki", "eu-west");
  const std::string sig = Sign("pki", "eu-west", "keys of round 3");
  // Twice: the second call uses the remembered certificate.
  for (int call = 0; call < 2; ++call) {
    EXPECT_TRUE(verifier->Verify(pem, "eu-west", "keys of round 3", sig).ok()) << call;
    // Another message, another identity, another region's signature: refused every time.
    Status other_message = verifier->Verify(pem, "eu-west", "keys of round 4", sig);
    EXPECT_TRUE(other_message.IsPermissionDenied()) << other_message.ToString();
    EXPECT_TRUE(Contains(other_message.message(), "'eu-west'")) << other_message.message();
    Status other_identity = verifier->Verify(pem, "us-east", "keys of round 3", sig);
    EXPECT_TRUE(other_identity.IsPermissionDenied()) << other_identity.ToString();
    EXPECT_TRUE(Contains(other_identity.message(), "is issued to 'eu-west'"))
        << other_identity.message();
    Status other_signer = verifier->Verify(pem, "eu-west", "keys of round 3",
                                           Sign("pki", "us-east", "keys of round 3"));
    EXPECT_TRUE(other_signer.IsPermissionDenied()) << other_signer.ToString();
    EXPECT_TRUE(
        VerifyIdentitySignature(Path("pki", "ca.crt"), pem, "eu-west", "keys of round 3", sig)
            .ok());
  }
}

TEST_F(IdentitySignatureTest, CertificatesOfAnotherCaOrExpiredAreRefusedAndNotRemembered) {
  auto verifier = IdentityVerifier::Create(Path("pki", "ca.crt"));
  ASSERT_TRUE(verifier.ok()) << verifier.status().ToString();
  // A certificate with the right CN from another CA, signing correctly with its own key.
  const std::string rogue = Pem("other", "eu-west");
  const std::string rogue_sig = Sign("other", "eu-west", "m");
  for (int call = 0; call < 2; ++call) {
    Status s = verifier->Verify(rogue, "eu-west", "m", rogue_sig);
    EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "does not verify against the federation CA")) << s.message();
  }
  Status expired =
      verifier->Verify(Pem("pki", "old-region"), "old-region", "m", Sign("pki", "old-region", "m"));
  EXPECT_TRUE(expired.IsPermissionDenied()) << expired.ToString();
  EXPECT_TRUE(Contains(expired.message(), "expired")) << expired.message();
  Status garbage = verifier->Verify("not a certificate", "eu-west", "m", rogue_sig);
  EXPECT_TRUE(garbage.IsInvalidArgument()) << garbage.ToString();
  EXPECT_TRUE(Contains(garbage.message(), "the certificate of 'eu-west'")) << garbage.message();
}

TEST_F(IdentitySignatureTest, MissingCaIsNotFound) {
  auto verifier = IdentityVerifier::Create(pki_->dir() + "/nope/ca.crt");
  ASSERT_FALSE(verifier.ok());
  EXPECT_TRUE(verifier.status().IsNotFound()) << verifier.status().ToString();
  EXPECT_TRUE(Contains(verifier.status().message(), "/nope/ca.crt"));
}

}  // namespace
}  // namespace fedseg::net
