#include "privacy/accounting/calibration.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "privacy/accounting/accountant.h"
#include "privacy/accounting/number_format.h"
#include "privacy/accounting/parameter_checks.h"
#include "privacy/accounting/rdp_accountant.h"

namespace fedseg::privacy {

Result<double> CalibrateNoiseMultiplier(double target_epsilon, double q, int64_t steps,
                                        double delta) {
  if (!(std::isfinite(target_epsilon) && target_epsilon > 0.0)) {
    return Status::InvalidArgument("target_epsilon must be finite and positive, got " +
                                   FormatShortest(target_epsilon));
  }
  FEDSEG_RETURN_IF_ERROR(CheckSamplingRate(q));
  FEDSEG_RETURN_IF_ERROR(CheckSteps(steps));
  FEDSEG_RETURN_IF_ERROR(CheckDelta(delta));
  auto epsilon_at = [&](double sigma) -> Result<double> {
    FEDSEG_ASSIGN_OR_RETURN(EpsilonResult r, ComputeEpsilon(q, sigma, steps, delta));
    return r.epsilon;
  };
  const std::string inputs = " (sampling_rate " + FormatShortest(q) + ", steps " +
                             std::to_string(steps) + ", delta " + FormatShortest(delta) + ")";

  double hi = kMaxCalibratedNoiseMultiplier;
  FEDSEG_ASSIGN_OR_RETURN(double eps_hi, epsilon_at(hi));
  if (eps_hi > target_epsilon) {
    return Status::InvalidArgument("target_epsilon " + FormatShortest(target_epsilon) +
                                   " is unreachable: even noise_multiplier " + FormatShortest(hi) +
                                   " gives epsilon " + FormatShortest(eps_hi) + inputs);
  }
  double lo = kMinCalibratedNoiseMultiplier;
  FEDSEG_ASSIGN_OR_RETURN(double eps_lo, epsilon_at(lo));
  if (eps_lo <= target_epsilon) {
    return Status::InvalidArgument("target_epsilon " + FormatShortest(target_epsilon) +
                                   " is met even by noise_multiplier " + FormatShortest(lo) +
                                   " (epsilon " + FormatShortest(eps_lo) +
                                   "), the smallest one searched" + inputs);
  }
  // Invariant: epsilon(lo) > target >= epsilon(hi). Epsilon is non-increasing in the noise
  // multiplier (more noise is post-processing), so bisect in log space.
  while (hi - lo > kCalibrationRelativeTolerance * hi) {
    const double mid = std::sqrt(lo * hi);
    if (mid <= lo || mid >= hi) break;
    FEDSEG_ASSIGN_OR_RETURN(double eps_mid, epsilon_at(mid));
    if (eps_mid <= target_epsilon) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return hi;
}

Result<double> CalibrateNoiseMultiplier(AccountantKind kind, double target_epsilon, double q,
                                        int64_t steps, double delta) {
  FEDSEG_ASSIGN_OR_RETURN(double rdp_sigma,
                          CalibrateNoiseMultiplier(target_epsilon, q, steps, delta));
  if (kind == AccountantKind::kRdp) return rdp_sigma;
  auto meets = [&](double sigma) -> Result<bool> {
    FEDSEG_ASSIGN_OR_RETURN(double eps, ComputePldEpsilon(q, sigma, steps, delta));
    return eps <= target_epsilon;
  };
  // Bracket: meets(hi) and !meets(lo), stepping by a factor of 1.25 from the RDP answer.
  constexpr double kStep = 1.25;
  double hi = rdp_sigma;
  for (;;) {
    FEDSEG_ASSIGN_OR_RETURN(bool ok, meets(hi));
    if (ok) break;
    if (hi >= kMaxCalibratedNoiseMultiplier) {
      return Status::InvalidArgument("target_epsilon " + FormatShortest(target_epsilon) +
                                     " is unreachable with the PLD accountant: even "
                                     "noise_multiplier " + FormatShortest(hi) + " misses it");
    }
    hi = std::min(hi * kStep, kMaxCalibratedNoiseMultiplier);
  }
  double lo = hi / kStep;
  for (;;) {
    FEDSEG_ASSIGN_OR_RETURN(bool ok, meets(lo));
    if (!ok) break;
    hi = lo;
    if (lo <= kMinCalibratedNoiseMultiplier) {
      return Status::InvalidArgument("target_epsilon " + FormatShortest(target_epsilon) +
                                     " is met by the PLD accountant even with noise_multiplier " +
                                     FormatShortest(lo) + ", the smallest one searched");
    }
    lo = std::max(lo / kStep, kMinCalibratedNoiseMultiplier);
  }
  while (hi - lo > kPldCalibrationRelativeTolerance * hi) {
    const double mid = std::sqrt(lo * hi);
    if (mid <= lo || mid >= hi) break;
    FEDSEG_ASSIGN_OR_RETURN(bool ok, meets(mid));
    (ok ? hi : lo) = mid;
  }
  return hi;
}

}  // namespace fedseg::privacy
