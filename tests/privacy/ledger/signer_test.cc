// The ledger's signatures on their own: keys and certificates from the openssl command line,
// signing and verifying a hash, and the refusals (ledger_test.cc checks signed ledgers).
#include "privacy/ledger/signer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
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
    Result<std::string> signature = SignLedgerHash(key->get(), kHash);
    ASSERT_TRUE(signature.ok()) << signature.status().ToString();
    const std::optional<std::string> raw = Base64Decode(*signature);
    ASSERT_TRUE(raw.has_value()) << *signature;
    if (name == "rsa") {
      EXPECT_EQ(raw->size(), 256u);  // RSA-2048
    }

    Result<LedgerCertificate> cert = LoadLedgerCertificate(Cert(name));
    ASSERT_TRUE(cert.ok()) << cert.status().ToString();
    EXPECT_EQ(cert->common_name, "region-" + name);
    EXPECT_TRUE(VerifyLedgerHashSignature(cert->public_key.get(), kHash, *raw)) << name;
    EXPECT_FALSE(VerifyLedgerHashSignature(cert->public_key.get(), std::string(64, 'f'), *raw));
    std::string flipped = *raw;
    flipped[flipped.size() / 2] ^= 1;
    EXPECT_FALSE(VerifyLedgerHashSignature(cert->public_key.get(), kHash, flipped)) << name;
  }
}

TEST_F(LedgerSignerTest, AnotherKeyDoesNotVerify) {
  Result<PkeyPtr> key = LoadLedgerPrivateKey(Key("ec2"));
  ASSERT_TRUE(key.ok());
  Result<std::string> signature = SignLedgerHash(key->get(), kHash);
  ASSERT_TRUE(signature.ok());
  Result<LedgerCertificate> cert = LoadLedgerCertificate(Cert("ec"));  // same CN, other key
  ASSERT_TRUE(cert.ok());
  EXPECT_FALSE(VerifyLedgerHashSignature(cert->public_key.get(), kHash, *Base64Decode(*signature)));
}

TEST_F(LedgerSignerTest, RefusesOtherKeyTypes) {
  Result<PkeyPtr> key = LoadLedgerPrivateKey(Key("ed"));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  const Status type = CheckLedgerKeyType(key->get(), "ed.key");
  EXPECT_TRUE(type.IsInvalidArgument());
  EXPECT_EQ(type.message(),
            "ed.key: unsupported key type ED25519 (the ledger signs with EC or RSA keys)");
  Result<std::string> signature = SignLedgerHash(key->get(), kHash);
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
