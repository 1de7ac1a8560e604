// The choice between fedseg's two accountants and one composition that answers with either:
// "rdp" (rdp_accountant.h, Rényi DP) and "pld" (pld_accountant.h, privacy-loss distributions,
// tighter by 8-14% on DP-SGD workloads). Regions calibrate their noise with PLD by default
// (client/region_config.h); the ledger records which accountant produced each epsilon
// (privacy/ledger/entry.h) and fedseg-audit recomputes with it. docs/accountant.md compares them.
#ifndef FEDSEG_PRIVACY_ACCOUNTING_ACCOUNTANT_H_
#define FEDSEG_PRIVACY_ACCOUNTING_ACCOUNTANT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "privacy/accounting/pld_accountant.h"
#include "privacy/accounting/rdp_accountant.h"

namespace fedseg::privacy {

enum class AccountantKind { kRdp, kPld };

// "rdp" or "pld": the names in configs, ledgers and on the command line.
std::string AccountantName(AccountantKind kind);
// Parses "rdp" or "pld"; anything else is InvalidArgument naming both.
Result<AccountantKind> ParseAccountantKind(std::string_view text);

// Epsilon after `steps` steps of the sampled Gaussian mechanism with `kind`; for PLD the order
// is 0 (it has none).
Result<EpsilonResult> ComputeEpsilon(AccountantKind kind, double q, double noise_multiplier,
                                     int64_t steps, double delta);

// CalibrateNoiseMultiplier (calibration.h) with either accountant. For PLD the search starts
// from the RDP calibration (PLD needs less noise, so that multiplier meets the target as a rule),
// brackets the answer, and bisects until the bracket is narrower than
// kPldCalibrationRelativeTolerance: each PLD evaluation costs a composition. The returned
// multiplier always meets the target under `kind`.
inline constexpr double kPldCalibrationRelativeTolerance = 1e-4;
Result<double> CalibrateNoiseMultiplier(AccountantKind kind, double target_epsilon, double q,
                                        int64_t steps, double delta);

// A composition of releases that reports epsilon with either accountant (each release is
// composed into both). All-or-nothing adds, as in RdpAccountant.
class Accountant {
 public:
  Status AddSampledGaussian(double q, double noise_multiplier, int64_t steps);
  Status AddGaussian(double noise_multiplier, int64_t count = 1);
  // A release whose only privacy loss beyond the Gaussian mechanisms added above is a probability
  // `delta` of failure: Gaussian partition selection, where a category held by one user appears
  // in the output with probability at most `delta` (privacy/stats/private_summary.h). These
  // deltas add up; `delta` in (0, 1).
  Status AddDelta(double delta);
  // Epsilon of everything added, at `delta` in total: the mechanisms' epsilon at delta minus the
  // added deltas (basic composition with the (0, d) releases). An error when the added deltas
  // leave nothing of `delta`. order is 0 for PLD.
  Result<EpsilonResult> GetEpsilon(AccountantKind kind, double delta) const;
  double added_delta() const { return added_delta_; }

 private:
  RdpAccountant rdp_;
  PldAccountant pld_;
  double added_delta_ = 0.0;
};

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_ACCOUNTING_ACCOUNTANT_H_
