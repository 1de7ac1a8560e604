// Test helpers for integration tests that run fedseg's real executables as child processes.
#ifndef FEDSEG_TESTS_INTEGRATION_PROCESS_H_
#define FEDSEG_TESTS_INTEGRATION_PROCESS_H_

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fedseg::testing {

// Sanitizer builds run the executables 2-10x slower. scripts/test.sh --sanitize sets
// FEDSEG_TEST_TIME_SCALE, and every deadline of these tests (process waits, socket timeouts,
// the coordinator's and regions' configured timeouts) is multiplied by it; unset means 1.
inline double TimeScale() {
  const char* s = std::getenv("FEDSEG_TEST_TIME_SCALE");
  const double v = s ? std::strtod(s, nullptr) : 1.0;
  return v >= 1.0 ? v : 1.0;
}
template <class Rep, class Period>
std::chrono::milliseconds Scaled(std::chrono::duration<Rep, Period> d) {
  return std::chrono::milliseconds(static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(d).count() * TimeScale()));
}
inline double ScaledSeconds(double s) { return s * TimeScale(); }

// Whether this test executable was built with a sanitizer (GCC defines __SANITIZE_*__; clang
// answers __has_feature instead).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizedBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizedBuild = true;
#else
inline constexpr bool kSanitizedBuild = false;
#endif
#else
inline constexpr bool kSanitizedBuild = false;
#endif

// The first sanitizer report (AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer,
// ThreadSanitizer) in a child's output, or "" if there is none. A child may be killed before it
// can exit with the sanitizer's exit code, so its output is checked too.
inline std::string SanitizerReport(const std::string& output) {
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                             "WARNING: ThreadSanitizer", "runtime error:", "Sanitizer:"}) {
    const size_t at = output.find(marker);
    if (at != std::string::npos) {
      const size_t from = output.rfind('\n', at);
      return output.substr(from == std::string::npos ? 0 : from + 1, 4000);
    }
  }
  return "";
}

// A child process with stdout and stderr in a log file; killed (SIGKILL) if still running when
// destroyed, so a failing test never leaves processes behind. A sanitizer report in that log
// fails the current test.
class Process {
 public:
  // `env`: extra "NAME=value" entries for the child's environment.
  Process(const std::vector<std::string>& argv, const std::string& log_path,
          const std::vector<std::string>& env = {})
      : log_path_(log_path), argv0_(argv.empty() ? "" : argv[0]) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
      }
      ::setenv("OMP_WAIT_POLICY", "passive", 1);
      for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() {
    if (running()) {
      Kill(SIGKILL);
      Wait(std::chrono::seconds(10));
    }
    const std::string report = SanitizerReport(ReadLog());
    EXPECT_EQ(report, "") << argv0_ << " (log " << log_path_ << ") had a sanitizer report";
  }

  bool running() {
    if (exited_) return false;
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) Record(st);
    return !exited_;
  }
  void Kill(int sig) {
    if (!exited_) ::kill(pid_, sig);
  }
  // Exit code (or 128 + signal); nullopt on timeout. The timeout is Scaled().
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + Scaled(timeout);
    while (running()) {
      if (std::chrono::steady_clock::now() > end) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return code_;
  }
  pid_t pid() const { return pid_; }

 private:
  void Record(int st) {
    exited_ = true;
    code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  std::string ReadLog() const {
    std::ifstream f(log_path_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  std::string log_path_;
  std::string argv0_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int code_ = -1;
};

inline std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Polls `pred` until it holds or the (Scaled()) timeout passes.
inline bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + Scaled(timeout);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return pred();
}

// A TCP port on 127.0.0.1 that was free a moment ago.
inline uint16_t FreePort() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

inline int Run(const std::string& cmd) { return std::system(cmd.c_str()); }

}  // namespace fedseg::testing

#endif  // FEDSEG_TESTS_INTEGRATION_PROCESS_H_
