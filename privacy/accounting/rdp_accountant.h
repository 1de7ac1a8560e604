// Rényi-DP accountant for the Poisson-subsampled Gaussian mechanism.
//
// Every noisy release fedseg makes (a DP-SGD step on a sampled batch, a noisy statistic) is an
// instance of the sampled Gaussian mechanism: each record is included with probability q, the
// included records' clipped contributions are summed, and Gaussian noise with standard deviation
// noise_multiplier * L2-sensitivity is added. This file computes its Rényi differential privacy
// (RDP) at a set of orders, composes heterogeneous releases by adding RDP, and converts the total
// into an (epsilon, delta) guarantee. Results always err on the side of privacy: a reported
// epsilon is never below the exact value, and a calibrated noise multiplier never falls short of
// its target (calibration.h). The mathematics, numerics and accuracy are described in
// docs/accountant.md.
#ifndef FEDSEG_PRIVACY_ACCOUNTING_RDP_ACCOUNTANT_H_
#define FEDSEG_PRIVACY_ACCOUNTING_RDP_ACCOUNTANT_H_

#include <cstdint>
#include <vector>

#include "common/base/status.h"

namespace fedseg::privacy {

// Orders accepted by the accountant lie in (1, kMaxRdpOrder]; the integer series costs O(order).
inline constexpr double kMaxRdpOrder = 1e6;

// dp_accounting's DEFAULT_RDP_ORDERS: 1.1, 1.2, ..., 10.9 (built as 1 + x / 10, so the integers
// 2..10 among them are exact), then 11, 12, ..., 63, then 128, 256, 512, 1024. 156 orders.
std::vector<double> DefaultRdpOrders();

// RDP at order `alpha` (> 1) of one step of the sampled Gaussian mechanism with sampling rate
// `q` in (0, 1] and noise standard deviation `noise_multiplier` times the L2 sensitivity
// (Mironov, Talwar and Zhang 2019). q = 1 is the plain Gaussian mechanism: alpha / (2 sigma^2).
Result<double> ComputeRdpSampledGaussian(double q, double noise_multiplier, double alpha);

struct EpsilonResult {
  double epsilon;  // an upper bound on the exact epsilon; >= 0
  double order;    // the RDP order that gave it
};

// Converts accumulated RDP at `orders` into the smallest epsilon over the orders for `delta`,
// with the conversion of Balle et al. 2020 (Theorem 21) and Canonne, Kamath and Steinke 2020
// (Proposition 12), as in Opacus and dp_accounting:
//   eps(alpha) = rdp(alpha) - (log(delta) + log(alpha)) / (alpha - 1) + log((alpha - 1) / alpha).
// Each eps(alpha) is rounded up by a relative margin (see docs/accountant.md), and a negative
// minimum is reported as 0 (as dp_accounting does).
Result<EpsilonResult> EpsilonFromRdp(const std::vector<double>& orders,
                                     const std::vector<double>& rdp, double delta);

// Composes privacy events by adding their RDP at every order (Mironov 2017, Proposition 1).
//
// The constructor cannot fail; invalid orders (none, or one outside (1, kMaxRdpOrder]) are
// remembered and every later call returns that error. Use Create() to find out at once.
class RdpAccountant {
 public:
  explicit RdpAccountant(std::vector<double> orders = DefaultRdpOrders());
  static Result<RdpAccountant> Create(std::vector<double> orders = DefaultRdpOrders());

  // `steps` releases of the sampled Gaussian mechanism (q, noise_multiplier). All-or-nothing: on
  // error the accountant is unchanged.
  Status AddSampledGaussian(double q, double noise_multiplier, int64_t steps);
  // `count` releases of the Gaussian mechanism on the whole data set, e.g. a noisy statistic
  // with noise_multiplier = noise stddev / L2 sensitivity. Same as AddSampledGaussian(1, ...).
  Status AddGaussian(double noise_multiplier, int64_t count = 1);

  Result<EpsilonResult> GetEpsilon(double delta) const;

  const std::vector<double>& orders() const { return orders_; }
  const std::vector<double>& rdp() const { return rdp_; }  // accumulated RDP per order

 private:
  Status orders_status_;  // why the orders are invalid, or OK
  std::vector<double> orders_;
  std::vector<double> rdp_;
};

// Epsilon after `steps` steps of the sampled Gaussian mechanism, over DefaultRdpOrders().
Result<EpsilonResult> ComputeEpsilon(double q, double noise_multiplier, int64_t steps,
                                     double delta);

}  // namespace fedseg::privacy

// CalibrateNoiseMultiplier, the inverse of ComputeEpsilon, lives in its own file; included here so
// callers of the accountant keep one include.
#include "privacy/accounting/calibration.h"  // IWYU pragma: export

#endif  // FEDSEG_PRIVACY_ACCOUNTING_RDP_ACCOUNTANT_H_
