#include "privacy/accounting/rdp_accountant.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "privacy/accounting/number_format.h"
#include "privacy/accounting/parameter_checks.h"

namespace fedseg::privacy {
namespace {

// ---------------------------------------------------------------------------------------------
// Notation (Mironov, Talwar and Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian
// Mechanism", arXiv:1908.10530; MTZ below). With mu0 = N(0, s^2), mu1 = N(1, s^2) and the mixture
// mu = (1 - q) mu0 + q mu1, the RDP of one step at order alpha is
//   eps(alpha) = log(A_alpha) / (alpha - 1),   A_alpha = E_{z~mu0}[(mu(z) / mu0(z))^alpha]
// (MTZ Theorem 4 shows D_alpha(mu || mu0) is the worst case over adjacent data sets under
// add/remove-one adjacency). With E(z) = mu1(z) / mu0(z) = exp((2z - 1) / (2 s^2)) and
// y(z) = 1 - q + q E(z), A_alpha = E[y^alpha].
//
// The total is computed as log(A_alpha - 1): since E_{mu0}[y] = 1,
//   A_alpha - 1 = E[y^alpha - 1 - alpha (y - 1)],
// whose integrand is >= 0 (convexity). Computing A_alpha - 1 directly, instead of A_alpha ~ 1
// and then log(A_alpha), keeps full relative precision when the RDP is tiny (small q, large s):
// log(A_alpha) ~ 1e-12 would otherwise keep only ~4 significant digits.
// ---------------------------------------------------------------------------------------------

constexpr double kLogHalf = -0.69314718055994530942;
constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kInvSqrtPi = 0.56418958354775628695;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr double kUnit = std::numeric_limits<double>::epsilon() / 2;  // unit roundoff, 2^-53

// Terms below exp(kNegligibleLog) (4e-18) times the largest term are dropped; what is dropped is
// added to the error bound.
constexpr double kNegligibleLog = -40.0;

// Error model for rounding the RDP up. A term computed in log space as a sum of addends a_j has
// a relative error of at most kAddendErrorFactor * kUnit * sum |a_j| from the addends' rounding,
// plus kFunctionError from erfc, exp, log, log1p and expm1 (glibc: at most a few ulps each).
constexpr double kAddendErrorFactor = 8.0;
constexpr double kFunctionError = 32.0 * kUnit;

// Pessimistic rounding of epsilon (see EpsilonFromRdp and docs/accountant.md).
constexpr double kRdpRelativeMargin = 1e-11;
constexpr double kConversionRelativeMargin = 1e-12;

Status CheckOrder(double alpha) {
  if (!(alpha > 1.0 && alpha <= kMaxRdpOrder)) {
    return Status::InvalidArgument("order must be in (1, " + FormatShortest(kMaxRdpOrder) +
                                   "], got " + FormatShortest(alpha));
  }
  return Status::OK();
}

Status CheckOrders(const std::vector<double>& orders) {
  if (orders.empty()) return Status::InvalidArgument("orders must not be empty");
  for (double alpha : orders) FEDSEG_RETURN_IF_ERROR(CheckOrder(alpha));
  return Status::OK();
}

// log(exp(c) - 1) for c > 0.
double LogExpm1(double c) {
  return c > 1.0 ? c + std::log1p(-std::exp(-c)) : std::log(std::expm1(c));
}

// log(1 + exp(x)).
double Softplus(double x) {
  return x > 0.0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

// erfcx(x) = exp(x^2) erfc(x) for x >= 0, to a few ulps. Below 25, x^2 is split exactly into
// hi + lo so that exp(x^2) keeps full relative precision; above, erfc would underflow and the
// asymptotic series (Abramowitz and Stegun 7.1.23) is accurate to below 1e-19.
double Erfcx(double x) {
  if (x < 25.0) {
    const double hi = x * x;
    const double lo = std::fma(x, x, -hi);
    return std::exp(hi) * std::erfc(x) * (1.0 + lo);
  }
  const double inv_2x2 = 0.5 / (x * x);
  double term = 1.0;
  double sum = 1.0;
  for (int n = 1; n <= 12; ++n) {
    term *= -(2.0 * n - 1.0) * inv_2x2;
    sum += term;
  }
  return sum * kInvSqrtPi / x;
}

// log(erfcx(x)) for x >= 0. Below 5, x^2 + log(erfc(x)) is as accurate (absolute error a few
// 1e-15, within the error model) and saves an exponential.
double LogErfcx(double x) {
  if (x < 5.0) {
    const double hi = x * x;
    return hi + std::log(std::erfc(x)) + std::fma(x, x, -hi);
  }
  return std::log(Erfcx(x));
}

// log(erfc(x) / 2), i.e. log P(N(0,1) > sqrt(2) x), for any x.
double LogHalfErfc(double x) {
  if (x < 25.0) return std::log(0.5 * std::erfc(x));
  return kLogHalf - x * x + std::log(Erfcx(x));
}

// A signed sum of terms given in log space, evaluated as an upper bound: the result is the
// rounded sum plus a bound on its rounding error. Cancellation amplifies the terms' own errors,
// so that bound is what keeps the result on the safe side when digits are lost. Streaming: the
// running sums are kept relative to the largest term so far and rescaled when it changes.
class SignedLogSum {
 public:
  // Adds sign * exp(log_mag), known to within relative error rel_err.
  void Add(double log_mag, int sign, double rel_err) {
    if (log_mag == kNegInf) return;
    if (log_mag > max_log_) Rescale(log_mag);
    const double mag = std::exp(log_mag - max_log_);
    const double v = sign * mag;
    const double s = sum_ + v;
    comp_ += std::abs(sum_) >= mag ? (sum_ - s) + v : (v - s) + sum_;  // Neumaier
    sum_ = s;
    abs_sum_ += mag;
    err_ += mag * rel_err;
  }
  // Adds an error of at most exp(log_mag) (e.g. a truncated remainder) to the bound.
  void AddError(double log_mag) {
    if (log_mag > max_log_) Rescale(log_mag);
    err_ += std::exp(log_mag - max_log_);
  }

  double max_log() const { return max_log_; }

  // log(sum + error bound), with the exact sum known to be >= 0; -inf when there is nothing.
  double LogUpperBound() const {
    if (max_log_ == kNegInf) return kNegInf;
    // Rounding of the scaled terms, the summation and each rescaling: a few units per term.
    const double err = err_ + (4.0 + rescales_) * kUnit * abs_sum_;
    return max_log_ + std::log(std::max(sum_ + comp_, 0.0) + err);
  }

 private:
  void Rescale(double new_max) {
    const double f = std::exp(max_log_ - new_max);  // 0 when max_log_ is -inf
    sum_ *= f;
    comp_ *= f;
    abs_sum_ *= f;
    err_ *= f;
    max_log_ = new_max;
    ++rescales_;
  }

  double max_log_ = kNegInf;
  double sum_ = 0.0;
  double comp_ = 0.0;
  double abs_sum_ = 0.0;
  double err_ = 0.0;
  int rescales_ = 0;
};

// Relative error of a term computed in log space from addends whose absolute values sum to
// `abs_addends`.
double TermError(double abs_addends) {
  return kAddendErrorFactor * kUnit * abs_addends + kFunctionError;
}

// Weights of Cohen, Rodriguez Villegas and Zagier 2000, "Convergence acceleration of alternating
// series", Algorithm 1: sum_{k>=0} (-1)^k a_k ~= sum_{k<n} w_k a_k (the w_k alternate in sign and
// |w_k| <= 1). For a Hausdorff moment sequence a_k = int_0^1 x^k dmu(x), mu >= 0, the error is at
// most 2 a_0 / (3 + sqrt(8))^n. Row n of the table holds the n weights.
constexpr int kMaxAccelerationTerms = 30;

double LogCrvzRate() { return std::log(3.0 + std::sqrt(8.0)); }

const std::array<std::array<double, kMaxAccelerationTerms>, kMaxAccelerationTerms + 1>&
AccelerationWeights() {
  static const auto table = [] {
    std::array<std::array<double, kMaxAccelerationTerms>, kMaxAccelerationTerms + 1> t{};
    for (int n = 1; n <= kMaxAccelerationTerms; ++n) {
      double d = std::pow(3.0 + std::sqrt(8.0), n);
      d = (d + 1.0 / d) / 2.0;
      double b = -1.0;
      double c = -d;
      for (int k = 0; k < n; ++k) {
        c = b - c;
        t[n][k] = c / d;
        b = (k + n) * static_cast<double>(k - n) * b / ((k + 0.5) * (k + 1.0));
      }
    }
    return t;
  }();
  return table;
}

// Smallest n whose acceleration error bound 2 a_0 / (3 + sqrt(8))^n is negligible next to
// exp(max_log).
int AccelerationTermsFor(double log_a0, double max_log) {
  const double needed = (std::log(2.0) + log_a0 - max_log - kNegligibleLog) / LogCrvzRate();
  return std::clamp(static_cast<int>(std::ceil(needed)), 1, kMaxAccelerationTerms);
}

// log(k) for k = 1 .. kLogTableSize - 1, shared by all evaluations.
constexpr int64_t kLogTableSize = 4097;

const std::vector<double>& LogIntegers() {
  static const std::vector<double> table = [] {
    std::vector<double> t(kLogTableSize, kNegInf);
    for (int64_t k = 1; k < kLogTableSize; ++k) t[k] = std::log(static_cast<double>(k));
    return t;
  }();
  return table;
}

// Upper bound on log(A_alpha - 1) for integer alpha >= 2 and 0 < q < 1 (MTZ Section 3.3):
//   A_alpha = sum_{k=0}^{alpha} C(alpha,k) (1-q)^(alpha-k) q^k exp((k^2 - k) / (2 s^2)).
// The binomial weights sum to 1, so A_alpha - 1 = sum_{k>=2} weight_k * expm1((k^2 - k) / (2 s^2)):
// all terms are positive and a streaming log-sum-exp loses nothing. O(alpha) terms.
// `log_expm1[k]` caches log(expm1((k^2 - k) / (2 s^2))) across the orders of one evaluation.
double LogAm1Integer(double q, double sigma, int64_t n, std::vector<double>& log_expm1) {
  const double log_q = std::log(q);
  const double log_1mq = std::log1p(-q);
  const double inv_2s2 = 1.0 / (2.0 * sigma * sigma);
  const std::vector<double>& log_int = LogIntegers();
  const bool tabled = n < kLogTableSize;
  if (tabled && static_cast<int64_t>(log_expm1.size()) <= n) {
    for (int64_t k = static_cast<int64_t>(log_expm1.size()); k <= n; ++k) {
      const double kd = static_cast<double>(k);
      log_expm1.push_back(k < 2 ? kNegInf : LogExpm1(kd * (kd - 1.0) * inv_2s2));
    }
  }
  double log_binom = std::log(static_cast<double>(n));  // log C(n, 1)
  double max_log = kNegInf;
  double sum = 0.0;  // sum of exp(term - max_log)
  double err = 0.0;  // sum of exp(term - max_log) * relative error of the term
  int64_t dropped = 0;
  for (int64_t k = 2; k <= n; ++k) {
    const double kd = static_cast<double>(k);
    double log_e;
    if (tabled) {
      log_binom += log_int[n - k + 1] - log_int[k];
      log_e = log_expm1[k];
    } else {
      log_binom += std::log(static_cast<double>(n - k + 1) / kd);
      log_e = LogExpm1(kd * (kd - 1.0) * inv_2s2);
    }
    const double a_q = kd * log_q;
    const double a_1mq = static_cast<double>(n - k) * log_1mq;
    const double t = log_binom + a_q + a_1mq + log_e;
    // log_binom is a running sum of k terms: its error grows with k.
    const double rel_err = TermError(kd * (std::abs(log_binom) + 16.0) + std::abs(a_q) +
                                     std::abs(a_1mq) + std::abs(log_e));
    if (t > max_log) {
      const double scale = std::exp(max_log - t);
      sum = sum * scale + 1.0;
      err = err * scale + rel_err;
      max_log = t;
    } else if (t > max_log + kNegligibleLog) {
      const double v = std::exp(t - max_log);
      sum += v;
      err += v * rel_err;
    } else {
      ++dropped;
    }
  }
  err += static_cast<double>(dropped) * std::exp(kNegligibleLog) + 2.0 * kUnit * sum;
  return max_log + std::log(sum + err);
}

// (1 - q)^alpha - 1 + alpha q >= 0, without cancellation when alpha q is small.
double BinomialRemainder2(double q, double alpha) {
  if (alpha * q > 0.1) return std::expm1(alpha * std::log1p(-q)) + alpha * q;
  double term = -alpha * q;  // C(alpha, 1) (-q)
  double sum = 0.0;
  for (int k = 2; k < 64; ++k) {
    term *= (alpha - k + 1.0) / k * -q;
    sum += term;
    if (std::abs(term) <= 1e-18 * std::abs(sum)) break;
  }
  return sum;
}

// Upper bound on log(A_alpha - 1) for fractional alpha > 1 and 0 < q < 1: the two-series
// expansion of MTZ Section 3.3 (as in TF-Privacy / Opacus `_compute_log_a_frac`). Split the
// integral at z0 = s^2 log(1/q - 1) + 1/2, where q E(z0) = 1 - q. Left of z0, expand
// y^alpha = (1-q)^alpha (1 + qE/(1-q))^alpha binomially; right of z0, expand
// (qE)^alpha (1 + (1-q)/(qE))^alpha. Integrating term by term against mu0 gives
//   left_i  = C(alpha,i) (1-q)^(alpha-i) q^i exp((i^2-i)/(2s^2)) P(N(i, s^2) <= z0),
//   right_j = C(alpha,j) (1-q)^j q^(alpha-j) exp((m^2-m)/(2s^2)) P(N(m, s^2) > z0),  m = alpha-j,
// and A_alpha = sum_i left_i + sum_j right_j. Three refinements over the TF-Privacy code:
//  * "1 + alpha (y - 1)" is subtracted inside the i = 0, 1 terms and from the right-hand
//    integral, so the series sums to A_alpha - 1 without catastrophic cancellation.
//  * With K = (1-q)^alpha exp(-z0^2 / (2 s^2)), each term equals
//    C(alpha, i) K erfcx((i - z0) / (sqrt(2) s)) / 2 (and likewise with (z0 - m) on the right);
//    that form is used when the erfc argument is >= 0, where the direct form would subtract two
//    large exponents.
//  * For i > alpha the signs of C(alpha, i) alternate, and |terms| decay only polynomially when
//    K is not negligible (q near 1/2, or s large): TF-Privacy then needs thousands of terms.
//    The tail from i = ceil(alpha) is a Hausdorff moment sequence (|C(alpha, i)| =
//    |sin(pi alpha)| / pi * B(i - alpha, alpha + 1), and erfcx is a Laplace transform; both are
//    completely monotone in i), so it is either truncated once a term is negligible
//    (alternating-series bound) or summed with the Cohen-Rodriguez Villegas-Zagier
//    acceleration. The cost is O(alpha) + 2 * kMaxAccelerationTerms terms at most.
double LogAm1Fractional(double q, double sigma, double alpha) {
  const double log_q = std::log(q);
  const double log_1mq = std::log1p(-q);
  const double inv_2s2 = 1.0 / (2.0 * sigma * sigma);
  const double inv_sqrt2_s = 1.0 / (kSqrt2 * sigma);
  const double z0 = sigma * sigma * (log_1mq - log_q) + 0.5;
  const double log_k = alpha * log_1mq - z0 * z0 * inv_2s2;
  const double abs_log_k = std::abs(alpha * log_1mq) + z0 * z0 * inv_2s2;
  const double aq = alpha * q;
  const int64_t n_head = static_cast<int64_t>(std::ceil(alpha));

  SignedLogSum sum;
  // |left_i| as {log, relative error}, given log|C(alpha, i)|; x = (i - z0) / (sqrt(2) s).
  auto left = [&](double log_binom, double i) -> std::pair<double, double> {
    const double x = (i - z0) * inv_sqrt2_s;
    if (x >= 0.0) {
      const double le = LogErfcx(x);
      return {log_binom + log_k + kLogHalf + le,
              TermError(std::abs(log_binom) + abs_log_k + 1.0 + x * x + std::abs(le))};
    }
    const double a1 = i * log_q;
    const double a2 = (alpha - i) * log_1mq;
    const double a3 = (i * i - i) * inv_2s2;
    const double le = LogHalfErfc(x);
    return {log_binom + a1 + a2 + a3 + le,
            TermError(std::abs(log_binom) + std::abs(a1) + std::abs(a2) + a3 + std::abs(le))};
  };
  // |right_j|; m = alpha - j, y = (z0 - m) / (sqrt(2) s).
  auto right = [&](double log_binom, double j) -> std::pair<double, double> {
    const double m = alpha - j;
    const double y = (z0 - m) * inv_sqrt2_s;
    if (y >= 0.0) {
      const double le = LogErfcx(y);
      return {log_binom + log_k + kLogHalf + le,
              TermError(std::abs(log_binom) + abs_log_k + 1.0 + y * y + std::abs(le))};
    }
    const double a1 = j * log_1mq;
    const double a2 = m * log_q;
    const double a3 = (m * m - m) * inv_2s2;
    const double le = LogHalfErfc(y);
    return {log_binom + a1 + a2 + a3 + le, TermError(std::abs(log_binom) + std::abs(a1) +
                                                     std::abs(a2) + std::abs(a3) + std::abs(le))};
  };
  auto add_piece = [&](double coefficient, double log_half_erfc) {
    if (coefficient == 0.0) return;
    sum.Add(std::log(std::abs(coefficient)) + log_half_erfc, coefficient > 0.0 ? +1 : -1,
            TermError(std::abs(log_half_erfc) + 8.0) + 64.0 * kUnit);
  };

  // i = 0 and 1 of the left series, minus (1 - alpha q) + alpha q E on the left of z0; then
  // (1 - alpha q) + alpha q E on the right of z0, i.e. P(N(0,s^2) > z0) and P(N(1,s^2) > z0).
  add_piece(BinomialRemainder2(q, alpha), LogHalfErfc(-z0 * inv_sqrt2_s));
  add_piece(aq * std::expm1((alpha - 1.0) * log_1mq), LogHalfErfc((1.0 - z0) * inv_sqrt2_s));
  add_piece(-(1.0 - aq), LogHalfErfc(z0 * inv_sqrt2_s));
  add_piece(-aq, LogHalfErfc((z0 - 1.0) * inv_sqrt2_s));

  // Heads: left i = 2 .. n_head - 1 and right j = 0 .. n_head - 1; all C(alpha, .) > 0.
  double log_binom = 0.0;  // log |C(alpha, i)|, i = 0
  for (int64_t i = 0; i < n_head; ++i) {
    const double id = static_cast<double>(i);
    if (i >= 2) {
      const auto [lm, re] = left(log_binom, id);
      sum.Add(lm, +1, re);
    }
    const auto [lm, re] = right(log_binom, id);
    sum.Add(lm, +1, re);
    log_binom += std::log(std::abs(alpha - id) / (id + 1.0));
  }
  const double log_binom_tail = log_binom;  // log |C(alpha, n_head)|; C(alpha, n_head) > 0

  // Tails: sum_{k>=0} (-1)^k a_k with a_k = |term at index n_head + k|, non-increasing.
  std::array<std::pair<double, double>, kMaxAccelerationTerms> tail;
  for (int side = 0; side < 2; ++side) {
    log_binom = log_binom_tail;
    int wanted = kMaxAccelerationTerms;  // terms for the acceleration, set once a_0 is known
    int count = 0;
    double max_log = sum.max_log();
    for (; count < wanted; ++count) {
      const double idx = static_cast<double>(n_head + count);
      tail[count] = side == 0 ? left(log_binom, idx) : right(log_binom, idx);
      if (tail[count].first < max_log + kNegligibleLog) break;
      if (count == 0)
        wanted = AccelerationTermsFor(tail[0].first, std::max(max_log, tail[0].first));
      max_log = std::max(max_log, tail[count].first);
      log_binom += std::log(std::abs(alpha - idx) / (idx + 1.0));
    }
    if (count < wanted) {
      // Alternating series with non-increasing terms: |remainder| <= a_count.
      for (int k = 0; k < count; ++k) sum.Add(tail[k].first, k % 2 == 0 ? +1 : -1, tail[k].second);
      sum.AddError(tail[count].first);
    } else {
      const auto& w = AccelerationWeights()[wanted];
      for (int k = 0; k < wanted; ++k) {
        sum.Add(tail[k].first + std::log(std::abs(w[k])), w[k] > 0.0 ? +1 : -1,
                tail[k].second + 8.0 * kUnit);
      }
      sum.AddError(std::log(2.0) + tail[0].first - wanted * LogCrvzRate());
    }
  }
  return sum.LogUpperBound();
}

// RDP of one step at many orders for one (q, sigma), rounded up; arguments already validated.
// Shares the integer series' exponent table between orders.
class SampledGaussianRdp {
 public:
  SampledGaussianRdp(double q, double sigma) : q_(q), sigma_(sigma) {}

  double At(double alpha) {
    // q = 1: the Gaussian mechanism, alpha / (2 sigma^2) (Mironov 2017, Proposition 7). It also
    // bounds every q < 1 (subsampling never hurts), which matters only when cancellation has
    // left few digits (noise multipliers far above 10).
    const double gaussian = alpha / (2.0 * sigma_ * sigma_) * (1.0 + 4.0 * kUnit);
    if (q_ == 1.0) return gaussian;
    const double log_am1 = alpha == std::floor(alpha)
                               ? LogAm1Integer(q_, sigma_, static_cast<int64_t>(alpha), log_expm1_)
                               : LogAm1Fractional(q_, sigma_, alpha);
    const double rdp = Softplus(log_am1) / (alpha - 1.0) * (1.0 + 8.0 * kUnit);
    return std::min(rdp, gaussian);
  }

 private:
  double q_;
  double sigma_;
  std::vector<double> log_expm1_;
};

}  // namespace

std::vector<double> DefaultRdpOrders() {
  std::vector<double> orders;
  orders.reserve(156);
  for (int x = 1; x < 100; ++x) orders.push_back(1.0 + x / 10.0);
  for (int a = 11; a < 64; ++a) orders.push_back(a);
  for (double a : {128.0, 256.0, 512.0, 1024.0}) orders.push_back(a);
  return orders;
}

Result<double> ComputeRdpSampledGaussian(double q, double noise_multiplier, double alpha) {
  FEDSEG_RETURN_IF_ERROR(CheckSamplingRate(q));
  FEDSEG_RETURN_IF_ERROR(CheckNoiseMultiplier(noise_multiplier));
  FEDSEG_RETURN_IF_ERROR(CheckOrder(alpha));
  return SampledGaussianRdp(q, noise_multiplier).At(alpha);
}

Result<EpsilonResult> EpsilonFromRdp(const std::vector<double>& orders,
                                     const std::vector<double>& rdp, double delta) {
  FEDSEG_RETURN_IF_ERROR(CheckOrders(orders));
  FEDSEG_RETURN_IF_ERROR(CheckDelta(delta));
  if (orders.size() != rdp.size()) {
    return Status::InvalidArgument(
        "rdp must have one value per order: " + std::to_string(rdp.size()) + " values for " +
        std::to_string(orders.size()) + " orders");
  }
  const double log_delta = std::log(delta);
  EpsilonResult best{std::numeric_limits<double>::infinity(), orders.front()};
  for (size_t i = 0; i < orders.size(); ++i) {
    const double alpha = orders[i];
    const double r = rdp[i];
    if (!(r >= 0.0)) {
      return Status::InvalidArgument("rdp must be non-negative, got " + FormatShortest(r) +
                                     " at order " + FormatShortest(alpha));
    }
    if (std::isinf(r)) continue;
    // Balle et al. 2020, "Hypothesis testing interpretations and Renyi differential privacy",
    // Theorem 21; Canonne, Kamath and Steinke 2020, Proposition 12.
    const double log_alpha = std::log(alpha);
    const double shift = (log_delta + log_alpha) / (alpha - 1.0);
    const double log_ratio = std::log1p(-1.0 / alpha);  // log((alpha - 1) / alpha)
    const double eps = r - shift + log_ratio;
    // Round up. The RDP values are upper bounds already (rounded up per step); the margin
    // covers the rounding of composition (kRdpRelativeMargin: 1e5 additions) and of this
    // conversion (kConversionRelativeMargin: a few ulps of each addend, with room to spare).
    const double margin =
        kRdpRelativeMargin * r +
        kConversionRelativeMargin *
            (r + (std::abs(log_delta) + log_alpha) / (alpha - 1.0) + std::abs(log_ratio));
    const double eps_up = std::nextafter(eps + margin, std::numeric_limits<double>::infinity());
    if (eps_up < best.epsilon) best = {eps_up, alpha};
  }
  if (std::isinf(best.epsilon)) {
    return Status::InvalidArgument("epsilon is unbounded: the RDP is infinite at every order");
  }
  best.epsilon = std::max(best.epsilon, 0.0);
  return best;
}

RdpAccountant::RdpAccountant(std::vector<double> orders)
    : orders_status_(CheckOrders(orders)), orders_(std::move(orders)), rdp_(orders_.size(), 0.0) {}

Result<RdpAccountant> RdpAccountant::Create(std::vector<double> orders) {
  RdpAccountant accountant(std::move(orders));
  if (!accountant.orders_status_.ok()) return accountant.orders_status_;
  return accountant;
}

Status RdpAccountant::AddSampledGaussian(double q, double noise_multiplier, int64_t steps) {
  FEDSEG_RETURN_IF_ERROR(orders_status_);
  FEDSEG_RETURN_IF_ERROR(CheckSamplingRate(q));
  FEDSEG_RETURN_IF_ERROR(CheckNoiseMultiplier(noise_multiplier));
  FEDSEG_RETURN_IF_ERROR(CheckSteps(steps));
  SampledGaussianRdp one_step(q, noise_multiplier);
  std::vector<double> added(orders_.size());
  for (size_t i = 0; i < orders_.size(); ++i) {
    // Composition: RDP adds up over adaptively composed mechanisms (Mironov 2017, Prop. 1).
    added[i] = static_cast<double>(steps) * one_step.At(orders_[i]);
  }
  for (size_t i = 0; i < orders_.size(); ++i) rdp_[i] += added[i];
  return Status::OK();
}

Status RdpAccountant::AddGaussian(double noise_multiplier, int64_t count) {
  return AddSampledGaussian(1.0, noise_multiplier, count);
}

Result<EpsilonResult> RdpAccountant::GetEpsilon(double delta) const {
  FEDSEG_RETURN_IF_ERROR(orders_status_);
  return EpsilonFromRdp(orders_, rdp_, delta);
}

Result<EpsilonResult> ComputeEpsilon(double q, double noise_multiplier, int64_t steps,
                                     double delta) {
  FEDSEG_RETURN_IF_ERROR(CheckDelta(delta));
  RdpAccountant accountant;
  FEDSEG_RETURN_IF_ERROR(accountant.AddSampledGaussian(q, noise_multiplier, steps));
  return accountant.GetEpsilon(delta);
}

}  // namespace fedseg::privacy
