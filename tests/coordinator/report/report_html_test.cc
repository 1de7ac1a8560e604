#include "coordinator/report/report_html.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "common/base/file_util.h"
#include "tests/coordinator/report/report_fixture.h"

namespace fedseg::coordinator {
namespace {

using fedseg::testing::AttributeNear;
using fedseg::testing::CountOccurrences;
using fedseg::testing::LoadReportFixture;
using fedseg::testing::PlotByLabel;
using Json = nlohmann::json;

constexpr int kRegions = 9;

class ReportHtmlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dp_ = LoadReportFixture("report_dp.json");
    plain_ = LoadReportFixture("report_plain.json");
    ASSERT_TRUE(dp_.is_object()) << "tests/coordinator/report/testdata/report_dp.json missing or invalid";
    ASSERT_TRUE(plain_.is_object()) << "tests/coordinator/report/testdata/report_plain.json missing";
  }
  Json dp_, plain_;
};

// Renames a region everywhere report.json mentions it.
void RenameRegion(Json& report, const std::string& from, const std::string& to) {
  auto rename_key = [&](Json& obj) {
    if (obj.is_object() && obj.contains(from)) {
      obj[to] = obj[from];
      obj.erase(from);
    }
  };
  rename_key(report["regions"]);
  for (Json& r : report["rounds"]) {
    if (r.contains("regions")) rename_key(r["regions"]);
    if (r.contains("participants")) {
      for (Json& p : r["participants"]) {
        if (p == from) p = to;
      }
    }
  }
  rename_key(report["final"]["regions"]);
  for (Json& n : report["config"]["regions"]) {
    if (n == from) n = to;
  }
}

TEST_F(ReportHtmlTest, RealDpRunHasEveryPlot) {
  const std::string html = RenderReportHtml(dp_);
  // Loss, ROC AUC/F1, per-region AUC, and one epsilon chart per region.
  EXPECT_EQ(CountOccurrences(html, "<svg class=\"plot\""), 3u + kRegions);
  EXPECT_NE(html.find("<body data-plots-expected=\"12\">"), std::string::npos);
  EXPECT_EQ(html.find("Not in this report.json"), std::string::npos);

  // Rounds 0..5: the initial model and the model after each of 5 rounds.
  const std::string loss = PlotByLabel(html, "Global loss per round");
  ASSERT_FALSE(loss.empty());
  EXPECT_EQ(AttributeNear(loss, "data-name=\"test loss (federated evaluation)\"", "data-points"),
            "6");
  // DP regions send no training loss (they report 0): it must not be drawn.
  EXPECT_EQ(loss.find("training loss"), std::string::npos);
  EXPECT_EQ(CountOccurrences(loss, "<g class=\"series\""), 1u);

  const std::string quality = PlotByLabel(html, "Global ROC AUC and F1 per round");
  ASSERT_FALSE(quality.empty());
  EXPECT_EQ(AttributeNear(quality, "data-name=\"ROC AUC\"", "data-points"), "6");
  EXPECT_EQ(AttributeNear(quality, "data-name=\"F1 (positive class)\"", "data-points"), "6");
  EXPECT_EQ(AttributeNear(quality, "data-name=\"macro F1\"", "data-points"), "6");
  // The final ROC AUC of this run (0.8320) is the last point; its tooltip shows it.
  EXPECT_NE(quality.find("ROC AUC: 0.83"), std::string::npos);

  const std::string per_region = PlotByLabel(html, "ROC AUC per region and round");
  ASSERT_FALSE(per_region.empty());
  EXPECT_EQ(CountOccurrences(per_region, "<g class=\"series\""), static_cast<size_t>(kRegions));
  EXPECT_EQ(AttributeNear(per_region, "data-name=\"Region-7\"", "data-points"), "6");

  // Each region: epsilon after rounds 1..5 and its budget line (2 points, dashed).
  for (int r = 1; r <= kRegions; ++r) {
    const std::string name = "Region-" + std::to_string(r);
    const std::string eps = PlotByLabel(html, "\u03b5 of " + name);
    ASSERT_FALSE(eps.empty()) << name;
    EXPECT_EQ(AttributeNear(eps, "data-name=\"\u03b5 spent\"", "data-points"), "5") << name;
    EXPECT_EQ(AttributeNear(eps, "data-name=\"budget 3.00\"", "data-points"), "2") << name;
    EXPECT_NE(eps.find("stroke-dasharray"), std::string::npos) << name;
    EXPECT_EQ(eps.find("class=\"marks\""), std::string::npos) << name << ": nothing declined";
  }
}

TEST_F(ReportHtmlTest, HeaderSaysStatusRoundsRegionsAndDuration) {
  const std::string html = RenderReportHtml(dp_);
  EXPECT_NE(html.find(dp_["run_id"].get<std::string>()), std::string::npos);
  EXPECT_NE(html.find("status-complete\">completed<"), std::string::npos)
      << "report.json's old \"finished\" with a final evaluation is the status word completed";
  EXPECT_NE(html.find("<dd>5 of 5</dd>"), std::string::npos);
  EXPECT_NE(html.find("<dd>9 (9 evaluated the final model)</dd>"), std::string::npos);
  EXPECT_NE(html.find("Time in rounds"), std::string::npos);
  EXPECT_NE(html.find("MLP 75-64-32-2 (7,010 parameters)"), std::string::npos);
  EXPECT_NE(html.find("DP-SGD, \u03b5 budget up to 3.00 per region"), std::string::npos);
}

TEST_F(ReportHtmlTest, ConfusionMatrixHasTheFinalCountsAndClassNames) {
  const std::string html = RenderReportHtml(dp_);
  const Json& cm = dp_["final"]["report"]["confusion"];
  const size_t start = html.find("<table class=\"confusion\" data-classes=\"2\">");
  ASSERT_NE(start, std::string::npos);
  const std::string table = html.substr(start, html.find("</table>", start) - start);
  size_t pos = 0;
  for (size_t t = 0; t < 2; ++t) {
    for (size_t p = 0; p < 2; ++p) {
      const std::string cell = "data-count=\"" + std::to_string(cm[t][p].get<uint64_t>()) + "\"";
      pos = table.find(cell, pos);
      ASSERT_NE(pos, std::string::npos) << "cell " << t << "," << p;
      pos += cell.size();
    }
  }
  EXPECT_NE(table.find("<th>FALSE</th>"), std::string::npos);
  EXPECT_NE(table.find("<th>TRUE</th>"), std::string::npos);
  EXPECT_EQ(CountOccurrences(table, "class=\"cell diagonal\""), 2u);
  EXPECT_NE(table.find("2,466 test rows"), std::string::npos);
}

TEST_F(ReportHtmlTest, PerRegionTableHasEveryRegion) {
  const std::string html = RenderReportHtml(dp_);
  for (int r = 1; r <= kRegions; ++r) {
    EXPECT_EQ(CountOccurrences(html, "<tr data-region=\"Region-" + std::to_string(r) + "\">"), 2u)
        << "a row in the metrics table and in the privacy table";
  }
  EXPECT_NE(html.find("Metrics of the final model"), std::string::npos);
  EXPECT_NE(html.find("<td>3,824</td>"), std::string::npos);  // Region-1's training rows
}

TEST_F(ReportHtmlTest, RunWithoutDpShowsTrainingLossAndNoEpsilonCharts) {
  const std::string html = RenderReportHtml(plain_);
  EXPECT_EQ(CountOccurrences(html, "<svg class=\"plot\""), 3u);
  EXPECT_NE(html.find("No region trained with differential privacy"), std::string::npos);
  const std::string loss = PlotByLabel(html, "Global loss per round");
  EXPECT_EQ(AttributeNear(loss, "data-name=\"test loss (federated evaluation)\"", "data-points"),
            "4");
  EXPECT_EQ(AttributeNear(loss, "data-name=\"training loss (mean over updates)\"", "data-points"),
            "3");
  EXPECT_NE(html.find("<dd>off</dd>"), std::string::npos);
}

TEST_F(ReportHtmlTest, RefusedUpdatesHaveASectionOnlyWhenThereAreAny) {
  EXPECT_EQ(RenderReportHtml(plain_).find("id=\"refused-updates\""), std::string::npos);
  Json report = plain_;
  report["regions"]["Region-3"]["updates_refused"] = 2;
  report["regions"]["Region-3"]["last_refused_round"] = 3;
  report["regions"]["Region-3"]["last_refusal"] = "norm 5e+03 is <more> than 10 x the median";
  report["rounds"][1]["refused"] = {"Region-3"};
  report["rounds"][3]["refused"] = {"Region-3"};
  const std::string html = RenderReportHtml(report);
  ASSERT_NE(html.find("<section id=\"refused-updates\">"), std::string::npos);
  EXPECT_NE(html.find("<tr data-region=\"Region-3\"><td class=\"text\">Region-3</td><td>2</td>"
                      "<td>1, 3</td><td class=\"text\">round 3: norm 5e+03 is &lt;more&gt; than "
                      "10 x the median</td></tr>"),
            std::string::npos);
  // One row in the metrics table and one here.
  EXPECT_EQ(CountOccurrences(html, "<tr data-region=\"Region-3\">"), 2u);
  EXPECT_EQ(CountOccurrences(html, "<tr data-region=\"Region-2\">"), 1u);
}

TEST_F(ReportHtmlTest, DecisionRuleIsShownOnlyWhenRecorded) {
  EXPECT_EQ(RenderReportHtml(plain_).find("Decision rule of final.fsm"), std::string::npos);
  Json report = plain_;
  report["decision"] = {{"goal", "max_f1"},     {"target", 0},  {"kind", "threshold"},
                        {"positive_class", "<T>"}, {"threshold", 0.3125}, {"note", ""},
                        {"rows", 2466}};
  const std::string html = RenderReportHtml(report);
  EXPECT_NE(html.find("<h3>Decision rule of final.fsm</h3>"), std::string::npos);
  EXPECT_NE(html.find("&quot;threshold&quot;: 0.3125"), std::string::npos) << html;
  EXPECT_NE(html.find("&lt;T&gt;"), std::string::npos);
  EXPECT_EQ(html.find("\"<T>\""), std::string::npos);
}

TEST_F(ReportHtmlTest, HostileNamesAreEscapedEverywhere) {
  Json report = dp_;
  const std::string evil_region = "<script>alert('region')</script>";
  const std::string evil_class = "<img src=x onerror=alert(1)>";
  RenameRegion(report, "Region-1", evil_region);
  report["final"]["report"]["per_class"][1]["name"] = evil_class;
  report["final"]["report"]["positive_class"] = evil_class;
  report["model"]["classes"][1] = evil_class;
  report["run_id"] = "\"><svg onload=alert(2)>";
  report["regions"][evil_region]["decline_reason"] = "</td><script>alert(3)</script>";
  report["refused_connections"] = {{"<b>bad cert</b>", 2}};
  const std::string html = RenderReportHtml(report);

  EXPECT_EQ(CountOccurrences(html, "<script"), 1u) << "only the page's own self-check";
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<svg onload"), std::string::npos);
  EXPECT_EQ(html.find("<b>bad"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;region&#39;)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("&quot;&gt;&lt;svg onload=alert(2)&gt;"), std::string::npos);
  // Still every plot: the hostile region keeps its series, under its escaped name.
  EXPECT_EQ(CountOccurrences(html, "<svg class=\"plot\""), 3u + kRegions);
  EXPECT_NE(html.find("data-name=\"&lt;script&gt;alert(&#39;region&#39;)&lt;/script&gt;\""),
            std::string::npos);
}

TEST_F(ReportHtmlTest, OneRoundRun) {
  Json report = dp_;
  Json rounds = Json::array({report["rounds"][0], report["rounds"][1]});
  report["rounds"] = rounds;
  report["completed_round"] = 1;
  report["config"]["training"]["rounds"] = 1;
  report["final"] = rounds[1];
  report["final"]["report"] = dp_["final"]["report"];
  for (auto& [name, r] : report["regions"].items()) {
    r["epsilon_by_round"] = {{"1", r["epsilon_by_round"]["1"]}};
  }
  const std::string html = RenderReportHtml(report);
  EXPECT_EQ(CountOccurrences(html, "<svg class=\"plot\""), 3u + kRegions);
  EXPECT_NE(html.find("<dd>1 of 1</dd>"), std::string::npos);
  const std::string eps = PlotByLabel(html, "\u03b5 of Region-3");
  EXPECT_EQ(AttributeNear(eps, "data-name=\"\u03b5 spent\"", "data-points"), "1");
  EXPECT_NE(eps.find("<circle"), std::string::npos) << "a single point is still drawn";
}

TEST_F(ReportHtmlTest, TooManyRegionsForOneChartFallBackToTheTable) {
  Json report = plain_;
  for (int i = 10; i <= 20; ++i) {
    const std::string name = "Region-" + std::to_string(i);
    report["regions"][name] = report["regions"]["Region-1"];
    for (Json& r : report["rounds"]) {
      if (r.contains("regions")) r["regions"][name] = r["regions"]["Region-1"];
    }
    report["final"]["regions"][name] = report["final"]["regions"]["Region-1"];
  }
  const std::string html = RenderReportHtml(report);
  EXPECT_TRUE(PlotByLabel(html, "ROC AUC per region and round").empty());
  EXPECT_NE(html.find("this run has 20"), std::string::npos);
  EXPECT_NE(html.find("<tr data-region=\"Region-20\">"), std::string::npos);
}

TEST_F(ReportHtmlTest, DeclinedRoundsAreMarkedOnTheBudgetLine) {
  Json report = dp_;
  Json& r3 = report["regions"]["Region-3"];
  r3["declined_rounds"] = {4, 5};
  r3["decline_reason"] = "privacy budget exhausted";
  r3["epsilon_by_round"].erase("4");
  r3["epsilon_by_round"].erase("5");
  const std::string html = RenderReportHtml(report);
  const std::string eps = PlotByLabel(html, "\u03b5 of Region-3");
  ASSERT_FALSE(eps.empty());
  EXPECT_EQ(AttributeNear(eps, "data-name=\"\u03b5 spent\"", "data-points"), "3");
  EXPECT_EQ(AttributeNear(eps, "class=\"marks\"", "data-points"), "2");
  EXPECT_NE(eps.find("declined round"), std::string::npos);
  EXPECT_NE(html.find("<td>4, 5</td><td class=\"text\">privacy budget exhausted</td>"),
            std::string::npos);
}

TEST_F(ReportHtmlTest, StoppedAndRunningRunsSayWhatIsMissing) {
  Json stopped = dp_;
  stopped.erase("final");
  std::string html = RenderReportHtml(stopped);
  EXPECT_NE(html.find("status-stopped\">stopped<"), std::string::npos);
  EXPECT_NE(html.find("No final evaluation"), std::string::npos);
  EXPECT_NE(html.find("Metrics of the model after round 5"), std::string::npos)
      << "falls back to the latest round with per-region metrics";

  Json running = stopped;
  running["status"] = "running";
  html = RenderReportHtml(running);
  EXPECT_NE(html.find("status-running\">running<"), std::string::npos);
  EXPECT_NE(html.find("in progress"), std::string::npos);

  Json failed = stopped;
  failed["status"] = "failed";
  EXPECT_NE(RenderReportHtml(failed).find("status-failed\">failed<"), std::string::npos);
}

// The status words of run_status.h are shown as written, with their detail.
TEST_F(ReportHtmlTest, EachStatusWordIsShownWithItsDetail) {
  Json completed = dp_;
  completed["status"] = "completed";
  std::string html = RenderReportHtml(completed);
  EXPECT_NE(html.find("status-complete\">completed<"), std::string::npos);
  EXPECT_EQ(html.find("Do not deploy"), std::string::npos);

  Json stopped = dp_;
  stopped.erase("final");
  stopped["status"] = "stopped";
  stopped["status_detail"] = "signal 15";
  html = RenderReportHtml(stopped);
  EXPECT_NE(html.find("status-stopped\">stopped<"), std::string::npos);
  EXPECT_NE(html.find("stopped before its final evaluation (signal 15); <code>--resume</code>"),
            std::string::npos);

  Json degraded = dp_;
  degraded["status"] = "degraded";
  degraded["status_detail"] = "the final model is worse than the initial model: log loss 2.5";
  html = RenderReportHtml(degraded);
  EXPECT_NE(html.find("status-failed\">degraded<"), std::string::npos);
  EXPECT_NE(html.find("Do not deploy this model: the final model is worse than the initial "
                      "model: log loss 2.5.</p>"),
            std::string::npos);

  Json failed = dp_;
  failed["status"] = "failed";
  failed["status_detail"] = "checkpoint failed: disk <full>";
  html = RenderReportHtml(failed);
  EXPECT_NE(html.find("The run failed: checkpoint failed: disk &lt;full&gt;.</p>"),
            std::string::npos);
}

TEST_F(ReportHtmlTest, MissingAndMistypedFieldsRenderAPage) {
  for (const Json& doc : {Json::object(), Json::array(), Json(nullptr), Json("report"), Json(3)}) {
    const std::string html = RenderReportHtml(doc);
    EXPECT_NE(html.find("</html>"), std::string::npos) << doc.dump();
    EXPECT_NE(html.find("Not in this report.json"), std::string::npos) << doc.dump();
    EXPECT_NE(html.find("data-plots-expected=\"0\""), std::string::npos) << doc.dump();
  }
  Json bad = dp_;
  bad["rounds"] = "many";
  bad["regions"] = 5;
  bad["config"] = Json::array({1, 2});
  bad["model"] = "mlp";
  bad["final"]["report"]["confusion"] = Json::array({Json::array({1, 2}), Json::array({3})});
  bad["final"]["report"]["per_class"] = Json::object();
  bad["completed_round"] = "five";
  // Not a run record: the page names the first field refused, and shows nothing of the rest.
  const std::string html = RenderReportHtml(bad);
  EXPECT_NE(html.find("report.json: completed_round: expected a non-negative integer, found "
                      "string"),
            std::string::npos);
  EXPECT_NE(html.find("No per-round metrics"), std::string::npos);
  EXPECT_NE(html.find("No configuration"), std::string::npos);
  EXPECT_EQ(CountOccurrences(html, "<svg class=\"plot\""), 0u);

  // The final model's full report is kept as written: a ragged matrix or a per_class object is
  // said on the page.
  Json ragged = dp_;
  ragged["final"]["report"]["confusion"] = Json::array({Json::array({1, 2}), Json::array({3})});
  ragged["final"]["report"]["per_class"] = Json::object();
  const std::string ragged_html = RenderReportHtml(ragged);
  EXPECT_NE(ragged_html.find("No confusion matrix"), std::string::npos);
  EXPECT_EQ(CountOccurrences(ragged_html, "<svg class=\"plot\""), 3u + kRegions);

  Json nulls = dp_;
  for (Json& r : nulls["rounds"]) {
    if (r.contains("global")) r["global"]["roc_auc"] = nullptr;
  }
  const std::string partial = RenderReportHtml(nulls);
  const std::string quality = PlotByLabel(partial, "Global ROC AUC and F1 per round");
  EXPECT_EQ(quality.find("data-name=\"ROC AUC\""), std::string::npos);
  EXPECT_NE(quality.find("data-name=\"macro F1\""), std::string::npos);
}

// Random deletions and type changes anywhere in a real report: the renderer never throws and
// always produces a whole page.
TEST_F(ReportHtmlTest, SurvivesRandomlyDamagedReports) {
  std::mt19937 rng(7);
  const std::vector<Json> replacements = {nullptr,        "x", -1, 1e308, Json::array(),
                                          Json::object(), true};
  for (int iter = 0; iter < 200; ++iter) {
    Json doc = dp_;
    const Json flat = doc.flatten();
    std::vector<std::string> paths;
    for (auto it = flat.begin(); it != flat.end(); ++it) paths.push_back(it.key());
    for (int k = 0; k < 8; ++k) {
      std::string path = paths[rng() % paths.size()];
      // Sometimes damage a parent instead of a leaf.
      if (rng() % 3 == 0 && path.rfind('/') > 0) path = path.substr(0, path.rfind('/'));
      Json::json_pointer ptr(path);
      Json* parent = nullptr;
      if (doc.contains(ptr)) parent = &doc.at(ptr);
      if (parent != nullptr) *parent = replacements[rng() % replacements.size()];
    }
    std::string html;
    ASSERT_NO_THROW(html = RenderReportHtml(doc)) << doc.dump();
    ASSERT_NE(html.find("</html>"), std::string::npos);
    EXPECT_EQ(html.find("could not be rendered"), std::string::npos) << doc.dump();
  }
}

TEST_F(ReportHtmlTest, PageLoadsNothingFromElsewhere) {
  const std::string html = RenderReportHtml(dp_);
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
  EXPECT_NE(html.find("script-src 'sha256-"), std::string::npos);
  for (const char* needle : {"http://", "https://", "<link", "@import", "url(", "src=\""}) {
    // The SVG namespace URI is an identifier, not a load.
    std::string rest = html;
    size_t at = 0;
    while ((at = rest.find("http://www.w3.org/2000/svg")) != std::string::npos) {
      rest.erase(at, 26);
    }
    EXPECT_EQ(rest.find(needle), std::string::npos) << needle;
  }
}

TEST(RenderRunDirectoryTest, WritesReportHtmlNextToReportJson) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("fedseg-report-" + std::to_string(::getpid())))
          .string();
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(MakeDirs(dir).ok());
  Json report = LoadReportFixture("report_plain.json");
  ASSERT_TRUE(WriteFileAtomic(dir + "/report.json", report.dump(2)).ok());
  auto written = RenderRunDirectory(dir);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(*written, dir + "/report.html");
  auto html = ReadFile(*written);
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(*html, RenderReportHtml(report));

  auto other = RenderRunDirectory(dir, dir + "/copy.html");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(std::filesystem::exists(dir + "/copy.html"));

  ASSERT_TRUE(WriteFileAtomic(dir + "/report.json", "{ not json").ok());
  auto bad = RenderRunDirectory(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsCorruption()) << bad.status().ToString();

  auto missing = RenderRunDirectory(dir + "/nope");
  EXPECT_FALSE(missing.ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fedseg::coordinator
