// fedseg-audit: privacy accounting from the command line. This file declares the subcommands and
// their options with CLI11 and dispatches to privacy/audit/audit_commands.h, which documents the
// commands, their output and their exit statuses. To add a subcommand, write its Run* there and a
// Register* here.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string_view>

#include "privacy/audit/audit_commands.h"

namespace {

namespace privacy = fedseg::privacy;

constexpr char kStepsHelp[] = "Number of steps (a positive integer; 1e6 is accepted)";
constexpr char kSamplingRateHelp[] = "Poisson sampling rate q, in (0, 1]";
constexpr char kAccountantHelp[] =
    "pld (privacy-loss distribution, tighter) or rdp (Renyi DP); see docs/accountant.md";

void RegisterEpsilon(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<privacy::EpsilonCommand>();
  CLI::App* cmd = app.add_subcommand(
      "epsilon",
      "Epsilon spent by STEPS steps of the Poisson-subsampled Gaussian mechanism (with rdp, also "
      "the RDP order that gives it)");
  cmd->add_option("--sampling-rate", c->args.sampling_rate, kSamplingRateHelp)->required();
  cmd->add_option("--noise-multiplier", c->noise_multiplier,
                  "Noise standard deviation divided by the L2 sensitivity")
      ->required();
  cmd->add_option("--steps", c->args.steps, kStepsHelp)->required();
  cmd->add_option("--delta", c->args.delta, "Target delta, in (0, 1)")->required();
  cmd->add_option("--accountant", c->args.accountant, kAccountantHelp)
      ->check(CLI::IsMember({"pld", "rdp"}))
      ->capture_default_str();
  cmd->add_flag("--json", c->args.json, "Print one JSON object instead of text");
  cmd->callback([c, &exit_code] { exit_code = privacy::RunEpsilon(*c, std::cout, std::cerr); });
}

void RegisterCalibrate(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<privacy::CalibrateCommand>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate",
      "Smallest noise multiplier whose epsilon after STEPS steps is at most the target");
  cmd->add_option("--target-epsilon", c->target_epsilon, "Epsilon to meet, > 0")->required();
  cmd->add_option("--sampling-rate", c->args.sampling_rate, kSamplingRateHelp)->required();
  cmd->add_option("--steps", c->args.steps, kStepsHelp)->required();
  cmd->add_option("--delta", c->args.delta, "Target delta, in (0, 1)")->required();
  cmd->add_option("--accountant", c->args.accountant, kAccountantHelp)
      ->check(CLI::IsMember({"pld", "rdp"}))
      ->capture_default_str();
  cmd->add_flag("--json", c->args.json, "Print one JSON object instead of text");
  cmd->callback([c, &exit_code] { exit_code = privacy::RunCalibrate(*c, std::cout, std::cerr); });
}

void RegisterVerify(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<privacy::VerifyCommand>();
  CLI::App* cmd = app.add_subcommand(
      "verify",
      "Check a region's privacy ledger (hash chain, signatures by the ledger's own key, region), "
      "recompute the epsilon of every entry and compare the total, at the budget's delta, with "
      "the budget in its genesis entry; exit 0 when it verifies, 1 on a problem (including an "
      "exceeded budget), 2 when it cannot be checked");
  cmd->add_option("ledger", c->ledger, "The region's ledger (JSON lines)")->required();
  cmd->add_option("--cert", c->cert,
                  "The region's PEM TLS certificate: its subject CN must be the ledger's region "
                  "and its key must not be the ledger's; required for a legacy (v1) ledger, "
                  "signed with that key");
  cmd->add_option("--expect-head", c->expect_head,
                  "The head hash the region reported (report.json ledger_head); catches a "
                  "truncated ledger");
  cmd->add_option("--expect-entries", c->expect_entries,
                  "The entry count the ledger should have; catches a truncated ledger")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", c->json, "Print one JSON object instead of the table");
  cmd->callback([c, &exit_code] { exit_code = privacy::RunVerify(*c, std::cout, std::cerr); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "fedseg-audit: differential-privacy accounting for fedseg (PLD and RDP accountants)"};
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
    if (code != 0 && argc > 1 && std::string_view(argv[1]) == "verify") {
      return privacy::kAuditExitVerifyUsage;
    }
    return code;
  }
  return exit_code;
}
