// The single-node commands (train, evaluate, segment) on small generated tables: what they check
// before working, and what they report besides the model's figures.
#include "client/local_commands.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/ml/model_file.h"

namespace fedseg::client {
namespace {

namespace fs = std::filesystem;

class LocalCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fedseg-local-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `n` users: a unique id, a plan (basic/pro, "legacy" in the first `rare` rows), a numeric
  // usage, a weekend flag and the label; `plan_override` replaces the plan of the first 5 rows.
  std::string Table(const std::string& name, int n, int rare, bool with_weekend = true,
                    const std::string& plan_override = "") const {
    const std::string path = (dir_ / name).string();
    std::ofstream f(path);
    f << "customer,plan,usage" << (with_weekend ? ",weekend" : "") << ",churn\n";
    for (int i = 0; i < n; ++i) {
      std::string plan = i < rare ? "legacy" : (i % 2 ? "basic" : "pro");
      if (!plan_override.empty() && i < 5) plan = plan_override;
      f << "C" << 1000 + i << "," << plan << "," << (i % 7) * 1.5;
      if (with_weekend) f << "," << (i % 3 ? "true" : "false");
      f << "," << (i % 2 ? "yes" : "no") << "\n";
    }
    return path;
  }

  TrainArgs Train(const std::string& data, const std::string& out) const {
    TrainArgs a;
    a.table.data = data;
    a.table.label = "churn";
    a.out = out;
    a.train.epochs = 2;
    a.train.threads = 1;
    a.quiet = true;
    a.json = true;
    return a;
  }

  fs::path dir_;
};

TEST_F(LocalCommandsTest, TrainChecksTheOutputDirectoryBeforeTraining) {
  TrainArgs a = Train(Table("t.csv", 200, 0), (dir_ / "no-such-dir" / "m.fsm").string());
  a.quiet = false;
  a.json = false;
  ::testing::internal::CaptureStderr();
  const int rc = RunTrain(a);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 2);
  EXPECT_NE(err.find("error: --out " + a.out + ": directory '" + (dir_ / "no-such-dir").string() +
                     "' does not exist; create it first"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("epoch"), std::string::npos) << "trained before failing:\n" << err;
  EXPECT_EQ(err.find("training"), std::string::npos) << err;

  a.out = dir_.string();  // a directory is not a file name
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunTrain(a), 2);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("is not a file name"), std::string::npos);
}

TEST_F(LocalCommandsTest, IdentifierAndRareCategoriesNeverEnterTheModel) {
  const std::string model = (dir_ / "m.fsm").string();
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  ASSERT_EQ(RunTrain(Train(Table("t.csv", 200, 4), model)), 0);
  const nlohmann::json out = nlohmann::json::parse(::testing::internal::GetCapturedStdout());
  const std::string err = ::testing::internal::GetCapturedStderr();
  // 160 training rows, 16 of them held out to choose the decision threshold.
  EXPECT_NE(err.find("warning: column 'customer' looks like an identifier (144 distinct values in "
                     "144 rows)"),
            std::string::npos)
      << err;
  ASSERT_EQ(out["warnings"].size(), 1u);
  EXPECT_EQ(out["rare_categories_dropped"], 1);  // legacy: 3 or 4 training rows < 10
  // usage, weekend, plan=basic, plan=pro: no customer id, no rare plan.
  EXPECT_EQ(out["architecture"], "4-64-32-2");
  std::ifstream f(model, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find("C1000"), std::string::npos);
  EXPECT_EQ(bytes.find("legacy"), std::string::npos);
}

TEST_F(LocalCommandsTest, UnseenCategoriesAreCountedAndAMissingColumnIsNamed) {
  const std::string model = (dir_ / "m.fsm").string();
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunTrain(Train(Table("t.csv", 200, 0), model)), 0);
  ::testing::internal::GetCapturedStdout();

  // 5 rows with a plan the model never saw (the customer column is not asked for).
  EvaluateArgs e;
  e.model = model;
  e.table.data = Table("new.csv", 60, 0, true, "enterprise");
  e.json = true;
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunEvaluate(e), 0);
  nlohmann::json rep = nlohmann::json::parse(::testing::internal::GetCapturedStdout());
  EXPECT_EQ(rep["unseen_categories"]["total"], 5);
  EXPECT_EQ(rep["unseen_categories"]["by_column"]["plan"], 5);
  e.json = false;
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunEvaluate(e), 0);
  EXPECT_NE(::testing::internal::GetCapturedStdout().find(
                "5 values of categories the model does not know, encoded as 'other': plan 5"),
            std::string::npos);

  SegmentArgs s;
  s.model = model;
  s.table.data = e.table.data;
  s.table.id_column = "customer";  // the identifier the model ignores can be the id column here
  s.out = (dir_ / "segments.csv").string();
  s.json = true;
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunSegment(s), 0);
  rep = nlohmann::json::parse(::testing::internal::GetCapturedStdout());
  EXPECT_EQ(rep["unseen_categories"]["total"], 5);

  // A table without a column the model uses: the message says the model needs it.
  s.table.data = Table("no-weekend.csv", 60, 0, /*with_weekend=*/false);
  s.json = false;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunSegment(s), 2);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("the model needs column(s) 'weekend', which the file lacks"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("given as types"), std::string::npos) << err;
}

// segment's CSV: per row the segment and p(yes) (columns row, segment, p_no, p_yes).
struct SegmentRow {
  std::string segment;
  double p_yes;
};
std::vector<SegmentRow> ReadSegments(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  EXPECT_EQ(line, "row,segment,p_no,p_yes");
  std::vector<SegmentRow> rows;
  while (std::getline(f, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    EXPECT_EQ(cells.size(), 4u) << line;
    if (cells.size() == 4) rows.push_back({cells[1], std::stod(cells[3])});
  }
  return rows;
}

// A threshold halfway between the q-quantile of `rows`' p(yes) and the next larger value, so
// that no row sits on it (the CSV rounds to 6 decimals).
double ThresholdBetween(const std::vector<SegmentRow>& rows, double q) {
  std::vector<double> p;
  for (const SegmentRow& r : rows) p.push_back(r.p_yes);
  std::sort(p.begin(), p.end());
  p.erase(std::unique(p.begin(), p.end()), p.end());
  const size_t i = std::min(p.size() - 2, static_cast<size_t>(q * static_cast<double>(p.size())));
  return (p[i] + p[i + 1]) / 2;
}

TEST_F(LocalCommandsTest, SegmentAndEvaluateFollowTheModelRuleOrThreshold) {
  const std::string model = (dir_ / "m.fsm").string();
  const std::string data = Table("t.csv", 200, 0);
  TrainArgs t = Train(data, model);
  t.train.epochs = 5;
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunTrain(t), 0);
  const nlohmann::json trained = nlohmann::json::parse(::testing::internal::GetCapturedStdout());
  // 160 training rows: 10% (16) are held out to choose the rule, never the 40 test rows.
  EXPECT_EQ(trained["validation_rows"], 16);
  EXPECT_EQ(trained["train_rows"], 144);
  EXPECT_EQ(trained["test_rows"], 40);
  EXPECT_EQ(trained["decision"]["rows"], 16);
  EXPECT_EQ(trained["decision"]["goal"]["objective"], "max_f1");
  ASSERT_TRUE(trained.contains("test_at_rule"));
  auto file = ml::LoadModelFile(model);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->decision.is_threshold(), trained["decision"]["rule"]["kind"] == "threshold");

  SegmentArgs s;
  s.model = model;
  s.table.data = data;
  s.out = (dir_ / "segments.csv").string();
  s.json = true;
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunSegment(s), 0);
  ::testing::internal::GetCapturedStdout();
  const std::vector<SegmentRow> first = ReadSegments(s.out);
  ASSERT_EQ(first.size(), 200u);

  // The model's rule: set a known threshold in the file; segment decides p(yes) >= it.
  const double rule_t = ThresholdBetween(first, 0.6);
  file->decision = ml::DecisionRule{ml::DecisionObjective::kMaxF1, 1, rule_t, 0};
  ASSERT_TRUE(ml::SaveModelFile(model, *file).ok());
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunSegment(s), 0);
  nlohmann::json out = nlohmann::json::parse(::testing::internal::GetCapturedStdout());
  EXPECT_EQ(out["decision_rule"]["source"], "model");
  EXPECT_EQ(out["decision_rule"]["threshold"], rule_t);
  EXPECT_EQ(out["decision_rule"]["positive_class"], "yes");
  std::vector<SegmentRow> rows = ReadSegments(s.out);
  ASSERT_EQ(rows.size(), 200u);
  uint64_t yes = 0;
  for (const SegmentRow& r : rows) {
    EXPECT_EQ(r.segment, r.p_yes >= rule_t ? "yes" : "no") << r.p_yes << " vs " << rule_t;
    yes += r.segment == "yes";
  }
  EXPECT_EQ(out["segment_sizes"]["yes"], yes);
  EXPECT_GT(yes, 0u);
  EXPECT_LT(yes, 200u);

  // --threshold overrides it.
  const double cli_t = ThresholdBetween(first, 0.25);
  s.decision.given = true;
  s.decision.threshold = cli_t;
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunSegment(s), 0);
  out = nlohmann::json::parse(::testing::internal::GetCapturedStdout());
  EXPECT_EQ(out["decision_rule"]["source"], "--threshold");
  EXPECT_EQ(out["decision_rule"]["objective"], "operator");
  EXPECT_EQ(out["decision_rule"]["threshold"], cli_t);
  rows = ReadSegments(s.out);
  for (const SegmentRow& r : rows) EXPECT_EQ(r.segment, r.p_yes >= cli_t ? "yes" : "no");
  // On the other class: p(no) >= T.
  s.decision.positive_class = "no";
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunSegment(s), 0);
  ::testing::internal::GetCapturedStdout();
  rows = ReadSegments(s.out);
  for (const SegmentRow& r : rows) {
    EXPECT_EQ(r.segment, 1 - r.p_yes >= cli_t ? "no" : "yes") << r.p_yes;
  }

  // Evaluate: the rule's report counts the rule's decisions; the top level stays arg-max.
  EvaluateArgs e;
  e.model = model;
  e.table.data = data;
  e.json = true;
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunEvaluate(e), 0);
  const nlohmann::json ev = nlohmann::json::parse(::testing::internal::GetCapturedStdout());
  uint64_t tp = 0, fp = 0, fn = 0, tn = 0, argmax_yes = 0;
  for (size_t i = 0; i < first.size(); ++i) {
    const bool truth = i % 2 == 1;  // Table(): churn is "yes" on odd rows
    const bool flagged = first[i].p_yes >= rule_t;
    (truth ? (flagged ? tp : fn) : (flagged ? fp : tn)) += 1;
    argmax_yes += first[i].p_yes > 0.5;
  }
  EXPECT_EQ(ev["decision_rule"]["source"], "model");
  EXPECT_EQ(ev["at_rule"]["confusion"], nlohmann::json({{tn, fp}, {fn, tp}}));
  const nlohmann::json& cm = ev["confusion"];
  EXPECT_EQ(cm[0][1].get<uint64_t>() + cm[1][1].get<uint64_t>(), argmax_yes);
  EXPECT_EQ(ev["at_rule"]["roc_auc"], ev["roc_auc"]);
  e.json = false;
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunEvaluate(e), 0);
  const std::string text = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(text.find("At the decision rule p(yes) >= "), std::string::npos) << text;
  EXPECT_NE(text.find("At arg-max (the most probable class):"), std::string::npos) << text;
}

TEST_F(LocalCommandsTest, ThresholdIsRefusedOutOfRangeAndForMoreThanTwoClasses) {
  const std::string model = (dir_ / "m.fsm").string();
  const std::string data = Table("t.csv", 200, 0);
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunTrain(Train(data, model)), 0);
  ::testing::internal::GetCapturedStdout();
  SegmentArgs s;
  s.model = model;
  s.table.data = data;
  s.out = (dir_ / "segments.csv").string();
  s.decision.given = true;
  for (double bad : {0.0, 1.0, 1.5, -0.2}) {
    s.decision.threshold = bad;
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(RunSegment(s), 2) << bad;
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("--threshold must be strictly between 0 and 1, got "), std::string::npos)
        << err;
  }
  s.decision.threshold = 0.4;
  s.decision.positive_class = "maybe";
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunSegment(s), 2);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find(
                "--positive-class 'maybe' is not a class of the model (no, yes)"),
            std::string::npos);

  // Three classes (plan: basic, legacy, pro): arg-max only, and the rule says so.
  TrainArgs t = Train(Table("plans.csv", 300, 40), model);
  t.table.label = "plan";
  t.min_category_count = 1;
  t.train.early_stopping_patience = 0;  // on by default, it would hold out validation rows itself
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  ASSERT_EQ(RunTrain(t), 0);
  const nlohmann::json trained = nlohmann::json::parse(::testing::internal::GetCapturedStdout());
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(trained["decision"]["rule"]["kind"], "argmax");
  EXPECT_EQ(trained["validation_rows"], 0);  // nothing to choose: no rows held out
  s.table.data = Table("plans2.csv", 50, 10);
  s.decision.positive_class = "";
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunSegment(s), 2);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--threshold: the model has 3 classes (basic, legacy, pro); a threshold "
                     "needs exactly two, so this model decides by arg-max"),
            std::string::npos)
      << err;
}

TEST_F(LocalCommandsTest, ANumericLabelWithManyValuesWarnsAndTooManyClassesAreRefused) {
  const std::string path = (dir_ / "score.csv").string();
  {
    std::ofstream f(path);
    f << "age,score\n";
    for (int i = 0; i < 300; ++i) f << 20 + i % 50 << "," << 1 + i % 84 << "\n";
  }
  TrainArgs a = Train(path, (dir_ / "m.fsm").string());
  a.table.label = "score";
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunTrain(a), 0);
  ::testing::internal::GetCapturedStdout();
  EXPECT_NE(::testing::internal::GetCapturedStderr().find(
                "warning: label 'score' has 84 distinct numeric values: the model becomes a "
                "classifier with 84 classes; bin it"),
            std::string::npos);

  {
    std::ofstream f(path);
    f << "age,score\n";
    for (int i = 0; i < 600; ++i) f << 20 + i % 50 << "," << i % 150 << "\n";
  }
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunTrain(a), 2);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find(
                "label 'score' has 150 classes, more than the 100"),
            std::string::npos);
}

// `train --epochs 0` (the default): about 10,000 optimizer steps, 20 to 500 epochs.
TEST(AutoEpochsTest, TheBudgetGrowsForSmallTablesWithinItsBounds) {
  EXPECT_EQ(AutoEpochs(8878, 64), 72);     // the bundled table's training rows: 139 steps/epoch
  EXPECT_EQ(AutoEpochs(3255, 64), 197);    // a few thousand rows: 51 steps/epoch
  EXPECT_EQ(AutoEpochs(100, 64), 500);     // capped
  EXPECT_EQ(AutoEpochs(1000000, 64), 20);  // at least 20
  EXPECT_EQ(AutoEpochs(0, 64), 500);
  EXPECT_EQ(DefaultLocalTrainConfig().epochs, 0);
  EXPECT_EQ(DefaultLocalTrainConfig().early_stopping_patience, 10);
}

}  // namespace
}  // namespace fedseg::client
