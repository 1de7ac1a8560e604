// The single-node commands (train, evaluate, segment) on small generated tables: what they check
// before working, and what they report besides the model's figures.
#include "client/local_commands.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

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
  EXPECT_NE(err.find("warning: column 'customer' looks like an identifier (160 distinct values in "
                     "160 rows)"),
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

}  // namespace
}  // namespace fedseg::client
