// The checks of the accountant's parameters, with one message each ("delta must be in (0, 1),
// got 2"): the accountant, the calibration and the ledger's entries validate through these, so a
// parameter is refused with the same words wherever it enters.
#ifndef FEDSEG_PRIVACY_ACCOUNTING_PARAMETER_CHECKS_H_
#define FEDSEG_PRIVACY_ACCOUNTING_PARAMETER_CHECKS_H_

#include <cstdint>

#include "common/base/status.h"

namespace fedseg::privacy {

// q in (0, 1]: the Poisson sampling rate (1 is the plain Gaussian mechanism).
Status CheckSamplingRate(double q);
// sigma finite and > 0: noise standard deviation divided by the L2 sensitivity.
Status CheckNoiseMultiplier(double sigma);
// steps >= 1: how many times the mechanism runs.
Status CheckSteps(int64_t steps);
// delta in (0, 1), the open interval.
Status CheckDelta(double delta);

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_ACCOUNTING_PARAMETER_CHECKS_H_
