// Both configs declare each field once (coordinator/config.cc, client/region_config.cc); these
// tests hold the reader, the writer and docs/configuration.md to those tables, so a field added
// without its documentation row, or documented with another default, fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "client/region_config.h"
#include "common/base/json_config.h"
#include "coordinator/config.h"

namespace fedseg {
namespace {

using nlohmann::json;

// The field rows ("| `...") of the docs/configuration.md section that starts with `heading`.
std::vector<std::string> DocRows(const std::string& heading) {
  std::ifstream in(FEDSEG_SOURCE_DIR "/docs/configuration.md");
  std::vector<std::string> rows;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) inside = line.rfind(heading, 0) == 0;
    if (inside && line.rfind("| `", 0) == 0) rows.push_back(line);
  }
  return rows;
}

// Empty when `documented` lists exactly the declared rows in order; else what to change, and the
// table to paste.
std::string CompareRows(const std::vector<std::string>& declared,
                        const std::vector<std::string>& documented) {
  if (declared == documented) return "";
  std::ostringstream out;
  for (size_t i = 0; i < std::max(declared.size(), documented.size()); ++i) {
    const std::string want = i < declared.size() ? declared[i] : "(none)";
    const std::string have = i < documented.size() ? documented[i] : "(none)";
    if (want != have) {
      out << "first difference at row " << i + 1 << ":\n  declared:   " << want
          << "\n  documented: " << have << "\n";
      break;
    }
  }
  out << "the declared table:\n";
  for (const std::string& r : declared) out << r << "\n";
  return out.str();
}

TEST(ConfigFieldsTest, DocsListExactlyTheCoordinatorFieldsWithTheirDefaults) {
  const auto declared = ConfigFieldDocRows(coordinator::CoordinatorConfigFields());
  const auto documented = DocRows("## Coordinator");
  ASSERT_FALSE(documented.empty());
  EXPECT_EQ(CompareRows(declared, documented), "");
}

TEST(ConfigFieldsTest, DocsListExactlyTheRegionFieldsWithTheirDefaults) {
  const auto declared = ConfigFieldDocRows(client::RegionConfigFields());
  const auto documented = DocRows("## Region");
  ASSERT_FALSE(documented.empty());
  EXPECT_EQ(CompareRows(declared, documented), "");
}

// The check itself: a field declared without a row (or with another default) is reported.
TEST(ConfigFieldsTest, AnUndocumentedFieldIsReported) {
  auto fields = coordinator::CoordinatorConfigFields();
  fields.push_back(Field<coordinator::CoordinatorConfig>(
      "federation.new_knob", [](auto& c) -> auto& { return c.max_connections; }, "a new knob"));
  const std::string diff =
      CompareRows(ConfigFieldDocRows(fields), DocRows("## Coordinator"));
  EXPECT_NE(diff.find("declared:   | `federation.new_knob` | `4096` | a new knob |"),
            std::string::npos)
      << diff;
  EXPECT_NE(diff.find("documented: (none)"), std::string::npos) << diff;

  auto changed = client::RegionConfigFields();
  changed[1] = Field<client::RegionConfig>("threads", [](auto& c) -> auto& { return c.threads; },
                                           "OpenMP threads", "`8`");
  EXPECT_NE(CompareRows(ConfigFieldDocRows(changed), DocRows("## Region")), "");
}

TEST(ConfigFieldsTest, DocumentedDefaultsComeFromTheDefaultConfig) {
  const auto rows = ConfigFieldDocRows(coordinator::CoordinatorConfigFields());
  auto row = [&](const std::string& path) {
    for (const std::string& r : rows) {
      if (r.rfind("| `" + path + "` |", 0) == 0) return r;
    }
    return std::string("(missing)");
  };
  EXPECT_EQ(row("training.rounds"), "| `training.rounds` | `30` | federated rounds |");
  EXPECT_NE(row("model.hidden").find("| `[64, 32]` |"), std::string::npos);
  EXPECT_NE(row("federation.max_frame_bytes").find("| `268435456` |"), std::string::npos);
  EXPECT_NE(row("training.learning_rate").find("| `0.001` |"), std::string::npos);
  EXPECT_NE(row("federation.fraction").find("| `1` |"), std::string::npos);
  EXPECT_NE(row("strategy.name").find("| `fedavg` |"), std::string::npos);
  EXPECT_NE(row("tls.ca").find("| required |"), std::string::npos);
  EXPECT_NE(row("data.bounds").find("| `{}` |"), std::string::npos);
  EXPECT_EQ(FormatConfigDefault(json(0.2)), "`0.2`");
  EXPECT_EQ(FormatConfigDefault(json(false)), "`false`");
  EXPECT_EQ(FormatConfigDefault(json::array()), "`[]`");
}

// ToJson writes every declared field, and reading it back gives the same config.
TEST(ConfigFieldsTest, CoordinatorConfigRoundTripsThroughToJson) {
  auto c = coordinator::LoadCoordinatorConfig(
      FEDSEG_SOURCE_DIR "/examples/coordinator.json",
      {{"/strategy/name", "fedadam"}, {"/training/rounds", 7}, {"/data/bounds", {{"x", {0, 1}}}}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->strategy.kind, coordinator::StrategyKind::kFedAdam);
  EXPECT_EQ(c->rounds(), 7);
  const json j = c->ToJson();
  EXPECT_EQ(j["strategy"]["name"], "fedadam");
  EXPECT_EQ(j["training"]["rounds"], 7);
  EXPECT_EQ(j["listen"]["port"], 7443);
  EXPECT_EQ(j["data"]["bounds"]["x"], json::array({0.0, 1.0}));
  size_t leaves = 0;
  for (auto it = j.begin(); it != j.end(); ++it) leaves += it->is_object() ? it->size() : 1;
  // data.bounds and region_pins are fields holding an object.
  EXPECT_EQ(leaves, coordinator::CoordinatorConfigFields().size() - 2 +
                        j["data"]["bounds"].size() + j["region_pins"].size());
  auto back = coordinator::CoordinatorConfigFromJson(j, "round-trip");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), j);
}

TEST(ConfigFieldsTest, RegionConfigRoundTripsThroughToJson) {
  auto c = client::LoadRegionConfig(FEDSEG_SOURCE_DIR "/examples/region.json",
                                    {{"/privacy/noise_seed", 99}, {"/threads", 3}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const json j = c->ToJson();
  EXPECT_EQ(j["privacy"]["noise_seed"], 99);
  EXPECT_EQ(j["threads"], 3);
  EXPECT_EQ(j["region"], "Region-1");
  EXPECT_EQ(j["coordinator"]["port"], 7443);
  size_t leaves = 0;
  for (auto it = j.begin(); it != j.end(); ++it) leaves += it->is_object() ? it->size() : 1;
  EXPECT_EQ(leaves, client::RegionConfigFields().size());
  auto back = client::RegionConfigFromJson(j, "round-trip");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), j);
  EXPECT_EQ(back->noise_seed, 99u);
}

TEST(ConfigFieldsTest, StrategyNameIsParsedOnceWithTheOldMessage) {
  auto c = coordinator::LoadCoordinatorConfig(FEDSEG_SOURCE_DIR "/examples/coordinator.json",
                                              {{"/strategy/name", "fedprox"}});
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsInvalidArgument());
  EXPECT_EQ(c.status().message(),
            FEDSEG_SOURCE_DIR "/examples/coordinator.json: strategy: strategy must be 'fedavg', "
                              "'fedavgm', 'fedadam', 'median', 'trimmed-mean' or 'krum', got "
                              "'fedprox'");
  auto wrong_type = coordinator::LoadCoordinatorConfig(
      FEDSEG_SOURCE_DIR "/examples/coordinator.json", {{"/strategy/name", 3}});
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().message().find("field 'strategy.name' has the wrong type"),
            std::string::npos)
      << wrong_type.status().message();
}

// A minimal valid coordinator config with `extra` merged in (JSON merge patch).
Result<coordinator::CoordinatorConfig> LoadMinimalCoordinatorConfig(const std::string& extra) {
  json j = json::parse(R"({"tls": {"ca": "ca", "cert": "c", "key": "k"}, "regions": ["a", "b"],
      "run_dir": "/tmp/r", "data": {"label": "y"}})");
  j.merge_patch(json::parse(extra));
  return coordinator::CoordinatorConfigFromJson(j, "test.json");
}

// Server-strategy defaults (measured, docs/quality.md): FedAvgM's momentum 0.5; FedAdam's step
// 0.01 and beta1 0.5; and FedAdam when DP is on and the config names no strategy, with whatever
// strategy.* values the config does set.
TEST(ConfigFieldsTest, StrategyDefaultsFollowTheKindAndDp) {
  auto load = [&](const std::string& extra) {
    auto c = LoadMinimalCoordinatorConfig(extra);
    EXPECT_TRUE(c.ok()) << extra << ": " << c.status().ToString();
    return c.ok() ? c->strategy : coordinator::StrategyConfig{};
  };
  using coordinator::StrategyKind;
  coordinator::StrategyConfig s = load("{}");
  EXPECT_EQ(s.kind, StrategyKind::kFedAvg);
  EXPECT_EQ(s.server_learning_rate, 1.0);
  s = load(R"({"strategy": {"name": "fedavgm"}})");
  EXPECT_EQ(s.server_momentum, 0.5);
  EXPECT_EQ(s.server_learning_rate, 1.0);
  s = load(R"({"strategy": {"name": "fedadam"}})");
  EXPECT_EQ(s.server_learning_rate, 0.01);
  EXPECT_EQ(s.beta1, 0.5);
  EXPECT_EQ(s.beta2, 0.99);
  s = load(R"({"strategy": {"name": "fedadam", "server_learning_rate": 0.05, "beta1": 0.9}})");
  EXPECT_EQ(s.server_learning_rate, 0.05);
  EXPECT_EQ(s.beta1, 0.9);
  s = load(R"({"privacy": {"dp": true}})");
  EXPECT_EQ(s.kind, StrategyKind::kFedAdam);
  EXPECT_EQ(s.server_learning_rate, 0.01);
  s = load(R"({"privacy": {"dp": true}, "strategy": {"tau": 0.01}})");
  EXPECT_EQ(s.kind, StrategyKind::kFedAdam);
  EXPECT_EQ(s.tau, 0.01);
  EXPECT_EQ(s.server_learning_rate, 0.01);
  s = load(R"({"privacy": {"dp": true}, "strategy": {"name": "fedavg"}})");
  EXPECT_EQ(s.kind, StrategyKind::kFedAvg);
}

// data.dates: formats are checked at load, and a date column cannot also be given a type or
// dropped (each region would refuse the contract at its first load).
TEST(ConfigFieldsTest, DateColumnsAreCheckedAtLoad) {
  auto load = LoadMinimalCoordinatorConfig;
  auto c = load(R"({"data": {"dates": {"signup": "%d-%m-%Y", "seen": ""}}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->data.dates.at("signup"), "%d-%m-%Y");
  c = load(R"({"data": {"dates": {"signup": "%d-%q"}}})");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("data.dates.signup"), std::string::npos)
      << c.status().message();
  c = load(R"({"data": {"dates": {"signup": ""}, "categorical": ["signup"]}})");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(
                "data.dates.signup: the column is also in data.categorical"),
            std::string::npos)
      << c.status().message();
}

TEST(ConfigFieldsTest, LogColumnsAreCheckedAtLoad) {
  auto load = LoadMinimalCoordinatorConfig;
  auto c = load(R"({"data": {"log": ["spend", "visits"]}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->data.log, (std::vector<std::string>{"spend", "visits"}));
  c = load(R"({"data": {"log": ["spend"], "categorical": ["spend"]}})");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "test.json: data.log: column 'spend' is also in data.categorical");
  c = load(R"({"data": {"log": ["spend"], "drop": ["spend"]}})");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "test.json: data.log: column 'spend' is also in data.drop");
  c = load(R"({"data": {"log": ["seen"], "dates": {"seen": ""}}})");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "test.json: data.log: column 'seen' is also in data.dates");
  c = load(R"({"data": {"log": "spend"}})");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("data.log"), std::string::npos) << c.status().message();
}

// Under DP a config that sets no data-summary noise asks for kDpStatsNoiseMultiplier (before: 0,
// exact statistics, which every region in privacy mode dp declines); one that sets it keeps its
// value, and without DP the default stays 0. A "strategy" that is not an object is refused by the
// reader (the DP defaults do not write into it).
TEST(ConfigFieldsTest, DpDefaultsApplyToTheFieldsAConfigLeavesOut) {
  auto load = LoadMinimalCoordinatorConfig;
  auto c = load(R"({"privacy": {"dp": true}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->stats_noise_multiplier, coordinator::kDpStatsNoiseMultiplier);
  EXPECT_EQ(c->stats_noise_multiplier, 80.0);
  // A region's default floor is below it, so the request is accepted.
  EXPECT_GE(c->stats_noise_multiplier, client::RegionConfig{}.min_stats_noise_multiplier);
  c = load(R"({"privacy": {"dp": true, "stats_noise_multiplier": 30}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->stats_noise_multiplier, 30.0);
  c = load(R"({"privacy": {"dp": false}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->stats_noise_multiplier, 0.0);
  // Written out (report.json) and read back without DP defaults in between: the same value.
  c = load(R"({"privacy": {"dp": true}})");
  ASSERT_TRUE(c.ok());
  auto again = coordinator::CoordinatorConfigFromJson(c->ToJson(), "report.json");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->stats_noise_multiplier, coordinator::kDpStatsNoiseMultiplier);
  EXPECT_EQ(again->strategy.kind, coordinator::StrategyKind::kFedAdam);
  auto bad = load(R"({"privacy": {"dp": true}, "strategy": "fedavg"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("strategy"), std::string::npos) << bad.status().message();
}

// The DP-SGD parameters of the coordinator's plan are checked by privacy::DpSgdParams, with its
// messages; the clip norm only with dp on, as before.
TEST(ConfigFieldsTest, DpSgdParametersAreCheckedOnceWithUniformMessages) {
  const std::string example = FEDSEG_SOURCE_DIR "/examples/coordinator.json";
  auto c = coordinator::LoadCoordinatorConfig(
      example, {{"/privacy/dp", true}, {"/privacy/clip_norm", 0}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            example + ": privacy: clip_norm must be finite and positive, got 0.000000");
  c = coordinator::LoadCoordinatorConfig(example,
                                         {{"/privacy/dp", true}, {"/privacy/noise_multiplier", -1}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            example + ": privacy: noise_multiplier must be finite and >= 0, got -1.000000");
  c = coordinator::LoadCoordinatorConfig(example, {{"/privacy/noise_multiplier", -1}});
  EXPECT_FALSE(c.ok());
  c = coordinator::LoadCoordinatorConfig(example, {{"/privacy/dp", false}, {"/privacy/clip_norm", 0}});
  EXPECT_TRUE(c.ok()) << c.status().ToString();  // unused without dp
  c = coordinator::LoadCoordinatorConfig(
      example, {{"/privacy/dp", true}, {"/privacy/noise_multiplier", 1.1}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->plan.dp);
  EXPECT_EQ(c->plan.dp_noise_multiplier, 1.1);
}

// training.proximal_mu (FedProx) goes into the plan the regions receive; a negative or non-finite
// value is refused with the field's name, before any region is contacted.
TEST(ConfigFieldsTest, ProximalMuIsReadIntoThePlanAndChecked) {
  const std::string example = FEDSEG_SOURCE_DIR "/examples/coordinator.json";
  auto c = coordinator::LoadCoordinatorConfig(example, {{"/training/proximal_mu", 0.01}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->plan.proximal_mu, 0.01);
  c = coordinator::LoadCoordinatorConfig(example, {{"/training/proximal_mu", 0}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->plan.proximal_mu, 0.0);
  c = coordinator::LoadCoordinatorConfig(example, {{"/training/proximal_mu", -0.1}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            example + ": training: proximal_mu must be finite and >= 0, got -0.100000");
  c = coordinator::LoadCoordinatorConfig(example, {{"/training/proximal_mu", "0.1"}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'training.proximal_mu' has the wrong type"),
            std::string::npos)
      << c.status().message();
  // JSON has no NaN or infinity, but a config built in code (or a future reader) may: the
  // validation, not the parser, is what refuses them.
  for (double mu : {std::numeric_limits<double>::quiet_NaN(),
                    std::numeric_limits<double>::infinity()}) {
    auto ok = coordinator::LoadCoordinatorConfig(example, {});
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    coordinator::CoordinatorConfig bad = *ok;
    bad.plan.proximal_mu = mu;
    const Status st = bad.Validate();
    ASSERT_FALSE(st.ok()) << "mu " << mu;
    EXPECT_NE(st.message().find("training: proximal_mu must be finite and >= 0"),
              std::string::npos)
        << st.message();
  }
}

// The decision section: the objective by name, a target for min_precision / min_recall.
TEST(ConfigFieldsTest, DecisionSectionIsReadAndChecked) {
  const std::string example = FEDSEG_SOURCE_DIR "/examples/coordinator.json";
  auto c = coordinator::LoadCoordinatorConfig(example, {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->decision.objective, ml::DecisionObjective::kMaxF1);  // the default
  EXPECT_EQ(c->decision.positive_class, "");
  c = coordinator::LoadCoordinatorConfig(
      example, {{"/decision/objective", "min_precision"}, {"/decision/target", 0.7},
                {"/decision/positive_class", "TRUE"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->decision.objective, ml::DecisionObjective::kMinPrecision);
  EXPECT_EQ(c->decision.target, 0.7);
  EXPECT_EQ(c->decision.positive_class, "TRUE");
  EXPECT_EQ(c->ToJson()["decision"]["objective"], "min_precision");
  c = coordinator::LoadCoordinatorConfig(example, {{"/decision/objective", "min_recall"}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            example + ": decision: min_recall: the target must be in (0, 1], got 0.000000");
  c = coordinator::LoadCoordinatorConfig(example, {{"/decision/objective", "operator"}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("decision.objective must be max_f1, min_precision, "
                                      "min_recall or argmax, got 'operator'"),
            std::string::npos)
      << c.status().message();
  c = coordinator::LoadCoordinatorConfig(example, {{"/decision/objective", "argmax"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->decision.objective, ml::DecisionObjective::kArgMax);
}

}  // namespace
}  // namespace fedseg
