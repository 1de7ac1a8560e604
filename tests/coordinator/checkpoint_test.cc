// The checkpoint's run-record parts: the encoding every version-1 checkpoint has used (report.json's
// "rounds" and "regions" as JSON text) still loads, and round-trips byte for byte.
#include "coordinator/checkpoint.h"

#include <gtest/gtest.h>

#include <string>

#include "common/base/file_util.h"

namespace fedseg::coordinator {
namespace {

// A report.json of a real run (the report page's fixtures); discarded if it cannot be read.
nlohmann::json LoadReport(const std::string& name) {
  auto text = ReadFile(std::string(FEDSEG_SOURCE_DIR) + "/tests/coordinator/report/testdata/" + name);
  if (!text.ok()) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(*text, nullptr, false);
}

// A checkpoint as the coordinator wrote it before the run record existed: its history and regions
// are the JSON texts of report.json's "rounds" and "regions" of a real run.
Checkpoint OldCheckpoint(const nlohmann::json& report) {
  Checkpoint c;
  c.run_id = report["run_id"].get<std::string>();
  c.completed_round = report["completed_round"].get<uint32_t>();
  c.history_json = report["rounds"].dump();
  c.regions_json = report["regions"].dump();
  return c;
}

TEST(CheckpointRecordTest, CheckpointsOfEarlierRunsLoadAndRoundTripByteForByte) {
  for (const char* name : {"report_plain.json", "report_dp.json"}) {
    const nlohmann::json report = LoadReport(name);
    ASSERT_TRUE(report.is_object()) << name;
    const Checkpoint old = OldCheckpoint(report);
    auto restored = RestoreRunRecord(old, "checkpoint.fsc");
    ASSERT_TRUE(restored.ok()) << name << ": " << restored.status().message();
    EXPECT_EQ(restored->rounds.size(), report["rounds"].size());
    EXPECT_EQ(restored->regions.size(), report["regions"].size());
    RunRecord record;
    record.rounds = restored->rounds;
    record.regions = restored->regions;
    Checkpoint again;
    StoreRunRecord(record, &again);
    EXPECT_EQ(again.history_json, old.history_json) << name;
    EXPECT_EQ(again.regions_json, old.regions_json) << name;
  }
}

TEST(CheckpointRecordTest, RegionsWithoutTheLedgerFieldsLoadWithTheirDefaults) {
  nlohmann::json report = LoadReport("report_dp.json");
  ASSERT_TRUE(report.is_object());
  for (auto& [name, r] : report["regions"].items()) {
    r.erase("epsilon_delta");
    r.erase("ledger_head");
  }
  auto restored = RestoreRunRecord(OldCheckpoint(report), "checkpoint.fsc");
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  for (const auto& [name, r] : restored->regions) {
    EXPECT_EQ(r.epsilon_delta, 0.0) << name;
    EXPECT_EQ(r.ledger_head, "") << name;
    EXPECT_GT(r.epsilon_spent, 0.0) << name;
  }
}

TEST(CheckpointRecordTest, AMissingFieldIsRefusedByNameNotDefaulted) {
  nlohmann::json report = LoadReport("report_plain.json");
  ASSERT_TRUE(report.is_object());
  report["rounds"][2].erase("examples");
  auto restored = RestoreRunRecord(OldCheckpoint(report), "run/checkpoint.fsc");
  ASSERT_FALSE(restored.ok());
  EXPECT_TRUE(restored.status().IsCorruption()) << restored.status().ToString();
  EXPECT_NE(restored.status().message().find("run/checkpoint.fsc"), std::string::npos)
      << restored.status().message();
  EXPECT_NE(restored.status().message().find("rounds[2]"), std::string::npos)
      << restored.status().message();
  EXPECT_NE(restored.status().message().find("examples"), std::string::npos)
      << restored.status().message();

  report = LoadReport("report_plain.json");
  report["regions"].begin().value().erase("rounds_missed");
  restored = RestoreRunRecord(OldCheckpoint(report), "run/checkpoint.fsc");
  ASSERT_FALSE(restored.ok());
  EXPECT_NE(restored.status().message().find("rounds_missed"), std::string::npos)
      << restored.status().message();
}

TEST(CheckpointRecordTest, TextThatIsNotJsonIsRefused) {
  Checkpoint c;
  c.history_json = "[{\"round\": 0";
  auto restored = RestoreRunRecord(c, "ck");
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.status().message(), "ck: bad history (not JSON)");
  c.history_json = "[]";
  c.regions_json = "{";
  restored = RestoreRunRecord(c, "ck");
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.status().message(), "ck: bad regions (not JSON)");
}

TEST(CheckpointRecordTest, AnEmptyRunRestoresEmpty) {
  auto restored = RestoreRunRecord(Checkpoint{}, "ck");
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  EXPECT_TRUE(restored->rounds.empty());
  EXPECT_TRUE(restored->regions.empty());
}

}  // namespace
}  // namespace fedseg::coordinator
