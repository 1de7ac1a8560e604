// The commands of fedseg-audit, the auditors' command line (main.cc declares the options with
// CLI11 and dispatches here):
//
//   fedseg-audit epsilon   --sampling-rate Q --noise-multiplier S --steps T --delta D
//                          [--accountant pld|rdp] [--json]
//   fedseg-audit calibrate --target-epsilon E --sampling-rate Q --steps T --delta D
//                          [--accountant pld|rdp] [--json]
//   fedseg-audit verify    LEDGER [--cert REGION.crt] [--expect-head H] [--expect-entries N] [--json]
//
// Each Run* prints its result to `out` (text, or one JSON object with json = true) and its errors
// to `err`, and returns the exit status: 0 on success, kAuditExitError on an error; verify returns
// kAuditExitLedgerProblem when the ledger has a problem and kAuditExitVerifyUsage when it cannot be
// checked. In text output epsilon and noise multipliers are rounded up to six significant digits,
// so the printed numbers stay on the safe side; other numbers are exact (FormatShortest), and
// --json prints exact values.
#ifndef FEDSEG_PRIVACY_AUDIT_AUDIT_COMMANDS_H_
#define FEDSEG_PRIVACY_AUDIT_AUDIT_COMMANDS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "common/base/status.h"

namespace fedseg::privacy {

inline constexpr int kAuditExitError = 1;
// verify distinguishes "the ledger is bad" (1) from "the ledger could not be checked" (2), so a
// script can tell a failed audit from a mistyped path.
inline constexpr int kAuditExitLedgerProblem = 1;
inline constexpr int kAuditExitVerifyUsage = 2;

// What both accounting commands take: the sampled Gaussian mechanism's schedule and the output.
struct MechanismArgs {
  double sampling_rate = 0.0;
  std::string steps;  // as typed: ParseSteps
  double delta = 0.0;
  bool json = false;
  std::string accountant = "pld";  // "pld" or "rdp" (privacy/accounting/accountant.h)
};

struct EpsilonCommand {
  MechanismArgs args;
  double noise_multiplier = 0.0;
};

struct CalibrateCommand {
  MechanismArgs args;
  double target_epsilon = 0.0;
};

struct VerifyCommand {
  std::string ledger;
  std::string cert;
  std::string expect_head;      // "": not given
  int64_t expect_entries = -1;  // -1: not given
  bool json = false;
};

// Epsilon spent by `steps` steps of the Poisson-subsampled Gaussian mechanism under the chosen
// accountant (output key `accountant`), and for RDP the order that gave it (`order`).
int RunEpsilon(const EpsilonCommand& command, std::ostream& out, std::ostream& err);
// The smallest noise multiplier meeting the target epsilon, and the epsilon it gives.
int RunCalibrate(const CalibrateCommand& command, std::ostream& out, std::ostream& err);
// VerifyLedger, as a table (or JSON) on `out` and one line per problem on `err`.
int RunVerify(const VerifyCommand& command, std::ostream& out, std::ostream& err);

// `v` with `digits` significant digits, rounded towards +infinity: the printed value is never
// below the exact one.
std::string FormatRoundedUp(double v, int digits = 6);

// Steps are counts, but "1e6" is a natural way to type a million: a decimal or exponent text of
// an integer >= 1 (and below 9.2e18).
Result<int64_t> ParseSteps(const std::string& text);

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_AUDIT_AUDIT_COMMANDS_H_
