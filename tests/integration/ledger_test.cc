// A region's privacy ledger with real processes (issue 10, deliverable 4): `fedseg-client ledger
// init` creates it once with the region's own key; a region in mode dp never joins without it
// (an error before it connects, never a fresh budget); a relative ledger path is refused; and a
// coordinator refuses a region whose ledger went backwards since an earlier run.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "federation_fixture.h"

namespace fedseg {
namespace {

using namespace std::chrono_literals;
using testing::kBin;
using testing::Process;
using testing::ReadAll;
namespace fs = std::filesystem;

class LedgerProcessTest : public testing::FederationFixture {
 protected:
  static void SetUpTestSuite() { SetUpSuite({"fedseg-ledger-", {{"pki", "r1 r2 r3"}}, {}}); }

  // `fedseg-client ARGS`, output in <run>/<name>.out; its exit status.
  int Client(const std::string& args, const std::string& name) const {
    const int rc =
        testing::Run(kBin + "/fedseg-client " + args + " > " + run_ + "/" + name + ".out 2>&1");
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string Output(const std::string& name) const { return ReadAll(run_ + "/" + name + ".out"); }
  static unsigned Mode(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
  }
};

TEST_F(LedgerProcessTest, LedgerInitCreatesTheLedgerAndItsOwnKeyOnce) {
  testing::RegionOptions dp;
  dp.epsilon_budget = 3.0;
  const std::string config = WriteRegionConfig(1, dp);
  ASSERT_EQ(Client("ledger init --config " + config, "init1"), 0) << Output("init1");
  const std::string ledger = LedgerPath(1), key = ledger + ".key";
  EXPECT_EQ(Mode(ledger), 0600u);
  EXPECT_EQ(Mode(key), 0600u);
  EXPECT_NE(Output("init1").find("created ledger " + ledger + " for region r1"), std::string::npos)
      << Output("init1");
  // The ledger verifies on its own (its key is in the genesis entry) and against the region's
  // certificate, which it is not signed with.
  const int vrc = testing::Run(kBin + "/fedseg-audit verify " + ledger + " --cert " + Pki() +
                               "/r1.crt --json > " + run_ + "/v.json");
  EXPECT_EQ(WEXITSTATUS(vrc), 0) << ReadAll(run_ + "/v.json");
  const nlohmann::json v = nlohmann::json::parse(ReadAll(run_ + "/v.json"), nullptr, false);
  EXPECT_EQ(v.value("format", ""), "fedseg-ledger-v2");
  EXPECT_EQ(v.value("epsilon_budget", 0.0), 3.0);
  EXPECT_EQ(v.value("entries", -1), 0);
  EXPECT_NE(ReadAll(key), ReadAll(Pki() + "/r1.key"));

  const std::string before = ReadAll(ledger), key_before = ReadAll(key);
  EXPECT_EQ(Client("ledger init --config " + config, "init2"), 1) << Output("init2");
  EXPECT_NE(Output("init2").find("already exists"), std::string::npos) << Output("init2");
  EXPECT_EQ(ReadAll(ledger), before);
  EXPECT_EQ(ReadAll(key), key_before);
}

TEST_F(LedgerProcessTest, ARelativeLedgerPathIsRefusedNamingTheField) {
  testing::RegionOptions dp;
  dp.epsilon_budget = 3.0;
  const std::string config = WriteRegionConfig(1, dp);
  nlohmann::json c = nlohmann::json::parse(ReadAll(config));
  c["privacy"]["ledger"] = "r1.ledger.jsonl";
  std::ofstream(config) << c.dump(2);
  for (const std::string cmd : {"join", "ledger init"}) {
    EXPECT_EQ(Client(cmd + " --config " + config, "relative"), 2) << cmd << Output("relative");
    EXPECT_NE(
        Output("relative").find("privacy.ledger must be an absolute path, got \"r1.ledger.jsonl\""),
        std::string::npos)
        << cmd << ": " << Output("relative");
  }
  EXPECT_FALSE(fs::exists(run_ + "/r1.ledger.jsonl"));
}

// No coordinator is listening: a region that went on would retry its connection for a minute.
// It stops at once, naming `ledger init`, and creates nothing.
TEST_F(LedgerProcessTest, AMissingLedgerAtJoinIsAnErrorBeforeConnecting) {
  testing::RegionOptions dp;
  dp.epsilon_budget = 3.0;
  dp.init_ledger = false;
  auto region = StartRegion(1, dp);
  const auto rc = region->Wait(30s);
  ASSERT_TRUE(rc.has_value()) << "the region kept running without a ledger:\n" << RegionLog(1);
  EXPECT_EQ(*rc, 1) << RegionLog(1);
  EXPECT_NE(RegionLog(1).find("privacy ledger: ledger " + LedgerPath(1) +
                              " does not exist: create it once with `fedseg-client ledger init"),
            std::string::npos)
      << RegionLog(1);
  EXPECT_EQ(RegionLog(1).find("connect"), std::string::npos) << RegionLog(1);
  EXPECT_FALSE(fs::exists(LedgerPath(1)));
}

// Run 1 records every region's ledger head in the run directory. Before run 2, r1's ledger is
// replaced by a fresh one (what deleting it and running `ledger init` again does, to get a new
// budget): the coordinator refuses r1, naming it, and completes the run with r2 and r3.
TEST_F(LedgerProcessTest, ACoordinatorRefusesARegionWhoseLedgerWentBackwards) {
  testing::CoordinatorOptions co;
  co.rounds = 1;
  co.min_regions = 2;
  co.dp = true;
  co.noise_multiplier = 1.0;
  testing::RegionOptions dp;
  dp.epsilon_budget = 10.0;
  dp.save_model = false;
  {
    auto coord = StartCoordinator(WriteCoordinatorConfig(co));
    std::vector<std::unique_ptr<Process>> regions;
    for (int i = 1; i <= 3; ++i) regions.push_back(StartRegion(i, dp));
    const auto rc = coord->Wait(180s);
    ASSERT_TRUE(rc.has_value()) << CoordinatorLog();
    ASSERT_EQ(*rc, 0) << CoordinatorLog();
    for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);
  }
  const nlohmann::json heads =
      nlohmann::json::parse(ReadAll(run_ + "/ledger_heads.json"), nullptr, false);
  ASSERT_TRUE(heads.is_object()) << ReadAll(run_ + "/ledger_heads.json");
  const std::string r1_head = heads["regions"]["r1"]["head"].get<std::string>();
  // One DP-SGD round and the final evaluation (noisy, charged: mode dp).
  EXPECT_EQ(heads["regions"]["r1"]["entries"], 2);
  EXPECT_EQ(r1_head, Report()["regions"]["r1"]["ledger_head"]);

  fs::remove(LedgerPath(1));
  fs::remove(LedgerPath(1) + ".key");
  {
    auto coord = StartCoordinator(WriteCoordinatorConfig(co), {"--fresh"});
    std::vector<std::unique_ptr<Process>> regions;
    for (int i = 1; i <= 3; ++i) regions.push_back(StartRegion(i, dp));  // r1: ledger init again
    const auto rc = coord->Wait(180s);
    ASSERT_TRUE(rc.has_value()) << CoordinatorLog();
    EXPECT_EQ(*rc, 0) << CoordinatorLog();
    const auto r1_rc = regions[0]->Wait(60s);
    ASSERT_TRUE(r1_rc.has_value()) << RegionLog(1);
    EXPECT_NE(*r1_rc, 0) << RegionLog(1);
    for (int i = 1; i < 3; ++i)
      EXPECT_EQ(regions[i]->Wait(30s).value_or(-1), 0) << RegionLog(i + 1);
  }
  const std::string refusal = "region r1's privacy ledger went backwards: it reports head ";
  EXPECT_NE(CoordinatorLog().find("refused region r1: " + refusal), std::string::npos)
      << CoordinatorLog();
  EXPECT_NE(CoordinatorLog().find("but reported " + r1_head + " (2 entries) before"),
            std::string::npos)
      << CoordinatorLog();
  EXPECT_NE(RegionLog(1).find(refusal), std::string::npos) << RegionLog(1);
  const nlohmann::json rep = Report();
  EXPECT_EQ(rep["regions"]["r1"]["retired"], true);
  EXPECT_NE(rep["regions"]["r1"]["decline_reason"].get<std::string>().find(refusal),
            std::string::npos);
  EXPECT_EQ(rep["rounds"][1]["updates"], 2);
  // The record still holds r1's old head: the refused one was not recorded.
  const nlohmann::json after =
      nlohmann::json::parse(ReadAll(run_ + "/ledger_heads.json"), nullptr, false);
  EXPECT_EQ(after["regions"]["r1"]["head"], r1_head);
  EXPECT_EQ(after["regions"]["r2"]["entries"], 4);
}

}  // namespace
}  // namespace fedseg
