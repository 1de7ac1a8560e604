// Runs the fedseg-audit executable (built next to the tests) as a user would.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "privacy/accounting/rdp_accountant.h"

namespace fedseg::privacy {
namespace {

struct AuditRun {
  int exit_code;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FedsegAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = std::filesystem::path(FEDSEG_BIN_DIR) / "fedseg-audit";
    if (!std::filesystem::exists(binary_)) {
      GTEST_SKIP() << binary_ << " is not built (cmake --build ... --target fedseg-audit)";
    }
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("fedseg_audit_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  AuditRun Audit(const std::string& args) {
    const auto out = dir_ / "out.txt";
    const auto err = dir_ / "err.txt";
    const std::string cmd = "'" + binary_.string() + "' " + args + " >'" + out.string() + "' 2>'" +
                            err.string() + "' </dev/null";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out), ReadFile(err)};
  }

  std::filesystem::path binary_;
  std::filesystem::path dir_;
};

std::set<std::string> Keys(const nlohmann::json& j) {
  std::set<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
  return keys;
}

TEST_F(FedsegAuditTest, EpsilonJson) {
  const AuditRun r = Audit(
      "epsilon --sampling-rate 0.01 --noise-multiplier 1.1 --steps 10000 --delta 1e-5 --json "
      "--accountant rdp");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(Keys(j), (std::set<std::string>{"epsilon", "accountant", "order", "noise_multiplier",
                                            "sampling_rate", "steps", "delta"}));
  const EpsilonResult want = *ComputeEpsilon(0.01, 1.1, 10000, 1e-5);
  EXPECT_EQ(j["epsilon"].get<double>(), want.epsilon);  // JSON keeps every bit
  EXPECT_EQ(j["order"].get<double>(), want.order);
  EXPECT_EQ(j["noise_multiplier"].get<double>(), 1.1);
  EXPECT_EQ(j["sampling_rate"].get<double>(), 0.01);
  EXPECT_EQ(j["steps"].get<int64_t>(), 10000);
  EXPECT_EQ(j["delta"].get<double>(), 1e-5);
}

TEST_F(FedsegAuditTest, EpsilonTextRoundsUp) {
  const AuditRun r =
      Audit("epsilon --sampling-rate 0.01 --noise-multiplier 1.1 --steps 1e4 --delta 1e-5 "
            "--accountant rdp");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const EpsilonResult want = *ComputeEpsilon(0.01, 1.1, 10000, 1e-5);
  const auto pos = r.out.find("epsilon: ");
  ASSERT_NE(pos, std::string::npos) << r.out;
  const double shown = std::stod(r.out.substr(pos + 9));
  EXPECT_GE(shown, want.epsilon);
  EXPECT_LE(shown, want.epsilon * (1 + 1e-5));
  EXPECT_NE(r.out.find("order: 4.7\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("steps: 10000\n"), std::string::npos) << r.out;
}

TEST_F(FedsegAuditTest, CalibrateJson) {
  const AuditRun r =
      Audit("calibrate --target-epsilon 2 --sampling-rate 0.01 --steps 10000 --delta 1e-5 --json "
            "--accountant rdp");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(Keys(j), (std::set<std::string>{"epsilon", "accountant", "order", "noise_multiplier",
                                            "target_epsilon", "sampling_rate", "steps", "delta"}));
  const double sigma = *CalibrateNoiseMultiplier(2.0, 0.01, 10000, 1e-5);
  EXPECT_EQ(j["noise_multiplier"].get<double>(), sigma);
  EXPECT_LE(j["epsilon"].get<double>(), 2.0);
  EXPECT_EQ(j["epsilon"].get<double>(), ComputeEpsilon(0.01, sigma, 10000, 1e-5)->epsilon);
  EXPECT_EQ(j["target_epsilon"].get<double>(), 2.0);
}

TEST_F(FedsegAuditTest, CalibrateText) {
  const AuditRun r =
      Audit("calibrate --target-epsilon 2 --sampling-rate 0.01 --steps 10000 --delta 1e-5 "
            "--accountant rdp");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto pos = r.out.find("noise_multiplier: ");
  ASSERT_NE(pos, std::string::npos) << r.out;
  const double shown = std::stod(r.out.substr(pos + 18));
  EXPECT_GE(shown, *CalibrateNoiseMultiplier(2.0, 0.01, 10000, 1e-5));  // rounded up
  EXPECT_LE(ComputeEpsilon(0.01, shown, 10000, 1e-5)->epsilon, 2.0);
}

TEST_F(FedsegAuditTest, EpsilonPldIsTheDefault) {
  const AuditRun r = Audit(
      "epsilon --sampling-rate 0.00256 --noise-multiplier 1 --steps 7812 --delta 1e-5 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(Keys(j), (std::set<std::string>{"epsilon", "accountant", "noise_multiplier",
                                            "sampling_rate", "steps", "delta"}));
  EXPECT_EQ(j["accountant"], "pld");
  EXPECT_NEAR(j["epsilon"].get<double>(), 1.1686, 1e-3);  // dp_accounting: 1.16857
  const AuditRun bad = Audit(
      "epsilon --sampling-rate 0.1 --noise-multiplier 1 --steps 10 --delta 1e-5 --accountant x");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--accountant"), std::string::npos) << bad.err;
}

TEST_F(FedsegAuditTest, ErrorsGoToStderrWithNonZeroExit) {
  AuditRun r = Audit("epsilon --sampling-rate 1.5 --noise-multiplier 1 --steps 10 --delta 1e-5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("sampling_rate must be in (0, 1], got 1.5"), std::string::npos) << r.err;

  r = Audit("epsilon --sampling-rate 0.1 --noise-multiplier 1 --steps 2.5 --delta 1e-5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("steps must be a positive integer, got '2.5'"), std::string::npos) << r.err;

  r = Audit("epsilon --sampling-rate 0.1 --steps 10 --delta 1e-5");  // missing option
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("--noise-multiplier"), std::string::npos) << r.err;

  r = Audit("calibrate --target-epsilon 1e-6 --sampling-rate 0.01 --steps 10 --delta 1e-5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unreachable"), std::string::npos) << r.err;

  r = Audit("");  // no subcommand
  EXPECT_NE(r.exit_code, 0);
  r = Audit("nonsense");
  EXPECT_NE(r.exit_code, 0);
}

TEST_F(FedsegAuditTest, HelpForEverySubcommand) {
  for (const std::string sub : {"epsilon", "calibrate"}) {
    const AuditRun r = Audit(sub + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.out.find("--sampling-rate"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--json"), std::string::npos) << r.out;
  }
  const AuditRun r = Audit("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("epsilon"), std::string::npos);
  EXPECT_NE(r.out.find("calibrate"), std::string::npos);
}

}  // namespace
}  // namespace fedseg::privacy
