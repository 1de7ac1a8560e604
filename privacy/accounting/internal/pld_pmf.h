// The discrete privacy-loss distribution (PLD) of one Poisson-subsampled Gaussian step, built by
// the connect-the-dots discretization of Doroshenko, Ghazi, Kamath, Kumar and Manurangsi 2022
// ("Connect the Dots: Tighter Discrete Approximations of Privacy Loss Distributions", PETS 2022,
// arXiv:2207.04380), and the hockey-stick queries on a discrete PLD. The accountant
// (pld_accountant.h) composes these; docs/accountant.md derives the construction.
#ifndef FEDSEG_PRIVACY_ACCOUNTING_INTERNAL_PLD_PMF_H_
#define FEDSEG_PRIVACY_ACCOUNTING_INTERNAL_PLD_PMF_H_

#include <cstdint>
#include <limits>
#include <vector>

namespace fedseg::privacy::internal {

// An infinite privacy loss (a pure-DP failure), as the PMFs and their compositions write it.
inline constexpr double kInf = std::numeric_limits<double>::infinity();

// A PLD on the grid {k * interval}: mass[i] is the probability, under the first distribution P of
// the dominating pair (P, Q), that the privacy loss log(P/Q) equals (offset + i) * interval;
// infinity_mass is the probability of an infinite (or unrepresented, too large) loss. The masses
// sum to at most 1 and sum_i mass[i] exp(-loss_i) <= 1 (the Q side), so it is the PLD of a pair.
struct PldPmf {
  double interval = 0.0;
  int64_t offset = 0;
  std::vector<double> mass;
  double infinity_mass = 0.0;
};

// Which neighbouring data set plays P. Under add/remove adjacency the sampled Gaussian mechanism
// has two dominating pairs, mu = (1 - q) N(0, s^2) + q N(1, s^2) against N(0, s^2) (remove, the
// record is in the first data set) and N(0, s^2) against mu (add); both must be accounted.
enum class PldDirection { kRemove, kAdd };

// The connect-the-dots PLD of one step of the sampled Gaussian mechanism (sampling rate q in
// (0, 1], noise multiplier sigma > 0, sensitivity 1) on the grid of `interval`. Each interval
// between two grid losses gives its P and Q mass to its two end points in the unique way that
// preserves both (so the hockey-stick curve of the result interpolates the exact one linearly in
// e^eps between grid points, which lies above it by convexity: a pessimistic estimate). Losses
// below the grid go to its lowest point; the P mass of x beyond the truncation of the noise
// (a tail of exp(log_tail) on each side) or of losses above the grid is infinity_mass.
PldPmf DiscretizeSampledGaussian(double q, double sigma, PldDirection direction, double interval,
                                 double log_tail);

// delta(eps) = infinity_mass + sum_i mass[i] * max(0, 1 - exp(eps - loss_i)): the hockey-stick
// divergence of the pair that `pmf` is the PLD of.
double HockeyStickDelta(const PldPmf& pmf, double epsilon);

// The smallest eps >= 0 with HockeyStickDelta(pmf, eps) <= delta (solved exactly between grid
// points, where delta(eps) = a - b exp(eps)); +infinity when infinity_mass >= delta.
double EpsilonForDelta(const PldPmf& pmf, double delta);

}  // namespace fedseg::privacy::internal

#endif  // FEDSEG_PRIVACY_ACCOUNTING_INTERNAL_PLD_PMF_H_
