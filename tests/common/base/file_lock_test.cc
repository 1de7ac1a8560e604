#include "common/base/file_lock.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace fedseg {
namespace {

namespace fs = std::filesystem;

class FileLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fedseg-file-lock-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "run.lock").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Touch() { std::ofstream(path_) << "x"; }

  fs::path dir_;
  std::string path_;
};

TEST_F(FileLockTest, SecondAcquireOnTheSamePathFailsUntilTheFirstIsReleased) {
  Touch();
  auto first = FileLock::Acquire(path_);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->held());
  EXPECT_GE(first->fd(), 0);
  EXPECT_EQ(first->path(), path_);

  // flock belongs to the open file description: a second one conflicts inside one process too.
  auto second = FileLock::Acquire(path_);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsFailedPrecondition()) << second.status().ToString();
  EXPECT_EQ(second.status().message(), path_ + " is locked by another holder");

  first->Release();
  EXPECT_FALSE(first->held());
  EXPECT_EQ(first->fd(), -1);
  auto third = FileLock::Acquire(path_);
  EXPECT_TRUE(third.ok()) << third.status().ToString();
  first->Release();  // releasing twice is harmless and does not touch the new holder
  EXPECT_TRUE(third->held());
  EXPECT_FALSE(FileLock::Acquire(path_).ok());
}

TEST_F(FileLockTest, TheDestructorReleases) {
  Touch();
  {
    auto lock = FileLock::Acquire(path_);
    ASSERT_TRUE(lock.ok());
  }
  EXPECT_TRUE(FileLock::Acquire(path_).ok());
}

TEST_F(FileLockTest, MissingFileIsNotFoundUnlessCreateIsSet) {
  auto missing = FileLock::Acquire(path_);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
  EXPECT_EQ(missing.status().message(), path_ + " does not exist");
  EXPECT_FALSE(fs::exists(path_));

  bool created = false;
  FileLock::Options options;
  options.create = true;
  options.mode = 0640;
  auto made = FileLock::Acquire(path_, options, &created);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777 & ~0640, 0u);  // at most the asked mode (the umask may clear bits)
  EXPECT_NE(st.st_mode & 0600, 0u);
  made->Release();

  // The file exists now: created stays false.
  created = true;
  auto again = FileLock::Acquire(path_, options, &created);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(created);
}

TEST_F(FileLockTest, OtherOpenFailuresAreIOErrors) {
  // A directory cannot be opened read-write.
  auto dir = FileLock::Acquire(dir_.string());
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(dir.status().IsIOError()) << dir.status().ToString();
  EXPECT_NE(dir.status().message().find("open " + dir_.string() + ": "), std::string::npos)
      << dir.status().message();
  // A missing parent folder is NotFound even with create.
  FileLock::Options options;
  options.create = true;
  auto nested = FileLock::Acquire((dir_ / "no" / "such" / "lock").string(), options);
  ASSERT_FALSE(nested.ok());
  EXPECT_TRUE(nested.status().IsNotFound()) << nested.status().ToString();
}

TEST_F(FileLockTest, ReadOnlyLockConflictsWithAReadWriteOne) {
  Touch();
  FileLock::Options read_only;
  read_only.read_write = false;
  auto reader = FileLock::Acquire(path_, read_only);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  char c = 0;
  EXPECT_EQ(::pread(reader->fd(), &c, 1, 0), 1);
  EXPECT_EQ(c, 'x');
  EXPECT_LT(::pwrite(reader->fd(), "y", 1, 0), 0);  // opened O_RDONLY
  EXPECT_TRUE(FileLock::Acquire(path_).status().IsFailedPrecondition());
}

TEST_F(FileLockTest, MovingTransfersTheLock) {
  Touch();
  auto acquired = FileLock::Acquire(path_);
  ASSERT_TRUE(acquired.ok());
  FileLock a = std::move(*acquired);
  EXPECT_TRUE(a.held());
  FileLock b(std::move(a));
  EXPECT_FALSE(a.held());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_TRUE(b.held());
  EXPECT_TRUE(FileLock::Acquire(path_).status().IsFailedPrecondition());

  // Assigning over a held lock releases it first.
  const std::string other = (dir_ / "other.lock").string();
  std::ofstream(other) << "o";
  auto second = FileLock::Acquire(other);
  ASSERT_TRUE(second.ok());
  b = std::move(*second);
  EXPECT_EQ(b.path(), other);
  EXPECT_TRUE(FileLock::Acquire(path_).ok()) << "the lock assigned over was not released";
  EXPECT_TRUE(FileLock::Acquire(other).status().IsFailedPrecondition());
}

// Another process holds the lock: refused while it lives, free once the kernel has dropped it at
// the holder's death (SIGKILL, no clean-up), as after a crashed coordinator.
TEST_F(FileLockTest, ALockHeldByAForkedChildIsDroppedWhenTheChildDies) {
  Touch();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    auto lock = FileLock::Acquire(path_);
    const char ok = lock.ok() ? 'y' : 'n';
    if (::write(ready[1], &ok, 1) != 1) ::_exit(3);
    for (;;) ::pause();  // hold it until killed
  }
  ::close(ready[1]);
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(ok, 'y') << "the child could not take the lock";

  auto while_held = FileLock::Acquire(path_);
  EXPECT_TRUE(while_held.status().IsFailedPrecondition()) << while_held.status().ToString();

  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  auto after = FileLock::Acquire(path_);
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

// The reverse: this process holds it, and a child is refused.
TEST_F(FileLockTest, AForkedChildIsRefusedWhileThisProcessHoldsIt) {
  Touch();
  auto lock = FileLock::Acquire(path_);
  ASSERT_TRUE(lock.ok());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto attempt = FileLock::Acquire(path_);
    ::_exit(attempt.ok() ? 0 : attempt.status().IsFailedPrecondition() ? 1 : 2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

}  // namespace
}  // namespace fedseg
