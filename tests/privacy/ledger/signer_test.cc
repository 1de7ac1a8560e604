// The ledger's signatures on their own: keys and certificates from the openssl command line,
// signing and verifying a hash, and the refusals (ledger_test.cc checks signed ledgers).
#include "privacy/ledger/signer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/base/base64.h"
#include "common/base/file_util.h"

namespace fedseg::privacy {
namespace {

namespace fs = std::filesystem;

const std::string kHash(64, 'e');

class LedgerSignerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::path(::testing::TempDir()) / ("ledger_signer_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    ok_ = Make("ec", "-newkey ec -pkeyopt ec_paramgen_curve:P-256", "region-ec") &&
          Make("ec2", "-newkey ec -pkeyopt ec_paramgen_curve:P-256", "region-ec") &&
          Make("rsa", "-newkey rsa:2048", "region-rsa") &&
          Make("ed", "-newkey ed25519", "region-ed");
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void SetUp() override { ASSERT_TRUE(ok_) << "making keys with the openssl command line failed"; }

  static bool Make(const std::string& name, const std::string& newkey, const std::string& cn) {
    const std::string cmd = "openssl req -x509 " + newkey + " -nodes -days 2 -subj /CN=" + cn +
                            " -keyout '" + Key(name) + "' -out '" + Cert(name) +
                            "' >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  }
  static std::string Key(const std::string& name) { return (dir_ / (name + ".key")).string(); }
  static std::string Cert(const std::string& name) { return (dir_ / (name + ".crt")).string(); }

  static inline fs::path dir_;
  static inline bool ok_ = false;
};

TEST_F(LedgerSignerTest, SignsAndVerifiesWithEcAndRsa) {
  for (const std::string name : {"ec", "rsa"}) {
    Result<PkeyPtr> key = LoadLedgerPrivateKey(Key(name));
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_TRUE(CheckLedgerKeyType(key->get(), Key(name)).ok());
    Result<std::string> signature = SignLedgerHash(key->get(), kHash, kLedgerSignatureContext);
    ASSERT_TRUE(signature.ok()) << signature.status().ToString();
    const std::optional<std::string> raw = Base64Decode(*signature);
    ASSERT_TRUE(raw.has_value()) << *signature;
    if (name == "rsa") {
      EXPECT_EQ(raw->size(), 256u);  // RSA-2048
    }

    Result<LedgerCertificate> cert = LoadLedgerCertificate(Cert(name));
    ASSERT_TRUE(cert.ok()) << cert.status().ToString();
    EXPECT_EQ(cert->common_name, "region-" + name);
    EXPECT_TRUE(
        VerifyLedgerHashSignature(cert->public_key.get(), kHash, *raw, kLedgerSignatureContext))
        << name;
    EXPECT_FALSE(VerifyLedgerHashSignature(cert->public_key.get(), std::string(64, 'f'), *raw,
                                           kLedgerSignatureContext));
    std::string flipped = *raw;
    flipped[flipped.size() / 2] ^= 1;
    EXPECT_FALSE(
        VerifyLedgerHashSignature(cert->public_key.get(), kHash, flipped, kLedgerSignatureContext))
        << name;
  }
}

TEST_F(LedgerSignerTest, AnotherKeyDoesNotVerify) {
  Result<PkeyPtr> key = LoadLedgerPrivateKey(Key("ec2"));
  ASSERT_TRUE(key.ok());
  Result<std::string> signature = SignLedgerHash(key->get(), kHash, kLedgerSignatureContext);
  ASSERT_TRUE(signature.ok());
  Result<LedgerCertificate> cert = LoadLedgerCertificate(Cert("ec"));  // same CN, other key
  ASSERT_TRUE(cert.ok());
  EXPECT_FALSE(VerifyLedgerHashSignature(cert->public_key.get(), kHash, *Base64Decode(*signature),
                                         kLedgerSignatureContext));
}

TEST_F(LedgerSignerTest, SignaturesAreDomainSeparated) {
  for (const std::string name : {"ec", "rsa"}) {
    Result<PkeyPtr> key = LoadLedgerPrivateKey(Key(name));
    ASSERT_TRUE(key.ok());
    Result<LedgerCertificate> cert = LoadLedgerCertificate(Cert(name));
    ASSERT_TRUE(cert.ok());
    // A signature over the bare hash (what a TLS key, or a v1 ledger, signs) is not a v2 ledger
    // signature, and a v2 ledger signature is not one over the bare hash.
    Result<std::string> bare = SignLedgerHash(key->get(), kHash, kLedgerLegacyContext);
    Result<std::string> v2 = SignLedgerHash(key->get(), kHash, kLedgerSignatureContext);
    ASSERT_TRUE(bare.ok() && v2.ok());
    EXPECT_TRUE(VerifyLedgerHashSignature(cert->public_key.get(), kHash, *Base64Decode(*bare),
                                          kLedgerLegacyContext));
    EXPECT_FALSE(VerifyLedgerHashSignature(cert->public_key.get(), kHash, *Base64Decode(*bare),
                                           kLedgerSignatureContext))
        << name;
    EXPECT_FALSE(VerifyLedgerHashSignature(cert->public_key.get(), kHash, *Base64Decode(*v2),
                                           kLedgerLegacyContext))
        << name;
    // Another context string is another domain.
    EXPECT_FALSE(VerifyLedgerHashSignature(cert->public_key.get(), kHash, *Base64Decode(*v2),
                                           "fedseg-ledger-v3:"))
        << name;
  }
  EXPECT_EQ(kLedgerSignatureContext, "fedseg-ledger-v2:");
}

TEST_F(LedgerSignerTest, GeneratedKeysAreFreshEcKeysWithAPortablePublicHalf) {
  Result<std::string> a = GenerateLedgerKeyPem();
  Result<std::string> b = GenerateLedgerKeyPem();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  const fs::path pem = dir_ / "generated.key";
  std::ofstream(pem) << *a;
  Result<PkeyPtr> key = LoadLedgerPrivateKey(pem.string());
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(CheckLedgerKeyType(key->get(), "generated.key").ok());
  Result<std::string> pub = LedgerPublicKeyBase64(key->get());
  ASSERT_TRUE(pub.ok());
  // The same encoding as the openssl command line's.
  const fs::path out = dir_ / "generated.pub.b64";
  ASSERT_EQ(std::system(("openssl pkey -in '" + pem.string() +
                         "' -pubout -outform DER | base64 -w0 > '" + out.string() + "'")
                            .c_str()),
            0);
  std::ifstream in(out);
  std::string cli;
  std::getline(in, cli);
  EXPECT_EQ(*pub, cli);
  Result<PkeyPtr> parsed = ParseLedgerPublicKey(*pub);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(SameLedgerKey(parsed->get(), key->get()));
  Result<PkeyPtr> other = LoadLedgerPrivateKey(Key("ec"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(SameLedgerKey(parsed->get(), other->get()));
  EXPECT_TRUE(ParseLedgerPublicKey("not base64!").status().IsInvalidArgument());
  EXPECT_TRUE(ParseLedgerPublicKey("AAAA").status().IsInvalidArgument());
}

TEST_F(LedgerSignerTest, RefusesOtherKeyTypes) {
  Result<PkeyPtr> key = LoadLedgerPrivateKey(Key("ed"));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  const Status type = CheckLedgerKeyType(key->get(), "ed.key");
  EXPECT_TRUE(type.IsInvalidArgument());
  EXPECT_EQ(type.message(),
            "ed.key: unsupported key type ED25519 (the ledger signs with EC or RSA keys)");
  Result<std::string> signature = SignLedgerHash(key->get(), kHash, kLedgerSignatureContext);
  ASSERT_FALSE(signature.ok());
  // Ed25519 takes no separate digest, so OpenSSL refuses SHA-256 before the type is looked at.
  EXPECT_EQ(signature.status().message().rfind("EVP_DigestSignInit: ", 0), 0u)
      << signature.status().message();
}

TEST_F(LedgerSignerTest, RefusesFilesOfTheWrongKind) {
  Result<PkeyPtr> key = LoadLedgerPrivateKey(Cert("ec"));
  ASSERT_FALSE(key.ok());
  EXPECT_TRUE(key.status().IsInvalidArgument());
  EXPECT_EQ(
      key.status().message().rfind(Cert("ec") + " is not an unencrypted PEM private key (", 0), 0u)
      << key.status().message();
  EXPECT_TRUE(LoadLedgerPrivateKey(Key("missing")).status().IsNotFound());

  Result<LedgerCertificate> cert = ParseLedgerCertificate("not a certificate", "x.crt");
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.status().message().rfind("x.crt is not a PEM certificate (", 0), 0u)
      << cert.status().message();
  cert = ParseLedgerCertificate(std::string((1 << 20) + 1, 'A'), "big.crt");
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.status().message(), "big.crt is larger than 1 MiB: not a PEM certificate");
  EXPECT_TRUE(LoadLedgerCertificate(Cert("missing")).status().IsNotFound());
}

}  // namespace
}  // namespace fedseg::privacy
