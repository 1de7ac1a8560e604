// The shared set-up of the integration tests that run a whole federation (federation_test.cc,
// status_test.cc): certificates from scripts/gen-certs.sh and the bundled online-shoppers table
// split into three regions, made once per test suite; per test a run directory and a free port;
// the coordinator's and the regions' JSON configs; starting the real executables
// (process.h); reading the coordinator's log and report.
#ifndef FEDSEG_TESTS_INTEGRATION_FEDERATION_FIXTURE_H_
#define FEDSEG_TESTS_INTEGRATION_FEDERATION_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "process.h"

namespace fedseg::testing {

inline const std::string kBin = FEDSEG_BIN_DIR;
inline const std::string kSrc = FEDSEG_SOURCE_DIR;
// Test-only binaries (never installed): fedseg-client-seeded-noise.
inline const std::string kTestBin = FEDSEG_TEST_BIN_DIR;

// What the suite needs before its first test.
struct SuiteSetup {
  std::string dir_prefix;  // the suite's folder: <tmp>/<dir_prefix><pid>
  // Certificate authorities to make: {sub-folder, gen-certs.sh arguments (names, --expired ...)}.
  std::vector<std::pair<std::string, std::string>> pkis;
  std::vector<std::string> commands;  // programs that must be on the PATH (curl)
  int clients = 3;                    // regions the bundled table is split into
};

// The coordinator's config. Timeouts are in seconds, multiplied by TimeScale() unless
// scale_timeouts is false.
struct CoordinatorOptions {
  int rounds = 3;
  int min_regions = 3;
  int local_epochs = 1;
  std::vector<std::string> regions = {"r1", "r2", "r3"};
  double round_deadline_s = 60;
  double join_timeout_s = 30;
  double hello_timeout_s = 5;
  bool scale_timeouts = true;
  bool dp = false;
  double noise_multiplier = 0;  // privacy.noise_multiplier: 0 = each region calibrates
  nlohmann::json status;  // the "status" section; null: none
  // Merged over the config last, section by section ({"secure_aggregation": {...}}); null: none.
  nlohmann::json extra;
};

// Region i's config: certificate r<i>, the i-th shard.
struct RegionOptions {
  // > 0: privacy.mode "dp" with this budget, delta 1e-5, a ledger, and exact data statistics
  // accepted explicitly (privacy.min_stats_noise_multiplier 0: the fixture's coordinator asks for
  // none); 0: privacy.mode "none".
  double epsilon_budget = 0;
  // The test-only seeded noise (noise_seed 1000 + i): runs the test build
  // fedseg-client-seeded-noise, the only one that accepts it.
  bool seeded_noise = false;
  bool save_model = true;  // output.model = <run>/r<i>.fsm
  bool scale_timeouts = true;
  // Mode dp: StartRegion runs `fedseg-client ledger init` first when the ledger does not exist
  // yet (what an operator does once per region); false leaves it missing.
  bool init_ledger = true;
  std::vector<std::string> env;  // extra "NAME=value" entries (failpoints)
};

// What FederationFixture::Curl got back.
struct HttpsReply {
  int curl_rc = -1;  // curl's exit code: 0 = an HTTP exchange took place
  int http = 0;      // HTTP status code (0 without a response)
  std::string headers, body, error;
};

class FederationFixture : public ::testing::Test {
 protected:
  // Called by the suite's SetUpTestSuite.
  static void SetUpSuite(const SuiteSetup& setup) {
    dir_ = new std::string(std::filesystem::temp_directory_path() /
                           (setup.dir_prefix + std::to_string(::getpid())));
    std::filesystem::remove_all(*dir_);
    std::filesystem::create_directories(*dir_);
    ok_ = true;
    for (const std::string& c : setup.commands) {
      ok_ = ok_ && testing::Run("command -v " + c + " >/dev/null") == 0;
    }
    for (const auto& [folder, args] : setup.pkis) {
      ok_ = ok_ && testing::Run("bash " + kSrc + "/scripts/gen-certs.sh --out " + *dir_ + "/" +
                                folder + " " + args + " >/dev/null") == 0;
    }
    ok_ = ok_ && testing::Run("python3 " + kSrc + "/scripts/split_csv.py --data " + kSrc +
                              "/data/online_shoppers_intention.csv --label Revenue --clients " +
                              std::to_string(setup.clients) + " " + "--out " + *dir_ +
                              "/data >/dev/null") == 0;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(ok_) << "test set-up (tools, certificates, data split) failed";
    run_ = *dir_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(run_);
    port_ = FreePort();
  }

  static std::string Dir() { return *dir_; }
  static std::string Pki() { return *dir_ + "/pki"; }
  // The i-th shard's folder (1-based) with train.csv and test.csv.
  static std::string Shard(int i) {
    char b[16];
    std::snprintf(b, sizeof b, "region-%02d", i);
    return *dir_ + "/data/" + b;
  }

  std::string WriteCoordinatorConfig(const CoordinatorOptions& o) const {
    const std::string pki = Pki();
    auto t = [&](double s) { return o.scale_timeouts ? ScaledSeconds(s) : s; };
    nlohmann::json c = {
        {"listen", {{"host", "127.0.0.1"}, {"port", port_}}},
        {"tls",
         {{"ca", pki + "/ca.crt"},
          {"cert", pki + "/coordinator.crt"},
          {"key", pki + "/coordinator.key"}}},
        {"regions", o.regions},
        {"run_dir", run_},
        {"data",
         {{"label", "Revenue"},
          {"categorical",
           {"Month", "VisitorType", "Weekend", "OperatingSystems", "Browser", "Region",
            "TrafficType"}}}},
        {"model", {{"hidden", {16}}, {"seed", 7}}},
        {"training", {{"rounds", o.rounds}, {"local_epochs", o.local_epochs}, {"batch_size", 32}}},
        {"federation",
         {{"min_regions", o.min_regions},
          {"round_deadline_s", t(o.round_deadline_s)},
          {"join_timeout_s", t(o.join_timeout_s)},
          {"hello_timeout_s", t(o.hello_timeout_s)}}},
        // Exact data statistics even under DP (the DP default is 80): the fixture's regions in
        // mode dp accept them explicitly (RegionOptions::epsilon_budget), so their ledgers hold
        // only the training rounds and the final evaluation.
        {"privacy", {{"dp", o.dp}, {"clip_norm", 1.0}, {"stats_noise_multiplier", 0}}},
    };
    if (o.noise_multiplier > 0) c["privacy"]["noise_multiplier"] = o.noise_multiplier;
    if (!o.status.is_null()) c["status"] = o.status;
    if (o.extra.is_object()) {
      for (const auto& [section, value] : o.extra.items()) {
        if (value.is_object() && c.contains(section)) {
          c[section].update(value);
        } else {
          c[section] = value;
        }
      }
    }
    const std::string path = run_ + "/coordinator.json";
    std::ofstream(path) << c.dump(2);
    return path;
  }

  std::string WriteRegionConfig(int i, const RegionOptions& o = {}) const {
    const std::string pki = Pki();
    const std::string name = "r" + std::to_string(i);
    nlohmann::json c = {
        {"region", name},
        {"coordinator",
         {{"host", "127.0.0.1"},
          {"port", port_},
          {"backoff_initial_ms", 100},
          {"backoff_max_ms", 1000},
          {"give_up_after_s", o.scale_timeouts ? static_cast<int>(ScaledSeconds(60)) : 60}}},
        {"tls",
         {{"ca", pki + "/ca.crt"},
          {"cert", pki + "/" + name + ".crt"},
          {"key", pki + "/" + name + ".key"}}},
        {"data", {{"train", Shard(i) + "/train.csv"}, {"test", Shard(i) + "/test.csv"}}},
        {"threads", 1},
    };
    if (o.save_model) c["output"] = {{"model", run_ + "/" + name + ".fsm"}};
    if (o.epsilon_budget > 0) {
      c["privacy"] = {{"mode", "dp"},
                      {"epsilon_budget", o.epsilon_budget},
                      {"delta", 1e-5},
                      {"min_stats_noise_multiplier", 0},
                      {"ledger", LedgerPath(i)}};
      if (o.seeded_noise) {
        c["privacy"]["insecure_seeded_noise"] = true;
        c["privacy"]["noise_seed"] = 1000 + i;
      }
    } else {
      // No budget and no ledger: should the coordinator ask for DP anyway, mode none trains with
      // the coordinator's sigma, uncapped and unrecorded.
      c["privacy"] = {{"mode", "none"}};
    }
    const std::string path = run_ + "/" + name + ".json";
    std::ofstream(path) << c.dump(2);
    return path;
  }

  // fedseg-coordinator --config `config` `args`...; its output goes to <run>/coordinator.out.
  // `env`: extra "NAME=value" entries (failpoints).
  std::unique_ptr<Process> StartCoordinator(const std::string& config,
                                            const std::vector<std::string>& args = {},
                                            const std::vector<std::string>& env = {}) const {
    std::vector<std::string> argv = {kBin + "/fedseg-coordinator", "--config", config};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<Process>(argv, run_ + "/coordinator.out", env);
  }
  // The region binary for `o`: the release fedseg-client, or its seeded-noise test build.
  static std::string RegionBinary(const RegionOptions& o) {
    return o.seeded_noise ? kTestBin + "/fedseg-client-seeded-noise" : kBin + "/fedseg-client";
  }
  // Region i's ledger (absolute: run_ is).
  std::string LedgerPath(int i) const { return run_ + "/r" + std::to_string(i) + ".ledger.jsonl"; }
  // `fedseg-client ledger init --config` for region i's config; its exit status (0 = created).
  // Output goes to <run>/r<i>.init.log.
  int InitLedger(int i, const std::string& config) const {
    const int rc =
        fedseg::testing::Run(kBin + "/fedseg-client ledger init --config '" + config + "' >>'" +
                             run_ + "/r" + std::to_string(i) + ".init.log' 2>&1");
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  // In mode dp, region i's ledger is created once (`fedseg-client ledger init` on `config`, what
  // its operator does before the first join) unless o.init_ledger is false or it exists.
  void EnsureLedger(int i, const RegionOptions& o, const std::string& config) const {
    if (o.epsilon_budget > 0 && o.init_ledger && !std::filesystem::exists(LedgerPath(i))) {
      EXPECT_EQ(InitLedger(i, config), 0) << ReadAll(run_ + "/r" + std::to_string(i) + ".init.log");
    }
  }
  // fedseg-client join as region i; its output goes to <run>/r<i>.log. See EnsureLedger.
  std::unique_ptr<Process> StartRegion(int i, const RegionOptions& o = {}) const {
    const std::string config = WriteRegionConfig(i, o);
    EnsureLedger(i, o, config);
    return std::make_unique<Process>(
        std::vector<std::string>{RegionBinary(o), "join", "--config", config},
        run_ + "/r" + std::to_string(i) + ".log", o.env);
  }

  std::string CoordinatorLog() const { return ReadAll(run_ + "/coordinator.log"); }
  // Region i's log (<run>/r<i>.log, where StartRegion sends its output).
  std::string RegionLog(int i) const { return ReadAll(run_ + "/r" + std::to_string(i) + ".log"); }
  bool LogHas(const std::string& text) const {
    return CoordinatorLog().find(text) != std::string::npos;
  }
  nlohmann::json Report() const {
    return nlohmann::json::parse(ReadAll(run_ + "/report.json"), nullptr, false);
  }

  // One HTTPS request with curl (the suite lists "curl" in SuiteSetup::commands) to
  // https://127.0.0.1:<port><path>, trusting the suite's CA. `cert`: a name under pki/ whose
  // certificate curl presents, or "" for none; `args`: further curl arguments (-X POST, -I, ...).
  HttpsReply Curl(uint16_t port, const std::string& path, const std::string& cert,
                  const std::string& args = "", const std::string& scheme = "https") {
    const std::string base = run_ + "/curl" + std::to_string(++curl_calls_);
    std::string cmd = "curl -sS --max-time 10 --tlsv1.3 --cacert " + Pki() + "/ca.crt ";
    if (!cert.empty()) {
      cmd += "--cert " + Pki() + "/" + cert + ".crt --key " + Pki() + "/" + cert + ".key ";
    }
    cmd += args + " -D " + base + ".h -o " + base + ".b -w '%{http_code}' " + scheme +
           "://127.0.0.1:" + std::to_string(port) + path + " > " + base + ".code 2> " + base +
           ".err";
    HttpsReply r;
    const int rc = fedseg::testing::Run(cmd);
    r.curl_rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    r.http = std::atoi(ReadAll(base + ".code").c_str());
    r.headers = ReadAll(base + ".h");
    r.body = ReadAll(base + ".b");
    r.error = ReadAll(base + ".err");
    return r;
  }

  inline static std::string* dir_ = nullptr;
  inline static bool ok_ = false;
  std::string run_;
  uint16_t port_ = 0;
  int curl_calls_ = 0;
};

}  // namespace fedseg::testing

#endif  // FEDSEG_TESTS_INTEGRATION_FEDERATION_FIXTURE_H_
