// A malicious region in a real federation (real processes, mutual TLS on 127.0.0.1): its
// poisoned updates (every attack of fedseg-malicious-region) are refused by name, counted in
// report.json, and the run completes with a useful model, even when the quorum is every region;
// the run directory is 0700 with 0600 files, checkpoints are sealed with a key outside it, a
// forged checkpoint is refused by --resume, and --resume --from-round rolls back to a kept round.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

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

  std::string Config(int rounds, int min_regions = 2) const {
    CoordinatorOptions o;
    o.rounds = rounds;
    o.min_regions = min_regions;
    std::string path = WriteCoordinatorConfig(o);
    auto j = nlohmann::json::parse(ReadAll(path));
    j["checkpoint"] = {{"keep", 2}};
    std::ofstream(path) << j.dump(2);
    return path;
  }

  // Runs a federation of r1, r2 (honest) and r3 (malicious, sending `attack`) to its end;
  // returns the coordinator's exit code.
  int RunFederation(const std::string& config, const std::vector<std::string>& args = {},
                    const std::string& attack = "flt-max") {
    auto coord = StartCoordinator(config, args);
    auto r1 = StartRegion(1);
    auto r2 = StartRegion(2);
    auto r3 = StartMalicious(3, attack);
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

// One attack of fedseg-malicious-region and how the update screen (update_screen.cc) may word its
// refusal: which of its checks fires first depends on the round's updates, but a scaled update
// must fail the norm check and a label-flipped one the direction check.
struct AttackCase {
  std::string attack;
  std::vector<std::string> reasons;  // a refusal's reason starts with one of these
  bool every_round = true;           // refused in every round, or in at least one
};
// For test names in ctest (the default prints the object's bytes, which change between builds).
void PrintTo(const AttackCase& c, std::ostream* os) { *os << c.attack; }

class PoisonedUpdatesTest : public PoisoningTest,
                            public ::testing::WithParamInterface<AttackCase> {
 protected:
  // The reason logged with "round R: refused the update of region r3: ", or nullopt.
  std::optional<std::string> Refusal(int round) const {
    const std::string log = CoordinatorLog();
    const std::string prefix =
        "round " + std::to_string(round) + ": refused the update of region r3: ";
    const size_t at = log.find(prefix);
    if (at == std::string::npos) return std::nullopt;
    const size_t from = at + prefix.size();
    return log.substr(from, log.find('\n', from) - from);
  }
};

// r3 poisons every update and the quorum is all 3 regions, so before a refused update counted as
// an answer every round with a refusal failed ("2 updates accepted, quorum 3") and the run
// stopped after 3 failures. Now each refusal names r3 and its round, the round goes on with r1
// and r2 (saying so), report.json counts the refusals, and the final model is useful.
TEST_P(PoisonedUpdatesTest, AreRefusedByNameAndRecordedWhileAFullQuorumCompletes) {
  constexpr int kRounds = 2;
  const AttackCase& c = GetParam();
  ASSERT_EQ(RunFederation(Config(kRounds, /*min_regions=*/3), {}, c.attack), 0)
      << CoordinatorLog();
  const nlohmann::json report = Report();
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["status"], "completed");
  EXPECT_EQ(report["completed_round"], kRounds);

  int refused = 0;
  std::string last_reason;
  for (int round = 1; round <= kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const nlohmann::json& h = report["rounds"][round];
    const std::optional<std::string> reason = Refusal(round);
    if (!reason) {
      EXPECT_FALSE(c.every_round) << CoordinatorLog();
      EXPECT_FALSE(h.contains("refused")) << h.dump();
      EXPECT_EQ(h["participants"], nlohmann::json({"r1", "r2", "r3"})) << h.dump();
      continue;
    }
    ++refused;
    last_reason = *reason;
    EXPECT_TRUE(std::any_of(c.reasons.begin(), c.reasons.end(),
                            [&](const std::string& r) { return reason->rfind(r, 0) == 0; }))
        << *reason;
    EXPECT_TRUE(LogHas("round " + std::to_string(round) +
                       ": only 2 of 3 updates accepted, fewer than the quorum 3: the round goes "
                       "on with the accepted ones (the quorum counts answers; refused this "
                       "round: r3)"))
        << CoordinatorLog();
    EXPECT_EQ(h["refused"], nlohmann::json({"r3"})) << h.dump();
    EXPECT_EQ(h["participants"], nlohmann::json({"r1", "r2"})) << h.dump();
    EXPECT_EQ(h["updates"], 2) << h.dump();
  }
  ASSERT_GE(refused, 1) << CoordinatorLog();
  EXPECT_FALSE(LogHas("refused the update of region r1")) << CoordinatorLog();
  EXPECT_FALSE(LogHas("refused the update of region r2")) << CoordinatorLog();
  EXPECT_FALSE(LogHas("failed")) << CoordinatorLog();

  const nlohmann::json& r3 = report["regions"]["r3"];
  EXPECT_EQ(r3["updates_refused"], refused) << r3.dump(2);
  EXPECT_EQ(r3["last_refusal"], last_reason) << r3.dump(2);
  EXPECT_EQ(r3["rounds_participated"], kRounds - refused) << r3.dump(2);
  for (const char* honest : {"r1", "r2"}) {
    EXPECT_FALSE(report["regions"][honest].contains("updates_refused")) << honest;
    EXPECT_EQ(report["regions"][honest]["rounds_participated"], kRounds) << honest;
  }
  // 0.80: the initial model scores 0.624; with r3 refused in both rounds the federation is r1 and
  // r2 alone, which end at 0.857; with defences off huge-n, scale and sign-flip end at 0.50, 0.54
  // and 0.18 (UndefendedAttackTest below; docs/security.md, "Real-process tests"). The margin
  // below 0.857 is for the sanitizer builds (-O1), whose floating point differs and whose figures
  // were not measured. Label-flip with one epoch on an IID
  // third of the rows barely hurts here even undefended (about 0.84), so for it the refusal is the
  // evidence, not the AUC.
  const double auc = report["final"]["global"]["roc_auc"].get<double>();
  std::printf("%s with defences: final ROC AUC %.4f (initial %.4f), %d of %d updates refused\n",
              c.attack.c_str(), auc, report["rounds"][0]["global"]["roc_auc"].get<double>(),
              refused, kRounds);
  EXPECT_GT(auc, 0.80) << report["final"].dump();
  // The page lists them too.
  EXPECT_NE(ReadAll(run_ + "/report.html").find("<section id=\"refused-updates\">"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Attacks, PoisonedUpdatesTest,
    ::testing::Values(
        AttackCase{"huge-n", {"claims 1099511627776 training examples", "norm ", "its direction"}},
        AttackCase{"scale", {"norm "}},
        AttackCase{"sign-flip", {"norm ", "its direction"}},
        AttackCase{"label-flip", {"its direction"}, /*every_round=*/false}),
    [](const ::testing::TestParamInfo<AttackCase>& info) {
      std::string name = info.param.attack;
      for (char& ch : name) ch = ch == '-' ? '_' : ch;
      return name;
    });

// The same federation with defences.enabled false (plain FedAvg: no caps, refusals, clipping or
// sanity bound): each attack really wrecks the model, so the threshold above means something.
class UndefendedAttackTest : public PoisoningTest,
                             public ::testing::WithParamInterface<std::string> {};

TEST_P(UndefendedAttackTest, WrecksTheModelWithoutDefences) {
  constexpr int kRounds = 2;
  const std::string path = Config(kRounds, /*min_regions=*/3);
  auto j = nlohmann::json::parse(ReadAll(path));
  j["defences"] = {{"enabled", false}};
  std::ofstream(path) << j.dump(2);
  // Exit 0 (completed) or 3 (degraded: worse than the initial model), depending on the attack.
  const int rc = RunFederation(path, {}, GetParam());
  EXPECT_TRUE(rc == 0 || rc == 3) << rc << "\n" << CoordinatorLog();
  EXPECT_FALSE(LogHas("refused the update")) << CoordinatorLog();
  const nlohmann::json report = Report();
  ASSERT_TRUE(report.is_object() && report.contains("final")) << CoordinatorLog();
  const double auc = report["final"]["global"]["roc_auc"].get<double>();
  std::printf("%s without defences: final ROC AUC %.4f, status %s\n", GetParam().c_str(), auc,
              report["status"].get<std::string>().c_str());
  EXPECT_LT(auc, 0.7) << report["final"].dump();
  // A model that ranks no better than chance is never reported as a plain success, even when its
  // log loss (a constant model: ln 2) is below the random start's (huge-n zeroes every update).
  if (auc <= 0.5) {
    EXPECT_EQ(rc, 3) << CoordinatorLog();
    EXPECT_EQ(report["status"], "degraded") << report.dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Attacks, UndefendedAttackTest,
                         ::testing::Values("huge-n", "scale", "sign-flip"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& ch : name) ch = ch == '-' ? '_' : ch;
                           return name;
                         });

}  // namespace
}  // namespace fedseg::testing
