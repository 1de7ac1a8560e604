// Test helpers for integration tests that run fedseg's real executables as child processes.
#ifndef FEDSEG_TESTS_INTEGRATION_PROCESS_H_
#define FEDSEG_TESTS_INTEGRATION_PROCESS_H_

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fedseg::testing {

// A child process with stdout and stderr in a log file; killed (SIGKILL) if still running when
// destroyed, so a failing test never leaves processes behind.
class Process {
 public:
  // `env`: extra "NAME=value" entries for the child's environment.
  Process(const std::vector<std::string>& argv, const std::string& log_path,
          const std::vector<std::string>& env = {}) {
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
  // Exit code (or 128 + signal); nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
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

inline bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
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
