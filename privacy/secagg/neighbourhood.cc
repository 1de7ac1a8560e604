#include "privacy/secagg/neighbourhood.h"

#include <algorithm>
#include <cmath>

#include "privacy/secagg/protocol.h"

namespace fedseg::privacy::secagg {
namespace {

constexpr double kSecurityBits = 40;     // statistical security parameter
constexpr double kCorrectnessBits = 20;  // a round fails for lack of shares at most 2^-20
// Keeps floating-point rounding from moving a count up or down across an integer.
constexpr double kSlack = 1e-12;

double LogChoose(double n, double k) {
  return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1);
}

// P[X >= t] and P[X < t] for X ~ Hypergeometric(population n, marked m, draws k): the number of
// marked regions among k neighbours drawn without replacement from the other regions (n stands
// for n - 1 others plus the region itself, as in Bell et al.: slightly pessimistic).
double HypergeometricPmf(double n, double m, double k, double x) {
  if (x < std::max(0.0, k - (n - m)) || x > std::min(k, m)) return 0;
  return std::exp(LogChoose(m, x) + LogChoose(n - m, k - x) - LogChoose(n, k));
}
double UpperTail(double n, double m, double k, int t) {
  double p = 0;
  for (int x = t; x <= static_cast<int>(k); ++x) p += HypergeometricPmf(n, m, k, x);
  return p;
}
double LowerTail(double n, double m, double k, int t) {
  double p = 0;
  for (int x = 0; x < t; ++x) p += HypergeometricPmf(n, m, k, x);
  return p;
}

}  // namespace

bool NeighboursMeetBounds(size_t regions, uint32_t k, const NeighbourhoodAssumptions& a) {
  const double n = static_cast<double>(regions);
  const double kd = static_cast<double>(k);
  if (k == 0 || k % 2 != 0 || kd >= n - 1) return false;
  const double colluding = std::floor(a.colluding * n + kSlack);
  const double surviving = std::ceil((1 - a.dropout) * n - kSlack);
  const double removed = colluding + std::floor(a.dropout * n + kSlack);
  const double log_security = -(kSecurityBits + 1) * std::log(2.0);
  // Connectivity: a removal that disconnects a Harary graph of degree k takes k/2 consecutive
  // ring positions at two places; union bound over the n (n - k - 1) / 2 pairs of places of the
  // probability that k given regions are all removed.
  if (kd <= removed) {
    const double log_p = std::log(n) + std::log(n - kd - 1) - std::log(2.0) +
                         std::lgamma(removed + 1) - std::lgamma(removed - kd + 1) +
                         std::lgamma(n - kd + 1) - std::lgamma(n + 1);
    if (log_p >= log_security) return false;
  }
  SecAggParams params;
  params.threshold_fraction = a.threshold_fraction;
  const int t = ShareThreshold(k, params);
  // Security: no region has t colluding neighbours, union bound over the n regions.
  if (UpperTail(n, colluding, kd, t) > std::exp(log_security) / n) return false;
  // Correctness: every region keeps t surviving neighbours, union bound over the n regions.
  if (LowerTail(n, surviving, kd, t) > std::pow(2.0, -kCorrectnessBits) / n) return false;
  return true;
}

uint32_t DefaultNeighbours(size_t regions, const NeighbourhoodAssumptions& a) {
  if (regions <= kCompleteGraphUpTo) return 0;
  // Feasible assumptions (the config's checks) give k in the hundreds even at 10^5 regions; the
  // cap only bounds the search for infeasible ones.
  constexpr uint32_t kMaxSearched = 4096;
  for (uint32_t k = 2; k <= kMaxSearched && static_cast<double>(k) < static_cast<double>(regions) - 1;
       k += 2) {
    if (NeighboursMeetBounds(regions, k, a)) return k;
  }
  return 0;
}

}  // namespace fedseg::privacy::secagg
