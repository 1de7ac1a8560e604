// The fedseg-audit commands run in-process (fedseg_audit_test.cc runs the executable).
#include "privacy/audit/audit_commands.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "privacy/accounting/accountant.h"
#include "privacy/ledger/ledger.h"

namespace fedseg::privacy {
namespace {

namespace fs = std::filesystem;

TEST(AuditCommandsTest, FormatRoundedUpNeverShowsLess) {
  EXPECT_EQ(FormatRoundedUp(1.0), "1");
  EXPECT_EQ(FormatRoundedUp(1.2345670), "1.23457");
  EXPECT_EQ(FormatRoundedUp(1.2345649), "1.23457");  // "%.6g" alone would print 1.23456
  EXPECT_EQ(FormatRoundedUp(0.0001234561), "0.000123457");
  EXPECT_EQ(FormatRoundedUp(9.9999991), "10");
  EXPECT_EQ(FormatRoundedUp(2.5, 1), "3");
  for (double v : {3.14159265358979, 1e-7 / 3, 123456.7891, 0.7}) {
    EXPECT_GE(std::strtod(FormatRoundedUp(v).c_str(), nullptr), v) << v;
  }
}

TEST(AuditCommandsTest, ParseSteps) {
  EXPECT_EQ(*ParseSteps("1"), 1);
  EXPECT_EQ(*ParseSteps("10000"), 10000);
  EXPECT_EQ(*ParseSteps("1e6"), 1000000);
  for (const char* bad : {"", "0", "-5", "2.5", "1e19", "ten", "5 ", "nan", "inf"}) {
    Result<int64_t> r = ParseSteps(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message(),
              std::string("steps must be a positive integer, got '") + bad + "'");
  }
}

TEST(AuditCommandsTest, EpsilonText) {
  std::ostringstream out, err;
  EpsilonCommand c{{0.01, "1e4", 1e-5, false, "rdp"}, 1.1};
  ASSERT_EQ(RunEpsilon(c, out, err), 0) << err.str();
  const EpsilonResult want = *ComputeEpsilon(0.01, 1.1, 10000, 1e-5);
  EXPECT_EQ(out.str(),
            "epsilon: " + FormatRoundedUp(want.epsilon) +
                "\naccountant: rdp\norder: 4.7\nsampling_rate: 0.01\nnoise_multiplier: 1.1\n"
                "steps: 10000\ndelta: 1e-05\n");
  EXPECT_EQ(err.str(), "");
}

TEST(AuditCommandsTest, CalibrateJsonKeepsEveryBit) {
  std::ostringstream out, err;
  CalibrateCommand c{{0.01, "10000", 1e-5, true, "rdp"}, 2.0};
  ASSERT_EQ(RunCalibrate(c, out, err), 0) << err.str();
  const nlohmann::json j = nlohmann::json::parse(out.str());
  const double sigma = *CalibrateNoiseMultiplier(2.0, 0.01, 10000, 1e-5);
  EXPECT_EQ(j["noise_multiplier"].get<double>(), sigma);
  EXPECT_EQ(j["epsilon"].get<double>(), ComputeEpsilon(0.01, sigma, 10000, 1e-5)->epsilon);
  EXPECT_EQ(j["steps"].get<int64_t>(), 10000);
}

// PLD is the default accountant: no order, and a smaller epsilon than RDP for the same noise.
TEST(AuditCommandsTest, EpsilonAndCalibrateWithPld) {
  std::ostringstream out, err;
  EpsilonCommand e{{0.01, "1e4", 1e-5, true}, 1.1};
  ASSERT_EQ(RunEpsilon(e, out, err), 0) << err.str();
  nlohmann::json j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["accountant"], "pld");
  EXPECT_FALSE(j.contains("order"));
  EXPECT_EQ(j["epsilon"].get<double>(), *ComputePldEpsilon(0.01, 1.1, 10000, 1e-5));
  EXPECT_LT(j["epsilon"].get<double>(), ComputeEpsilon(0.01, 1.1, 10000, 1e-5)->epsilon);
  out.str("");
  CalibrateCommand c{{0.01, "10000", 1e-5, true}, 2.0};
  ASSERT_EQ(RunCalibrate(c, out, err), 0) << err.str();
  j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["accountant"], "pld");
  EXPECT_EQ(j["noise_multiplier"].get<double>(),
            *CalibrateNoiseMultiplier(AccountantKind::kPld, 2.0, 0.01, 10000, 1e-5));
  EXPECT_LE(j["epsilon"].get<double>(), 2.0);
  EXPECT_LT(j["noise_multiplier"].get<double>(), *CalibrateNoiseMultiplier(2.0, 0.01, 10000, 1e-5));
  out.str("");
  EXPECT_EQ(RunEpsilon({{0.01, "10", 1e-5, false, "moments"}, 1.0}, out, err), kAuditExitError);
  EXPECT_EQ(err.str(),
            "fedseg-audit epsilon: InvalidArgument: accountant must be \"pld\" or "
            "\"rdp\", got \"moments\"\n");
}

TEST(AuditCommandsTest, ErrorsGoToErrWithExitStatus) {
  std::ostringstream out, err;
  EXPECT_EQ(RunEpsilon({{1.5, "10", 1e-5, false}, 1.0}, out, err), kAuditExitError);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(),
            "fedseg-audit epsilon: InvalidArgument: sampling_rate must be in (0, 1], got 1.5\n");
  err.str("");
  EXPECT_EQ(RunCalibrate({{0.01, "0", 1e-5, false}, 2.0}, out, err), kAuditExitError);
  EXPECT_EQ(err.str(),
            "fedseg-audit calibrate: InvalidArgument: steps must be a positive integer, got '0'\n");
  err.str("");
  VerifyCommand v;
  v.ledger = "/nonexistent/ledger.jsonl";
  v.cert = "/nonexistent/region.crt";
  EXPECT_EQ(RunVerify(v, out, err), kAuditExitVerifyUsage);
  EXPECT_EQ(out.str(), "");
  EXPECT_NE(err.str().find("fedseg-audit verify: "), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("/nonexistent/region.crt"), std::string::npos) << err.str();
}

// A folder under the test's temporary directory with a fresh EC key and self-signed certificate
// for region-a (r.key, r.crt), made with the openssl command line.
fs::path RegionKeyFolder(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / (name + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
      "-subj /CN=region-a -keyout '" +
      (dir / "r.key").string() + "' -out '" + (dir / "r.crt").string() + "' >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return dir;
}

// A ledger of one release, signed with its own fresh key (ledger init), verified against the
// region's certificate and then truncated.
TEST(AuditCommandsTest, VerifyTableAndProblems) {
  const fs::path dir = RegionKeyFolder("audit_commands_test");
  const std::string cert = (dir / "r.crt").string();
  ASSERT_TRUE(fs::exists(cert));
  const std::string ledger = (dir / "ledger.jsonl").string();
  std::string head;
  {
    ASSERT_TRUE(InitLedger({ledger, (dir / "ledger.key").string(), "region-a", 1e6, 1e-5}).ok());
    auto w = LedgerWriter::Open(ledger, (dir / "ledger.key").string(), "region-a", "run-1");
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    LedgerRelease r;
    r.round = 1;
    r.mechanism = "sampled_gaussian";
    r.params = {
        {"sampling_rate", 0.02}, {"noise_multiplier", 1.1}, {"clip_norm", 1.0}, {"steps", 50}};
    r.delta = 1e-5;
    r.model_sha256 = std::string(64, 'a');
    ASSERT_TRUE((*w)->Append(r).ok());
    head = (*w)->head_hash();
  }
  VerifyCommand v;
  v.ledger = ledger;
  v.cert = cert;
  v.expect_head = head;
  std::ostringstream out, err;
  ASSERT_EQ(RunVerify(v, out, err), 0) << err.str();
  EXPECT_EQ(err.str(), "");
  EXPECT_EQ(out.str().substr(0, 19), "seq round mechanism");
  EXPECT_NE(out.str().find("\n  1     1 sampled_gaussian 0.02   1.1    50 1e-05 "),
            std::string::npos)
      << out.str();
  EXPECT_EQ(out.str().find("significant digits"), std::string::npos) << "nothing was rounded";
  EXPECT_NE(out.str().find("entries: 1\nhead_hash: " + head + "\n"), std::string::npos);
  EXPECT_NE(out.str().find("result: OK\n"), std::string::npos) << out.str();

  v.expect_entries = 2;
  out.str("");
  EXPECT_EQ(RunVerify(v, out, err), kAuditExitLedgerProblem);
  EXPECT_NE(out.str().find("result: 1 problem(s), on stderr\n"), std::string::npos) << out.str();
  EXPECT_EQ(err.str(),
            "fedseg-audit verify: the ledger has 1 entries, but 2 were expected: entries were "
            "removed from the end, or added\n");
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// Computed parameters (q = 64/4321, a calibrated sigma) have 17 significant digits: the table
// shows 6 and stays aligned whatever the widths; --json keeps every bit.
TEST(AuditCommandsTest, VerifyTableShowsComputedParametersShortAndAligned) {
  const fs::path dir = RegionKeyFolder("audit_table_test");
  const std::string cert = (dir / "r.crt").string();
  ASSERT_TRUE(fs::exists(cert));
  const std::string ledger = (dir / "ledger.jsonl").string();
  const double q = 64.0 / 4321.0, sigma = 147.73492837465123;
  {
    ASSERT_TRUE(InitLedger({ledger, (dir / "ledger.key").string(), "region-a", 1e6, 1e-5}).ok());
    auto w = LedgerWriter::Open(ledger, (dir / "ledger.key").string(), "region-a", "run-1");
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (uint32_t round = 1; round <= 12; ++round) {
      LedgerRelease r;
      r.round = round;
      r.mechanism = "sampled_gaussian";
      r.params = {{"sampling_rate", round == 1 ? 0.5 : q},
                  {"noise_multiplier", round == 1 ? 1.0 : sigma},
                  {"clip_norm", 1.0},
                  {"steps", round == 1 ? 1 : 123456}};
      r.delta = 1e-5;
      r.model_sha256 = std::string(64, 'a');
      ASSERT_TRUE((*w)->Append(r).ok());
    }
  }
  VerifyCommand v;
  v.ledger = ledger;
  v.cert = cert;
  std::ostringstream out, err;
  ASSERT_EQ(RunVerify(v, out, err), 0) << err.str();
  const std::string text = out.str();
  EXPECT_EQ(text.find("0.014811386253182134"), std::string::npos) << text;
  EXPECT_NE(text.find(" 0.0148114 147.735 "), std::string::npos) << text;
  EXPECT_NE(text.find("(q and sigma to 6 significant digits; --json has them exactly)\n"),
            std::string::npos);
  // Every line of the table (header and 12 rows) is as long as the header: the columns align.
  std::istringstream lines(text);
  std::string header, line;
  std::getline(lines, header);
  for (int i = 0; i < 12 && std::getline(lines, line); ++i) {
    EXPECT_EQ(line.size(), header.size()) << "row " << i + 1 << ":\n" << header << "\n" << line;
  }
  // Right-aligned numbers end under their header: q ends where "q" ends.
  std::istringstream again(text);
  std::getline(again, header);
  std::getline(again, line);
  std::getline(again, line);  // round 2
  const size_t q_end = header.find(" q ") + 2;
  EXPECT_EQ(line.substr(q_end - 9, 9), "0.0148114") << header << "\n" << line;

  v.json = true;
  out.str("");
  ASSERT_EQ(RunVerify(v, out, err), 0);
  const nlohmann::json j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["rounds"][1]["sampling_rate"].get<double>(), q);
  EXPECT_EQ(j["rounds"][1]["noise_multiplier"].get<double>(), sigma);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace fedseg::privacy
