#include "privacy/secagg/shamir.h"

#include <algorithm>
#include <string>
#include <unordered_set>

namespace fedseg::privacy::secagg {
namespace {

constexpr uint64_t kP = kShamirPrime;
constexpr size_t kLimbBytes = 7;  // 56 bits: every limb is a field element

uint64_t Reduce(unsigned __int128 v) {
  // 2^61 = 1 (mod p): fold the high bits onto the low ones twice, then one conditional subtraction.
  uint64_t r = static_cast<uint64_t>(v & kP) + static_cast<uint64_t>(v >> 61);
  r = (r & kP) + (r >> 61);
  return r >= kP ? r - kP : r;
}
uint64_t Add(uint64_t a, uint64_t b) {
  const uint64_t s = a + b;  // < 2^62: no overflow
  return s >= kP ? s - kP : s;
}
uint64_t Sub(uint64_t a, uint64_t b) { return a >= b ? a - b : a + kP - b; }
uint64_t Mul(uint64_t a, uint64_t b) { return Reduce(static_cast<unsigned __int128>(a) * b); }
uint64_t Pow(uint64_t base, uint64_t exp) {
  uint64_t result = 1;
  while (exp != 0) {
    if (exp & 1) result = Mul(result, base);
    base = Mul(base, base);
    exp >>= 1;
  }
  return result;
}
// Fermat: a^(p-2) = a^-1 for a != 0.
uint64_t Inverse(uint64_t a) { return Pow(a, kP - 2); }

// A uniform field element: 61 random bits, rejected when they are p itself (probability 2^-61).
Result<uint64_t> RandomElement(const RandomBytes& random) {
  for (;;) {
    FEDSEG_ASSIGN_OR_RETURN(const uint64_t bits, RandomUint64(random));
    const uint64_t v = bits & kP;
    if (v < kP) return v;
  }
}

Status CheckPoints(std::span<const uint64_t> xs) {
  std::unordered_set<uint64_t> seen;
  for (const uint64_t x : xs) {
    if (x == 0 || x >= kP) {
      return Status::InvalidArgument("Shamir share point " + std::to_string(x) +
                                     " is not a non-zero field element");
    }
    if (!seen.insert(x).second) {
      return Status::InvalidArgument("Shamir share point " + std::to_string(x) + " appears twice");
    }
  }
  return Status::OK();
}

// Barycentric weights w_j = 1 / prod_{m != j} (x_j - x_m) of the points `xs`.
std::vector<uint64_t> BarycentricWeights(const std::vector<uint64_t>& xs) {
  std::vector<uint64_t> w(xs.size());
  for (size_t j = 0; j < xs.size(); ++j) {
    uint64_t prod = 1;
    for (size_t m = 0; m < xs.size(); ++m) {
      if (m != j) prod = Mul(prod, Sub(xs[j], xs[m]));
    }
    w[j] = Inverse(prod);
  }
  return w;
}

// The Lagrange coefficients c_j with P(at) = sum_j c_j y_j for every polynomial P of degree below
// xs.size() through the points (xs[j], y_j); `at` must not be one of xs.
std::vector<uint64_t> LagrangeCoefficients(const std::vector<uint64_t>& xs,
                                           const std::vector<uint64_t>& weights, uint64_t at) {
  // P(at) = l(at) * sum_j w_j y_j / (at - x_j), with l(at) = prod_m (at - x_m).
  uint64_t l = 1;
  for (const uint64_t x : xs) l = Mul(l, Sub(at, x));
  std::vector<uint64_t> c(xs.size());
  for (size_t j = 0; j < xs.size(); ++j) {
    c[j] = Mul(Mul(l, weights[j]), Inverse(Sub(at, xs[j])));
  }
  return c;
}

}  // namespace

size_t ShamirLimbCount(size_t secret_size) { return (secret_size + kLimbBytes - 1) / kLimbBytes; }

Result<std::vector<ShamirShare>> ShamirSplit(std::span<const uint8_t> secret, int threshold,
                                             std::span<const uint64_t> xs,
                                             const RandomBytes& random) {
  if (threshold < 1 || static_cast<size_t>(threshold) > xs.size()) {
    return Status::InvalidArgument("Shamir threshold " + std::to_string(threshold) +
                                   " must be between 1 and the number of shares (" +
                                   std::to_string(xs.size()) + ")");
  }
  FEDSEG_RETURN_IF_ERROR(CheckPoints(xs));
  const size_t limbs = ShamirLimbCount(secret.size());
  std::vector<ShamirShare> shares(xs.size());
  for (size_t k = 0; k < xs.size(); ++k) {
    shares[k].x = xs[k];
    shares[k].y.resize(limbs);
  }
  std::vector<uint64_t> coefficients(static_cast<size_t>(threshold));
  for (size_t limb = 0; limb < limbs; ++limb) {
    uint64_t value = 0;
    for (size_t b = 0; b < kLimbBytes && limb * kLimbBytes + b < secret.size(); ++b) {
      value |= uint64_t{secret[limb * kLimbBytes + b]} << (8 * b);
    }
    coefficients[0] = value;
    for (size_t c = 1; c < coefficients.size(); ++c) {
      FEDSEG_ASSIGN_OR_RETURN(coefficients[c], RandomElement(random));
    }
    for (size_t k = 0; k < xs.size(); ++k) {
      uint64_t acc = 0;  // Horner
      for (size_t c = coefficients.size(); c-- > 0;) acc = Add(Mul(acc, xs[k]), coefficients[c]);
      shares[k].y[limb] = acc;
    }
  }
  std::fill(coefficients.begin(), coefficients.end(), 0);
  return shares;
}

Result<std::vector<uint8_t>> ShamirCombine(std::span<const ShamirShare> shares, int threshold,
                                           size_t secret_size) {
  if (threshold < 1) {
    return Status::InvalidArgument("Shamir threshold " + std::to_string(threshold) +
                                   " must be at least 1");
  }
  if (shares.size() < static_cast<size_t>(threshold)) {
    return Status::FailedPrecondition("Shamir reconstruction needs " + std::to_string(threshold) +
                                      " shares, got " + std::to_string(shares.size()));
  }
  const size_t limbs = ShamirLimbCount(secret_size);
  std::vector<uint64_t> xs;
  xs.reserve(shares.size());
  for (const ShamirShare& s : shares) {
    if (s.y.size() != limbs) {
      return Status::InvalidArgument("Shamir share at point " + std::to_string(s.x) + " has " +
                                     std::to_string(s.y.size()) + " limbs, expected " +
                                     std::to_string(limbs));
    }
    for (const uint64_t y : s.y) {
      if (y >= kP) {
        return Status::InvalidArgument("Shamir share at point " + std::to_string(s.x) +
                                       " holds a value outside the field");
      }
    }
    xs.push_back(s.x);
  }
  FEDSEG_RETURN_IF_ERROR(CheckPoints(xs));

  const size_t t = static_cast<size_t>(threshold);
  const std::vector<uint64_t> base(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(t));
  const std::vector<uint64_t> weights = BarycentricWeights(base);
  auto evaluate = [&](const std::vector<uint64_t>& c, size_t limb) {
    uint64_t acc = 0;
    for (size_t j = 0; j < t; ++j) acc = Add(acc, Mul(c[j], shares[j].y[limb]));
    return acc;
  };

  // Extra shares must lie on the same polynomials.
  for (size_t e = t; e < shares.size(); ++e) {
    const std::vector<uint64_t> c = LagrangeCoefficients(base, weights, shares[e].x);
    for (size_t limb = 0; limb < limbs; ++limb) {
      if (evaluate(c, limb) != shares[e].y[limb]) {
        return Status::Corruption("Shamir share at point " + std::to_string(shares[e].x) +
                                  " is inconsistent with the others");
      }
    }
  }

  const std::vector<uint64_t> c0 = LagrangeCoefficients(base, weights, 0);
  std::vector<uint8_t> secret(secret_size);
  for (size_t limb = 0; limb < limbs; ++limb) {
    const uint64_t value = evaluate(c0, limb);
    const size_t bytes = std::min(kLimbBytes, secret_size - limb * kLimbBytes);
    if (value >> (8 * bytes) != 0) {
      return Status::Corruption("Shamir shares do not reconstruct a secret of " +
                                std::to_string(secret_size) + " bytes (a share is corrupted)");
    }
    for (size_t b = 0; b < bytes; ++b) {
      secret[limb * kLimbBytes + b] = static_cast<uint8_t>(value >> (8 * b));
    }
  }
  return secret;
}

}  // namespace fedseg::privacy::secagg
