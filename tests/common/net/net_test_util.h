// Helpers shared by the net suites: a log sink that keeps every line, a bounded wait for an event
// (never a fixed sleep), and a per-suite PKI made by scripts/gen-certs.sh.
#ifndef FEDSEG_TESTS_COMMON_NET_NET_TEST_UTIL_H_
#define FEDSEG_TESTS_COMMON_NET_NET_TEST_UTIL_H_

#include <spdlog/sinks/base_sink.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace fedseg::net::test_util {

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Polls `pred` until it holds or `timeout` passes.
inline bool WaitUntil(const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Keeps every log line so tests can assert what a server logged.
class CaptureSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string Text() {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    text_.append(msg.payload.data(), msg.payload.size());
    text_ += '\n';
  }
  void flush_() override {}

 private:
  std::string text_;
};

// A temporary directory of certificate sets made by shell commands, in which "@GEN" stands for
// scripts/gen-certs.sh and "@DIR" for the directory ("@GEN --out @DIR/pki eu-west"). error() is
// empty when every command succeeded; it names the one that failed otherwise.
class TestPki {
 public:
  explicit TestPki(const std::vector<std::string>& commands) {
    char tmpl[] = "/tmp/fedseg-net-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    const std::string gen = "bash " + std::string(FEDSEG_SOURCE_DIR) + "/scripts/gen-certs.sh";
    for (std::string command : commands) {
      for (const auto& [from, to] : {std::pair<std::string, std::string>{"@GEN", gen},
                                     std::pair<std::string, std::string>{"@DIR", dir_}}) {
        for (size_t at = command.find(from); at != std::string::npos;
             at = command.find(from, at + to.size())) {
          command.replace(at, from.size(), to);
        }
      }
      const std::string quiet = command + " > " + dir_ + "/gen.log 2>&1";
      if (std::system(quiet.c_str()) != 0) {
        error_ = "'" + command + "' failed; see " + dir_ + "/gen.log";
        return;
      }
    }
  }
  ~TestPki() {
    if (!dir_.empty() && error_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& error() const { return error_; }
  std::string Path(const std::string& set, const std::string& file) const {
    return dir_ + "/" + set + "/" + file;
  }

 private:
  std::string dir_;
  std::string error_;
};

}  // namespace fedseg::net::test_util

#endif  // FEDSEG_TESTS_COMMON_NET_NET_TEST_UTIL_H_
