// A malicious region in a real federation (real processes, mutual TLS on 127.0.0.1): its
// FLT_MAX updates are refused by name and the run completes with a useful model; the run
// directory is 0700 with 0600 files, checkpoints are sealed with a key outside it, a forged
// checkpoint is refused by --resume, and --resume --from-round rolls back to a kept round.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "common/base/container.h"
#include "common/base/file_util.h"
#include "coordinator/checkpoint.h"
#include "federation_fixture.h"

namespace fedseg::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

unsigned Mode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 0777 : 07777;
}

class PoisoningTest : public FederationFixture {
 protected:
  static void SetUpTestSuite() { SetUpSuite({"fedseg-poison-", {{"pki", "r1 r2 r3"}}, {}}); }

  std::unique_ptr<Process> StartMalicious(int i, const std::string& attack) const {
    return std::make_unique<Process>(
        std::vector<std::string>{kBin + "/fedseg-malicious-region", "--config",
                                 WriteRegionConfig(i), "--attack", attack},
        run_ + "/r" + std::to_string(i) + ".log");
  }

  std::string Config(int rounds) const {
    CoordinatorOptions o;
    o.rounds = rounds;
    o.min_regions = 2;
    std::string path = WriteCoordinatorConfig(o);
    auto j = nlohmann::json::parse(ReadAll(path));
    j["checkpoint"] = {{"keep", 2}};
    std::ofstream(path) << j.dump(2);
    return path;
  }

  // Runs a federation of r1, r2 (honest) and r3 (malicious) to its end; returns the exit code.
  int RunFederation(const std::string& config, const std::vector<std::string>& args = {}) {
    auto coord = StartCoordinator(config, args);
    auto r1 = StartRegion(1);
    auto r2 = StartRegion(2);
    auto r3 = StartMalicious(3, "flt-max");
    auto rc = coord->Wait(Scaled(120s));
    EXPECT_TRUE(rc.has_value()) << "the coordinator did not finish\n" << CoordinatorLog();
    for (auto* r : {r1.get(), r2.get(), r3.get()}) EXPECT_EQ(r->Wait(Scaled(30s)).value_or(-1), 0);
    return rc.value_or(-1);
  }
};

TEST_F(PoisoningTest, FltMaxUpdatesAreRefusedByNameAndTheRunCompletes) {
  const std::string config = Config(3);
  ASSERT_EQ(RunFederation(config), 0) << CoordinatorLog();
  EXPECT_TRUE(LogHas("round 1: refused the update of region r3: norm")) << CoordinatorLog();
  EXPECT_TRUE(LogHas("round 3: refused the update of region r3")) << CoordinatorLog();
  const nlohmann::json report = Report();
  ASSERT_TRUE(report.is_object());
  const double auc = report["rounds"][3]["global"]["roc_auc"].get<double>();
  EXPECT_GT(auc, 0.8) << "the refused region must not have hurt the model";

  // Files: the run directory 0700, what the coordinator wrote 0600, the key beside it.
  EXPECT_EQ(Mode(run_), 0700u);
  for (const char* f : {"checkpoint.fsc", "report.json", "metrics.csv", "final.fsm",
                        "coordinator.log", "coordinator.json"}) {
    EXPECT_EQ(Mode(run_ + "/" + f), 0600u) << f;
  }
  const std::string key_path = coordinator::DefaultCheckpointKeyPath(run_);
  EXPECT_EQ(Mode(key_path), 0600u);
  // checkpoint.keep = 2: rounds 2 and 3 are kept.
  EXPECT_FALSE(fs::exists(coordinator::RoundCheckpointPath(run_, 1)));
  EXPECT_TRUE(fs::exists(coordinator::RoundCheckpointPath(run_, 2)));
  EXPECT_TRUE(fs::exists(coordinator::RoundCheckpointPath(run_, 3)));

  // Roll back to round 2 and run round 3 again.
  ASSERT_EQ(RunFederation(config, {"--resume", "--from-round", "2"}), 0) << CoordinatorLog();
  EXPECT_TRUE(LogHas("after round 2 from " + coordinator::RoundCheckpointPath(run_, 2)))
      << CoordinatorLog();
  // A round that is not kept is refused at once, naming the file.
  auto gone = StartCoordinator(config, {"--resume", "--from-round", "1"});
  EXPECT_EQ(gone->Wait(Scaled(30s)).value_or(-1), 1);
  EXPECT_NE(ReadAll(run_ + "/coordinator.out").find("checkpoint-round-00001.fsc"),
            std::string::npos)
      << ReadAll(run_ + "/coordinator.out");
}

TEST_F(PoisoningTest, AnEditedCheckpointWithARecomputedChecksumIsRefused) {
  const std::string config = Config(1);
  ASSERT_EQ(RunFederation(config), 0) << CoordinatorLog();
  // Issue 16's forgery: all weights 0.5, every plain checksum recomputed, the old MAC kept.
  const std::string path = run_ + "/checkpoint.fsc";
  const std::string sealed = *ReadFile(path);
  auto inner = OpenContainer(sealed, std::string_view(coordinator::kSealedCheckpointMagic, 8),
                             coordinator::kSealedCheckpointVersion, path, "sealed");
  ASSERT_TRUE(inner.ok());
  auto ck = coordinator::DecodeCheckpoint(inner->substr(32), path);
  ASSERT_TRUE(ck.ok()) << ck.status().ToString();
  std::fill(ck->weights.begin(), ck->weights.end(), 0.5f);
  const std::string forged =
      WrapContainer(std::string_view(coordinator::kSealedCheckpointMagic, 8),
                    coordinator::kSealedCheckpointVersion,
                    std::string(inner->substr(0, 32)) + coordinator::EncodeCheckpoint(*ck));
  ASSERT_TRUE(WriteFileAtomic(path, forged).ok());
  auto coord = StartCoordinator(config, {"--resume"});
  EXPECT_EQ(coord->Wait(Scaled(30s)).value_or(-1), 1);
  EXPECT_NE(ReadAll(run_ + "/coordinator.out").find("checkpoint HMAC does not match"),
            std::string::npos)
      << ReadAll(run_ + "/coordinator.out");
}

}  // namespace
}  // namespace fedseg::testing
