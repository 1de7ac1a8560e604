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
  auto run = RunDirectory::Open(dir, EarlierRun::kResume);
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

std::string Contents(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? *text : "(unreadable: " + text.status().message() + ")";
}

// An earlier run's outputs: the directory a completed run leaves (with its log).
void WriteEarlierRun(const std::string& dir, bool with_checkpoint) {
  ASSERT_TRUE(MakeDirs(dir).ok());
  if (with_checkpoint) {
    ASSERT_TRUE(WriteFileAtomic(dir + "/checkpoint.fsc", "ckpt").ok());
  }
  ASSERT_TRUE(WriteFileAtomic(dir + "/report.json", "{\"run_id\": \"old\"}").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/metrics.csv", "round,scope\n1,global\n").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/coordinator.log", "old log\n").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/coordinator.json", "a config, not an output").ok());
}

TEST(RunDirectoryTest, AnEarlierRunIsRefusedNamingResumeAndFresh) {
  const std::string dir = FreshDir("refuse");
  WriteEarlierRun(dir, /*with_checkpoint=*/true);
  auto run = RunDirectory::Open(dir);
  ASSERT_FALSE(run.ok());
  EXPECT_TRUE(run.status().IsFailedPrecondition());
  EXPECT_EQ(run.status().message(),
            dir + " holds an earlier run (checkpoint.fsc, report.json, metrics.csv): continue it "
                  "with --resume, or start a new run with --fresh (moves those files to " +
                dir + "/previous/)");
  // Nothing was touched: not the outputs, not the log.
  EXPECT_EQ(Contents(dir + "/metrics.csv"), "round,scope\n1,global\n");
  EXPECT_EQ(Contents(dir + "/coordinator.log"), "old log\n");
  std::filesystem::remove_all(dir);
}

TEST(RunDirectoryTest, AnEarlierRunWithoutACheckpointIsRefusedToo) {
  const std::string dir = FreshDir("refuse-nockpt");
  WriteEarlierRun(dir, /*with_checkpoint=*/false);
  auto run = RunDirectory::Open(dir, EarlierRun::kRefuse);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("(report.json, metrics.csv): continue it with --resume "
                                        "(it has no checkpoint: it would start again), or start "
                                        "a new run with --fresh"),
            std::string::npos)
      << run.status().message();
  std::filesystem::remove_all(dir);
}

TEST(RunDirectoryTest, ResumeKeepsAnEarlierRunThatHasACheckpoint) {
  const std::string dir = FreshDir("resume");
  WriteEarlierRun(dir, /*with_checkpoint=*/true);
  auto run = RunDirectory::Open(dir, EarlierRun::kResume);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ((*run)->moved_earlier_run_to(), "");
  EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoint.fsc"));
  EXPECT_EQ(Contents(dir + "/metrics.csv"), "round,scope\n1,global\n");
  run->reset();
  std::filesystem::remove_all(dir);
}

TEST(RunDirectoryTest, FreshMovesTheEarlierRunAsideWithItsLog) {
  const std::string dir = FreshDir("fresh");
  WriteEarlierRun(dir, /*with_checkpoint=*/true);
  auto run = RunDirectory::Open(dir, EarlierRun::kFresh);
  ASSERT_TRUE(run.ok()) << run.status().message();
  const std::string moved = (*run)->moved_earlier_run_to();
  ASSERT_EQ(moved.rfind(dir + "/previous/", 0), 0u) << moved;
  for (const char* f : {"checkpoint.fsc", "report.json", "metrics.csv"}) {
    EXPECT_FALSE(std::filesystem::exists(dir + "/" + f)) << f;
    EXPECT_TRUE(std::filesystem::exists(moved + "/" + f)) << f;
  }
  EXPECT_EQ(Contents(moved + "/coordinator.log"), "old log\n");
  EXPECT_TRUE(std::filesystem::exists(dir + "/coordinator.json")) << "not a run output: kept";
  // The new run's log starts empty.
  (*run)->log()->info("new run");
  EXPECT_EQ(Contents(dir + "/coordinator.log").find("old log"),
            std::string::npos);
  run->reset();
  // A second --fresh in the same second gets its own folder.
  WriteEarlierRun(dir, /*with_checkpoint=*/true);
  auto again = RunDirectory::Open(dir, EarlierRun::kFresh);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_NE((*again)->moved_earlier_run_to(), moved);
  EXPECT_TRUE(std::filesystem::exists((*again)->moved_earlier_run_to() + "/checkpoint.fsc"));
  again->reset();
  std::filesystem::remove_all(dir);
}

TEST(RunDirectoryTest, ResumeWithoutACheckpointMovesTheEarlierRunAside) {
  const std::string dir = FreshDir("resume-nockpt");
  WriteEarlierRun(dir, /*with_checkpoint=*/false);
  auto run = RunDirectory::Open(dir, EarlierRun::kResume);
  ASSERT_TRUE(run.ok()) << run.status().message();
  ASSERT_NE((*run)->moved_earlier_run_to(), "");
  EXPECT_FALSE(std::filesystem::exists(dir + "/report.json"));
  EXPECT_TRUE(std::filesystem::exists((*run)->moved_earlier_run_to() + "/report.json"));
  run->reset();
  std::filesystem::remove_all(dir);
}

TEST(RunDirectoryTest, AnEmptyOrNewDirectoryNeedsNoFlag) {
  const std::string dir = FreshDir("empty");
  ASSERT_TRUE(MakeDirs(dir).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/coordinator.log", "a failed start\n").ok());
  auto run = RunDirectory::Open(dir);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ((*run)->moved_earlier_run_to(), "");
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
