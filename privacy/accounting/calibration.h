// Noise calibration: the smallest noise multiplier of the Poisson-subsampled Gaussian mechanism
// that meets a target epsilon, the inverse of ComputeEpsilon (rdp_accountant.h). fedseg-audit
// calibrate prints it; docs/accountant.md describes the search.
#ifndef FEDSEG_PRIVACY_ACCOUNTING_CALIBRATION_H_
#define FEDSEG_PRIVACY_ACCOUNTING_CALIBRATION_H_

#include <cstdint>

#include "common/base/status.h"

namespace fedseg::privacy {

// CalibrateNoiseMultiplier searches noise multipliers in [kMinCalibratedNoiseMultiplier,
// kMaxCalibratedNoiseMultiplier] and stops when the bracket is narrower than
// kCalibrationRelativeTolerance times its upper end.
inline constexpr double kMinCalibratedNoiseMultiplier = 1e-3;
inline constexpr double kMaxCalibratedNoiseMultiplier = 1e4;
inline constexpr double kCalibrationRelativeTolerance = 1e-7;

// The smallest noise multiplier whose ComputeEpsilon(q, ., steps, delta) is <= target_epsilon,
// found by bisection to within kCalibrationRelativeTolerance (relative), rounded up: the returned
// value always meets the target, and every multiplier smaller by more than that fraction misses
// it. Fails with InvalidArgument when even kMaxCalibratedNoiseMultiplier misses the target (the
// conversion alone costs about log(1/delta) / 1023), or when kMinCalibratedNoiseMultiplier
// already meets it (the smallest multiplier lies below the searched range).
Result<double> CalibrateNoiseMultiplier(double target_epsilon, double q, int64_t steps,
                                        double delta);

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_ACCOUNTING_CALIBRATION_H_
