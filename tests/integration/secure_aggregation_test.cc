// Secure aggregation over the real protocol: fedseg-coordinator and four fedseg-client processes
// over mutual TLS on 127.0.0.1 (docs/secure-aggregation.md). A secure federation ends where plain
// FedAvg does; a region killed after its keys, after its shares or after its masked input does not
// stop the round; too few survivors fail the round cleanly and the next attempt completes; and a
// hostile region (this test, speaking the protocol with r4's certificate) is refused for an
// unsigned key, keys signed for another run, a replayed round and a masked vector of the wrong
// length; and a region whose masked update left in a failed attempt trains afresh when asked again.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/ml/model_file.h"
#include "common/net/identity_signature.h"
#include "common/net/tls_client.h"
#include "common/protocol/messages.h"
#include "federation_fixture.h"
#include "privacy/secagg/region_session.h"
#include "privacy/secagg/wire/secagg_wire.h"

namespace fedseg {
namespace {

using namespace std::chrono_literals;
using testing::Process;
using testing::RegionOptions;
using testing::Scaled;
using testing::WaitFor;
namespace secagg = privacy::secagg;

class SecureAggregationTest : public testing::FederationFixture {
 protected:
  static void SetUpTestSuite() { SetUpSuite({"fedseg-secagg-", {{"pki", "r1 r2 r3 r4"}}, {}, 4}); }

  // Four regions; `secure`: secure aggregation on (defences off in both, so the plain run's
  // aggregate is the same FedAvg mean).
  std::string Config(bool secure, int rounds = 3, int min_regions = 3, double join_timeout = 30,
                     double step_deadline = 20) {
    testing::CoordinatorOptions o;
    o.rounds = rounds;
    o.min_regions = min_regions;
    o.regions = {"r1", "r2", "r3", "r4"};
    o.join_timeout_s = join_timeout;
    o.round_deadline_s = 60;
    o.extra = {{"defences", {{"enabled", false}}}};
    // With a short join timeout the schema is built from the regions that came, without waiting
    // the default two minutes for the rest.
    if (join_timeout < 30) o.extra["federation"] = {{"summary_deadline_s", join_timeout}};
    if (secure) {
      o.extra["secure_aggregation"] = {{"enabled", true},
                                       {"min_survivors", 3},
                                       {"step_deadline_s", testing::ScaledSeconds(step_deadline)}};
    }
    return WriteCoordinatorConfig(o);
  }
  std::unique_ptr<Process> Region(int i, const std::string& failpoint = "") {
    RegionOptions o;
    if (!failpoint.empty()) o.env = {"FEDSEG_TEST_FAILPOINT=" + failpoint};
    return StartRegion(i, o);
  }
  // Runs to the end; returns the report.
  nlohmann::json RunToEnd(std::unique_ptr<Process>& coord) {
    auto rc = coord->Wait(240s);
    EXPECT_TRUE(rc.has_value()) << "coordinator did not finish\n" << CoordinatorLog();
    EXPECT_EQ(rc.value_or(-1), 0) << CoordinatorLog();
    return Report();
  }
  static std::vector<std::string> Participants(const nlohmann::json& rep, int round) {
    return rep["rounds"][round]["participants"].get<std::vector<std::string>>();
  }

  // A region killed by `failpoint` in round 2: the rounds still complete.
  void DropoutInRoundTwo(const std::string& failpoint, bool input_in_sum) {
    auto coord = StartCoordinator(Config(true));
    std::vector<std::unique_ptr<Process>> regions;
    for (int i = 1; i <= 3; ++i) regions.push_back(Region(i));
    regions.push_back(Region(4, failpoint + ":2"));
    nlohmann::json rep = RunToEnd(coord);
    ASSERT_TRUE(rep.is_object());
    EXPECT_EQ(rep["status"], "completed");
    EXPECT_EQ(rep["completed_round"], 3);
    EXPECT_FALSE(regions[3]->Wait(5s).value_or(-1) == 0) << "r4 was not killed";
    const std::vector<std::string> all = {"r1", "r2", "r3", "r4"};
    const std::vector<std::string> three = {"r1", "r2", "r3"};
    EXPECT_EQ(Participants(rep, 1), all);
    // After its masked input the region's update is in the sum: the survivors reveal its
    // self-mask share. Before, it is dropped and the survivors reveal its mask-key share.
    EXPECT_EQ(Participants(rep, 2), input_in_sum ? all : three) << CoordinatorLog();
    EXPECT_EQ(Participants(rep, 3), three);
    EXPECT_TRUE(LogHas(input_in_sum ? "round 2: secure aggregation: the sum of 4 regions unmasked"
                                    : "round 2: secure aggregation: the sum of 3 regions unmasked; "
                                      "dropped: r4"))
        << CoordinatorLog();
    for (int i = 0; i < 3; ++i) EXPECT_EQ(regions[i]->Wait(30s).value_or(-1), 0);
  }
};

TEST_F(SecureAggregationTest, SecureFederationEndsWhereFedAvgDoes) {
  // Plain FedAvg first, then the same federation with secure aggregation, in another run dir.
  const std::string plain_run = run_ + "/plain";
  std::filesystem::create_directories(plain_run);
  const std::string secure_run = run_;
  run_ = plain_run;
  {
    auto coord = StartCoordinator(Config(false));
    std::vector<std::unique_ptr<Process>> regions;
    for (int i = 1; i <= 4; ++i) regions.push_back(Region(i));
    nlohmann::json rep = RunToEnd(coord);
    EXPECT_FALSE(rep.contains("secure_aggregation"));
  }
  run_ = secure_run + "/secure";
  std::filesystem::create_directories(run_);
  port_ = testing::FreePort();
  auto coord = StartCoordinator(Config(true));
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 4; ++i) regions.push_back(Region(i));
  nlohmann::json rep = RunToEnd(coord);
  ASSERT_TRUE(rep.is_object());
  EXPECT_EQ(rep["status"], "completed");
  EXPECT_EQ(rep["secure_aggregation"], true);
  EXPECT_EQ(rep["secure_aggregation_parameters"]["min_survivors"], 3);
  EXPECT_EQ(rep["secure_aggregation_parameters"]["threshold_fraction"], 0.5);
  EXPECT_EQ(rep["secure_aggregation_parameters"]["neighbours"], -1);  // the default: complete here
  EXPECT_EQ(rep["secure_aggregation_parameters"]["expected_dropout"], 0.3);
  for (int r = 1; r <= 3; ++r) {
    EXPECT_EQ(Participants(rep, r), (std::vector<std::string>{"r1", "r2", "r3", "r4"}));
  }
  EXPECT_TRUE(LogHas("round 3: secure aggregation: the sum of 4 regions unmasked"));
  // The coordinator never received a delta: every Update it accepted was metadata only, so it
  // could not have logged or stored one; the final models agree with plain FedAvg's closely (the
  // fixed-point error is below 4 * 2^-28 per coordinate and round, clipping at 1 is rare).
  auto secure = ml::LoadModelFile(run_ + "/final.fsm");
  auto plain = ml::LoadModelFile(plain_run + "/final.fsm");
  ASSERT_TRUE(secure.ok() && plain.ok());
  const Eigen::VectorXf diff = secure->model.params() - plain->model.params();
  EXPECT_LT(diff.cwiseAbs().maxCoeff(), 1e-3f);
  const nlohmann::json plain_rep =
      nlohmann::json::parse(testing::ReadAll(plain_run + "/report.json"), nullptr, false);
  const double auc_secure = rep["rounds"][3]["global"]["roc_auc"];
  const double auc_plain = plain_rep["rounds"][3]["global"]["roc_auc"];
  EXPECT_NEAR(auc_secure, auc_plain, 0.005);
  EXPECT_GT(auc_secure, 0.8);
  // Identical numbers would mean the secure path was not taken (the fixed-point rounding is
  // random): the models differ, by a little.
  EXPECT_GT(diff.cwiseAbs().maxCoeff(), 0.0f);
  for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);
}

TEST_F(SecureAggregationTest, RegionKilledAfterItsKeysDoesNotStopTheRound) {
  DropoutInRoundTwo("region/secagg-after-keys", /*input_in_sum=*/false);
}

TEST_F(SecureAggregationTest, RegionKilledAfterItsSharesDoesNotStopTheRound) {
  DropoutInRoundTwo("region/secagg-after-shares", /*input_in_sum=*/false);
}

TEST_F(SecureAggregationTest, RegionKilledAfterItsMaskedInputIsStillAggregated) {
  DropoutInRoundTwo("region/secagg-after-masked-input", /*input_in_sum=*/true);
}

TEST_F(SecureAggregationTest, TooFewSurvivorsFailTheRoundCleanlyAndTheNextAttemptCompletes) {
  auto coord = StartCoordinator(Config(true));
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 2; ++i) regions.push_back(Region(i));
  // r3 and r4 die after sending their shares in round 2: two masked inputs, fewer than the three
  // survivors required.
  regions.push_back(Region(3, "region/secagg-after-shares:2"));
  regions.push_back(Region(4, "region/secagg-after-shares:2"));
  ASSERT_TRUE(WaitFor([&] { return LogHas("round 2 failed: secure aggregation"); }, 120s))
      << CoordinatorLog();
  EXPECT_TRUE(LogHas("only 2")) << CoordinatorLog();
  // They come back; the round is asked again and completes. The retry starts as soon as three
  // regions are ready, so whichever of r3 and r4 reconnects second may miss it: the retried round
  // has r1, r2 and at least one of them, and the round after it all four or at least three.
  regions[2]->Wait(10s);
  regions[3]->Wait(10s);
  regions[2] = Region(3);
  regions[3] = Region(4);
  nlohmann::json rep = RunToEnd(coord);
  ASSERT_TRUE(rep.is_object());
  EXPECT_EQ(rep["status"], "completed");
  EXPECT_EQ(rep["completed_round"], 3);
  const std::vector<std::string> retried = Participants(rep, 2);
  EXPECT_GE(retried.size(), 3u) << CoordinatorLog();
  for (const char* r : {"r1", "r2"}) {
    EXPECT_NE(std::find(retried.begin(), retried.end(), r), retried.end()) << r;
  }
  EXPECT_GE(Participants(rep, 3).size(), 3u) << CoordinatorLog();
  // The failed attempt left the model alone: round 2 is recorded once, as the retry.
  EXPECT_EQ(rep["rounds"].size(), 4u);
  for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);
}

// The retry leak: a coordinator that completes the unmasking of one attempt (learning its sum),
// calls the round failed and asks it again without one region could subtract the two sums, were
// the others to mask the same updates again. Here r3 and r4 die after their masked inputs in round
// 2, so r1's and r2's unmasking shares (sent) are too few and the round fails after they revealed;
// asked again, each trains a fresh update, a new DP-SGD release in its ledger, instead of masking
// the one that left (before the fix: one round-2 entry, "sending the same answer again").
TEST_F(SecureAggregationTest, RetryAfterTheMaskedUpdateLeftTrainsAFreshOne) {
  testing::CoordinatorOptions o;
  o.rounds = 3;
  o.min_regions = 3;
  o.regions = {"r1", "r2", "r3", "r4"};
  o.dp = true;
  o.noise_multiplier = 1.0;  // fixed: no calibration, so the extra release fits the budget
  o.extra = {
      {"defences", {{"enabled", false}}},
      {"secure_aggregation",
       {{"enabled", true}, {"min_survivors", 3}, {"step_deadline_s", testing::ScaledSeconds(20)}}}};
  auto coord = StartCoordinator(WriteCoordinatorConfig(o));
  auto dp_region = [&](int i, const std::string& failpoint = "") {
    RegionOptions ro;
    ro.epsilon_budget = 100;
    if (!failpoint.empty()) ro.env = {"FEDSEG_TEST_FAILPOINT=" + failpoint};
    return StartRegion(i, ro);
  };
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 2; ++i) regions.push_back(dp_region(i));
  for (int i = 3; i <= 4; ++i)
    regions.push_back(dp_region(i, "region/secagg-after-masked-input:2"));
  ASSERT_TRUE(WaitFor([&] { return LogHas("round 2 failed: secure aggregation"); }, 120s))
      << CoordinatorLog();
  // Only r1 and r2 revealed: one share of each survivor's self-mask seed, two needed.
  EXPECT_TRUE(LogHas("shares of")) << CoordinatorLog();
  regions[2]->Wait(10s);
  regions[3]->Wait(10s);
  regions[2] = dp_region(3);
  regions[3] = dp_region(4);
  nlohmann::json rep = RunToEnd(coord);
  ASSERT_TRUE(rep.is_object());
  EXPECT_EQ(rep["status"], "completed");
  EXPECT_EQ(rep["completed_round"], 3);
  for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);
  for (int i : {1, 2}) {
    const std::string name = "r" + std::to_string(i);
    const std::string log = testing::ReadAll(run_ + "/" + name + ".log");
    EXPECT_NE(log.find("round 2: the coordinator asks again for a secure round whose masked "
                       "update already left this region: training a fresh update"),
              std::string::npos)
        << log;
    // Two DP-SGD releases of round 2 in the region's ledger, of different updates.
    std::vector<std::string> round_two;
    std::ifstream ledger(LedgerPath(i));
    for (std::string line; std::getline(ledger, line);) {
      const nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
      if (e.is_object() && e.value("round", -1) == 2 &&
          e.value("mechanism", "") == "sampled_gaussian") {
        round_two.push_back(e.value("model_sha256", ""));
      }
    }
    ASSERT_EQ(round_two.size(), 2u) << name << "\n" << testing::ReadAll(LedgerPath(i));
    EXPECT_NE(round_two[0], round_two[1]) << name;
  }
}

// The test speaks for r4 with r4's own certificate, over mutual TLS.
class HostileRegion {
 public:
  HostileRegion(const std::string& pki, uint16_t port) : pki_(pki), port_(port) {}

  Status Join() {
    net::TlsConfig tls{pki_ + "/ca.crt", pki_ + "/r4.crt", pki_ + "/r4.key"};
    FEDSEG_ASSIGN_OR_RETURN(
        conn_, net::TlsClientConnection::Connect("127.0.0.1", port_, tls, Scaled(5000ms)));
    return Send(protocol::MessageType::kHello, protocol::HelloMsg{"r4", "hostile test"});
  }
  template <typename T>
  Status Send(protocol::MessageType type, const T& msg) {
    return conn_->Send(static_cast<uint16_t>(type), Serialize(msg), Scaled(5000ms));
  }
  Status SendRaw(protocol::MessageType type, std::string payload) {
    return conn_->Send(static_cast<uint16_t>(type), payload, Scaled(5000ms));
  }
  // The next frame of `type`, skipping others (Welcome, Setup, ...; the run id is kept from
  // Welcome); an Error frame is returned as it is.
  Result<net::Frame> Next(protocol::MessageType type) {
    for (;;) {
      FEDSEG_ASSIGN_OR_RETURN(net::Frame f, conn_->Receive(Scaled(120000ms)));
      if (f.type == static_cast<uint16_t>(protocol::MessageType::kWelcome)) {
        protocol::WelcomeMsg w;
        FEDSEG_RETURN_IF_ERROR(protocol::ParseFrame(f, protocol::MessageType::kWelcome, &w));
        run_id_ = w.run_id;
      }
      if (f.type == static_cast<uint16_t>(type) ||
          f.type == static_cast<uint16_t>(protocol::MessageType::kError)) {
        return f;
      }
    }
  }
  // A RoundStart that asks to train.
  Result<protocol::RoundStartMsg> NextTrainingRound() {
    for (;;) {
      FEDSEG_ASSIGN_OR_RETURN(net::Frame f, Next(protocol::MessageType::kRoundStart));
      protocol::RoundStartMsg m;
      FEDSEG_RETURN_IF_ERROR(protocol::ParseFrame(f, protocol::MessageType::kRoundStart, &m));
      if (m.train) return m;
    }
  }
  std::string ErrorText(const net::Frame& f) {
    protocol::ErrorMsg e;
    if (!protocol::ParseFrame(f, protocol::MessageType::kError, &e).ok()) return "(not an Error)";
    return e.message;
  }
  const std::string& run_id() const { return run_id_; }
  protocol::UpdateMsg Metadata(uint32_t round) {
    protocol::UpdateMsg up;
    up.round = round;
    up.num_examples = 100;
    return up;
  }

 private:
  std::string pki_;
  uint16_t port_;
  std::unique_ptr<net::TlsClientConnection> conn_;
  std::string run_id_;
};

TEST_F(SecureAggregationTest, UnsignedKeysReplayedRoundsAndWrongLengthInputsAreRefused) {
  // r1..r3 start the run; r4 (this test) joins once the schema exists.
  auto coord = StartCoordinator(Config(true, /*rounds=*/5, /*min_regions=*/3,
                                       /*join_timeout=*/2));
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 3; ++i) regions.push_back(Region(i));
  ASSERT_TRUE(WaitFor([&] { return LogHas("global schema from"); }, 60s)) << CoordinatorLog();
  const std::string pki = Pki();
  const std::string cert_pem = *net::ReadCertificatePem(pki + "/r4.crt");

  // 1. Keys without a valid signature: refused, the connection closed with the reason.
  uint32_t round = 0;
  {
    HostileRegion r4(pki, port_);
    ASSERT_TRUE(r4.Join().ok());
    auto start = r4.NextTrainingRound();
    ASSERT_TRUE(start.ok()) << start.status().ToString();
    round = start->round;
    auto session =
        secagg::RegionSession::Create(r4.run_id(), "r4", round, secagg::SecureRandomBytes());
    ASSERT_TRUE(session.ok());
    auto keys = session->Advertise(
        [](std::string_view) -> Result<std::string> { return std::string("not a signature"); });
    ASSERT_TRUE(keys.ok());
    ASSERT_TRUE(
        r4.Send(protocol::MessageType::kSecAggKeys, secagg::KeysToWire(round, *keys, cert_pem))
            .ok());
    auto reply = r4.Next(protocol::MessageType::kError);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_NE(r4.ErrorText(*reply).find("are not signed by it"), std::string::npos)
        << r4.ErrorText(*reply);
  }
  // 1b. Keys validly signed by r4 for this round of another run (a coordinator replaying one
  // run's signed keys into another's round of the same number): refused the same way.
  const std::string key_file = pki + "/r4.key";
  auto sign = [&key_file](std::string_view m) { return net::SignWithKeyFile(key_file, m); };
  {
    HostileRegion r4(pki, port_);
    ASSERT_TRUE(r4.Join().ok());
    auto start = r4.NextTrainingRound();
    ASSERT_TRUE(start.ok()) << start.status().ToString();
    ASSERT_FALSE(r4.run_id().empty());
    round = start->round;
    auto session = secagg::RegionSession::Create(r4.run_id() + "-other", "r4", round,
                                                 secagg::SecureRandomBytes());
    ASSERT_TRUE(session.ok());
    auto keys = session->Advertise(sign);
    ASSERT_TRUE(keys.ok());
    ASSERT_TRUE(
        r4.Send(protocol::MessageType::kSecAggKeys, secagg::KeysToWire(round, *keys, cert_pem))
            .ok());
    auto reply = r4.Next(protocol::MessageType::kError);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_NE(r4.ErrorText(*reply).find("are not signed by it for this run and round"),
              std::string::npos)
        << r4.ErrorText(*reply);
  }
  // 2. A replayed round: keys signed for the round before are refused (logged; the connection
  // stays). 3. Then a genuine session whose masked vector is one value short: refused, and the
  // round completes without r4 (its mask key is recovered from the others' shares).
  HostileRegion r4(pki, port_);
  ASSERT_TRUE(r4.Join().ok());
  auto start = r4.NextTrainingRound();
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  const uint32_t now = start->round;
  ASSERT_GT(now, round);
  {
    auto old = secagg::RegionSession::Create(r4.run_id(), "r4", round, secagg::SecureRandomBytes());
    ASSERT_TRUE(old.ok());
    auto keys = old->Advertise(sign);
    ASSERT_TRUE(keys.ok());
    ASSERT_TRUE(
        r4.Send(protocol::MessageType::kSecAggKeys, secagg::KeysToWire(round, *keys, cert_pem))
            .ok());
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return LogHas("region r4: refused SecAggKeys for round " + std::to_string(round) +
                      " (the current round is " + std::to_string(now) + ")");
      },
      20s))
      << CoordinatorLog();
  auto session = secagg::RegionSession::Create(r4.run_id(), "r4", now, secagg::SecureRandomBytes());
  ASSERT_TRUE(session.ok());
  auto keys = session->Advertise(sign);
  ASSERT_TRUE(keys.ok());
  ASSERT_TRUE(
      r4.Send(protocol::MessageType::kSecAggKeys, secagg::KeysToWire(now, *keys, cert_pem)).ok());
  ASSERT_TRUE(r4.Send(protocol::MessageType::kUpdate, r4.Metadata(now)).ok());
  auto roster_frame = r4.Next(protocol::MessageType::kSecAggRoster);
  ASSERT_TRUE(roster_frame.ok()) << roster_frame.status().ToString();
  ASSERT_EQ(roster_frame->type, static_cast<uint16_t>(protocol::MessageType::kSecAggRoster))
      << r4.ErrorText(*roster_frame);
  protocol::SecAggRosterMsg roster_msg;
  ASSERT_TRUE(
      protocol::ParseFrame(*roster_frame, protocol::MessageType::kSecAggRoster, &roster_msg).ok());
  EXPECT_EQ(roster_msg.regions.size(), 4u);
  auto roster = secagg::RosterFromWire(roster_msg);
  ASSERT_TRUE(roster.ok());
  std::map<std::string, std::string> certs;
  for (const auto& k : roster_msg.regions) certs[k.region] = k.certificate_pem;
  const std::string ca = pki + "/ca.crt";
  auto envelopes = session->ShareKeys(
      *roster, [&](const std::string& region, std::string_view m, const std::string& sig) {
        return net::VerifyIdentitySignature(ca, certs[region], region, m, sig);
      });
  ASSERT_TRUE(envelopes.ok()) << envelopes.status().ToString();
  ASSERT_TRUE(r4.Send(protocol::MessageType::kSecAggShares,
                      protocol::SecAggSharesMsg{now, secagg::EnvelopesToWire(*envelopes)})
                  .ok());
  auto forward = r4.Next(protocol::MessageType::kSecAggForward);
  ASSERT_TRUE(forward.ok()) << forward.status().ToString();
  ASSERT_EQ(forward->type, static_cast<uint16_t>(protocol::MessageType::kSecAggForward))
      << r4.ErrorText(*forward);
  protocol::SecAggMaskedInputMsg shorter{now,
                                         std::vector<uint32_t>(roster_msg.vector_length - 1, 7u)};
  ASSERT_TRUE(r4.Send(protocol::MessageType::kSecAggMaskedInput, shorter).ok());
  auto refusal = r4.Next(protocol::MessageType::kError);
  ASSERT_TRUE(refusal.ok()) << refusal.status().ToString();
  const std::string text = r4.ErrorText(*refusal);
  EXPECT_NE(text.find(std::to_string(roster_msg.vector_length - 1)), std::string::npos) << text;
  EXPECT_NE(text.find("r4"), std::string::npos) << text;

  nlohmann::json rep = RunToEnd(coord);
  ASSERT_TRUE(rep.is_object());
  EXPECT_EQ(rep["status"], "completed");
  EXPECT_EQ(Participants(rep, static_cast<int>(now)), (std::vector<std::string>{"r1", "r2", "r3"}));
  EXPECT_TRUE(LogHas("round " + std::to_string(now) +
                     ": secure aggregation: the sum of 3 regions unmasked; dropped: r4"))
      << CoordinatorLog();
  for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);
}

// A region whose new connection replaces its old one mid-round (it reconnected before the
// coordinator saw the old one close) has left the round: the roster is not sent to the new
// connection, which knows nothing of the round, and the round goes on without waiting for it until
// step_deadline_s (it did wait before).
TEST_F(SecureAggregationTest, ARegionThatRejoinsMidRoundIsNotWaitedFor) {
  auto coord = StartCoordinator(Config(true, /*rounds=*/3, /*min_regions=*/3, /*join_timeout=*/2,
                                       /*step_deadline=*/120));
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 3; ++i) regions.push_back(Region(i));
  ASSERT_TRUE(WaitFor([&] { return LogHas("global schema from"); }, 60s)) << CoordinatorLog();
  const std::string pki = Pki();
  const std::string cert_pem = *net::ReadCertificatePem(pki + "/r4.crt");
  const std::string key_file = pki + "/r4.key";
  HostileRegion r4(pki, port_);
  ASSERT_TRUE(r4.Join().ok());
  auto start = r4.NextTrainingRound();
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  const uint32_t round = start->round;
  auto session =
      secagg::RegionSession::Create(r4.run_id(), "r4", round, secagg::SecureRandomBytes());
  ASSERT_TRUE(session.ok());
  auto keys = session->Advertise(
      [&key_file](std::string_view m) { return net::SignWithKeyFile(key_file, m); });
  ASSERT_TRUE(keys.ok());
  ASSERT_TRUE(
      r4.Send(protocol::MessageType::kSecAggKeys, secagg::KeysToWire(round, *keys, cert_pem)).ok());
  ASSERT_TRUE(r4.Send(protocol::MessageType::kUpdate, r4.Metadata(round)).ok());
  const auto rejoined = std::chrono::steady_clock::now();
  {
    HostileRegion again(pki, port_);  // r1..r3 are still training: the key step is open
    ASSERT_TRUE(again.Join().ok());
    ASSERT_TRUE(WaitFor(
        [&] {
          return LogHas("round " + std::to_string(round) +
                        ": secure aggregation: the sum of 3 regions unmasked; dropped: r4");
        },
        90s))
        << CoordinatorLog();
    // Well inside the 120-s step deadline (scaled) the old code waited out for the new connection.
    EXPECT_LT(std::chrono::steady_clock::now() - rejoined, testing::Scaled(60000ms));
    EXPECT_TRUE(LogHas("region r4 disconnected during round " + std::to_string(round) +
                       ": replaced by a new connection") ||
                LogHas("region r4 disconnected: replaced by a new connection"))
        << CoordinatorLog();
  }  // the new connection closes too: the next rounds do not wait for it either
  nlohmann::json rep = RunToEnd(coord);
  ASSERT_TRUE(rep.is_object());
  EXPECT_EQ(rep["status"], "completed");
  for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);
}

TEST_F(SecureAggregationTest, RobustStrategiesAndUpdateScreensAreRefusedAtConfigLoad) {
  testing::CoordinatorOptions o;
  o.regions = {"r1", "r2", "r3", "r4"};
  o.extra = {{"secure_aggregation", {{"enabled", true}}},
             {"strategy", {{"name", "median"}}},
             {"defences", {{"enabled", false}}}};
  auto coord = StartCoordinator(WriteCoordinatorConfig(o));
  EXPECT_EQ(coord->Wait(30s).value_or(-1), 2) << testing::ReadAll(run_ + "/coordinator.out");
  EXPECT_NE(testing::ReadAll(run_ + "/coordinator.out")
                .find("strategy.name 'median' needs every "
                      "region's individual update"),
            std::string::npos)
      << testing::ReadAll(run_ + "/coordinator.out");
  o.extra = {{"secure_aggregation", {{"enabled", true}}}};
  auto coord2 = StartCoordinator(WriteCoordinatorConfig(o));
  EXPECT_NE(coord2->Wait(30s).value_or(0), 0);
  EXPECT_NE(testing::ReadAll(run_ + "/coordinator.out").find("set defences.enabled to false"),
            std::string::npos)
      << testing::ReadAll(run_ + "/coordinator.out");
  // Assumptions the default neighbourhood cannot serve: more expected dropouts than the
  // threshold leaves room for.
  o.extra = {{"secure_aggregation", {{"enabled", true}, {"expected_dropout", 0.6}}},
             {"defences", {{"enabled", false}}}};
  auto coord3 = StartCoordinator(WriteCoordinatorConfig(o));
  EXPECT_EQ(coord3->Wait(30s).value_or(-1), 2);
  EXPECT_NE(testing::ReadAll(run_ + "/coordinator.out")
                .find("secure_aggregation.expected_dropout must be in [0, 1 - threshold_fraction]"),
            std::string::npos)
      << testing::ReadAll(run_ + "/coordinator.out");
}

}  // namespace
}  // namespace fedseg
