// The region's privacy policy: its config fields (parsing errors name the field) and each rule a
// coordinator's request can break (declined, the reason naming the rule).
#include "client/privacy_policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "client/region_config.h"

namespace fedseg::client {
namespace {

using nlohmann::json;

json BaseConfig() {
  return {{"region", "eu"},
          {"tls", {{"ca", "ca.crt"}, {"cert", "eu.crt"}, {"key", "eu.key"}}},
          {"data", {{"train", "train.csv"}}}};
}

// The config with `privacy` as its privacy section (and `data` merged into its data section).
// A privacy section that names no ledger gets an absolute one (a dp region needs it).
Result<RegionConfig> WithPrivacy(const json& privacy, const json& data = json::object()) {
  json j = BaseConfig();
  if (!privacy.is_null()) j["privacy"] = privacy;
  if (privacy.is_object() && !privacy.contains("ledger")) {
    j["privacy"]["ledger"] = "/var/lib/fedseg-region/ledger.jsonl";
  }
  for (const auto& [k, v] : data.items()) j["data"][k] = v;
  return RegionConfigFromJson(j, "region.json");
}

std::string ErrorOf(const json& privacy, const json& data = json::object()) {
  auto c = WithPrivacy(privacy, data);
  return c.ok() ? "(accepted)" : c.status().message();
}

TEST(RegionPolicyConfigTest, ABudgetImpliesModeDpWithItsDefaults) {
  auto c = WithPrivacy({{"epsilon_budget", 3.0}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->mode, "dp");
  EXPECT_TRUE(c->dp_mode());
  EXPECT_EQ(c->delta, 1e-6);  // the operator's default, never 1/(10 n)
  EXPECT_EQ(c->min_noise_multiplier, 0.5);
  EXPECT_EQ(c->max_clip_norm, 10.0);
  EXPECT_EQ(c->max_sampling_rate, 0.25);
  EXPECT_EQ(c->max_steps_per_round, 10000);
  EXPECT_EQ(c->min_stats_noise_multiplier, 30.0);
  EXPECT_EQ(c->test_fraction, 0.2);
  EXPECT_EQ(c->split_seed, 42u);
  EXPECT_EQ(c->ToJson()["privacy"]["mode"], "dp");
}

TEST(RegionPolicyConfigTest, ModeNoneIsExplicit) {
  auto none = WithPrivacy({{"mode", "none"}});
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->dp_mode());
  // Neither a mode nor a budget: the region must say which.
  EXPECT_EQ(ErrorOf(nullptr),
            "region.json: privacy.mode is required when no privacy.epsilon_budget is set: \"dp\" "
            "(with a budget) or \"none\" to opt out of differential privacy explicitly (this "
            "region's statistics, updates and evaluations are then sent exactly)");
}

TEST(RegionPolicyConfigTest, TheLedgerPathIsAbsoluteAndRequiredInModeDp) {
  json p = {{"epsilon_budget", 3.0}, {"ledger", "ledger.jsonl"}};
  EXPECT_EQ(ErrorOf(p),
            "region.json: privacy.ledger must be an absolute path, got \"ledger.jsonl\"");
  p["ledger"] = "./ledger.jsonl";
  EXPECT_EQ(ErrorOf(p),
            "region.json: privacy.ledger must be an absolute path, got \"./ledger.jsonl\"");
  p["ledger"] = "";
  EXPECT_EQ(ErrorOf(p),
            "region.json: privacy.ledger is required in mode dp: the absolute path of the "
            "region's ledger, created once with `fedseg-client ledger init --config <this file>`");
  p["ledger"] = "/srv/ledger.jsonl";
  p["ledger_key"] = "ledger.key";
  EXPECT_EQ(ErrorOf(p),
            "region.json: privacy.ledger_key must be an absolute path, got \"ledger.key\"");
  p["ledger_key"] = "/srv/eu.key";
  EXPECT_EQ(ErrorOf(p), "(accepted)");
  auto c = WithPrivacy(p);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->LedgerKeyPath(), "/srv/eu.key");
  p.erase("ledger_key");
  c = WithPrivacy(p);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->LedgerKeyPath(), "/srv/ledger.jsonl.key");
  // The TLS key never signs the ledger.
  json tls_key = BaseConfig();
  tls_key["tls"]["key"] = "/srv/eu.key";
  tls_key["privacy"] = {
      {"epsilon_budget", 3.0}, {"ledger", "/srv/ledger.jsonl"}, {"ledger_key", "/srv/eu.key"}};
  auto refused = RegionConfigFromJson(tls_key, "region.json");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(
                "privacy.ledger_key must be a file of its own, not tls.key or the ledger"),
            std::string::npos)
      << refused.status().message();
  // Mode none keeps no ledger and needs none.
  EXPECT_TRUE(RegionConfigFromJson(
                  [] {
                    json j = BaseConfig();
                    j["privacy"] = {{"mode", "none"}};
                    return j;
                  }(),
                  "region.json")
                  .ok());
}

TEST(RegionPolicyConfigTest, EachInvalidFieldIsNamed) {
  EXPECT_EQ(ErrorOf({{"mode", "maybe"}}),
            "region.json: privacy.mode must be \"dp\" or \"none\", got \"maybe\"");
  EXPECT_EQ(ErrorOf({{"mode", "none"}, {"epsilon_budget", 3.0}}),
            "region.json: privacy.epsilon_budget is set but privacy.mode is \"none\": remove the "
            "budget, or use mode \"dp\"");
  EXPECT_EQ(ErrorOf({{"mode", "dp"}}),
            "region.json: privacy.mode \"dp\" needs privacy.epsilon_budget > 0");
  EXPECT_EQ(ErrorOf({{"epsilon_budget", -1.0}}),
            "region.json: privacy.epsilon_budget must be a finite number >= 0");
  const json dp = {{"epsilon_budget", 3.0}};
  auto with = [&](const char* key, const json& value) {
    json p = dp;
    p[key] = value;
    return ErrorOf(p);
  };
  EXPECT_EQ(with("delta", 0), "region.json: privacy.delta must be in (0, 1)");
  EXPECT_EQ(with("delta", 1), "region.json: privacy.delta must be in (0, 1)");
  EXPECT_EQ(with("min_noise_multiplier", 0),
            "region.json: privacy.min_noise_multiplier must be a finite number > 0");
  EXPECT_EQ(with("min_noise_multiplier", 20),
            "region.json: privacy.min_noise_multiplier must not exceed "
            "privacy.max_noise_multiplier");
  EXPECT_EQ(with("max_clip_norm", 0),
            "region.json: privacy.max_clip_norm must be a finite number > 0");
  EXPECT_EQ(with("max_sampling_rate", 0),
            "region.json: privacy.max_sampling_rate must be in (0, 1]");
  EXPECT_EQ(with("max_sampling_rate", 1.5),
            "region.json: privacy.max_sampling_rate must be in (0, 1]");
  EXPECT_EQ(with("max_steps_per_round", 0),
            "region.json: privacy.max_steps_per_round must be >= 1");
  EXPECT_EQ(with("min_stats_noise_multiplier", -1),
            "region.json: privacy.min_stats_noise_multiplier must be a finite number >= 0");
  EXPECT_EQ(with("max_steps_per_round", "many"),
            "region.json: field 'privacy.max_steps_per_round' has the wrong type (\"many\")");
  EXPECT_EQ(ErrorOf(dp, {{"test_fraction", 1.0}}),
            "region.json: data.test_fraction must be in (0, 1)");
  EXPECT_EQ(ErrorOf(dp, {{"split_seed", -3}}),
            "region.json: field 'data.split_seed' is out of range for an integer (-3)");
}

RegionConfig DpConfig() {
  RegionConfig c;
  c.mode = "dp";
  c.epsilon_budget = 3.0;
  return c;
}

protocol::TrainingPlan DpPlan() {
  protocol::TrainingPlan p;
  p.dp = true;
  p.batch_size = 32;
  p.local_epochs = 1;
  p.dp_clip_norm = 1.0;
  p.dp_noise_multiplier = 0;  // calibrated by the region
  p.total_rounds = 5;
  return p;
}

TEST(PrivacyPolicyTest, APlanInsideThePolicyIsAccepted) {
  EXPECT_TRUE(CheckTrainingPlan(DpConfig(), DpPlan(), 1000).accept);
  protocol::TrainingPlan fixed = DpPlan();
  fixed.dp_noise_multiplier = 0.5;  // exactly the floor
  EXPECT_TRUE(CheckTrainingPlan(DpConfig(), fixed, 1000).accept);
}

TEST(PrivacyPolicyTest, DpOffIsDeclinedInModeDp) {
  protocol::TrainingPlan plain = DpPlan();
  plain.dp = false;
  const PolicyDecision d = CheckTrainingPlan(DpConfig(), plain, 1000);
  EXPECT_FALSE(d.accept);
  EXPECT_EQ(d.rule, "privacy.mode");
  EXPECT_EQ(d.reason,
            "privacy.mode: this region trains only with DP-SGD (mode \"dp\"); the coordinator's "
            "plan turns DP off");
  // Mode none takes any plan.
  RegionConfig none;
  none.mode = "none";
  EXPECT_TRUE(CheckTrainingPlan(none, plain, 1000).accept);
}

TEST(PrivacyPolicyTest, NoiseBelowTheFloorIsDeclined) {
  protocol::TrainingPlan p = DpPlan();
  p.dp_noise_multiplier = 0.3;
  PolicyDecision d = CheckTrainingPlan(DpConfig(), p, 1000);
  EXPECT_FALSE(d.accept);
  EXPECT_EQ(d.rule, "privacy.min_noise_multiplier");
  EXPECT_EQ(d.reason,
            "privacy.min_noise_multiplier: the plan's noise multiplier 0.3 is below this region's "
            "floor 0.5");
  p.dp_noise_multiplier = std::nan("");
  EXPECT_EQ(CheckTrainingPlan(DpConfig(), p, 1000).rule, "privacy.min_noise_multiplier");
  RegionConfig lower = DpConfig();
  lower.min_noise_multiplier = 0.25;
  p.dp_noise_multiplier = 0.3;
  EXPECT_TRUE(CheckTrainingPlan(lower, p, 1000).accept);
}

TEST(PrivacyPolicyTest, ClipNormAboveTheCeilingIsDeclined) {
  protocol::TrainingPlan p = DpPlan();
  p.dp_clip_norm = 50;
  PolicyDecision d = CheckTrainingPlan(DpConfig(), p, 1000);
  EXPECT_FALSE(d.accept);
  EXPECT_EQ(d.rule, "privacy.max_clip_norm");
  EXPECT_EQ(d.reason,
            "privacy.max_clip_norm: the plan's clip norm 50 is above this region's ceiling 10");
  p.dp_clip_norm = std::numeric_limits<double>::infinity();
  EXPECT_EQ(CheckTrainingPlan(DpConfig(), p, 1000).rule, "privacy.max_clip_norm");
}

// q and the steps depend on the private row count: the reason the coordinator gets names the
// rule but no number derived from n; the region's log gets the numbers.
TEST(PrivacyPolicyTest, SamplingRateAboveTheCeilingIsDeclinedWithoutTheRowCount) {
  protocol::TrainingPlan p = DpPlan();
  p.batch_size = 300;  // q = 0.3 on 1000 rows
  PolicyDecision d = CheckTrainingPlan(DpConfig(), p, 1000);
  EXPECT_FALSE(d.accept);
  EXPECT_EQ(d.rule, "privacy.max_sampling_rate");
  EXPECT_EQ(d.reason,
            "privacy.max_sampling_rate: the plan's batch size gives a sampling rate above this "
            "region's ceiling");
  EXPECT_EQ(d.detail, "batch 300 gives q = 0.3, ceiling 0.25");
  EXPECT_TRUE(CheckTrainingPlan(DpConfig(), p, 1200).accept);  // q = 0.25
}

TEST(PrivacyPolicyTest, TooManyStepsPerRoundAreDeclinedWithoutTheRowCount) {
  protocol::TrainingPlan p = DpPlan();
  p.local_epochs = 400;  // q = 0.032 on 1000 rows: 31.25 steps per epoch, 12,500 per round
  PolicyDecision d = CheckTrainingPlan(DpConfig(), p, 1000);
  EXPECT_FALSE(d.accept);
  EXPECT_EQ(d.rule, "privacy.max_steps_per_round");
  EXPECT_EQ(d.reason,
            "privacy.max_steps_per_round: the plan asks for more DP-SGD steps per round than this "
            "region allows");
  EXPECT_EQ(d.detail, "400 local epoch(s) at q = 0.032 give 12500 steps, ceiling 10000");
  EXPECT_EQ(d.detail.find("1000 rows"), std::string::npos);
}

TEST(PrivacyPolicyTest, RoundShapeIsBatchOverRowsAndEpochsOverQ) {
  protocol::TrainingPlan p = DpPlan();
  p.batch_size = 50;
  DpSgdRoundShape s = RoundShape(p, 1000);
  EXPECT_DOUBLE_EQ(s.sampling_rate, 0.05);
  EXPECT_EQ(s.steps, 20);
  s = RoundShape(p, 10);  // q capped at 1, at least one step
  EXPECT_EQ(s.sampling_rate, 1.0);
  EXPECT_EQ(s.steps, 1);
}

TEST(PrivacyPolicyTest, StatisticsBelowTheNoiseFloorAreDeclined) {
  PolicyDecision d = CheckSummaryRequest(DpConfig(), 0.0);
  EXPECT_FALSE(d.accept);
  EXPECT_EQ(d.rule, "privacy.min_stats_noise_multiplier");
  EXPECT_EQ(d.reason,
            "privacy.min_stats_noise_multiplier: the coordinator asks for data statistics with "
            "noise multiplier 0, below this region's floor 30 (exact statistics)");
  d = CheckSummaryRequest(DpConfig(), 10.0);
  EXPECT_EQ(d.reason,
            "privacy.min_stats_noise_multiplier: the coordinator asks for data statistics with "
            "noise multiplier 10, below this region's floor 30");
  EXPECT_FALSE(CheckSummaryRequest(DpConfig(), std::nan("")).accept);
  EXPECT_TRUE(CheckSummaryRequest(DpConfig(), 30.0).accept);
  RegionConfig exact_ok = DpConfig();
  exact_ok.min_stats_noise_multiplier = 0;  // the operator accepts exact statistics explicitly
  EXPECT_TRUE(CheckSummaryRequest(exact_ok, 0.0).accept);
  RegionConfig none;
  none.mode = "none";
  EXPECT_TRUE(CheckSummaryRequest(none, 0.0).accept);
}

}  // namespace
}  // namespace fedseg::client
