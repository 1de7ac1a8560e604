// The one reader of a certificate's subject CN, on certificates built here with the OpenSSL API:
// a valid CN, none, an empty one, one with an embedded NUL, and the file reader's failure paths.
#include "common/net/x509_identity.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "common/base/openssl_ptr.h"

namespace fedseg::net {
namespace {

// A self-signed certificate whose subject is `cn` (an exact byte string, so it may be empty or
// hold a NUL), or has no CN at all when `cn` is null. OpenSSL's own checks on CN length are
// bypassed by adding the entry as a raw UTF8String, as a hostile CA could.
X509Ptr MakeCertificate(const std::string* cn) {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return nullptr;
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("fedseg test"), -1, -1, 0);
  if (cn != nullptr) {
    X509_NAME_ENTRY* entry = X509_NAME_ENTRY_create_by_NID(
        nullptr, NID_commonName, V_ASN1_UTF8STRING,
        reinterpret_cast<const unsigned char*>(cn->data()), static_cast<int>(cn->size()));
    if (entry == nullptr) return nullptr;
    const int added = X509_NAME_add_entry(name, entry, -1, 0);
    X509_NAME_ENTRY_free(entry);
    if (added != 1) return nullptr;
  }
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return nullptr;
  return cert;
}

class X509IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fedseg-x509-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string WritePem(X509* cert, const std::string& name) {
    const std::string path = dir_ + "/" + name;
    BIO* bio = BIO_new_file(path.c_str(), "w");
    EXPECT_NE(bio, nullptr);
    if (bio == nullptr) return path;
    EXPECT_EQ(PEM_write_bio_X509(bio, cert), 1);
    BIO_free(bio);
    return path;
  }
  std::string dir_;
};

TEST_F(X509IdentityTest, ReadsAValidCommonName) {
  const std::string cn = "eu-west";
  X509Ptr cert = MakeCertificate(&cn);
  ASSERT_NE(cert, nullptr);
  auto read = CommonName(cert.get(), "region certificate");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, "eu-west");

  const std::string utf8 = "r\xc3\xa9gion-\xe5\x8c\x97";  // "région-北": kept as UTF-8
  X509Ptr unicode = MakeCertificate(&utf8);
  ASSERT_NE(unicode, nullptr);
  auto read_utf8 = CommonName(unicode.get(), "x");
  ASSERT_TRUE(read_utf8.ok()) << read_utf8.status().ToString();
  EXPECT_EQ(*read_utf8, utf8);
}

TEST_F(X509IdentityTest, RefusesACertificateWithoutCommonName) {
  X509Ptr cert = MakeCertificate(nullptr);
  ASSERT_NE(cert, nullptr);
  auto read = CommonName(cert.get(), "region certificate");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(read.status().IsInvalidArgument());
  EXPECT_EQ(read.status().message(), "region certificate has no subject common name");
}

TEST_F(X509IdentityTest, RefusesAnEmptyCommonName) {
  const std::string empty;
  X509Ptr cert = MakeCertificate(&empty);
  ASSERT_NE(cert, nullptr);
  auto read = CommonName(cert.get(), "peer certificate");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(read.status().IsInvalidArgument());
  EXPECT_EQ(read.status().message(), "peer certificate has an empty subject common name");
}

TEST_F(X509IdentityTest, RefusesACommonNameWithAnEmbeddedNul) {
  const std::string spoof("eu-west\0evil", 12);
  X509Ptr cert = MakeCertificate(&spoof);
  ASSERT_NE(cert, nullptr);
  auto read = CommonName(cert.get(), "peer certificate");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(read.status().IsInvalidArgument());
  EXPECT_EQ(read.status().message(), "peer certificate: subject common name holds a NUL byte");
}

TEST_F(X509IdentityTest, RefusesANullCertificate) {
  auto read = CommonName(nullptr, "ledger signer");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().message(), "ledger signer: no certificate");
  EXPECT_EQ(PeerCommonName(nullptr), "");
}

TEST_F(X509IdentityTest, ReadsTheCommonNameOfAPemFile) {
  const std::string cn = "us-east";
  X509Ptr cert = MakeCertificate(&cn);
  ASSERT_NE(cert, nullptr);
  const std::string path = WritePem(cert.get(), "us-east.crt");
  auto read = CertificateFileCommonName(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, "us-east");

  // The file's checks are CommonName's, naming the file.
  const std::string spoof("a\0b", 3);
  X509Ptr bad = MakeCertificate(&spoof);
  ASSERT_NE(bad, nullptr);
  const std::string bad_path = WritePem(bad.get(), "spoof.crt");
  auto refused = CertificateFileCommonName(bad_path);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), bad_path + ": subject common name holds a NUL byte");
}

TEST_F(X509IdentityTest, CertificateFileCommonNameOnAMissingFile) {
  auto read = CertificateFileCommonName(dir_ + "/absent.crt");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(read.status().IsNotFound()) << read.status().ToString();
  EXPECT_NE(read.status().message().find(dir_ + "/absent.crt"), std::string::npos)
      << read.status().ToString();
}

TEST_F(X509IdentityTest, CertificateFileCommonNameOnANonPemFile) {
  const std::string path = dir_ + "/notes.txt";
  std::ofstream(path) << "not a certificate\n";
  auto read = CertificateFileCommonName(path);
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(read.status().IsInvalidArgument()) << read.status().ToString();
  EXPECT_EQ(read.status().message().rfind(path + " is not a PEM certificate (", 0), 0u)
      << read.status().ToString();
}

}  // namespace
}  // namespace fedseg::net
