// Integration tests of a region's own policies in a real federation (fedseg-coordinator and
// fedseg-client processes over mutual TLS on 127.0.0.1): a region that is slower than the round
// deadline, a table with an identifier column nobody declared, and a privacy budget that would
// need more noise than the region's ceiling; and, against a stand-in coordinator (an in-process
// TlsServer with the coordinator's certificate), that the region escapes the coordinator's text
// before logging it.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include "common/data/dataset_loader.h"
#include "common/data/schema.h"
#include "common/ml/model_file.h"
#include "common/net/tls.h"
#include "common/net/tls_server.h"
#include "common/protocol/messages.h"
#include "federation_fixture.h"

namespace fedseg {
namespace {

using namespace std::chrono_literals;
using testing::kBin;
using testing::Process;
using testing::ReadAll;
namespace fs = std::filesystem;

class RegionTest : public testing::FederationFixture {
 protected:
  static void SetUpTestSuite() { SetUpSuite({"fedseg-region-", {{"pki", "r1 r2 r3"}}, {}}); }

  // Region i's config with `edit` applied to its JSON, started as a process.
  std::unique_ptr<Process> StartEdited(int i, const std::function<void(nlohmann::json&)>& edit,
                                       const testing::RegionOptions& o = {}) {
    const std::string path = WriteRegionConfig(i, o);
    nlohmann::json c = nlohmann::json::parse(ReadAll(path));
    edit(c);
    std::ofstream(path) << c.dump(2);
    EnsureLedger(i, o, path);
    return std::make_unique<Process>(
        std::vector<std::string>{RegionBinary(o), "join", "--config", path},
        run_ + "/r" + std::to_string(i) + ".log");
  }
  // A copy of shard i's `file` (train.csv, test.csv) with `transform` applied to every line
  // (header: row -1).
  std::string CopyShard(int i, const std::string& file,
                        const std::function<std::string(const std::string&, int)>& transform) {
    std::ifstream in(Shard(i) + "/" + file);
    const std::string out_path = run_ + "/r" + std::to_string(i) + "-" + file;
    std::ofstream out(out_path);
    std::string line;
    for (int row = -1; std::getline(in, line); ++row) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      out << transform(line, row) << "\n";
    }
    return out_path;
  }

  // What a coordinator would have agreed with the regions, for stand-in coordinators: the
  // contract, the schema built from shard 3's training rows and the 16-unit model.
  struct PublicSetup {
    protocol::DataContract contract;
    data::Schema schema;
    ml::ModelSpec spec;
  };
  static Result<PublicSetup> MakePublicSetup() {
    data::LoadOptions lo;
    lo.label = "Revenue";
    lo.categorical = {"Month",   "VisitorType", "Weekend",    "OperatingSystems",
                      "Browser", "Region",      "TrafficType"};
    lo.detect_log = false;  // as the region reads its table: the contract lists no log column
    FEDSEG_ASSIGN_OR_RETURN(data::RawDataset raw,
                            data::LoadDatasetFile(Shard(3) + "/train.csv", lo));
    PublicSetup out;
    FEDSEG_ASSIGN_OR_RETURN(out.schema, data::Schema::FromSummary(data::Summarize(raw), "Revenue"));
    out.contract.label = "Revenue";
    out.contract.categorical = lo.categorical;
    out.spec = ml::ModelSpec{out.schema.input_dim(), {16}, out.schema.num_classes()};
    FEDSEG_RETURN_IF_ERROR(out.spec.Validate());
    return out;
  }

  // A stand-in coordinator: a TlsServer on port_ with the coordinator's certificate, its frames
  // handled by `on_frame` on its own thread until the object is destroyed.
  class StandInCoordinator {
   public:
    using FrameHandler = std::function<void(const std::shared_ptr<net::TlsSession>&, net::Frame)>;
    StandInCoordinator(const std::string& pki, uint16_t port, FrameHandler on_frame) {
      auto tls = net::MakeServerTlsContext(
          {pki + "/ca.crt", pki + "/coordinator.crt", pki + "/coordinator.key"});
      if (!tls.ok()) {
        status_ = tls.status();
        return;
      }
      net::TlsServerOptions so;
      so.port = port;
      net::TlsServerHandlers h;
      h.on_session = [](std::shared_ptr<net::TlsSession>) {};
      h.on_frame = std::move(on_frame);
      h.on_close = [](const std::shared_ptr<net::TlsSession>&, const Status&) {};
      auto server = net::TlsServer::Create(io_, *tls, so, h);
      if (!server.ok()) {
        status_ = server.status();
        return;
      }
      server_ = std::move(*server);
      loop_ = std::thread([this] { io_.run(); });
    }
    ~StandInCoordinator() { Stop(); }
    const Status& status() const { return status_; }
    // Stops the server and joins its thread: after it, what the handler wrote is safe to read.
    void Stop() {
      if (server_) server_->Stop();
      if (loop_.joinable()) loop_.join();
    }

   private:
    boost::asio::io_context io_;
    Status status_;
    std::unique_ptr<net::TlsServer> server_;
    std::thread loop_;
  };
};

// Region 3 holds its shard 150 times over, so with 15 local epochs each of its rounds takes far
// longer than the 1 s round deadline the fast regions meet. The coordinator must not ask it again
// while it still trains (a RoundStart queued behind its training would be stale when read, and
// Done would wait behind it): rounds go on without it, its late answer is refused as late, and when
// the run ends it reads Done, saves the final model and exits 0 at once: no failed send, no
// reconnect loop until give_up_after_s.
TEST_F(RegionTest, SlowRegionSkipsRoundsThatAreOverAndEndsWithTheFinalModel) {
  testing::CoordinatorOptions co;
  co.rounds = 4;
  co.min_regions = 2;
  co.local_epochs = 15;
  co.round_deadline_s = 1;
  auto coord = StartCoordinator(WriteCoordinatorConfig(co));
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 2; ++i) regions.push_back(StartRegion(i));
  std::vector<std::string> rows;
  const std::string big = CopyShard(3, "train.csv", [&](const std::string& line, int row) {
    if (row >= 0) rows.push_back(line);
    return line;
  });
  {
    std::ofstream out(big, std::ios::app);
    for (int copy = 1; copy < 150; ++copy) {
      for (const std::string& r : rows) out << r << "\n";
    }
  }
  auto slow = StartEdited(3, [&](nlohmann::json& c) {
    c["data"]["train"] = big;
    c["coordinator"]["give_up_after_s"] = 600;  // a reconnect loop would outlast the test
  });
  auto rc = coord->Wait(240s);
  ASSERT_TRUE(rc.has_value()) << CoordinatorLog();
  EXPECT_EQ(*rc, 0) << CoordinatorLog();
  for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);
  // The slow region finishes its current local training, then finds Done waiting.
  const auto slow_rc = slow->Wait(120s);
  const std::string log = RegionLog(3);
  ASSERT_TRUE(slow_rc.has_value()) << "the slow region did not exit:\n" << log;
  EXPECT_EQ(*slow_rc, 0) << log;
  EXPECT_NE(log.find("federation finished: completed"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(run_ + "/r3.fsm")) << log;
  EXPECT_EQ(log.find("could not send"), std::string::npos) << log;
  EXPECT_EQ(log.find("reconnecting"), std::string::npos) << log;
  EXPECT_EQ(log.find("Connection refused"), std::string::npos) << log;
  // Rounds went on without it while it was busy: it trained fewer rounds than the run had.
  size_t trained = 0;
  for (size_t at = log.find("trained on"); at != std::string::npos;
       at = log.find("trained on", at + 1)) {
    ++trained;
  }
  EXPECT_LT(trained, 4u) << log;
}

// Every row gets a unique customer id and nobody declared it as the id column: no id reaches the
// coordinator, its model file or its checkpoint; each region warns about the column.
TEST_F(RegionTest, AnUndeclaredIdentifierColumnNeverLeavesTheRegion) {
  testing::CoordinatorOptions co;
  co.rounds = 2;
  auto coord = StartCoordinator(WriteCoordinatorConfig(co));
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 3; ++i) {
    auto add_id = [i](const std::string& line, int row) {
      return (row < 0 ? std::string("customer_ref")
                      : "cust-" + std::to_string(i) + "-" + std::to_string(row)) +
             "," + line;
    };
    const std::string train = CopyShard(i, "train.csv", add_id);
    const std::string test = CopyShard(i, "test.csv", add_id);
    regions.push_back(StartEdited(i, [&](nlohmann::json& c) {
      c["data"]["train"] = train;
      c["data"]["test"] = test;
    }));
  }
  auto rc = coord->Wait(180s);
  ASSERT_TRUE(rc.has_value()) << CoordinatorLog();
  EXPECT_EQ(*rc, 0) << CoordinatorLog();
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(regions[i - 1]->Wait(30s).value_or(-1), 0) << RegionLog(i);
    EXPECT_NE(RegionLog(i).find("column 'customer_ref' looks like an identifier"),
              std::string::npos)
        << RegionLog(i);
  }
  for (const char* file : {"final.fsm", "checkpoint.fsc", "report.json", "coordinator.log"}) {
    const std::string bytes = ReadAll(run_ + "/" + file);
    ASSERT_FALSE(bytes.empty()) << file;
    EXPECT_EQ(bytes.find("cust-"), std::string::npos) << "a customer id in " << file;
  }
  // The regions' copies of the model can segment a table whose id column is that column.
  const std::string out = run_ + "/segments.csv";
  EXPECT_EQ(
      testing::Run(kBin + "/fedseg-client segment --model " + run_ + "/r1.fsm --data " + run_ +
                   "/r1-test.csv --id-column customer_ref --out " + out + " > /dev/null 2>&1"),
      0);
  EXPECT_NE(ReadAll(out).find("cust-1-0,"), std::string::npos);
}

// With DP-SGD and a budget that would need more noise than its ceiling, region 3 declines the
// first round with the generic reason, keeps its budget, and still ends cleanly with the model
// the others trained.
TEST_F(RegionTest, ARegionPastItsNoiseCeilingDeclinesAndSaysWhy) {
  testing::CoordinatorOptions co;
  co.rounds = 2;
  co.min_regions = 2;
  co.dp = true;
  auto coord = StartCoordinator(WriteCoordinatorConfig(co));
  testing::RegionOptions dp;
  dp.epsilon_budget = 2.0;
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 2; ++i) regions.push_back(FederationFixture::StartRegion(i, dp));
  // The same budget, but a ceiling below the sigma it calibrates to (about 1 for 2 rounds).
  auto capped = StartEdited(
      3,
      [](nlohmann::json& c) {
        c["privacy"]["max_noise_multiplier"] = 0.4;
        c["privacy"]["min_noise_multiplier"] = 0.3;  // the floor must not exceed the ceiling
      },
      dp);
  auto rc = coord->Wait(180s);
  ASSERT_TRUE(rc.has_value()) << CoordinatorLog();
  EXPECT_EQ(*rc, 0) << CoordinatorLog();
  for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);
  EXPECT_EQ(capped->Wait(30s).value_or(-1), 0) << RegionLog(3);
  const std::string reason =
      "noise ceiling: the noise this region would need is above its privacy.max_noise_multiplier, "
      "so its updates would be mostly noise";
  EXPECT_NE(RegionLog(3).find("declined: " + reason + " (noise multiplier"), std::string::npos)
      << RegionLog(3);
  nlohmann::json rep = Report();
  const auto& r3 = rep["regions"]["r3"];
  EXPECT_EQ(r3["decline_reason"], reason);
  EXPECT_EQ(r3["declined_rounds"].size(), 1u);
  // It trained nothing; what it spent is the final evaluation's noisy release (mode dp), within
  // its budget.
  EXPECT_GT(r3["epsilon_spent"].get<double>(), 0.0);
  EXPECT_LE(r3["epsilon_spent"].get<double>(), 2.0);
  std::ifstream ledger(run_ + "/r3.ledger.jsonl");
  for (std::string line; std::getline(ledger, line);) {
    EXPECT_EQ(line.find("sampled_gaussian"), std::string::npos) << line;
  }
  EXPECT_EQ(rep["completed_round"], 2);
  EXPECT_EQ(rep["regions"]["r1"]["epsilon_by_round"].size(), 2u);
}

// The region's privacy policy against a coordinator that asks for less privacy than it accepts
// (issue 10): r1 and r2 say mode none, r3 mode dp with a budget. Each time r3 declines with a
// reason that names the rule, before any data-dependent byte: no update and no evaluation from it
// in any round. The run completes with the other two, and r3's ledger verifies.
class RegionPolicyTest : public RegionTest {
 protected:
  struct Outcome {
    nlohmann::json report;
    std::string r3_log;
  };
  // One federation of 2 rounds with `co`; r3 (mode dp, budget 2) with `edit` applied.
  Outcome Run(testing::CoordinatorOptions co, const std::function<void(nlohmann::json&)>& edit) {
    co.rounds = 2;
    co.min_regions = 2;
    auto coord = StartCoordinator(WriteCoordinatorConfig(co));
    std::vector<std::unique_ptr<Process>> regions;
    for (int i = 1; i <= 2; ++i) regions.push_back(FederationFixture::StartRegion(i));
    testing::RegionOptions dp;
    dp.epsilon_budget = 2.0;
    auto r3 = StartEdited(3, edit, dp);
    Outcome out;
    auto rc = coord->Wait(180s);
    EXPECT_TRUE(rc.has_value()) << CoordinatorLog();
    EXPECT_EQ(rc.value_or(-1), 0) << CoordinatorLog();
    for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);
    EXPECT_EQ(r3->Wait(30s).value_or(-1), 0) << RegionLog(3);
    out.report = Report();
    out.r3_log = RegionLog(3);
    return out;
  }
  // What every case checks: r3 declined with `reason`, sent no update and no evaluation, and its
  // ledger verifies against its certificate.
  void ExpectDeclinedAndVerified(const Outcome& o, const std::string& reason) {
    EXPECT_NE(o.r3_log.find(reason), std::string::npos) << o.r3_log;
    const auto& r3 = o.report["regions"]["r3"];
    EXPECT_EQ(r3["decline_reason"], reason);
    EXPECT_EQ(r3["retired"], true);
    EXPECT_EQ(r3["rounds_participated"], 0);
    EXPECT_EQ(r3["epsilon_spent"], 0.0);
    EXPECT_EQ(o.report["completed_round"], 2);
    for (int r = 1; r <= 2; ++r) EXPECT_EQ(o.report["rounds"][r]["updates"], 2) << "round " << r;
    for (const auto& round : o.report["rounds"]) {
      if (round.contains("regions")) {
        EXPECT_FALSE(round["regions"].contains("r3")) << round.dump();
      }
    }
    const std::string out = run_ + "/r3.verify.json";
    const int vrc = testing::Run(kBin + "/fedseg-audit verify " + run_ +
                                 "/r3.ledger.jsonl --cert " + Pki() + "/r3.crt --json > " + out);
    EXPECT_EQ(WEXITSTATUS(vrc), 0) << ReadAll(out);
    nlohmann::json v = nlohmann::json::parse(ReadAll(out), nullptr, false);
    EXPECT_EQ(v.value("ok", false), true) << ReadAll(out);
    EXPECT_EQ(v.value("entries", -1), 0) << ReadAll(out);
  }
};

TEST_F(RegionPolicyTest, ACoordinatorThatTurnsDpOffIsDeclined) {
  testing::CoordinatorOptions co;
  co.dp = false;
  const Outcome o = Run(co, [](nlohmann::json&) {});
  const std::string reason =
      "privacy.mode: this region trains only with DP-SGD (mode \"dp\"); the coordinator's plan "
      "turns DP off";
  EXPECT_NE(o.r3_log.find("round 1: declined: " + reason), std::string::npos) << o.r3_log;
  ExpectDeclinedAndVerified(o, reason);
}

TEST_F(RegionPolicyTest, NoiseBelowTheRegionsFloorIsDeclined) {
  testing::CoordinatorOptions co;
  co.dp = true;
  co.noise_multiplier = 0.3;
  const Outcome o = Run(co, [](nlohmann::json&) {});
  const std::string reason =
      "privacy.min_noise_multiplier: the plan's noise multiplier 0.3 is below this region's floor "
      "0.5";
  EXPECT_NE(o.r3_log.find("round 1: declined: " + reason), std::string::npos) << o.r3_log;
  ExpectDeclinedAndVerified(o, reason);
  // r1 and r2 (mode none) trained with the coordinator's sigma.
  EXPECT_EQ(o.report["regions"]["r1"]["rounds_participated"], 2);
}

TEST_F(RegionPolicyTest, ExactStatisticsAreDeclinedUnderTheDefaultFloor) {
  testing::CoordinatorOptions co;
  co.dp = false;  // r1 and r2 (mode none, no budget) train; r3 declines before the plan
  // r3 keeps the default privacy.min_stats_noise_multiplier (30); the coordinator asks for exact
  // statistics (stats_noise_multiplier 0).
  const Outcome o =
      Run(co, [](nlohmann::json& c) { c["privacy"].erase("min_stats_noise_multiplier"); });
  const std::string reason =
      "privacy.min_stats_noise_multiplier: the coordinator asks for data statistics with noise "
      "multiplier 0, below this region's floor 30 (exact statistics)";
  EXPECT_NE(o.r3_log.find("data summary declined: " + reason), std::string::npos) << o.r3_log;
  EXPECT_EQ(o.r3_log.find("sending data summary"), std::string::npos) << o.r3_log;
  EXPECT_TRUE(LogHas("region r3 declined the data summary")) << CoordinatorLog();
  ExpectDeclinedAndVerified(o, reason);
}

// Hostile coordinators that stay inside the plan a region accepts (DP-SGD at sigma 1): what r3
// (mode dp, budget 2) sends beyond its training updates is charged, or declined.
std::vector<nlohmann::json> LedgerEntries(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  return out;
}

void ExpectLedgerVerifiesWithin(const std::string& ledger, const std::string& cert, double budget,
                                const std::string& out) {
  const int rc = testing::Run(kBin + "/fedseg-audit verify " + ledger + " --cert " + cert +
                              " --json > " + out);
  EXPECT_EQ(WEXITSTATUS(rc), 0) << ReadAll(out);
  nlohmann::json v = nlohmann::json::parse(ReadAll(out), nullptr, false);
  EXPECT_EQ(v.value("ok", false), true) << ReadAll(out);
  EXPECT_LE(v.value("epsilon", 1e9), budget * (1 + 1e-9)) << ReadAll(out);
}

TEST_F(RegionPolicyTest, EvaluationsLeaveOnlyNoisyAndChargedInModeDp) {
  testing::CoordinatorOptions co;
  co.dp = true;
  co.noise_multiplier = 1.0;
  const Outcome o = Run(co, [](nlohmann::json&) {});
  // r3 trained both rounds; its training updates carried no evaluation (the per-round reports of
  // the models of rounds 0 and 1 come from r1 and r2 only), and the final evaluation counted it.
  EXPECT_EQ(o.report["regions"]["r3"]["rounds_participated"], 2);
  const auto& rounds = o.report["rounds"];
  for (const auto& round : rounds) {
    if (round.value("round", -1) < 2 && round.contains("regions")) {
      EXPECT_FALSE(round["regions"].contains("r3")) << round.dump();
    }
  }
  EXPECT_TRUE(rounds.back()["regions"].contains("r3")) << rounds.back().dump();
  // Its ledger: two DP-SGD rounds, then the evaluation as 3 Gaussian mechanisms at sigma 20 (the
  // regions' default privacy.evaluation_noise_multiplier).
  const auto entries = LedgerEntries(run_ + "/r3.ledger.jsonl");
  ASSERT_FALSE(entries.empty());
  const nlohmann::json& last = entries.back();
  EXPECT_EQ(last["mechanism"], "gaussian") << last.dump();
  EXPECT_EQ(last["params"]["count"], 3) << last.dump();
  EXPECT_EQ(last["params"]["noise_multiplier"], 20.0) << last.dump();
  int sgd = 0;
  for (const auto& e : entries) sgd += e.value("mechanism", "") == "sampled_gaussian";
  EXPECT_EQ(sgd, 2);
  EXPECT_NE(o.r3_log.find("sent with noise, epsilon now"), std::string::npos) << o.r3_log;
  ExpectLedgerVerifiesWithin(run_ + "/r3.ledger.jsonl", Pki() + "/r3.crt", 2.0,
                             run_ + "/r3.verify.json");
}

TEST_F(RegionPolicyTest, AnEvaluationOverTheBudgetIsDeclined) {
  testing::CoordinatorOptions co;
  co.dp = true;
  co.noise_multiplier = 1.0;
  // One evaluation at sigma 0.5 (3 mechanisms) costs far more than the budget of 2.
  const Outcome o = Run(co, [](nlohmann::json& c) {
    c["privacy"]["evaluation_noise_multiplier"] = 0.5;
    c["privacy"]["evaluations_reserved"] = 0;
  });
  EXPECT_EQ(o.report["regions"]["r3"]["rounds_participated"], 2);
  EXPECT_NE(o.r3_log.find("evaluation declined: privacy budget: this evaluation would bring "
                          "epsilon to"),
            std::string::npos)
      << o.r3_log;
  EXPECT_FALSE(o.report["rounds"].back()["regions"].contains("r3"))
      << o.report["rounds"].back().dump();
  for (const auto& e : LedgerEntries(run_ + "/r3.ledger.jsonl")) {
    EXPECT_NE(e.value("mechanism", ""), "gaussian") << e.dump();
  }
  ExpectLedgerVerifiesWithin(run_ + "/r3.ledger.jsonl", Pki() + "/r3.crt", 2.0,
                             run_ + "/r3.verify.json");
}

TEST_F(RegionPolicyTest, EvaluationOffDeclinesEveryEvaluationRequest) {
  testing::CoordinatorOptions co;
  co.dp = true;
  co.noise_multiplier = 1.0;
  const Outcome o = Run(co, [](nlohmann::json& c) { c["privacy"]["evaluation"] = "off"; });
  EXPECT_NE(o.r3_log.find("declined: privacy.evaluation: this region does not release "
                          "evaluations (\"off\")"),
            std::string::npos)
      << o.r3_log;
  EXPECT_FALSE(o.report["rounds"].back()["regions"].contains("r3"));
  ExpectLedgerVerifiesWithin(run_ + "/r3.ledger.jsonl", Pki() + "/r3.crt", 2.0,
                             run_ + "/r3.verify.json");
}

TEST_F(RegionPolicyTest, MoreStepsPerRoundThanTheRegionAllowsAreDeclined) {
  testing::CoordinatorOptions co;
  co.dp = true;
  co.noise_multiplier = 1.0;
  // 3 local epochs at batch 32 over r3's ~3,300 public training rows: about 310 DP-SGD steps per
  // round, over the ceiling of 100 that r3's own config sets. The numbers (which depend on its
  // row count) stay in its log; the coordinator gets the rule.
  co.local_epochs = 3;
  const Outcome o = Run(co, [](nlohmann::json& c) { c["privacy"]["max_steps_per_round"] = 100; });
  const std::string reason =
      "privacy.max_steps_per_round: the plan asks for more DP-SGD steps per round than this "
      "region allows";
  EXPECT_NE(o.r3_log.find("round 1: declined: " + reason), std::string::npos) << o.r3_log;
  EXPECT_NE(o.r3_log.find(", ceiling 100"), std::string::npos) << o.r3_log;
  EXPECT_FALSE(LogHas(", ceiling 100")) << "the step count left the region\n" << CoordinatorLog();
  ExpectDeclinedAndVerified(o, reason);
}

// The coordinator suggests a split that would move r3's rows into its test set; r3 keeps its
// own (data.test_fraction 0.2, data.split_seed 42) and trains.
TEST_F(RegionPolicyTest, TheCoordinatorsSplitIsIgnored) {
  testing::CoordinatorOptions co;
  co.dp = true;
  co.noise_multiplier = 1.0;
  co.extra = {{"data", {{"test_fraction", 0.6}, {"split_seed", 7}}}};
  // Without a separate test table r3 splits its training table itself.
  const Outcome o = Run(co, [](nlohmann::json& c) { c["data"].erase("test"); });
  EXPECT_NE(o.r3_log.find("the coordinator's contract suggests test fraction 0.6 and split seed "
                          "7; this region splits with its own data.test_fraction 0.2 and "
                          "data.split_seed 42"),
            std::string::npos)
      << o.r3_log;
  // Its split: a fifth of its rows for testing, as its config says.
  const std::smatch m = [&] {
    std::smatch found;
    static const std::regex kLoaded(R"((\d+) training rows, (\d+) test rows)");
    std::regex_search(o.r3_log, found, kLoaded);
    return found;
  }();
  ASSERT_EQ(m.size(), 3u) << o.r3_log;
  const double train = std::stod(m[1].str()), test = std::stod(m[2].str());
  EXPECT_NEAR(test / (train + test), 0.2, 0.005) << m[0].str();
  EXPECT_EQ(o.report["regions"]["r3"]["rounds_participated"], 2);
  ExpectLedgerVerifiesWithin(run_ + "/r3.ledger.jsonl", Pki() + "/r3.crt", 2.0,
                             run_ + "/r3.verify.json");
}

// Statistics asked for with noise but without the public bounds a noisy sum needs: every region
// declines the summary, naming the column, and the coordinator fails the run at once (regions
// used to exit on the error and the coordinator waited for them indefinitely).
TEST_F(RegionTest, ASummaryRequestWithoutBoundsIsDeclinedAndTheRunFailsAtOnce) {
  testing::CoordinatorOptions co;
  co.rounds = 1;
  co.min_regions = 2;
  co.extra = {{"privacy", {{"stats_noise_multiplier", 30}}}};
  auto coord = StartCoordinator(WriteCoordinatorConfig(co));
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 3; ++i) regions.push_back(FederationFixture::StartRegion(i));
  const auto rc = coord->Wait(120s);
  ASSERT_TRUE(rc.has_value()) << CoordinatorLog();
  EXPECT_NE(*rc, 0) << CoordinatorLog();
  EXPECT_TRUE(LogHas("3 regions declined the data summary")) << CoordinatorLog();
  // The regions then reconnect to a coordinator that is gone; the fixture stops them.
  EXPECT_NE(RegionLog(1).find("data summary declined: data summary: private statistics need "
                              "public bounds for numeric column"),
            std::string::npos)
      << RegionLog(1);
}

// In mode dp a region reads as dates only columns the contract declares with their format: which
// columns are dates, and in which format, would otherwise depend on its rows. A contract date
// without a format is refused, naming the column and the fix, before anything is sent; a region
// in mode none, given the same contract, reads the column's format itself.
TEST_F(RegionTest, InModeDpAContractDateWithoutItsFormatIsRefused) {
  testing::CoordinatorOptions co;
  co.rounds = 1;
  co.min_regions = 2;
  co.extra = {{"data", {{"dates", {{"Administrative", ""}}}}}};
  auto coord = StartCoordinator(WriteCoordinatorConfig(co));
  // A coordinator that refuses its config exits before listening, and the region would retry for
  // its whole give-up time: fail at once, with the coordinator's own output.
  testing::WaitFor([&] { return LogHas("coordinator listening on") || !coord->running(); }, 30s);
  ASSERT_TRUE(LogHas("coordinator listening on"))
      << "exit code " << coord->Wait(0s).value_or(-1) << "\n"
      << ReadAll(run_ + "/coordinator.out");
  testing::RegionOptions dp;
  dp.epsilon_budget = 2.0;
  auto r3 = StartRegion(3, dp);
  const auto rc = r3->Wait(60s);
  ASSERT_TRUE(rc.has_value()) << RegionLog(3);
  EXPECT_NE(*rc, 0) << RegionLog(3);
  EXPECT_NE(RegionLog(3).find("the data contract declares date column 'Administrative' without its "
                              "format; "
                              "in privacy mode dp a region reads only dates whose format is "
                              "declared"),
            std::string::npos)
      << RegionLog(3);
  EXPECT_EQ(RegionLog(3).find("sending data summary"), std::string::npos) << RegionLog(3);
  // Mode none: the region tries to detect the format of the page counts, and finds none.
  auto r1 = StartRegion(1);
  const auto rc1 = r1->Wait(60s);
  ASSERT_TRUE(rc1.has_value()) << RegionLog(1);
  EXPECT_NE(RegionLog(1).find("column 'Administrative' is declared a date, but no usual date "
                              "format reads all its values"),
            std::string::npos)
      << RegionLog(1);
}

// The contract's data.log columns are read as logarithms by every region (and no others: regions in
// a federation detect none), the schema and the final model name them COLUMN[log1p], and the model
// reads a raw table's columns through the same transform.
TEST_F(RegionTest, TheContractsLogColumnsAreReadAsLogarithmsByEveryRegionAndByTheModel) {
  testing::CoordinatorOptions co;
  co.rounds = 1;
  co.extra = {{"data", {{"log", {"PageValues", "ProductRelated_Duration"}}}}};
  auto coord = StartCoordinator(WriteCoordinatorConfig(co));
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 3; ++i) regions.push_back(FederationFixture::StartRegion(i));
  const auto rc = coord->Wait(120s);
  ASSERT_TRUE(rc.has_value()) << CoordinatorLog();
  ASSERT_EQ(*rc, 0) << CoordinatorLog();
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(regions[i - 1]->Wait(30s).value_or(-1), 0) << RegionLog(i);
  EXPECT_TRUE(
      LogHas("schema: column 'PageValues': encoded as PageValues[log1p] = "
             "sign(PageValues) ln(1 + |PageValues|)"))
      << CoordinatorLog();
  auto model = ml::LoadModelFile(run_ + "/final.fsm");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<std::string> names;
  for (int j = 0; j < model->schema.input_dim(); ++j) names.push_back(model->schema.FeatureName(j));
  for (const char* name :
       {"PageValues[log1p]", "ProductRelated_Duration[log1p]", "Administrative_Duration"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  for (const char* name : {"PageValues", "Administrative_Duration[log1p]"}) {
    EXPECT_EQ(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  // The standardisation is the logarithm's: PageValues[log1p]'s mean is that of ln(1 + x) over
  // the regions' training rows, far below the raw column's (about 5.9 on this table).
  for (const data::SchemaColumn& c : model->schema.columns()) {
    if (c.name == "PageValues[log1p]") {
      EXPECT_GT(c.mean, 0.2) << c.mean;
      EXPECT_LT(c.mean, 1.5) << c.mean;
    }
  }
  // A raw table with PageValues (no PageValues[log1p]) is read through the model.
  const std::string out = run_ + "/eval.json";
  ASSERT_EQ(testing::Run(kBin + "/fedseg-client evaluate --model " + run_ + "/final.fsm --data " +
                         Shard(1) + "/test.csv --json > " + out + " 2>&1"),
            0)
      << ReadAll(out);
  const nlohmann::json ev = nlohmann::json::parse(ReadAll(out));
  EXPECT_GT(ev["count"].get<int>(), 0);
}

// A coordinator (or whoever holds its certificate) answers the region's Hello with text meant to
// forge log lines: a newline followed by a line in the region's own log format, and a terminal
// escape. The region must log it escaped, on its own line: fedseg-client logs the Done reason
// (the coordinator's status detail) and an Error's message, and stops.
TEST_F(RegionTest, TextFromTheCoordinatorIsEscapedInTheRegionLog) {
  const std::string forged = "2026-01-01T00:00:00.000 [r1] info region r1 trained on 0 rows";
  struct Case {
    protocol::MessageType type;
    std::string text;
    int exit_code;
    std::string logged;  // what the region's log must say, escaped
  };
  const Case cases[] = {
      {protocol::MessageType::kDone, "completed\n" + forged + "\x1b[2J", 0,
       "federation finished: completed\\n" + forged + "\\x1b[2J"},
      {protocol::MessageType::kError, "refused: go away\r\n" + forged, 1,
       "coordinator says: refused: go away\\r\\n" + forged},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(protocol::MessageTypeName(static_cast<uint16_t>(c.type)));
    StandInCoordinator coordinator(
        Pki(), port_, [&c](const std::shared_ptr<net::TlsSession>& s, net::Frame f) {
          if (f.type != static_cast<uint16_t>(protocol::MessageType::kHello)) return;
          if (c.type == protocol::MessageType::kDone) {
            s->Send(protocol::MakeFrame(c.type, protocol::DoneMsg{{}, c.text}));
          } else {
            s->Send(protocol::MakeFrame(c.type, protocol::ErrorMsg{c.text}));
          }
        });
    ASSERT_TRUE(coordinator.status().ok()) << coordinator.status().message();
    const std::string log = run_ + "/r1.log";
    std::filesystem::remove(log);
    auto region = StartRegion(1);
    const auto rc = region->Wait(30s);
    coordinator.Stop();
    ASSERT_TRUE(rc.has_value()) << ReadAll(log);
    EXPECT_EQ(*rc, c.exit_code) << ReadAll(log);
    const std::string text = ReadAll(log);
    EXPECT_NE(text.find(c.logged), std::string::npos) << text;
    // No forged line, and no raw control character but the newlines ending the region's lines.
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      EXPECT_NE(line.rfind("2026-01-01T00:00:00.000", 0), 0u) << "forged line: " << line;
      for (char ch : line) EXPECT_FALSE(ch == '\x1b' || ch == '\r') << line;
    }
  }
}

// A stand-in coordinator (an in-process TlsServer with the coordinator's certificate) that skips
// the data summary, sends a DP plan r3 accepts, and then only evaluate-only rounds with crafted
// weights (the output depends on one input only: a membership probe), as many as the region will
// answer. Every answer is a noisy evaluation charged to r3's ledger before it leaves, until the
// budget stops it; the ledger then verifies within the budget.
TEST_F(RegionTest, AHostileCoordinatorFloodingCraftedEvaluationsIsChargedThenDeclined) {
  Result<PublicSetup> setup = MakePublicSetup();
  ASSERT_TRUE(setup.ok()) << setup.status().ToString();
  const ml::ModelSpec& spec = setup->spec;
  // Hidden unit 0 reads input 0 with weight 50; class 1 gets it with weight 50 and bias -25.
  std::vector<float> crafted(static_cast<size_t>(spec.num_params()), 0.0f);
  crafted[0] = 50.0f;
  crafted[static_cast<size_t>(spec.weight_offset(1)) + spec.layer_in(1)] = 50.0f;
  crafted[static_cast<size_t>(spec.bias_offset(1)) + 1] = -25.0f;
  protocol::TrainingPlan plan;
  plan.dp = true;
  plan.dp_noise_multiplier = 1.0;
  plan.total_rounds = 2;

  std::mutex mu;
  std::vector<protocol::UpdateMsg> answers;
  std::optional<protocol::DeclineMsg> declined;
  std::string unexpected;
  constexpr uint32_t kMaxRounds = 60;
  StandInCoordinator coordinator(
      Pki(), port_, [&](const std::shared_ptr<net::TlsSession>& s, net::Frame f) {
        auto evaluate = [&](uint32_t round) {
          s->Send(protocol::MakeFrame(protocol::MessageType::kRoundStart,
                                      protocol::RoundStartMsg{round, false, round, crafted}));
        };
        std::lock_guard<std::mutex> lock(mu);
        const auto type = static_cast<protocol::MessageType>(f.type);
        if (type == protocol::MessageType::kHello) {
          s->Send(protocol::MakeFrame(protocol::MessageType::kWelcome,
                                      protocol::WelcomeMsg{"hostile-run", setup->contract, 1}));
          s->Send(protocol::MakeFrame(
              protocol::MessageType::kSetup,
              protocol::SetupMsg{"hostile-run", setup->schema, spec, plan, false}));
          evaluate(1);
        } else if (type == protocol::MessageType::kUpdate) {
          protocol::UpdateMsg u;
          Status st = protocol::ParseFrame(f, type, &u);
          if (!st.ok()) unexpected = st.ToString();
          answers.push_back(u);
          if (u.round < kMaxRounds) {
            evaluate(u.round + 1);
          } else {
            s->Send(protocol::MakeFrame(protocol::MessageType::kDone,
                                        protocol::DoneMsg{crafted, "completed"}));
          }
        } else if (type == protocol::MessageType::kDecline) {
          protocol::DeclineMsg d;
          Status st = protocol::ParseFrame(f, type, &d);
          if (!st.ok()) unexpected = st.ToString();
          declined = d;
          s->Send(protocol::MakeFrame(protocol::MessageType::kDone,
                                      protocol::DoneMsg{crafted, "completed"}));
        } else {
          unexpected = protocol::MessageTypeName(f.type);
        }
      });
  ASSERT_TRUE(coordinator.status().ok()) << coordinator.status().message();
  testing::RegionOptions dp;
  dp.epsilon_budget = 2.0;
  auto region = StartRegion(3, dp);
  const auto rc = region->Wait(120s);
  coordinator.Stop();
  const std::string log = RegionLog(3);
  ASSERT_TRUE(rc.has_value()) << log;
  EXPECT_EQ(*rc, 0) << log;
  EXPECT_EQ(unexpected, "") << log;

  // Some evaluations were answered, each noisy (the same weights on the same rows never gave the
  // same counts twice in a row), each with empty delta and the public row count; then a decline.
  ASSERT_GE(answers.size(), 2u) << log;
  EXPECT_LT(answers.size(), kMaxRounds) << log;
  for (size_t i = 0; i < answers.size(); ++i) {
    EXPECT_TRUE(answers[i].delta.empty());
    EXPECT_EQ(answers[i].num_examples % 100, 0u) << answers[i].num_examples;
    EXPECT_EQ(answers[i].train_loss, 0.0);
    EXPECT_LE(answers[i].epsilon_spent, 2.0);
    if (i > 0) {
      EXPECT_FALSE(answers[i].evaluation == answers[i - 1].evaluation) << i;
    }
  }
  ASSERT_TRUE(declined.has_value()) << log;
  EXPECT_EQ(declined->reason.rfind("privacy budget: this evaluation would bring epsilon to", 0), 0u)
      << declined->reason;
  EXPECT_LE(declined->epsilon_spent, 2.0);
  // One gaussian entry (3 mechanisms at sigma 20) per answer, nothing else.
  const auto entries = LedgerEntries(run_ + "/r3.ledger.jsonl");
  ASSERT_EQ(entries.size(), answers.size() + 1) << "genesis + one per answer";
  for (size_t i = 1; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i]["mechanism"], "gaussian") << entries[i].dump();
    EXPECT_EQ(entries[i]["params"]["count"], 3) << entries[i].dump();
  }
  EXPECT_EQ(answers.back().ledger_entries, answers.size());
  ExpectLedgerVerifiesWithin(run_ + "/r3.ledger.jsonl", Pki() + "/r3.crt", 2.0,
                             run_ + "/r3.verify.json");
}

// A stand-in coordinator whose plan asks for a negative or NaN FedProx mu (training.proximal_mu;
// its own config check would have refused it): the region refuses the Setup before training,
// names the field in its log and exits with an error, without sending an update.
TEST_F(RegionTest, AHostileProximalMuInThePlanIsRefusedNamingTheField) {
  Result<PublicSetup> setup = MakePublicSetup();
  ASSERT_TRUE(setup.ok()) << setup.status().ToString();
  const ml::ModelSpec& spec = setup->spec;
  const std::vector<float> weights(static_cast<size_t>(spec.num_params()), 0.01f);
  for (double mu : {-0.5, std::numeric_limits<double>::quiet_NaN()}) {
    SCOPED_TRACE("mu " + std::to_string(mu));
    protocol::TrainingPlan plan;
    plan.total_rounds = 1;
    plan.proximal_mu = mu;
    std::mutex m;
    bool updated = false;
    StandInCoordinator coordinator(
        Pki(), port_, [&](const std::shared_ptr<net::TlsSession>& s, net::Frame f) {
          std::lock_guard<std::mutex> lock(m);
          const auto type = static_cast<protocol::MessageType>(f.type);
          if (type == protocol::MessageType::kHello) {
            s->Send(protocol::MakeFrame(protocol::MessageType::kWelcome,
                                        protocol::WelcomeMsg{"hostile-mu", setup->contract, 1}));
            s->Send(protocol::MakeFrame(
                protocol::MessageType::kSetup,
                protocol::SetupMsg{"hostile-mu", setup->schema, spec, plan, false}));
            s->Send(protocol::MakeFrame(protocol::MessageType::kRoundStart,
                                        protocol::RoundStartMsg{1, true, 1, weights}));
          } else if (type == protocol::MessageType::kUpdate) {
            updated = true;
          }
        });
    ASSERT_TRUE(coordinator.status().ok()) << coordinator.status().message();
    std::filesystem::remove(run_ + "/r3.log");
    auto region = StartRegion(3);
    const auto rc = region->Wait(60s);
    coordinator.Stop();
    const std::string log = RegionLog(3);
    ASSERT_TRUE(rc.has_value()) << log;
    EXPECT_NE(*rc, 0) << log;
    EXPECT_NE(log.find("cannot use the coordinator's setup: the coordinator's training plan: "
                       "proximal_mu must be finite and >= 0, got "),
              std::string::npos)
        << log;
    std::lock_guard<std::mutex> lock(m);
    EXPECT_FALSE(updated) << "the region trained with the hostile plan";
  }
}

}  // namespace
}  // namespace fedseg
