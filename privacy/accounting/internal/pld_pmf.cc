#include "privacy/accounting/internal/pld_pmf.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fedseg::privacy::internal {
namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;

// log(exp(v) - (1 - q)) for exp(v) > 1 - q, without overflow for large v and without losing the
// small difference when v is near log(1 - q).
double LogExpMinus(double v, double q) {
  if (v > 1.0) return v + std::log1p(-(1.0 - q) * std::exp(-v));
  const double d = std::expm1(v) + q;
  return d > 0.0 ? std::log(d) : -kInf;
}

// The noise value x at which the privacy loss equals `loss`. With y(x) = 1 - q + q exp((2x - 1) /
// (2 s^2)) the loss is log y(x) (remove, increasing in x) or -log y(x) (add, decreasing); solving
// y(x) = exp(+-loss) gives x = s^2 (log(exp(+-loss) - (1 - q)) - log q) + 1/2, -infinity when no
// x reaches it.
double NoiseAtLoss(double loss, double q, double sigma, PldDirection direction) {
  const double v = direction == PldDirection::kRemove ? loss : -loss;
  const double l = LogExpMinus(v, q);
  if (l == -kInf) return -kInf;
  return sigma * sigma * (l - std::log(q)) + 0.5;
}

double LossAtNoise(double x, double q, double sigma, PldDirection direction) {
  const double e = (2.0 * x - 1.0) / (2.0 * sigma * sigma);
  // log(1 - q + q exp(e)) = log1p(q expm1(e)), or e + log q + log1p((1 - q) exp(-e) / q) for e > 0.
  const double l = e > 0.0 ? e + std::log(q) + std::log1p((1.0 - q) * std::exp(-e) / q)
                           : std::log1p(q * std::expm1(e));
  return direction == PldDirection::kRemove ? l : -l;
}

// Both tails of N(mean, sigma^2) at x, each to full relative precision (erfc on its own side).
struct Tails {
  double lower = 0.0;  // P[X <= x]
  double upper = 0.0;  // P[X > x]
  double z = 0.0;
};
Tails TailsAt(double x, double mean, double sigma) {
  Tails t;
  if (x == -kInf) return {0.0, 1.0, -kInf};
  if (x == kInf) return {1.0, 0.0, kInf};
  t.z = (x - mean) / sigma;
  t.lower = 0.5 * std::erfc(-t.z * kInvSqrt2);
  t.upper = 0.5 * std::erfc(t.z * kInvSqrt2);
  return t;
}

// P[a < X <= b] from the tails at a <= b, subtracting on the side where both are small.
double Between(const Tails& a, const Tails& b) {
  double p;
  if (a.z >= 0.0) {
    p = a.upper - b.upper;
  } else if (b.z <= 0.0) {
    p = b.lower - a.lower;
  } else {
    p = 1.0 - a.lower - b.upper;
  }
  return std::max(p, 0.0);
}

}  // namespace

PldPmf DiscretizeSampledGaussian(double q, double sigma, PldDirection direction, double interval,
                                 double log_tail) {
  PldPmf pmf;
  pmf.interval = interval;
  // Truncate the noise where each Gaussian's tail is below exp(log_tail): z with
  // P[N(0,1) > z] <= exp(log_tail), from the bound P[N(0,1) > z] <= exp(-z^2 / 2).
  const double z = std::sqrt(-2.0 * log_tail);
  const double x_lo = -z * sigma;
  const double x_hi = 1.0 + z * sigma;
  double loss_lo = LossAtNoise(x_lo, q, sigma, direction);
  double loss_hi = LossAtNoise(x_hi, q, sigma, direction);
  if (loss_lo > loss_hi) std::swap(loss_lo, loss_hi);
  const int64_t k_lo = static_cast<int64_t>(std::floor(loss_lo / interval));
  const int64_t k_hi = static_cast<int64_t>(std::ceil(loss_hi / interval));
  const int64_t n = k_hi - k_lo + 1;
  pmf.offset = k_lo;
  pmf.mass.assign(static_cast<size_t>(n), 0.0);

  // P and Q are mixtures of N(0, s^2) and N(1, s^2): remove P = (1 - q, q), Q = (1, 0); add
  // P = (1, 0), Q = (1 - q, q).
  const bool remove = direction == PldDirection::kRemove;
  const double p0 = remove ? 1.0 - q : 1.0, p1 = remove ? q : 0.0;
  const double q0 = remove ? 1.0 : 1.0 - q, q1 = remove ? 0.0 : q;

  // Tails of both Gaussians at the noise value of every grid loss (k_lo + i) * interval.
  std::vector<Tails> t0(static_cast<size_t>(n)), t1(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double x = NoiseAtLoss(static_cast<double>(k_lo + i) * interval, q, sigma, direction);
    t0[i] = TailsAt(x, 0.0, sigma);
    t1[i] = TailsAt(x, 1.0, sigma);
  }
  // The noise interval where the loss lies in (loss_i, loss_j]: (x_i, x_j] when the loss increases
  // with the noise (remove), [x_j, x_i) when it decreases (add).
  auto mass_between = [&](int64_t i, int64_t j, double w0, double w1) {
    if (remove) return w0 * Between(t0[i], t0[j]) + w1 * Between(t1[i], t1[j]);
    return w0 * Between(t0[j], t0[i]) + w1 * Between(t1[j], t1[i]);
  };
  // Losses at or below the lowest grid point: their P mass moves up to it (pessimistic).
  {
    const Tails& a0 = t0[0];
    const Tails& a1 = t1[0];
    pmf.mass[0] = remove ? p0 * a0.lower + p1 * a1.lower : p0 * a0.upper + p1 * a1.upper;
  }
  // Connect the dots: interval (loss_i, loss_{i+1}] holds P mass dp and Q mass dq with
  // e^{loss_i} dq <= dp <= e^{loss_{i+1}} dq. Splitting it into Q mass a at loss_{i+1} and
  // dq - a at loss_i preserves both when e^{loss_i} (dq - a) + e^{loss_{i+1}} a = dp, i.e. the P
  // mass at loss_{i+1} is r = e^{loss_{i+1}} a = (dp - e^{loss_i} dq) / (1 - e^{-interval}).
  const double denominator = -std::expm1(-interval);
  for (int64_t i = 0; i + 1 < n; ++i) {
    const double dp = mass_between(i, i + 1, p0, p1);
    if (dp <= 0.0) continue;
    const double dq = mass_between(i, i + 1, q0, q1);
    const double loss_i = static_cast<double>(k_lo + i) * interval;
    const double scaled_dq = dq > 0.0 ? std::exp(loss_i + std::log(dq)) : 0.0;
    // Rounding can push r slightly outside [0, dp]; clamp, keeping the P mass whole.
    const double r = std::clamp((dp - scaled_dq) / denominator, 0.0, dp);
    pmf.mass[i] += dp - r;
    pmf.mass[i + 1] += r;
  }
  // Losses above the top grid point (the truncated noise tail): infinite loss.
  {
    const Tails& b0 = t0[n - 1];
    const Tails& b1 = t1[n - 1];
    pmf.infinity_mass = remove ? p0 * b0.upper + p1 * b1.upper : p0 * b0.lower + p1 * b1.lower;
  }
  return pmf;
}

double HockeyStickDelta(const PldPmf& pmf, double epsilon) {
  long double delta = pmf.infinity_mass;
  for (size_t i = 0; i < pmf.mass.size(); ++i) {
    const double loss = static_cast<double>(pmf.offset + static_cast<int64_t>(i)) * pmf.interval;
    if (loss > epsilon) delta += pmf.mass[i] * -std::expm1(epsilon - loss);
  }
  return static_cast<double>(delta);
}

double EpsilonForDelta(const PldPmf& pmf, double delta) {
  if (pmf.infinity_mass >= delta) return kInf;
  // Scan the grid from the top. At eps = `lower` (a grid loss, or 0) the points above it give
  // delta(lower) = m + s1 - u with s1 = sum mass_j and u = sum mass_j e^{lower - loss_j}; on the
  // stretch above `lower`, delta(eps) = m + s1 - u e^{eps - lower}, solved where it crosses
  // `delta`. u is kept relative to `lower` so that no exponential overflows, however large eps.
  // Only eps >= 0 is searched.
  const long double m = pmf.infinity_mass;
  long double s1 = 0.0L, u = 0.0L;
  double previous = kInf;  // the grid loss above the current one
  for (int64_t i = static_cast<int64_t>(pmf.mass.size()) - 1; i >= 0; --i) {
    const double loss = static_cast<double>(pmf.offset + i) * pmf.interval;
    const double lower = std::max(loss, 0.0);
    if (previous != kInf) u *= std::exp(static_cast<long double>(lower - previous));
    if (m + s1 - u > delta) {
      const long double e = lower + std::log((m + s1 - static_cast<long double>(delta)) / u);
      return std::max(static_cast<double>(e), lower);
    }
    if (loss <= 0.0) return 0.0;
    s1 += pmf.mass[i];
    u += pmf.mass[i];  // e^{lower - loss} = 1 for the point at `lower`
    previous = lower;
  }
  // Every point lies above 0: the last stretch is (0, lowest loss].
  u *= std::exp(static_cast<long double>(-previous));
  if (m + s1 - u > delta) {
    return std::max(static_cast<double>(std::log((m + s1 - static_cast<long double>(delta)) / u)),
                    0.0);
  }
  return 0.0;
}

}  // namespace fedseg::privacy::internal
