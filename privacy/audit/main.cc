// fedseg-audit: privacy accounting from the command line.
//
//   fedseg-audit epsilon   --sampling-rate Q --noise-multiplier S --steps T --delta D [--json]
//   fedseg-audit calibrate --target-epsilon E --sampling-rate Q --steps T --delta D [--json]
//   fedseg-audit verify    LEDGER --cert REGION.crt [--expect-head H] [--expect-entries N] [--json]
//
// Each subcommand is one Register<Name>() function that declares the subcommand and its options
// and installs a callback running it; to add a subcommand, write another and call it from main().
// Results go to stdout (text, or one JSON object with --json); errors go to stderr with a
// non-zero exit status (verify: 1 when the ledger has a problem, 2 when it cannot be checked or
// the command line is wrong). In text output epsilon and noise multipliers are rounded up to six
// significant digits, so the printed numbers stay on the safe side; --json prints exact values.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "privacy/ledger/ledger.h"
#include "privacy/accounting/rdp_accountant.h"

namespace {

using fedseg::Result;
using fedseg::Status;
namespace privacy = fedseg::privacy;

constexpr int kExitError = 1;

int Fail(std::string_view subcommand, const Status& status) {
  std::cerr << "fedseg-audit " << subcommand << ": " << status.ToString() << "\n";
  return kExitError;
}

// `v` with `digits` significant digits, rounded towards +infinity.
std::string FormatRoundedUp(double v, int digits = 6) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
  for (int attempt = 0; attempt < 2 && std::strtod(buf, nullptr) < v; ++attempt) {
    const double shown = std::strtod(buf, nullptr);
    const double unit = std::pow(10.0, std::floor(std::log10(std::abs(shown))) - (digits - 1));
    std::snprintf(buf, sizeof(buf), "%.*g", digits, shown + unit);
  }
  return buf;
}

// Shortest text that reads back as `v`.
std::string FormatExact(double v) {
  char buf[64];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// Steps are counts, but "1e6" is a natural way to type a million.
Result<int64_t> ParseSteps(const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno != 0 || !(value >= 1.0) ||
      value >= 9.2e18 || value != std::floor(value)) {
    return Status::InvalidArgument("steps must be a positive integer, got '" + text + "'");
  }
  return static_cast<int64_t>(value);
}

void PrintLines(std::initializer_list<std::pair<const char*, std::string>> lines) {
  for (const auto& [key, value] : lines) std::cout << key << ": " << value << "\n";
}

// ---- epsilon ----------------------------------------------------------------------------------

struct EpsilonOptions {
  double sampling_rate = 0.0;
  double noise_multiplier = 0.0;
  std::string steps;
  double delta = 0.0;
  bool json = false;
};

int RunEpsilon(const EpsilonOptions& o) {
  Result<int64_t> steps = ParseSteps(o.steps);
  if (!steps.ok()) return Fail("epsilon", steps.status());
  Result<privacy::EpsilonResult> r =
      privacy::ComputeEpsilon(o.sampling_rate, o.noise_multiplier, *steps, o.delta);
  if (!r.ok()) return Fail("epsilon", r.status());
  if (o.json) {
    nlohmann::json out = {{"epsilon", r->epsilon},
                          {"order", r->order},
                          {"noise_multiplier", o.noise_multiplier},
                          {"sampling_rate", o.sampling_rate},
                          {"steps", *steps},
                          {"delta", o.delta}};
    std::cout << out.dump() << "\n";
  } else {
    PrintLines({{"epsilon", FormatRoundedUp(r->epsilon)},
                {"order", FormatExact(r->order)},
                {"sampling_rate", FormatExact(o.sampling_rate)},
                {"noise_multiplier", FormatExact(o.noise_multiplier)},
                {"steps", std::to_string(*steps)},
                {"delta", FormatExact(o.delta)}});
  }
  return 0;
}

void RegisterEpsilon(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<EpsilonOptions>();
  CLI::App* cmd = app.add_subcommand(
      "epsilon",
      "Epsilon spent by STEPS steps of the Poisson-subsampled Gaussian mechanism, and the RDP "
      "order that gives it");
  cmd->add_option("--sampling-rate", o->sampling_rate, "Poisson sampling rate q, in (0, 1]")
      ->required();
  cmd->add_option("--noise-multiplier", o->noise_multiplier,
                  "Noise standard deviation divided by the L2 sensitivity")
      ->required();
  cmd->add_option("--steps", o->steps, "Number of steps (a positive integer; 1e6 is accepted)")
      ->required();
  cmd->add_option("--delta", o->delta, "Target delta, in (0, 1)")->required();
  cmd->add_flag("--json", o->json, "Print one JSON object instead of text");
  cmd->callback([o, &exit_code] { exit_code = RunEpsilon(*o); });
}

// ---- calibrate --------------------------------------------------------------------------------

struct CalibrateOptions {
  double target_epsilon = 0.0;
  double sampling_rate = 0.0;
  std::string steps;
  double delta = 0.0;
  bool json = false;
};

int RunCalibrate(const CalibrateOptions& o) {
  Result<int64_t> steps = ParseSteps(o.steps);
  if (!steps.ok()) return Fail("calibrate", steps.status());
  Result<double> sigma =
      privacy::CalibrateNoiseMultiplier(o.target_epsilon, o.sampling_rate, *steps, o.delta);
  if (!sigma.ok()) return Fail("calibrate", sigma.status());
  Result<privacy::EpsilonResult> r =
      privacy::ComputeEpsilon(o.sampling_rate, *sigma, *steps, o.delta);
  if (!r.ok()) return Fail("calibrate", r.status());
  if (o.json) {
    nlohmann::json out = {{"noise_multiplier", *sigma},
                          {"epsilon", r->epsilon},
                          {"order", r->order},
                          {"target_epsilon", o.target_epsilon},
                          {"sampling_rate", o.sampling_rate},
                          {"steps", *steps},
                          {"delta", o.delta}};
    std::cout << out.dump() << "\n";
  } else {
    PrintLines({{"noise_multiplier", FormatRoundedUp(*sigma)},
                {"epsilon", FormatRoundedUp(r->epsilon)},
                {"order", FormatExact(r->order)},
                {"target_epsilon", FormatExact(o.target_epsilon)},
                {"sampling_rate", FormatExact(o.sampling_rate)},
                {"steps", std::to_string(*steps)},
                {"delta", FormatExact(o.delta)}});
  }
  return 0;
}

void RegisterCalibrate(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<CalibrateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate",
      "Smallest noise multiplier whose epsilon after STEPS steps is at most the target");
  cmd->add_option("--target-epsilon", o->target_epsilon, "Epsilon to meet, > 0")->required();
  cmd->add_option("--sampling-rate", o->sampling_rate, "Poisson sampling rate q, in (0, 1]")
      ->required();
  cmd->add_option("--steps", o->steps, "Number of steps (a positive integer; 1e6 is accepted)")
      ->required();
  cmd->add_option("--delta", o->delta, "Target delta, in (0, 1)")->required();
  cmd->add_flag("--json", o->json, "Print one JSON object instead of text");
  cmd->callback([o, &exit_code] { exit_code = RunCalibrate(*o); });
}

// ---- verify -----------------------------------------------------------------------------------

// verify distinguishes "the ledger is bad" (1) from "the ledger could not be checked" (2), so a
// script can tell a failed audit from a mistyped path.
constexpr int kExitLedgerProblem = 1;
constexpr int kExitVerifyUsage = 2;

struct VerifyOptions {
  std::string ledger;
  std::string cert;
  std::string expect_head;
  int64_t expect_entries = -1;  // -1: not given
  bool json = false;
};

nlohmann::json VerificationJson(const VerifyOptions& o, const privacy::LedgerVerification& v) {
  nlohmann::json rounds = nlohmann::json::array();
  for (const privacy::LedgerEntryReport& r : v.rows) {
    rounds.push_back({{"line", r.line},
                      {"seq", r.seq},
                      {"round", r.round},
                      {"run_id", r.run_id},
                      {"mechanism", r.mechanism},
                      {"sampling_rate", r.sampling_rate},
                      {"noise_multiplier", r.noise_multiplier},
                      {"steps", r.steps},
                      {"delta", r.delta},
                      {"epsilon_recorded", r.epsilon_recorded},
                      {"epsilon_after", r.epsilon_after},
                      {"order", r.order},
                      {"epsilon_round", r.epsilon_round},
                      {"ok", r.ok}});
  }
  return {{"ok", v.ok},
          {"ledger", o.ledger},
          {"cert", o.cert},
          {"entries", v.entries},
          {"head_hash", v.head_hash},
          {"epsilon", v.epsilon},
          {"delta", v.delta},
          {"order", v.order},
          {"rounds", std::move(rounds)},
          {"problems", v.problems}};
}

void PrintVerificationTable(const privacy::LedgerVerification& v) {
  std::printf("%5s %6s %-16s %12s %12s %10s %10s %14s %14s %s\n", "seq", "round", "mechanism", "q",
              "sigma", "steps", "delta", "eps_recorded", "eps_recomputed", "ok");
  for (const privacy::LedgerEntryReport& r : v.rows) {
    std::printf("%5lld %6u %-16s %12s %12s %10lld %10s %14s %14s %s\n",
                static_cast<long long>(r.seq), r.round, r.mechanism.c_str(),
                FormatExact(r.sampling_rate).c_str(), FormatExact(r.noise_multiplier).c_str(),
                static_cast<long long>(r.steps), FormatExact(r.delta).c_str(),
                FormatRoundedUp(r.epsilon_recorded).c_str(),
                FormatRoundedUp(r.epsilon_after).c_str(), r.ok ? "ok" : "FAIL");
  }
  std::fflush(stdout);
  PrintLines({{"entries", std::to_string(v.entries)},
              {"head_hash", v.head_hash.empty() ? "(unreadable)" : v.head_hash},
              {"epsilon", FormatRoundedUp(v.epsilon)},
              {"delta", FormatExact(v.delta)},
              {"order", FormatExact(v.order)},
              {"result", v.ok ? std::string("OK")
                              : std::to_string(v.problems.size()) + " problem(s), on stderr"}});
}

int RunVerify(const VerifyOptions& o) {
  privacy::LedgerVerifyOptions options;
  if (!o.expect_head.empty()) options.expect_head = o.expect_head;
  if (o.expect_entries >= 0) options.expect_entries = o.expect_entries;
  Result<privacy::LedgerVerification> v = privacy::VerifyLedger(o.ledger, o.cert, options);
  if (!v.ok()) {
    std::cerr << "fedseg-audit verify: " << v.status().ToString() << "\n";
    return kExitVerifyUsage;
  }
  if (o.json) {
    std::cout << VerificationJson(o, *v).dump() << "\n";
  } else {
    PrintVerificationTable(*v);
  }
  std::cout.flush();
  for (const std::string& p : v->problems) std::cerr << "fedseg-audit verify: " << p << "\n";
  return v->ok ? 0 : kExitLedgerProblem;
}

void RegisterVerify(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<VerifyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "verify",
      "Check a region's privacy ledger (hash chain, signatures, region) against its certificate "
      "and recompute the epsilon of every entry; exit 0 when it verifies, 1 on a problem, 2 when "
      "it cannot be checked");
  cmd->add_option("ledger", o->ledger, "The region's ledger (JSON lines)")->required();
  cmd->add_option("--cert", o->cert, "The region's PEM certificate (public key and subject CN)")
      ->required();
  cmd->add_option("--expect-head", o->expect_head,
                  "The head hash the region reported (report.json ledger_head); catches a "
                  "truncated ledger");
  cmd->add_option("--expect-entries", o->expect_entries,
                  "The entry count the ledger should have; catches a truncated ledger")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", o->json, "Print one JSON object instead of the table");
  cmd->callback([o, &exit_code] { exit_code = RunVerify(*o); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fedseg-audit: differential-privacy accounting for fedseg (RDP accountant)"};
  app.require_subcommand(1);
  int exit_code = 0;
  RegisterEpsilon(app, exit_code);
  RegisterCalibrate(app, exit_code);
  RegisterVerify(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    // verify promises exit status 2 for a malformed command line (CLI11's codes are 100+).
    if (code != 0 && argc > 1 && std::string_view(argv[1]) == "verify") return kExitVerifyUsage;
    return code;
  }
  return exit_code;
}
