#include "privacy/accounting/parameter_checks.h"

#include <cmath>
#include <string>

#include "privacy/accounting/number_format.h"

namespace fedseg::privacy {

Status CheckSamplingRate(double q) {
  if (!(q > 0.0 && q <= 1.0)) {
    return Status::InvalidArgument("sampling_rate must be in (0, 1], got " + FormatShortest(q));
  }
  return Status::OK();
}

Status CheckNoiseMultiplier(double sigma) {
  if (!(std::isfinite(sigma) && sigma > 0.0)) {
    return Status::InvalidArgument("noise_multiplier must be finite and positive, got " +
                                   FormatShortest(sigma));
  }
  return Status::OK();
}

Status CheckSteps(int64_t steps) {
  if (steps < 1) {
    return Status::InvalidArgument("steps must be positive, got " + std::to_string(steps));
  }
  return Status::OK();
}

Status CheckDelta(double delta) {
  if (!(delta > 0.0 && delta < 1.0)) {
    return Status::InvalidArgument("delta must be in (0, 1), got " + FormatShortest(delta));
  }
  return Status::OK();
}

}  // namespace fedseg::privacy
