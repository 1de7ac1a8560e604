// Byzantine-robust aggregation: statistics of the round's deltas that a minority of arbitrary
// (malicious or broken) updates cannot drag arbitrarily far, used as Strategies beside FedAvg.
//
//   median        coordinate-wise median (Yin et al. 2018, "Byzantine-Robust Distributed
//                 Learning: Towards Optimal Statistical Rates", ICML, Sec. 4.1). Breakdown
//                 point 1/2: fewer than half the updates, whatever their values, cannot move a
//                 coordinate outside the range of the honest values.
//   trimmed-mean  coordinate-wise beta-trimmed mean (Yin et al. 2018, Sec. 4.2): per coordinate,
//                 drop the k = floor(beta * n) smallest and k largest values and average the rest.
//                 Breakdown point beta: up to k malicious updates are trimmed away.
//   krum          Multi-Krum (Blanchard et al. 2017, "Machine Learning with Adversaries:
//                 Byzantine Tolerant Gradient Descent", NeurIPS, Sec. 4): score each update by
//                 the sum of squared distances to its n - f - 2 nearest others, average the m
//                 best-scored (example-weighted). Tolerates f < (n - 2) / 2 malicious updates;
//                 needs n >= 2f + 3.
//
// All three are unweighted by example counts (a region cannot buy influence by claiming rows),
// except Multi-Krum's final average of the selected updates, whose weights are the (capped)
// example counts. They apply the robust delta to the global weights with the server learning rate.
#ifndef FEDSEG_COORDINATOR_ROBUST_STRATEGIES_H_
#define FEDSEG_COORDINATOR_ROBUST_STRATEGIES_H_

#include <memory>
#include <vector>

#include "coordinator/strategy.h"

namespace fedseg::coordinator {

// Per coordinate, the median of the updates' deltas (the mean of the two middle values when n is
// even). Fails like MeanDelta on no updates or a size mismatch.
Result<Eigen::VectorXf> CoordinateMedian(const std::vector<ClientUpdate>& updates,
                                         size_t num_params);

// Per coordinate, the mean of the values left after dropping floor(trim_fraction * n) from each
// end (trim_fraction in [0, 0.5)).
Result<Eigen::VectorXf> TrimmedMean(const std::vector<ClientUpdate>& updates, size_t num_params,
                                    double trim_fraction);

// The indices (into `updates`) Multi-Krum selects, best score first: `select` of them (0 = n - f).
// InvalidArgument when n < 2f + 3.
Result<std::vector<size_t>> KrumSelect(const std::vector<ClientUpdate>& updates, size_t num_params,
                                       int byzantine, int select);

// The robust Strategy named by config.kind (median, trimmed-mean or krum).
Result<std::unique_ptr<Strategy>> MakeRobustStrategy(const StrategyConfig& config);

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_ROBUST_STRATEGIES_H_
