// LedgerHeads (coordinator/ledger_heads.h): the regions' ledger heads kept across runs; a ledger
// that went backwards (fewer entries, or as many and another head) is refused naming the region.
#include "coordinator/ledger_heads.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace fedseg::coordinator {
namespace {

namespace fs = std::filesystem;

std::string Head(char c) { return std::string(64, c); }

class LedgerHeadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("ledger_heads_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    path_ = (dir_ / "ledger_heads.json").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
  std::string path_;
};

TEST_F(LedgerHeadsTest, RecordsAcrossRunsAndRefusesALedgerThatWentBackwards) {
  {
    Result<LedgerHeads> run1 = LedgerHeads::Load(path_);
    ASSERT_TRUE(run1.ok()) << run1.status().ToString();
    EXPECT_TRUE(run1->heads().empty());
    ASSERT_TRUE(run1->Observe("eu", Head('a'), 3).ok());
    ASSERT_TRUE(run1->Observe("eu", Head('b'), 5).ok());  // forward
    ASSERT_TRUE(run1->Observe("us", Head('c'), 1).ok());
    ASSERT_TRUE(run1->Observe("us", Head('c'), 1).ok());  // the same head again
    ASSERT_TRUE(run1->Observe("ap", "", 0).ok());         // no ledger: not recorded
    EXPECT_EQ(run1->heads().count("ap"), 0u);
  }
  // A later run (a new coordinator process on the same run directory).
  Result<LedgerHeads> run2 = LedgerHeads::Load(path_);
  ASSERT_TRUE(run2.ok()) << run2.status().ToString();
  ASSERT_EQ(run2->heads().size(), 2u);
  EXPECT_EQ(run2->heads().at("eu").head, Head('b'));
  EXPECT_EQ(run2->heads().at("eu").entries, 5u);

  Status fewer = run2->Observe("eu", Head('d'), 4);
  EXPECT_TRUE(fewer.IsFailedPrecondition()) << fewer.ToString();
  EXPECT_EQ(fewer.message(),
            "region eu's privacy ledger went backwards: it reports head " + Head('d') +
                " (4 entries), but reported " + Head('b') + " (5 entries) before (" + path_ +
                "); its ledger was truncated, replaced or forked, which would reset its spent "
                "budget");
  Status forked = run2->Observe("eu", Head('e'), 5);
  EXPECT_TRUE(forked.IsFailedPrecondition()) << forked.ToString();
  EXPECT_NE(forked.message().find("region eu's privacy ledger went backwards"), std::string::npos);
  // A fresh ledger (only its genesis entry) after 5 entries: refused.
  EXPECT_TRUE(run2->Observe("eu", Head('f'), 0).IsFailedPrecondition());
  // Refusals record nothing.
  EXPECT_EQ(run2->heads().at("eu").head, Head('b'));
  EXPECT_EQ(LedgerHeads::Load(path_)->heads().at("eu").entries, 5u);
  EXPECT_TRUE(run2->Observe("eu", Head('9'), 6).ok());
  EXPECT_EQ(LedgerHeads::Load(path_)->heads().at("eu").head, Head('9'));

  EXPECT_TRUE(run2->Observe("us", "not a hash", 2).IsInvalidArgument());
}

TEST_F(LedgerHeadsTest, AnUnreadableRecordIsAnErrorNamingTheFile) {
  std::ofstream(path_) << "{\"version\": 1, \"regions\": {\"eu\": {\"head\": \"xyz\"}}}";
  Result<LedgerHeads> h = LedgerHeads::Load(path_);
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(h.status().IsCorruption());
  EXPECT_EQ(h.status().message(),
            path_ + ": regions.eu must have a 64-hex-digit \"head\" and an integer \"entries\"");
  std::ofstream(path_) << "[]";
  h = LedgerHeads::Load(path_);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find(path_ + ": not a ledger-heads file"), std::string::npos);
}

}  // namespace
}  // namespace fedseg::coordinator
