// Randomness for differential privacy: the one interface every DP mechanism in fedseg draws its
// noise and its sampling decisions from, the secure production implementation, and a seeded one
// for tests.
//
// Production code calls MakeNoiseSource() and gets a SecureNoiseSource: every random bit
// comes from OpenSSL's private CSPRNG (RAND_priv_bytes), read 64 KiB at a time. Gaussians use the
// Box-Muller transform in double precision on a 64-bit radius uniform and a 53-bit angle uniform,
// with branch-free fdlibm log / sin / cos kernels (so it vectorises and takes the same time for
// every value), and are rounded to float at the end. The only non-secure implementation, a
// seeded std::mt19937_64 stream, is not in this library at all: it lives in
// privacy/noise/testing (fedseg_privacy_noise_testing), which only test targets link, so no
// release binary contains it (docs/security.md, "Seeded noise").
//
// Floating-point attacks. Mironov (2012, "On significance of the least significant bits for
// differential privacy") showed that a textbook floating-point Laplace sampler leaks its input
// through which doubles it can and cannot produce; Jin et al. (2022, "Are we there yet? Timing and
// floating-point attacks on differential privacy systems") did the same for Gaussian samplers in
// DP-SGD libraries, and added timing attacks on samplers whose running time depends on the value.
// The attacks need the raw noisy value at full precision. What we do about it:
//  * uniforms carry 53 or 64 random bits (never a 24-bit float uniform, whose coarse grid gives the
//    noise a sparse, truncated support: no draw beyond 5.8 sigma at all);
//  * the transform runs in double, so its rounding artifacts sit ~29 bits below float precision,
//    and FillGaussian either rounds each draw to float or keeps it in double; DP-SGD draws in
//    double, adds the noise to its clipped sum in double and rounds once to float, and only the
//    model after many steps ever leaves the process;
//  * Box-Muller has no rejection loop and our kernels no branches, so timing reveals nothing about
//    the values (and no step of the sampler depends on the private data at all).
// This narrows the attack surface but is not a proof: the released float values still come from a
// sampler whose support is a (very fine) lattice rather than the reals. A provable fix would be a
// discrete Gaussian (Canonne, Kamath and Steinke 2020) or Google's granularity-based sampler,
// with inputs snapped to the same grid (Mironov's snapping mechanism).
//
// Tail. The largest |draw| is sqrt(2 ln 2^65) = 9.49 sigma (the radius uniform is never below
// 2^-65). Truncating there changes the mechanism by a tiny additive delta: an output a neighbouring
// dataset cannot produce needs the noise in the last 1/sigma of the range, which has probability
// 1e-17 per step at sigma = 1 and 3e-14 at sigma = 0.5 (worst case, whole sensitivity on one
// coordinate) -- far below any delta we use, even over 1e5 steps.
//
// Failures. If OpenSSL's CSPRNG ever fails, a SecureNoiseSource never hands out zeros or stale
// bytes: it records an IOError in status() (sticky: it stays failed), and every value it produces
// from then on is NaN. Callers check status() after drawing (DpSgdTrain does, before applying a
// step), and the NaNs make any unchecked use fail loudly instead of silently releasing data.
//
// Sources are not thread-safe: one per thread. A SecureNoiseSource discards its buffered bytes when
// it notices it is running in a forked child, so parent and child never reuse the same noise.
#ifndef FEDSEG_PRIVACY_NOISE_NOISE_H_
#define FEDSEG_PRIVACY_NOISE_NOISE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "common/base/status.h"

namespace fedseg::privacy {

// Where DP mechanisms get randomness. Virtual so tests can substitute a fake.
class NoiseSource {
 public:
  virtual ~NoiseSource() = default;

  // out[0..n) = independent N(0, stddev^2) draws, computed in double and rounded to float.
  virtual void FillGaussian(float* out, size_t n, double stddev) = 0;
  // The same draws kept in double precision (DP-SGD adds its noise in double).
  virtual void FillGaussian(double* out, size_t n, double stddev) = 0;

  // out[0..n) = independent uniforms in [0, 1) (multiples of 2^-53), for sampling decisions.
  virtual void FillUniform(double* out, size_t n) = 0;

  // OK, or the error that made this source fail; once failed, a source stays failed and its draws
  // are NaN. Check it after drawing and before releasing anything computed from the draws.
  virtual Status status() const { return Status::OK(); }

  // One N(0, 1) draw in double precision, by Box-Muller on two FillUniform draws (so at most
  // 8.57 in magnitude). NaN if the source has failed.
  double Gaussian();
};

// The production source: a SecureNoiseSource backed by OpenSSL. Fails if OpenSSL's CSPRNG cannot
// produce its first bytes.
Result<std::unique_ptr<NoiseSource>> MakeNoiseSource();

// TESTS ONLY: a SecureNoiseSource that takes its bytes from `bytes` (which fills a buffer and
// returns false on failure) instead of OpenSSL, to test how CSPRNG failures are handled.
std::unique_ptr<NoiseSource> MakeSecureNoiseWithBytesForTesting(
    std::function<bool(unsigned char* buf, size_t n)> bytes);

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_NOISE_NOISE_H_
