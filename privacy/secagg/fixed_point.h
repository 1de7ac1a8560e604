// The fixed-point encoding of real vectors into the ring Z/2^32 that secure aggregation sums in.
//
// A value v becomes the integer round(v * 2^k) in two's complement modulo 2^32, where k (the scale
// bits) is the largest integer with sum_bound * 2^k + parties < 2^31: the true sum of all parties'
// values, at most sum_bound in magnitude (each party clips what it encodes so that this holds),
// together with the rounding of every party, stays inside the signed 32-bit range, so the sum
// modulo 2^32 read as a signed integer is the exact sum of the encoded integers.
//
// Rounding is stochastic (up with probability equal to the fractional part, from a CSPRNG), so each
// encoded value is an unbiased estimate of v with error below 2^-k; the decoded sum of n parties is
// unbiased with |error| < n * 2^-k per coordinate (ErrorBound()). Values outside
// [-sum_bound, sum_bound] or non-finite are refused, never wrapped.
#ifndef FEDSEG_PRIVACY_SECAGG_FIXED_POINT_H_
#define FEDSEG_PRIVACY_SECAGG_FIXED_POINT_H_

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/status.h"
#include "privacy/secagg/random_bytes.h"

namespace fedseg::privacy::secagg {

class FixedPointCodec {
 public:
  // A codec for sums of at most `parties` vectors whose coordinate-wise sum is at most `sum_bound`
  // in magnitude. Fails when no scale keeps at least 1 bit of resolution below the unit.
  static Result<FixedPointCodec> Create(double sum_bound, uint32_t parties);

  int scale_bits() const { return scale_bits_; }
  double sum_bound() const { return sum_bound_; }
  uint32_t parties() const { return parties_; }
  // The largest |decoded sum - true sum| per coordinate: parties * 2^-scale_bits.
  double ErrorBound() const;

  // Stochastically rounded encodings of `values`.
  Result<std::vector<uint32_t>> Encode(std::span<const float> values,
                                       const RandomBytes& random) const;
  // The real sum encoded by `sum` (the ring sum of at most parties() encodings).
  std::vector<double> DecodeSum(std::span<const uint32_t> sum) const;

 private:
  FixedPointCodec(int scale_bits, double sum_bound, uint32_t parties)
      : scale_bits_(scale_bits), sum_bound_(sum_bound), parties_(parties) {}

  int scale_bits_;
  double sum_bound_;
  uint32_t parties_;
};

}  // namespace fedseg::privacy::secagg

#endif  // FEDSEG_PRIVACY_SECAGG_FIXED_POINT_H_
