// VerifyLedgerText on the committed fuzz-corpus ledgers (tests/fuzz/corpus/ledger, signed by
// tests/fuzz/keys/fuzz-region): the in-memory entry point, its option checks and its limits.
// ledger_test.cc covers every form of tampering through VerifyLedger.
#include "privacy/ledger/verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "common/base/file_util.h"

namespace fedseg::privacy {
namespace {

std::string Corpus(const std::string& name) {
  Result<std::string> text =
      ReadFile(FEDSEG_SOURCE_DIR "/tests/fuzz/corpus/ledger/" + name, kMaxLedgerBytes);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? *text : "";
}

const std::string kCertPath = FEDSEG_SOURCE_DIR "/tests/fuzz/keys/fuzz-region.crt";

std::string Cert() {
  Result<std::string> pem = ReadFile(kCertPath, 1 << 20);
  EXPECT_TRUE(pem.ok()) << pem.status().ToString();
  return pem.ok() ? *pem : "";
}

TEST(LedgerVerifierTest, TextAndFileGiveTheSameReport) {
  const std::string text = Corpus("valid_3_entries");
  Result<LedgerVerification> v = VerifyLedgerText(text, Cert(), "fuzz-region.crt");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->ok);
  EXPECT_TRUE(v->problems.empty());
  EXPECT_EQ(v->entries, 3);
  ASSERT_EQ(v->rows.size(), 3u);
  EXPECT_EQ(v->rows[0].mechanism, "gaussian");
  EXPECT_EQ(v->rows[2].epsilon_after, v->epsilon);
  EXPECT_EQ(v->rows[2].epsilon_recorded, v->epsilon);
  EXPECT_GT(v->rows[2].epsilon_after, v->rows[1].epsilon_after);

  Result<LedgerVerification> file =
      VerifyLedger(FEDSEG_SOURCE_DIR "/tests/fuzz/corpus/ledger/valid_3_entries", kCertPath);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->head_hash, v->head_hash);
  EXPECT_EQ(file->epsilon, v->epsilon);
  EXPECT_EQ(file->order, v->order);
}

TEST(LedgerVerifierTest, AnEmptyFileIsNotALedger) {
  // A ledger starts with its genesis entry (`fedseg-client ledger init`); an empty file is never
  // taken for an unspent budget.
  Result<LedgerVerification> v = VerifyLedgerText("", Cert(), "c");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  ASSERT_EQ(v->problems.size(), 1u);
  EXPECT_NE(v->problems[0].find("the ledger is empty: it has no genesis entry"), std::string::npos)
      << v->problems[0];
  EXPECT_EQ(v->entries, 0);
  EXPECT_EQ(v->head_hash, kLedgerGenesisHash);
}

TEST(LedgerVerifierTest, ExpectedHeadIsCaseInsensitive) {
  const std::string text = Corpus("valid_3_entries");
  Result<LedgerVerification> v = VerifyLedgerText(text, Cert(), "c");
  ASSERT_TRUE(v.ok());
  std::string upper = v->head_hash;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  LedgerVerifyOptions options;
  options.expect_head = upper;
  options.expect_entries = 3;
  v = VerifyLedgerText(text, Cert(), "c", options);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << (v->problems.empty() ? "" : v->problems[0]);

  options.expect_entries = 4;
  options.expect_head = std::string(kLedgerGenesisHash);
  v = VerifyLedgerText(text, Cert(), "c", options);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->problems.size(), 2u);
  EXPECT_EQ(v->problems[0],
            "the ledger has 3 entries, but 4 were expected: entries were removed from the end, "
            "or added");
  EXPECT_EQ(v->problems[1].rfind("the head hash " + v->head_hash + " is not the expected 0000", 0),
            0u)
      << v->problems[1];
}

TEST(LedgerVerifierTest, ProblemsOfACutLedger) {
  Result<LedgerVerification> v = VerifyLedgerText(Corpus("cut_last_line"), Cert(), "c");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->entries, 3);
  EXPECT_EQ(v->rows.size(), 2u);  // the cut line cannot be read
  ASSERT_FALSE(v->problems.empty());
  EXPECT_EQ(v->problems[0],
            "line 3: the last line has no newline: an append was interrupted (crash or full disk) "
            "or the file was cut");
  EXPECT_EQ(v->head_hash, "");  // the last line's hash is unreadable
}

TEST(LedgerVerifierTest, UnusableInputsAreErrors) {
  LedgerVerifyOptions options;
  options.expect_head = "zz";
  Result<LedgerVerification> v = VerifyLedgerText("", Cert(), "c", options);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "expected head hash must be 64 hex digits, got \"zz\"");
  options = {};
  options.expect_entries = -1;
  v = VerifyLedgerText("", Cert(), "c", options);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "expected entry count must be >= 0, got -1");
  v = VerifyLedgerText(std::string(kMaxLedgerBytes + 1, '\n'), Cert(), "c");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(),
            "the ledger is 268435457 bytes, more than the 268435456-byte limit");
  v = VerifyLedgerText("", "not a certificate", "bad.crt");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message().rfind("bad.crt is not a PEM certificate (", 0), 0u);
}

// The committed corpus ledgers predate the genesis entry: they verify under the legacy rule (the
// TLS certificate's key over the bare hash), marked as legacy, and only against a certificate.
TEST(LedgerVerifierTest, LegacyLedgersVerifyUnderTheOldRuleMarkedLegacy) {
  const std::string text = Corpus("valid_3_entries");
  Result<LedgerVerification> v = VerifyLedgerText(text, Cert(), "fuzz-region.crt");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->ok);
  EXPECT_TRUE(v->legacy);
  EXPECT_EQ(v->format, "legacy-v1");
  EXPECT_EQ(v->epsilon_budget, 0.0);  // a legacy ledger records no budget
  EXPECT_FALSE(v->over_budget);

  v = VerifyLedgerText(text, "", "");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->ok);
  EXPECT_TRUE(v->legacy);
  ASSERT_FALSE(v->problems.empty());
  EXPECT_NE(v->problems[0].find("a legacy (v1) ledger"), std::string::npos) << v->problems[0];
  EXPECT_NE(v->problems[0].find("--cert"), std::string::npos) << v->problems[0];
}

}  // namespace
}  // namespace fedseg::privacy
