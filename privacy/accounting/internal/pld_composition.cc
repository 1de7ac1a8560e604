#include "privacy/accounting/internal/pld_composition.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <unsupported/Eigen/FFT>

namespace fedseg::privacy::internal {
namespace {

double LossAt(const PldPmf& pmf, size_t i) {
  return static_cast<double>(pmf.offset + static_cast<int64_t>(i)) * pmf.interval;
}

// log E[e^{lambda L}] over the finite part of a PLD (a sub-probability), by log-sum-exp over
// (log mass_i, loss_i) pairs of its positive masses.
struct LogMasses {
  std::vector<double> log_mass, loss;
};
LogMasses ToLogMasses(const PldPmf& pmf) {
  LogMasses l;
  for (size_t i = 0; i < pmf.mass.size(); ++i) {
    if (pmf.mass[i] > 0.0) {
      l.log_mass.push_back(std::log(pmf.mass[i]));
      l.loss.push_back(LossAt(pmf, i));
    }
  }
  return l;
}
double LogMgf(const LogMasses& l, double lambda) {
  double top = -kInf;
  for (size_t i = 0; i < l.loss.size(); ++i)
    top = std::max(top, l.log_mass[i] + lambda * l.loss[i]);
  if (top == -kInf) return -kInf;
  long double sum = 0.0L;
  for (size_t i = 0; i < l.loss.size(); ++i)
    sum += std::exp(l.log_mass[i] + lambda * l.loss[i] - top);
  return top + std::log(static_cast<double>(sum));
}

// Variance of the loss under the normalized finite part, for choosing lambda.
double LossVariance(const PldPmf& pmf) {
  long double m0 = 0.0L, m1 = 0.0L, m2 = 0.0L;
  for (size_t i = 0; i < pmf.mass.size(); ++i) {
    const long double l = LossAt(pmf, i);
    m0 += pmf.mass[i];
    m1 += pmf.mass[i] * l;
    m2 += pmf.mass[i] * l * l;
  }
  if (m0 <= 0.0L) return 0.0;
  const long double mean = m1 / m0;
  return static_cast<double>(std::max(m2 / m0 - mean * mean, 0.0L));
}

int64_t FloorDiv(double v, double interval) {
  return static_cast<int64_t>(std::floor(v / interval));
}
int64_t CeilDiv(double v, double interval) { return static_cast<int64_t>(std::ceil(v / interval)); }

}  // namespace

PldWindow ComposedWindow(const std::vector<PldComponent>& components, double log_tail) {
  // The support of the composed finite loss.
  int64_t support_lo = 0, support_hi = 0;
  double variance = 0.0;
  for (const PldComponent& c : components) {
    support_lo += c.count * c.pmf->offset;
    support_hi += c.count * (c.pmf->offset + static_cast<int64_t>(c.pmf->mass.size()) - 1);
    variance += static_cast<double>(c.count) * LossVariance(*c.pmf);
  }
  PldWindow w{support_lo, support_hi};
  if (components.empty() || !(variance > 0.0)) return w;
  const double interval = components.front().pmf->interval;
  std::vector<LogMasses> logs;
  for (const PldComponent& c : components) logs.push_back(ToLogMasses(*c.pmf));
  // The bound at one lambda for each side: P[S >= b] <= exp(log E[e^{lambda S}] - lambda b) <=
  // tail for b >= (log E[e^{lambda S}] - log_tail) / lambda, and the mirror image on the left.
  auto upper_at = [&](double lambda) {
    double log_mgf = 0.0;
    for (size_t i = 0; i < components.size(); ++i) {
      log_mgf += static_cast<double>(components[i].count) * LogMgf(logs[i], lambda);
    }
    return std::isfinite(log_mgf) ? (log_mgf - log_tail) / lambda : kInf;
  };
  auto lower_at = [&](double lambda) {
    double log_mgf = 0.0;
    for (size_t i = 0; i < components.size(); ++i) {
      log_mgf += static_cast<double>(components[i].count) * LogMgf(logs[i], -lambda);
    }
    return std::isfinite(log_mgf) ? (log_tail - log_mgf) / lambda : -kInf;
  };
  // Any lambda gives a valid bound; search for a good one: powers of two from 1/16 to past the
  // Gaussian optimum sqrt(2 log(1/tail) / variance) (heavy right tails, as the sampled
  // mechanism's, want a smaller lambda than that), then refine around the best by quarter powers.
  // lambda = 1 is always among them (on the left, E[e^{-L}] <= 1 for any PLD).
  const double center = std::sqrt(-2.0 * log_tail / variance);
  auto search = [&](auto bound, bool minimize) {
    double best_lambda = 1.0, best = bound(1.0);
    auto better = [&](double v) { return minimize ? v < best : v > best; };
    for (double lambda = 1.0 / 16; lambda <= std::max(4.0, 4.0 * center); lambda *= 2) {
      const double v = bound(lambda);
      if (better(v)) best = v, best_lambda = lambda;
    }
    for (double f :
         {0.5946035575013605, 0.8408964152537145, 1.189207115002721, 1.681792830507429}) {
      const double v = bound(best_lambda * f);
      if (better(v)) best = v;
    }
    return best;
  };
  const double best_hi = search(upper_at, true);
  const double best_lo = search(lower_at, false);
  // Clip in the real line before converting, so huge bounds cannot overflow an int64_t.
  const double lo_loss = static_cast<double>(support_lo) * interval;
  const double hi_loss = static_cast<double>(support_hi) * interval;
  if (best_lo > lo_loss)
    w.lo = std::min(FloorDiv(std::min(best_lo, hi_loss), interval), support_hi);
  if (best_hi < hi_loss) w.hi = std::max(CeilDiv(std::max(best_hi, lo_loss), interval), support_lo);
  if (w.hi < w.lo) w.hi = w.lo;
  return w;
}

PldPmf ComposePlds(const std::vector<PldComponent>& components, const PldWindow& w,
                   double log_tail) {
  PldPmf out;
  if (components.empty()) {
    out.mass = {1.0};  // the identity: loss 0 with certainty
    return out;
  }
  out.interval = components.front().pmf->interval;
  size_t n = 2;
  while (static_cast<int64_t>(n) < w.size()) n *= 2;
  const int64_t period = static_cast<int64_t>(n);
  auto slot = [period](int64_t index) {
    const int64_t r = index % period;
    return static_cast<size_t>(r < 0 ? r + period : r);
  };

  Eigen::FFT<double> fft;
  fft.SetFlag(Eigen::FFT<double>::HalfSpectrum);
  std::vector<std::complex<double>> total(n / 2 + 1, std::complex<double>(1.0, 0.0));
  std::vector<double> folded(n);
  std::vector<std::complex<double>> spectrum;
  double log_finite = 0.0;  // log of the probability that every step's loss is finite
  for (const PldComponent& c : components) {
    std::fill(folded.begin(), folded.end(), 0.0);
    for (size_t i = 0; i < c.pmf->mass.size(); ++i) {
      folded[slot(c.pmf->offset + static_cast<int64_t>(i))] += c.pmf->mass[i];
    }
    fft.fwd(spectrum, folded);
    const double count = static_cast<double>(c.count);
    for (size_t k = 0; k < total.size(); ++k) {
      const std::complex<double> z = spectrum[k];
      const double r = std::abs(z);
      total[k] *= r > 0.0 ? std::polar(std::pow(r, count), count * std::arg(z))
                          : std::complex<double>(0.0, 0.0);
    }
    log_finite += count * std::log1p(-std::min(c.pmf->infinity_mass, 1.0));
  }
  std::vector<double> composed;
  fft.inv(composed, total, n);

  out.offset = w.lo;
  out.mass.resize(static_cast<size_t>(w.size()));
  for (int64_t k = 0; k < w.size(); ++k) {
    out.mass[static_cast<size_t>(k)] = std::max(composed[slot(w.lo + k)], 0.0);
  }
  out.infinity_mass = std::min(-std::expm1(log_finite) + 2.0 * std::exp(log_tail), 1.0);
  return out;
}

}  // namespace fedseg::privacy::internal
