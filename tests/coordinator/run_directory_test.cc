#include "coordinator/run_directory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/base/file_util.h"

namespace fedseg::coordinator {
namespace {

std::string FreshDir(const std::string& name) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("fedseg-rundir-" + name + "-" + std::to_string(::getpid())))
                              .string();
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(RunDirectoryTest, CreatesTheDirectoryLockAndLogAndNamesTheOutputs) {
  const std::string dir = FreshDir("create") + "/nested";
  auto run = RunDirectory::Open(dir);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_TRUE(std::filesystem::exists(dir + "/coordinator.lock"));
  (*run)->log()->info("hello from the test");
  EXPECT_TRUE(std::filesystem::exists(dir + "/coordinator.log"));
  EXPECT_EQ((*run)->checkpoint_path(), dir + "/checkpoint.fsc");
  EXPECT_EQ((*run)->report_json_path(), dir + "/report.json");
  EXPECT_EQ((*run)->report_html_path(), dir + "/report.html");
  EXPECT_EQ((*run)->metrics_csv_path(), dir + "/metrics.csv");
  EXPECT_EQ((*run)->final_model_path(), dir + "/final.fsm");
  run->reset();
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

TEST(RunDirectoryTest, ASecondCoordinatorIsRefusedUntilTheFirstReleases) {
  const std::string dir = FreshDir("lock");
  auto first = RunDirectory::Open(dir);
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto second = RunDirectory::Open(dir);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsFailedPrecondition());
  EXPECT_EQ(second.status().message(), "another coordinator is running in " + dir + " (" + dir +
                                           "/coordinator.lock is locked)");
  first->reset();
  auto third = RunDirectory::Open(dir);
  EXPECT_TRUE(third.ok()) << third.status().message();
  third->reset();
  std::filesystem::remove_all(dir);
}

TEST(RunDirectoryTest, RemovesOnlyStaleTemporaries) {
  const std::string dir = FreshDir("stale");
  ASSERT_TRUE(MakeDirs(dir).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/.checkpoint.fsc.tmp.ab12", "partial").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/.report.json.tmp.cd34", "partial").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/checkpoint.fsc", "complete").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/.hidden", "kept").ok());
  auto run = RunDirectory::Open(dir);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ((*run)->RemoveStaleTemporaries(), 2);
  EXPECT_FALSE(std::filesystem::exists(dir + "/.checkpoint.fsc.tmp.ab12"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/.report.json.tmp.cd34"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoint.fsc"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/.hidden"));
  EXPECT_EQ((*run)->RemoveStaleTemporaries(), 0);
  run->reset();
  std::filesystem::remove_all(dir);
}

TEST(RunDirectoryTest, AnUncreatableDirectoryIsAnError) {
  const std::string dir = FreshDir("file");
  ASSERT_TRUE(WriteFileAtomic(dir, "a file, not a directory").ok());
  auto run = RunDirectory::Open(dir + "/sub");
  EXPECT_FALSE(run.ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fedseg::coordinator
