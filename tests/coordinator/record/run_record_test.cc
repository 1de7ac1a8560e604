#include "coordinator/record/run_record.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>

#include "coordinator/record/json_number.h"

namespace fedseg::coordinator {
namespace {

nlohmann::json LoadFixture(const std::string& name) {
  std::ifstream f(std::string(FEDSEG_SOURCE_DIR) + "/tests/coordinator/report/testdata/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
}

class RunRecordFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RunRecordFixtureTest, RoundTripsTheRealReport) {
  const nlohmann::json j = LoadFixture(GetParam());
  ASSERT_TRUE(j.is_object());
  Result<RunRecord> rec = RunRecord::FromJson(j, GetParam());
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ(rec->ToJson(), j);
  EXPECT_EQ(rec->ToJson().dump(2), j.dump(2));
}

TEST_P(RunRecordFixtureTest, CheckpointPartsRoundTrip) {
  const nlohmann::json j = LoadFixture(GetParam());
  Result<RunRecord> rec = RunRecord::FromJson(j, GetParam());
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  // The checkpoint stores the two parts as JSON text.
  const auto rounds = RunRecord::RoundsFromJson(nlohmann::json::parse(rec->RoundsToJson().dump()),
                                                "checkpoint history");
  ASSERT_TRUE(rounds.ok()) << rounds.status().message();
  EXPECT_EQ(nlohmann::json(rec->RoundsToJson()), j["rounds"]);
  ASSERT_EQ(rounds->size(), rec->rounds.size());
  for (size_t i = 0; i < rounds->size(); ++i) EXPECT_EQ((*rounds)[i].ToJson(), j["rounds"][i]);
  const auto regions = RunRecord::RegionsFromJson(
      nlohmann::json::parse(rec->RegionsToJson().dump()), "checkpoint regions");
  ASSERT_TRUE(regions.ok()) << regions.status().message();
  EXPECT_EQ(*regions, rec->regions);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RunRecordFixtureTest,
                         ::testing::Values("report_dp.json", "report_plain.json"));

TEST(RunRecordTest, ReadsTypedValues) {
  Result<RunRecord> rec = RunRecord::FromJson(LoadFixture("report_dp.json"), "report_dp.json");
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ(rec->run_id, "run-d5f9ab44-42");
  EXPECT_EQ(rec->status, "finished");
  EXPECT_EQ(rec->completed_round, 5u);
  ASSERT_EQ(rec->rounds.size(), 6u);
  EXPECT_FALSE(rec->rounds[0].training.has_value());
  ASSERT_TRUE(rec->rounds[0].evaluation.has_value());
  EXPECT_EQ(rec->rounds[0].evaluation->global.rows, 2466u);
  EXPECT_EQ(rec->rounds[0].evaluation->evaluated_by, 9u);
  ASSERT_TRUE(rec->rounds[1].training.has_value());
  EXPECT_EQ(rec->rounds[1].training->examples, 9864u);
  EXPECT_EQ(rec->rounds[1].training->participants.size(), 9u);
  EXPECT_DOUBLE_EQ(rec->rounds[1].training->seconds, 0.341552441);
  const RegionResult& r1 = rec->regions.at("Region-1");
  EXPECT_DOUBLE_EQ(r1.epsilon_budget, 3.0);
  EXPECT_DOUBLE_EQ(r1.epsilon_delta, 1e-05);
  EXPECT_DOUBLE_EQ(r1.epsilon_by_round.at(1), 2.2387265079262346);
  EXPECT_EQ(r1.epsilon_by_round.size(), 5u);
  EXPECT_EQ(r1.rounds_participated, 5);
  EXPECT_EQ(r1.ledger_head.size(), 64u);
  ASSERT_TRUE(rec->model.has_value());
  EXPECT_EQ(rec->model->architecture, "75-64-32-2");
  EXPECT_EQ(rec->model->parameters, 7010);
  ASSERT_NE(rec->Final(), nullptr);
  EXPECT_EQ(rec->Final()->round, 5u);
  EXPECT_TRUE(rec->Final()->evaluation->report.has_value());
  ASSERT_TRUE(rec->refused_connections.has_value());
  EXPECT_TRUE(rec->refused_connections->empty());
}

// A minimal record built in code, as the coordinator builds it.
RunRecord SmallRecord() {
  RunRecord rec;
  rec.run_id = "run-1";
  rec.status = "running";
  rec.completed_round = 1;
  RoundEvaluation e;
  e.global = {10, 0.5, 0.9, 0.8, 0.7, NAN, 0.1};
  e.regions["b"] = {4, 0.25, 1.0, 1.0, 1.0, 1.0, 1.0};
  e.regions["a"] = {6, 0.75, 0.5, 0.5, 0.5, 0.5, 0.5};
  e.evaluated_by = 2;
  rec.Round(1).evaluation = e;
  rec.Round(1).training = RoundTraining{2, 2, 100, INFINITY, 1.5, {"b", "a"}, {}};
  return rec;
}

TEST(RunRecordTest, RoundGrowsTheHistory) {
  RunRecord rec = SmallRecord();
  ASSERT_EQ(rec.rounds.size(), 2u);
  EXPECT_EQ(rec.rounds[0].round, 0u);
  EXPECT_EQ(rec.rounds[1].round, 1u);
  EXPECT_EQ(rec.rounds[0].ToJson(), nlohmann::json({{"round", 0}}));
  EXPECT_EQ(rec.Final(), nullptr);
  rec.final_round = rec.rounds[1];
  ASSERT_NE(rec.Final(), nullptr);
  EXPECT_EQ(rec.ToJson()["final"], rec.ToJson()["rounds"][1]);
}

TEST(RunRecordTest, NonFiniteIsNullAndReadsBackAsNaN) {
  const nlohmann::json j = SmallRecord().ToJson();
  EXPECT_TRUE(j["rounds"][1]["global"]["roc_auc"].is_null());
  EXPECT_TRUE(j["rounds"][1]["train_loss"].is_null());
  EXPECT_FALSE(j.contains("model"));
  EXPECT_FALSE(j.contains("final"));
  EXPECT_FALSE(j.contains("refused_connections"));
  Result<RunRecord> back = RunRecord::FromJson(nlohmann::json::parse(j.dump()), "r");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(std::isnan(back->rounds[1].evaluation->global.roc_auc));
  EXPECT_TRUE(std::isnan(back->rounds[1].training->train_loss));
  EXPECT_EQ(back->ToJson(), j);
}

TEST(RunRecordTest, StatusDetailIsWrittenWhenSetAndReadBack) {
  RunRecord rec = SmallRecord();
  EXPECT_FALSE(rec.ToJson().contains("status_detail"));
  rec.status = "stopped";
  rec.status_detail = "signal 15";
  const nlohmann::json j = rec.ToJson();
  EXPECT_EQ(j["status"], "stopped");
  EXPECT_EQ(j["status_detail"], "signal 15");
  Result<RunRecord> back = RunRecord::FromJson(nlohmann::json::parse(j.dump()), "r");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->status_detail, "signal 15");
  EXPECT_EQ(back->ToJson(), j);
  nlohmann::json bad = j;
  bad["status_detail"] = 15;
  EXPECT_FALSE(RunRecord::FromJson(bad, "report.json").ok());
}

TEST(RunRecordTest, DivergingIsWrittenOnlyWhenSetAndReadBack) {
  RunRecord rec = SmallRecord();
  EXPECT_FALSE(rec.ToJson()["rounds"][1].contains("diverging"));
  rec.Round(1).evaluation->diverging = "the federated loss ... is not finite";
  const nlohmann::json j = rec.ToJson();
  EXPECT_EQ(j["rounds"][1]["diverging"], "the federated loss ... is not finite");
  Result<RunRecord> back = RunRecord::FromJson(nlohmann::json::parse(j.dump()), "r");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->rounds[1].evaluation->diverging, "the federated loss ... is not finite");
  EXPECT_EQ(back->ToJson(), j);
  nlohmann::json bad = j;
  bad["rounds"][1]["diverging"] = true;
  EXPECT_FALSE(RunRecord::FromJson(bad, "report.json").ok());
}

TEST(RunRecordTest, RefusalsAreWrittenOnlyWhenAnUpdateWasRefusedAndReadBack) {
  RunRecord rec = SmallRecord();
  rec.regions["a"] = RegionResult{};
  rec.regions["b"] = RegionResult{};
  nlohmann::json j = rec.ToJson();
  EXPECT_FALSE(j["rounds"][1].contains("refused"));
  EXPECT_FALSE(j["regions"]["a"].contains("updates_refused"));
  EXPECT_FALSE(j["regions"]["a"].contains("last_refusal"));

  rec.Round(1).training->refused = {"b"};
  rec.regions["b"].updates_refused = 2;
  rec.regions["b"].last_refused_round = 1;
  rec.regions["b"].last_refusal = "norm 1e+04 is more than 10 x the round's median norm 3";
  j = rec.ToJson();
  EXPECT_EQ(j["rounds"][1]["refused"], nlohmann::json({"b"}));
  EXPECT_EQ(j["regions"]["b"]["updates_refused"], 2);
  EXPECT_EQ(j["regions"]["b"]["last_refused_round"], 1);
  EXPECT_EQ(j["regions"]["b"]["last_refusal"],
            "norm 1e+04 is more than 10 x the round's median norm 3");
  EXPECT_FALSE(j["regions"]["a"].contains("updates_refused"));
  Result<RunRecord> back = RunRecord::FromJson(nlohmann::json::parse(j.dump()), "r");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->regions, rec.regions);  // (the rounds hold NaN, which equals nothing)
  EXPECT_EQ(back->rounds[1].training->refused, std::vector<std::string>{"b"});
  EXPECT_EQ(back->ToJson(), j);
  // The checkpoint's parts carry them too (a resumed run keeps counting).
  auto regions = RunRecord::RegionsFromJson(nlohmann::json::parse(rec.RegionsToJson().dump()), "c");
  ASSERT_TRUE(regions.ok()) << regions.status().message();
  EXPECT_EQ(regions->at("b").updates_refused, 2);

  nlohmann::json bad = j;
  bad["regions"]["b"].erase("last_refusal");
  EXPECT_EQ(RunRecord::FromJson(bad, "report.json").status().message(),
            "report.json: regions.b.last_refusal: missing");
  bad = j;
  bad["rounds"][1]["refused"] = "b";
  EXPECT_EQ(RunRecord::FromJson(bad, "report.json").status().message(),
            "report.json: rounds[1].refused: expected an array of strings, found string");
}

TEST(RunRecordTest, DecisionIsWrittenWhenSetAndReadBack) {
  RunRecord rec = SmallRecord();
  EXPECT_FALSE(rec.ToJson().contains("decision"));  // the fixtures' runs (before rules) lack it
  DecisionRecord d;
  d.goal = "min_precision";
  d.target = 0.8;
  d.kind = "threshold";
  d.positive_class = "TRUE";
  d.threshold = 0.3125;
  d.rows = 2466;
  d.at_rule = DecisionMetrics{0.8, 0.5, 0.6153846153846154};
  d.at_argmax = DecisionMetrics{0.9, 0.25, 0.391304347826087};
  rec.decision = d;
  const nlohmann::json j = rec.ToJson();
  EXPECT_EQ(j["decision"]["threshold"], 0.3125);
  EXPECT_EQ(j["decision"]["positive_class"], "TRUE");
  EXPECT_EQ(j["decision"]["at_rule"]["recall"], 0.5);
  Result<RunRecord> back = RunRecord::FromJson(nlohmann::json::parse(j.dump()), "r");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->decision, rec.decision);
  EXPECT_EQ(back->ToJson(), j);

  // Arg-max (more than two classes): null threshold and class, no metrics.
  rec.decision = DecisionRecord{};
  rec.decision->note = "3 classes: thresholds are for two classes, the rule is arg-max";
  const nlohmann::json a = rec.ToJson();
  EXPECT_TRUE(a["decision"]["threshold"].is_null());
  EXPECT_TRUE(a["decision"]["positive_class"].is_null());
  EXPECT_FALSE(a["decision"].contains("at_rule"));
  back = RunRecord::FromJson(nlohmann::json::parse(a.dump()), "r");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->decision, rec.decision);

  nlohmann::json bad = j;
  bad["decision"]["kind"] = "coin";
  EXPECT_EQ(RunRecord::FromJson(bad, "report.json").status().message(),
            "report.json: decision.kind: is 'coin', expected argmax or threshold");
  bad = j;
  bad["decision"]["at_argmax"].erase("f1");
  EXPECT_EQ(RunRecord::FromJson(bad, "report.json").status().message(),
            "report.json: decision.at_argmax.f1: missing");
  bad = j;
  bad["decision"]["threshold"] = "0.3";
  EXPECT_EQ(RunRecord::FromJson(bad, "report.json").status().message(),
            "report.json: decision.threshold: expected a number or null, found string");
}

TEST(RunRecordTest, MetricsCsvRows) {
  EXPECT_EQ(SmallRecord().MetricsCsv(),
            "round,scope,rows,loss,accuracy,macro_f1,positive_f1,roc_auc,kappa\n"
            "1,global,10,0.500000,0.900000,0.800000,0.700000,,0.100000\n"
            "1,a,6,0.750000,0.500000,0.500000,0.500000,0.500000,0.500000\n"
            "1,b,4,0.250000,1.000000,1.000000,1.000000,1.000000,1.000000\n");
}

TEST(RunRecordTest, MetricsCsvOfTheRealRun) {
  Result<RunRecord> rec = RunRecord::FromJson(LoadFixture("report_plain.json"), "plain");
  ASSERT_TRUE(rec.ok());
  const std::string csv = rec->MetricsCsv();
  // 4 evaluated models x (global + 9 regions) + header.
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 41);
  EXPECT_NE(csv.find("\n3,global,2466,0.268088,0.888078,0.732752,0.529010,0.906000,0.471926\n"),
            std::string::npos);
}

// FromJson refusals: each names the field.
std::string Refusal(const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = LoadFixture("report_dp.json");
  edit(j);
  Result<RunRecord> rec = RunRecord::FromJson(j, "report.json");
  return rec.ok() ? "accepted" : rec.status().message();
}

TEST(RunRecordTest, RefusesMissingFields) {
  EXPECT_EQ(Refusal([](auto& j) { j.erase("run_id"); }), "report.json: run_id: missing");
  EXPECT_EQ(Refusal([](auto& j) { j.erase("bytes_received"); }),
            "report.json: bytes_received: missing");
  EXPECT_EQ(Refusal([](auto& j) { j["rounds"][2]["global"].erase("loss"); }),
            "report.json: rounds[2].global.loss: missing");
  EXPECT_EQ(Refusal([](auto& j) { j["rounds"][3].erase("seconds"); }),
            "report.json: rounds[3].seconds: missing");
  EXPECT_EQ(Refusal([](auto& j) { j["regions"]["Region-4"].erase("epsilon_by_round"); }),
            "report.json: regions.Region-4.epsilon_by_round: missing");
  EXPECT_EQ(Refusal([](auto& j) { j["model"].erase("classes"); }),
            "report.json: model.classes: missing");
}

TEST(RunRecordTest, RefusesMistypedFields) {
  EXPECT_EQ(Refusal([](auto& j) { j["rounds"][2]["global"]["loss"] = "0.5"; }),
            "report.json: rounds[2].global.loss: expected a number or null, found string");
  EXPECT_EQ(Refusal([](auto& j) { j["completed_round"] = "5"; }),
            "report.json: completed_round: expected a non-negative integer, found string");
  EXPECT_EQ(Refusal([](auto& j) { j["completed_round"] = -1; }),
            "report.json: completed_round: expected a non-negative integer, found a negative "
            "integer");
  EXPECT_EQ(Refusal([](auto& j) { j["regions"]["Region-2"]["retired"] = 0; }),
            "report.json: regions.Region-2.retired: expected true or false, found number");
  EXPECT_EQ(Refusal([](auto& j) { j["rounds"][1]["participants"][3] = 7; }),
            "report.json: rounds[1].participants[3]: expected a string, found number");
  EXPECT_EQ(Refusal([](auto& j) { j["regions"]["Region-1"]["epsilon_by_round"]["x"] = 1.0; }),
            "report.json: regions.Region-1.epsilon_by_round.x: not a round number");
  EXPECT_EQ(Refusal([](auto& j) { j["config"] = nlohmann::json::array(); }),
            "report.json: config: expected an object, found array");
  EXPECT_EQ(Refusal([](auto& j) { j["rounds"][4]["round"] = 3; }),
            "report.json: rounds[4].round: is 3, expected 4");
  EXPECT_EQ(Refusal([](auto& j) { j["final"]["global"]["rows"] = 2.5; }),
            "report.json: final.global.rows: expected a non-negative integer, found a fractional "
            "number");
  EXPECT_EQ(RunRecord::FromJson(nlohmann::json::array(), "report.json").status().message(),
            "report.json: expected an object, found array");
}

TEST(RunRecordTest, AcceptsWhatOlderFilesLack) {
  nlohmann::json j = LoadFixture("report_dp.json");
  j["regions"]["Region-1"].erase("ledger_head");
  j["regions"]["Region-1"].erase("epsilon_delta");
  j.erase("model");
  j.erase("refused_connections");
  Result<RunRecord> rec = RunRecord::FromJson(j, "old");
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ(rec->regions.at("Region-1").ledger_head, "");
  EXPECT_EQ(rec->regions.at("Region-1").epsilon_delta, 0.0);
  EXPECT_FALSE(rec->model.has_value());
  EXPECT_FALSE(rec->refused_connections.has_value());
}

TEST(RunRecordTest, AcceptsSignedNonNegativeIntegersBuiltInCode) {
  nlohmann::json j = LoadFixture("report_plain.json");
  j["completed_round"] = int64_t{3};
  j["regions"]["Region-1"]["rounds_participated"] = int{3};
  Result<RunRecord> rec = RunRecord::FromJson(j, "in memory");
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ(rec->completed_round, 3u);
  EXPECT_EQ(rec->regions.at("Region-1").rounds_participated, 3);
}

TEST(JsonNumberTest, NullForNonFinite) {
  EXPECT_EQ(NumberOrNull(1.5), nlohmann::json(1.5));
  EXPECT_TRUE(NumberOrNull(NAN).is_null());
  EXPECT_TRUE(NumberOrNull(-INFINITY).is_null());
  const nlohmann::json n = 2.0, s = "2";
  EXPECT_EQ(NumberOrNaN(&n), 2.0);
  EXPECT_TRUE(std::isnan(NumberOrNaN(&s)));
  EXPECT_TRUE(std::isnan(NumberOrNaN(nullptr)));
}

}  // namespace
}  // namespace fedseg::coordinator
