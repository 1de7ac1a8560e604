// Integration tests of the federation: the real fedseg-coordinator and fedseg-client executables,
// as separate processes, over mutual TLS on 127.0.0.1. No mocks: certificates come from
// scripts/gen-certs.sh and the data is the bundled online-shoppers table split into regions.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/dataset_loader.h"
#include "common/messages.h"
#include "common/model_file.h"
#include "common/tls_client.h"
#include "process.h"

namespace fedseg {
namespace {

using namespace std::chrono_literals;
using testing::Process;
using testing::ReadAll;
using testing::Scaled;
using testing::ScaledSeconds;
using testing::WaitFor;
namespace fs = std::filesystem;

const std::string kBin = FEDSEG_BIN_DIR;
const std::string kSrc = FEDSEG_SOURCE_DIR;

class FederationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ =
        new std::string(fs::temp_directory_path() / ("fedseg-fed-" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    const std::string d = *dir_;
    ok_ = testing::Run("bash " + kSrc + "/scripts/gen-certs.sh --out " + d +
                       "/pki r1 r2 r3 intruder --expired old >/dev/null") == 0 &&
          testing::Run("bash " + kSrc + "/scripts/gen-certs.sh --out " + d +
                       "/other r1 >/dev/null") == 0 &&
          testing::Run("python3 " + kSrc + "/scripts/split_csv.py --data " + kSrc +
                       "/data/online_shoppers_intention.csv --label Revenue --clients 3 --out " +
                       d + "/data >/dev/null") == 0;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  void SetUp() override {
    ASSERT_TRUE(ok_) << "test set-up (certificates, data split) failed";
    run_ = *dir_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(run_);
    port_ = testing::FreePort();
  }

  // Region i (1-based) uses certificate r<i> and the i-th shard.
  std::string ShardName(int i) const {
    char b[16];
    std::snprintf(b, sizeof b, "region-%02d", i);
    return b;
  }

  std::string WriteCoordinatorConfig(int rounds, int min_regions, int local_epochs,
                                     const std::vector<std::string>& regions = {"r1", "r2", "r3"},
                                     double join_timeout = 30, bool dp = false) {
    const std::string pki = *dir_ + "/pki";
    nlohmann::json c = {
        {"listen", {{"host", "127.0.0.1"}, {"port", port_}}},
        {"tls",
         {{"ca", pki + "/ca.crt"},
          {"cert", pki + "/coordinator.crt"},
          {"key", pki + "/coordinator.key"}}},
        {"regions", regions},
        {"run_dir", run_},
        {"data",
         {{"label", "Revenue"},
          {"categorical",
           {"Month", "VisitorType", "Weekend", "OperatingSystems", "Browser", "Region",
            "TrafficType"}}}},
        {"model", {{"hidden", {16}}, {"seed", 7}}},
        {"training", {{"rounds", rounds}, {"local_epochs", local_epochs}, {"batch_size", 32}}},
        {"federation",
         {{"min_regions", min_regions},
          {"round_deadline_s", ScaledSeconds(60)},
          {"join_timeout_s", ScaledSeconds(join_timeout)},
          {"hello_timeout_s", ScaledSeconds(5)}}},
        {"privacy", {{"dp", dp}, {"clip_norm", 1.0}}},
    };
    const std::string path = run_ + "/coordinator.json";
    std::ofstream(path) << c.dump(2);
    return path;
  }

  std::string WriteRegionConfig(int i, double epsilon_budget = 0) {
    const std::string pki = *dir_ + "/pki";
    const std::string name = "r" + std::to_string(i);
    nlohmann::json c = {
        {"region", name},
        {"coordinator",
         {{"host", "127.0.0.1"},
          {"port", port_},
          {"backoff_initial_ms", 100},
          {"backoff_max_ms", 1000},
          {"give_up_after_s", static_cast<int>(ScaledSeconds(60))}}},
        {"tls",
         {{"ca", pki + "/ca.crt"},
          {"cert", pki + "/" + name + ".crt"},
          {"key", pki + "/" + name + ".key"}}},
        {"data",
         {{"train", *dir_ + "/data/" + ShardName(i) + "/train.csv"},
          {"test", *dir_ + "/data/" + ShardName(i) + "/test.csv"}}},
        {"output", {{"model", run_ + "/" + name + ".fsm"}}},
        {"threads", 1},
    };
    if (epsilon_budget > 0) {
      c["privacy"] = {{"epsilon_budget", epsilon_budget},
                      {"delta", 1e-5},
                      {"ledger", run_ + "/" + name + ".ledger.jsonl"}};
    }
    const std::string path = run_ + "/" + name + ".json";
    std::ofstream(path) << c.dump(2);
    return path;
  }

  std::unique_ptr<Process> StartCoordinator(const std::string& config, bool resume = false) {
    std::vector<std::string> argv = {kBin + "/fedseg-coordinator", "--config", config};
    if (resume) argv.push_back("--resume");
    return std::make_unique<Process>(argv, run_ + "/coordinator.out");
  }
  std::unique_ptr<Process> StartRegion(int i, double epsilon_budget = 0) {
    return std::make_unique<Process>(
        std::vector<std::string>{kBin + "/fedseg-client", "join", "--config",
                                 WriteRegionConfig(i, epsilon_budget)},
        run_ + "/r" + std::to_string(i) + ".log");
  }
  std::string CoordinatorLog() const { return ReadAll(run_ + "/coordinator.log"); }
  nlohmann::json Report() const {
    return nlohmann::json::parse(ReadAll(run_ + "/report.json"), nullptr, false);
  }
  bool LogHas(const std::string& text) const {
    return CoordinatorLog().find(text) != std::string::npos;
  }

  static std::string* dir_;
  static bool ok_;
  std::string run_;
  uint16_t port_ = 0;
};

std::string* FederationTest::dir_ = nullptr;
bool FederationTest::ok_ = false;

TEST_F(FederationTest, RoundsCompleteAndTheGlobalModelImproves) {
  auto coord = StartCoordinator(WriteCoordinatorConfig(/*rounds=*/4, /*min_regions=*/3, 1));
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 3; ++i) regions.push_back(StartRegion(i));
  auto rc = coord->Wait(120s);
  ASSERT_TRUE(rc.has_value()) << "coordinator did not finish\n" << CoordinatorLog();
  EXPECT_EQ(*rc, 0) << CoordinatorLog();
  for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);

  nlohmann::json rep = Report();
  ASSERT_TRUE(rep.is_object());
  EXPECT_EQ(rep["status"], "finished");
  EXPECT_EQ(rep["completed_round"], 4);
  const auto& rounds = rep["rounds"];
  ASSERT_EQ(rounds.size(), 5u);
  const double auc0 = rounds[0]["global"]["roc_auc"];
  const double auc4 = rounds[4]["global"]["roc_auc"];
  const double loss0 = rounds[0]["global"]["loss"];
  const double loss4 = rounds[4]["global"]["loss"];
  EXPECT_GT(auc4, 0.85);
  EXPECT_GT(auc4, auc0 + 0.05);
  EXPECT_LT(loss4, loss0);
  for (int r = 1; r <= 4; ++r) EXPECT_EQ(rounds[r]["updates"], 3) << "round " << r;
  // Every region evaluated the final model on its own test rows.
  EXPECT_EQ(rounds[4]["regions"].size(), 3u);

  // The final model is a model file that the local commands use directly, and every region
  // received the same weights.
  auto final_model = LoadModelFile(run_ + "/final.fsm");
  ASSERT_TRUE(final_model.ok()) << final_model.status().ToString();
  auto r1_model = LoadModelFile(run_ + "/r1.fsm");
  ASSERT_TRUE(r1_model.ok()) << r1_model.status().ToString();
  EXPECT_EQ(final_model->model.params(), r1_model->model.params());
  std::string metrics = ReadAll(run_ + "/metrics.csv");
  EXPECT_EQ(metrics.rfind("round,scope,rows,loss,accuracy,macro_f1,positive_f1,roc_auc,kappa\n", 0),
            0u);
  EXPECT_NE(metrics.find("\n4,global,"), std::string::npos);
  EXPECT_NE(metrics.find("\n4,r3,"), std::string::npos);

  const std::string seg = run_ + "/segments.csv";
  int seg_rc = testing::Run(kBin + "/fedseg-client segment --model " + run_ + "/final.fsm --data " +
                            *dir_ + "/data/region-02/test.csv --out " + seg + " > /dev/null");
  EXPECT_EQ(seg_rc, 0);
  EXPECT_EQ(ReadAll(seg).rfind("row,segment,p_FALSE,p_TRUE\n", 0), 0u);
}

TEST_F(FederationTest, KilledRegionDoesNotStopTheRoundWhenTheQuorumHolds) {
  auto coord = StartCoordinator(WriteCoordinatorConfig(/*rounds=*/6, /*min_regions=*/2, 30));
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 3; ++i) regions.push_back(StartRegion(i));
  ASSERT_TRUE(WaitFor([&] { return LogHas("round 2/6 started"); }, 90s)) << CoordinatorLog();
  regions[2]->Kill(SIGKILL);  // r3 dies while it trains (30 local epochs)
  auto rc = coord->Wait(180s);
  ASSERT_TRUE(rc.has_value()) << "coordinator did not finish\n" << CoordinatorLog();
  EXPECT_EQ(*rc, 0) << CoordinatorLog();
  EXPECT_EQ(regions[0]->Wait(30s).value_or(-1), 0);
  EXPECT_EQ(regions[1]->Wait(30s).value_or(-1), 0);
  EXPECT_TRUE(LogHas("region r3 disconnected")) << CoordinatorLog();

  nlohmann::json rep = Report();
  EXPECT_EQ(rep["completed_round"], 6);
  EXPECT_LT(rep["regions"]["r3"]["rounds_participated"].get<int>(), 6);
  EXPECT_EQ(rep["regions"]["r1"]["rounds_participated"].get<int>(), 6);
  int two_update_rounds = 0;
  for (int r = 2; r <= 6; ++r) two_update_rounds += rep["rounds"][r]["updates"] == 2;
  EXPECT_GE(two_update_rounds, 4);
}

TEST_F(FederationTest, CoordinatorKilledWithSigkillResumesAndFinishes) {
  const std::string config = WriteCoordinatorConfig(/*rounds=*/6, /*min_regions=*/3, 20);
  auto coord = StartCoordinator(config);
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 3; ++i) regions.push_back(StartRegion(i));
  ASSERT_TRUE(WaitFor([&] { return LogHas("round 3/6 started"); }, 120s)) << CoordinatorLog();
  coord->Kill(SIGKILL);
  EXPECT_EQ(coord->Wait(10s).value_or(-1), 128 + SIGKILL);
  ASSERT_TRUE(fs::exists(run_ + "/checkpoint.fsc"));
  // Regions keep trying to reconnect; a new coordinator continues from the checkpoint.
  for (auto& r : regions) EXPECT_TRUE(r->running());
  auto resumed = StartCoordinator(config, /*resume=*/true);
  auto rc = resumed->Wait(180s);
  ASSERT_TRUE(rc.has_value()) << "resumed coordinator did not finish\n" << CoordinatorLog();
  EXPECT_EQ(*rc, 0) << CoordinatorLog();
  for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);
  EXPECT_TRUE(LogHas("resuming run")) << CoordinatorLog();
  nlohmann::json rep = Report();
  EXPECT_EQ(rep["completed_round"], 6);
  ASSERT_EQ(rep["rounds"].size(), 7u);
  for (int r = 1; r <= 6; ++r) EXPECT_EQ(rep["rounds"][r]["updates"], 3) << "round " << r;
  EXPECT_GT(rep["rounds"][6]["global"]["roc_auc"].get<double>(), 0.85);
  EXPECT_TRUE(LoadModelFile(run_ + "/final.fsm").ok());
}

TEST_F(FederationTest, DpSgdRegionsSpendTheirBudgetAndLedgersVerify) {
  auto coord = StartCoordinator(WriteCoordinatorConfig(/*rounds=*/3, /*min_regions=*/3, 1,
                                                       {"r1", "r2", "r3"}, 30, /*dp=*/true));
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 3; ++i) regions.push_back(StartRegion(i, /*epsilon_budget=*/2.0));
  auto rc = coord->Wait(180s);
  ASSERT_TRUE(rc.has_value()) << CoordinatorLog();
  EXPECT_EQ(*rc, 0) << CoordinatorLog();
  for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);
  nlohmann::json rep = Report();
  EXPECT_EQ(rep["completed_round"], 3);
  EXPECT_GT(rep["rounds"][3]["global"]["roc_auc"].get<double>(), 0.75);
  for (const char* name : {"r1", "r2", "r3"}) {
    const auto& region = rep["regions"][name];
    // Calibrated to spend the budget over the 3 planned rounds, never more.
    EXPECT_LE(region["epsilon_spent"].get<double>(), 2.0 + 1e-9) << name;
    EXPECT_GT(region["epsilon_spent"].get<double>(), 1.99) << name;
    EXPECT_EQ(region["epsilon_by_round"].size(), 3u) << name;
    // The privacy team's check: the ledger verifies against the region's certificate and ends
    // at the head the region reported to the coordinator.
    const std::string out = run_ + "/" + name + ".verify.json";
    const int vrc =
        testing::Run(kBin + "/fedseg-audit verify " + run_ + "/" + name + ".ledger.jsonl --cert " +
                     *dir_ + "/pki/" + name + ".crt --expect-head " +
                     region["ledger_head"].get<std::string>() + " --json > " + out);
    EXPECT_EQ(WEXITSTATUS(vrc), 0) << ReadAll(out);
    nlohmann::json v = nlohmann::json::parse(ReadAll(out), nullptr, false);
    ASSERT_TRUE(v.is_object()) << ReadAll(out);
    EXPECT_EQ(v["ok"], true);
    EXPECT_EQ(v["entries"], 3);
    EXPECT_NEAR(v["epsilon"].get<double>(), region["epsilon_spent"].get<double>(), 1e-9);
  }
}

// A scripted, authenticated region r1 that misbehaves; its frames are skipped until `type`.
Result<Frame> NextOfType(TlsClientConnection& c, MessageType type) {
  for (;;) {
    FEDSEG_ASSIGN_OR_RETURN(Frame f, c.Receive(Scaled(60000ms)));
    if (f.type == static_cast<uint16_t>(type)) return f;
    if (f.type == static_cast<uint16_t>(MessageType::kError)) {
      return Status::Aborted("coordinator sent Error");
    }
  }
}

TEST_F(FederationTest, HostileRegionIsRefusedAndTheOthersFinish) {
  auto coord = StartCoordinator(WriteCoordinatorConfig(/*rounds=*/5, /*min_regions=*/2, 1));
  std::vector<std::unique_ptr<Process>> regions;
  regions.push_back(StartRegion(2));
  regions.push_back(StartRegion(3));
  const std::string pki = *dir_ + "/pki";
  const TlsConfig tls{pki + "/ca.crt", pki + "/r1.crt", pki + "/r1.key"};
  auto join = [&]() -> Result<std::unique_ptr<TlsClientConnection>> {
    FEDSEG_ASSIGN_OR_RETURN(auto c,
                            TlsClientConnection::Connect("127.0.0.1", port_, tls, Scaled(10000ms)));
    FEDSEG_RETURN_IF_ERROR(c->Send(static_cast<uint16_t>(MessageType::kHello),
                                   Serialize(HelloMsg{"r1", "hostile"}), Scaled(5000ms)));
    return c;
  };
  ASSERT_TRUE(WaitFor([&] { return LogHas("coordinator listening"); }, 30s)) << CoordinatorLog();
  // First connection: an honest summary, so the federation's schema forms.
  auto conn = join();
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto welcome_frame = NextOfType(**conn, MessageType::kWelcome);
  ASSERT_TRUE(welcome_frame.ok());
  WelcomeMsg welcome;
  ASSERT_TRUE(ParseFrame(*welcome_frame, MessageType::kWelcome, &welcome).ok());
  LoadOptions lo;
  lo.label = welcome.contract.label;
  lo.categorical = welcome.contract.categorical;
  auto data = LoadDatasetFile(*dir_ + "/data/region-01/train.csv", lo);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  ASSERT_TRUE(NextOfType(**conn, MessageType::kSummaryRequest).ok());
  SummaryReplyMsg reply{Summarize(*data), data->num_rows(), 0};
  ASSERT_TRUE((*conn)
                  ->Send(static_cast<uint16_t>(MessageType::kSummaryReply), Serialize(reply),
                         Scaled(5000ms))
                  .ok());

  // Each bad update is refused; the coordinator closes that connection and goes on.
  auto bad_update = [&](const std::function<void(UpdateMsg&, const RoundStartMsg&)>& spoil,
                        bool expect_closed) {
    auto start = NextOfType(**conn, MessageType::kRoundStart);
    ASSERT_TRUE(start.ok()) << start.status().ToString();
    RoundStartMsg rs;
    ASSERT_TRUE(ParseFrame(*start, MessageType::kRoundStart, &rs).ok());
    UpdateMsg u;
    u.round = rs.round;
    u.num_examples = 1000;
    u.delta.assign(rs.weights.size(), 0.01f);
    u.evaluation = ClassificationSummary(2);
    spoil(u, rs);
    ASSERT_TRUE(
        (*conn)
            ->Send(static_cast<uint16_t>(MessageType::kUpdate), Serialize(u), Scaled(5000ms))
            .ok());
    if (expect_closed) {
      auto answer = NextOfType(**conn, MessageType::kDone);  // an Error (then close) is expected
      EXPECT_FALSE(answer.ok());
      conn = join();
      ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    }
  };
  bad_update([](UpdateMsg& u, const RoundStartMsg&) { u.delta.pop_back(); }, true);  // wrong shape
  bad_update([](UpdateMsg& u, const RoundStartMsg&) { u.delta[3] = NAN; }, true);    // NaN
  bad_update([](UpdateMsg& u, const RoundStartMsg&) { u.delta[0] = INFINITY; }, true);
  (*conn)->Close();

  auto rc = coord->Wait(180s);
  ASSERT_TRUE(rc.has_value()) << CoordinatorLog();
  EXPECT_EQ(*rc, 0) << CoordinatorLog();
  for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);
  const std::string log = CoordinatorLog();
  EXPECT_NE(log.find("region r1: protocol violation"), std::string::npos) << log;
  EXPECT_NE(log.find("weights, the model has"), std::string::npos) << log;
  EXPECT_NE(log.find("is not finite"), std::string::npos) << log;
  // No refused update ever entered the model: r1 took part in no round.
  nlohmann::json rep = Report();
  EXPECT_EQ(rep["completed_round"], 5);
  EXPECT_EQ(rep["regions"]["r1"]["rounds_participated"], 0);
  for (int r = 1; r <= 5; ++r) {
    for (const auto& p : rep["rounds"][r]["participants"]) EXPECT_NE(p, "r1") << "round " << r;
  }
  EXPECT_GT(rep["rounds"][5]["global"]["roc_auc"].get<double>(), 0.85);
}

// Connects with `cert` (a name under pki or other), says Hello as `claim`, and returns the
// coordinator's first answer or the failure.
Result<Frame> HelloAs(uint16_t port, const std::string& pki, const std::string& cert,
                      const std::string& claim) {
  TlsConfig tls{pki + "/ca.crt", cert.empty() ? "" : pki + "/" + cert + ".crt",
                cert.empty() ? "" : pki + "/" + cert + ".key"};
  if (pki.find("/other") != std::string::npos) {
    // The client trusts the right CA but presents a certificate from another one.
    tls.ca_file = pki + "/../pki/ca.crt";
  }
  FEDSEG_ASSIGN_OR_RETURN(auto conn,
                          TlsClientConnection::Connect("127.0.0.1", port, tls, Scaled(5000ms)));
  FEDSEG_RETURN_IF_ERROR(conn->Send(static_cast<uint16_t>(MessageType::kHello),
                                    Serialize(HelloMsg{claim, "test"}), Scaled(5000ms)));
  return conn->Receive(Scaled(5000ms));
}

TEST_F(FederationTest, RefusesBadCertificatesIdentitiesAndMessages) {
  auto coord =
      StartCoordinator(WriteCoordinatorConfig(3, 2, 1, {"r1", "r2"}, /*join_timeout=*/300));
  ASSERT_TRUE(WaitFor([&] { return LogHas("coordinator listening"); }, 30s)) << CoordinatorLog();
  const std::string pki = *dir_ + "/pki";

  // TLS-level refusals: no certificate, another CA, an expired certificate.
  auto none = HelloAs(port_, pki, "", "r1");
  EXPECT_FALSE(none.ok());
  auto other = HelloAs(port_, *dir_ + "/other", "r1", "r1");
  EXPECT_FALSE(other.ok());
  auto expired = HelloAs(port_, pki, "old", "old");
  EXPECT_FALSE(expired.ok());

  // Application-level refusals: a valid certificate for a region that is not in the config, and
  // a region claiming another identity than its certificate's.
  auto unknown = HelloAs(port_, pki, "intruder", "intruder");
  ASSERT_TRUE(unknown.ok()) << unknown.status().ToString();
  ErrorMsg err;
  ASSERT_TRUE(ParseFrame(*unknown, MessageType::kError, &err).ok());
  EXPECT_NE(err.message.find("unknown region 'intruder'"), std::string::npos) << err.message;
  auto spoof = HelloAs(port_, pki, "r1", "r2");
  ASSERT_TRUE(spoof.ok()) << spoof.status().ToString();
  ASSERT_TRUE(ParseFrame(*spoof, MessageType::kError, &err).ok());
  EXPECT_NE(err.message.find("claims identity 'r2'"), std::string::npos) << err.message;

  // Malformed and out-of-order messages close that connection only.
  {
    TlsConfig tls{pki + "/ca.crt", pki + "/r1.crt", pki + "/r1.key"};
    auto conn = TlsClientConnection::Connect("127.0.0.1", port_, tls, Scaled(5000ms));
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(
        (*conn)->Send(static_cast<uint16_t>(MessageType::kUpdate), "xx", Scaled(5000ms)).ok());
    auto reply = (*conn)->Receive(Scaled(5000ms));
    ASSERT_TRUE(reply.ok());
    ASSERT_TRUE(ParseFrame(*reply, MessageType::kError, &err).ok());
    EXPECT_NE(err.message.find("expected Hello"), std::string::npos) << err.message;
  }
  {
    TlsConfig tls{pki + "/ca.crt", pki + "/r2.crt", pki + "/r2.key"};
    auto conn = TlsClientConnection::Connect("127.0.0.1", port_, tls, Scaled(5000ms));
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(
        (*conn)
            ->Send(static_cast<uint16_t>(MessageType::kHello), "\x01garbage", Scaled(5000ms))
            .ok());
    auto reply = (*conn)->Receive(Scaled(5000ms));
    ASSERT_TRUE(reply.ok());
    ASSERT_TRUE(ParseFrame(*reply, MessageType::kError, &err).ok());
    EXPECT_NE(err.message.find("malformed"), std::string::npos) << err.message;
  }
  EXPECT_TRUE(coord->running());

  // Each refusal is logged with its reason.
  ASSERT_TRUE(WaitFor([&] { return LogHas("claims identity"); }, 10s));
  const std::string log = CoordinatorLog();
  EXPECT_NE(log.find("no client certificate"), std::string::npos) << log;
  EXPECT_NE(log.find("unable to get local issuer certificate"), std::string::npos) << log;
  EXPECT_NE(log.find("certificate has expired"), std::string::npos) << log;
  EXPECT_NE(log.find("unknown region 'intruder'"), std::string::npos) << log;
  EXPECT_NE(log.find("claims identity 'r2' but its certificate is for 'r1'"), std::string::npos)
      << log;

  // SIGTERM: a clean shutdown.
  coord->Kill(SIGTERM);
  EXPECT_EQ(coord->Wait(20s).value_or(-1), 0) << CoordinatorLog();
}

}  // namespace
}  // namespace fedseg
