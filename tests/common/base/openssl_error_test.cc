#include "common/base/openssl_error.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

namespace fedseg {
namespace {

class OpenSslErrorTest : public ::testing::Test {
 protected:
  void SetUp() override { ERR_clear_error(); }
  void TearDown() override { ERR_clear_error(); }
};

// Makes OpenSSL fail for real: reading a certificate from text that is not PEM.
void FailToReadACertificate() {
  static const char kNotPem[] = "this is not a certificate\n";
  BIO* bio = BIO_new_mem_buf(kNotPem, sizeof kNotPem - 1);
  ASSERT_NE(bio, nullptr);
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  EXPECT_EQ(cert, nullptr);
  X509_free(cert);
  BIO_free(bio);
}

TEST_F(OpenSslErrorTest, ReasonIsTheTextWithoutThePrefix) {
  EXPECT_EQ(OpenSslReason(ERR_PACK(ERR_LIB_PEM, 0, PEM_R_NO_START_LINE)), "no start line");
  EXPECT_EQ(OpenSslReason(ERR_PACK(ERR_LIB_PEM, 0, PEM_R_BAD_END_LINE)), "bad end line");
}

TEST_F(OpenSslErrorTest, UnknownReasonIsTheFullErrorString) {
  const unsigned long code = ERR_PACK(ERR_LIB_PEM, 0, 4000);  // no such PEM reason
  const std::string text = OpenSslReason(code);
  EXPECT_EQ(text.rfind("error:", 0), 0u) << text;
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08lX", code);
  EXPECT_NE(text.find(hex), std::string::npos) << text;
}

TEST_F(OpenSslErrorTest, EmptyQueueIsAnUnknownError) {
  EXPECT_EQ(TakeOpenSslError(), "unknown OpenSSL error");
}

TEST_F(OpenSslErrorTest, TakesARealFailureAndEmptiesTheQueue) {
  FailToReadACertificate();
  ASSERT_NE(ERR_peek_error(), 0u) << "OpenSSL reported nothing";
  const std::string text = TakeOpenSslError();
  EXPECT_NE(text.find("no start line"), std::string::npos) << text;
  EXPECT_EQ(ERR_peek_error(), 0u) << "the queue was not emptied";
  // A later call does not blame the stale entry.
  EXPECT_EQ(TakeOpenSslError(), "unknown OpenSSL error");
}

TEST_F(OpenSslErrorTest, TakesTheMostRecentOfSeveralErrors) {
  ERR_raise(ERR_LIB_PEM, PEM_R_NO_START_LINE);
  ERR_raise(ERR_LIB_PEM, PEM_R_BAD_END_LINE);
  const std::string text = TakeOpenSslError();
  EXPECT_NE(text.find("bad end line"), std::string::npos) << text;
  EXPECT_EQ(text.find("no start line"), std::string::npos) << text;
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace fedseg
