// The page of the two real runs, byte for byte: testdata/report_{dp,plain}.html were rendered by
// the renderer before it was split and before its CSS and script moved to assets/, so any change
// to the page shows here first.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/base/file_util.h"
#include "coordinator/record/run_record.h"
#include "coordinator/report/report_html.h"
#include "tests/coordinator/report/report_fixture.h"

namespace fedseg::coordinator {
namespace {

std::string ReadTestdata(const std::string& name) {
  std::ifstream f(std::string(FEDSEG_SOURCE_DIR) + "/tests/coordinator/report/testdata/" + name,
                  std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class ReportHtmlGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ReportHtmlGoldenTest, RecordRendersTheSamePage) {
  const std::string expected = ReadTestdata("report_" + GetParam() + ".html");
  ASSERT_GT(expected.size(), 10000u);
  const nlohmann::json j = testing::LoadReportFixture("report_" + GetParam() + ".json");
  Result<RunRecord> record = RunRecord::FromJson(j, GetParam());
  ASSERT_TRUE(record.ok()) << record.status().message();
  EXPECT_TRUE(RenderReportHtml(*record) == expected);
  EXPECT_TRUE(RenderReportHtml(j) == expected);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ReportHtmlGoldenTest, ::testing::Values("dp", "plain"));

// A record as the coordinator holds it after its first round, built in code.
TEST(ReportHtmlRecordTest, RendersARunningRecordBuiltInCode) {
  RunRecord rec;
  rec.run_id = "run-1234";
  rec.status = "running";
  rec.completed_round = 1;
  rec.config = {{"training", {{"rounds", 4}}}, {"privacy", {{"dp", false}}}};
  RoundEvaluation e;
  e.global = {100, 0.6, 0.7, 0.65, 0.5, 0.75, 0.3};
  e.regions["north"] = e.global;
  e.evaluated_by = 1;
  rec.Round(0).evaluation = e;
  rec.Round(1).training = RoundTraining{1, 1, 400, 0.55, 2.5, {"north"}, {}};
  rec.regions["north"].train_rows = 400;
  rec.regions["north"].rounds_participated = 1;
  const std::string html = RenderReportHtml(rec);
  EXPECT_NE(html.find("status-running\">running<"), std::string::npos);
  EXPECT_NE(html.find("<dd>1 of 4</dd>"), std::string::npos);
  EXPECT_NE(html.find("No final evaluation"), std::string::npos);
  EXPECT_NE(html.find("Metrics of the model after round 0"), std::string::npos);
  EXPECT_NE(html.find("<tr data-region=\"north\">"), std::string::npos);
  // The same page as from its report.json.
  EXPECT_EQ(html, RenderReportHtml(nlohmann::json::parse(rec.ToJson().dump())));
}

TEST(RenderRunDirectoryRecordTest, RefusesAReportJsonWithAMistypedField) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("fedseg-report-record-" + std::to_string(::getpid())))
                              .string();
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(MakeDirs(dir).ok());
  nlohmann::json j = testing::LoadReportFixture("report_plain.json");
  j["rounds"][1]["seconds"] = "fast";
  ASSERT_TRUE(WriteFileAtomic(dir + "/report.json", j.dump(2)).ok());
  Result<std::string> written = RenderRunDirectory(dir);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.status().message(),
            dir + "/report.json: rounds[1].seconds: expected a number or null, found string");
  EXPECT_FALSE(std::filesystem::exists(dir + "/report.html"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fedseg::coordinator
