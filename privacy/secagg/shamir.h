// Shamir secret sharing (Shamir 1979) of byte strings, t-of-n, over the prime field GF(2^61 - 1).
//
// A secret of L bytes is cut into ceil(L / 7) limbs of 56 bits, each below the field's modulus, and
// every limb is shared with its own random polynomial of degree t - 1 whose constant term is the
// limb. A share is the evaluation of all limbs' polynomials at one non-zero point x (the holder's
// index). Any t shares with distinct points give the secret back by Lagrange interpolation at 0;
// t - 1 shares are uniformly distributed whatever the secret (information-theoretic hiding), since
// the coefficients come from a CSPRNG and are uniform in the field (rejection sampling).
//
// Combine() checks what it can: every share has the same number of limbs, points are distinct and
// non-zero, values are field elements, and when more than t shares are given, every extra share
// must lie on the interpolated polynomials (so a corrupted or mismatched share is reported, not
// silently turned into a wrong secret). With exactly t shares nothing is redundant: a changed share
// then yields a wrong secret, caught only when a limb leaves its 56-bit range (a uniformly random
// change escapes that with probability 2^-5 per limb), so the protocol authenticates shares end
// to end (envelope.h) rather than relying on this.
#ifndef FEDSEG_PRIVACY_SECAGG_SHAMIR_H_
#define FEDSEG_PRIVACY_SECAGG_SHAMIR_H_

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/status.h"
#include "privacy/secagg/random_bytes.h"

namespace fedseg::privacy::secagg {

// The field's modulus, 2^61 - 1 (a Mersenne prime).
inline constexpr uint64_t kShamirPrime = (uint64_t{1} << 61) - 1;

struct ShamirShare {
  uint64_t x = 0;           // the evaluation point: non-zero, below kShamirPrime
  std::vector<uint64_t> y;  // one value per 56-bit limb of the secret
};

// Shares of `secret` for the points `xs` (distinct, non-zero, below kShamirPrime), any `threshold`
// of which recover it (1 <= threshold <= xs.size()).
Result<std::vector<ShamirShare>> ShamirSplit(std::span<const uint8_t> secret, int threshold,
                                             std::span<const uint64_t> xs,
                                             const RandomBytes& random);

// The secret of `secret_size` bytes from at least `threshold` shares (see the checks above).
Result<std::vector<uint8_t>> ShamirCombine(std::span<const ShamirShare> shares, int threshold,
                                           size_t secret_size);

// The number of limbs a secret of `secret_size` bytes is cut into.
size_t ShamirLimbCount(size_t secret_size);

}  // namespace fedseg::privacy::secagg

#endif  // FEDSEG_PRIVACY_SECAGG_SHAMIR_H_
