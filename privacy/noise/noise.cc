#include "privacy/noise/noise.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <Eigen/Dense>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "common/base/openssl_error.h"

namespace fedseg::privacy {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kTwoPi = 6.28318530717958647692;

// Random bytes are read from the CSPRNG this many at a time: one call per 64 KiB keeps OpenSSL's
// per-call locking and DRBG set-up out of the per-value cost.
constexpr size_t kBufferWords = 8192;  // 64 KiB
// Gaussian pairs transformed per pass (2 words each); at most kBufferWords / 2.
constexpr size_t kChunkPairs = 1024;

// m as a double, exactly, for m < 2^52: the bits of 2^52 + m, minus 2^52. Unlike a plain
// int64 -> double conversion this vectorises with AVX2.
inline double SmallToDouble(uint64_t m) {
  return std::bit_cast<double>(uint64_t{0x4330000000000000} | m) - 0x1p52;
}

// A uniform in [0, 1): the top 53 bits of the word, times 2^-53.
inline double Uniform53(uint64_t w) { return static_cast<double>(w >> 11) * 0x1p-53; }

// The Box-Muller radius uniform, in (0, 1]: (w + 1/2) 2^-64, rounded once to double. Small values
// keep full relative precision, so the smallest is 2^-65 and the radius reaches
// sqrt(2 ln 2^65) = 9.49 (53 bits would stop at 8.57).
inline double RadiusUniform(uint64_t w) {
  return (SmallToDouble(w >> 32) * 0x1p32 + (SmallToDouble(w & 0xffffffff) + 0.5)) * 0x1p-64;
}

// -2 ln(u) for normal, positive u: fdlibm's e_log.c (Sun Microsystems, 1993; error < 1 ulp),
// written without branches so the compiler vectorises it.
inline double MinusTwoLog(double u) {
  const uint64_t bits = std::bit_cast<uint64_t>(u);
  const uint64_t mantissa = bits & uint64_t{0x000fffffffffffff};
  // Scale the mantissa into [sqrt(2)/2, sqrt(2)) and bump the exponent when it was above sqrt(2).
  const uint64_t up = (mantissa + uint64_t{0x00095f6400000000}) & uint64_t{0x0010000000000000};
  const double k = SmallToDouble((bits >> 52) + (up >> 52)) - 1023.0;
  const double f = std::bit_cast<double>(mantissa | (up ^ uint64_t{0x3ff0000000000000})) - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (3.999999999940941908e-01 +
                         w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
  const double t2 = z * (6.666666666666735130e-01 +
                         w * (2.857142874366239149e-01 +
                              w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
  const double hfsq = 0.5 * f * f;
  const double ln = k * 6.93147180369123816490e-01 -
                    ((hfsq - (s * (hfsq + (t1 + t2)) + k * 1.90821492927058770002e-10)) - f);
  return -2.0 * ln;
}

// sin and cos of the angle 2 pi u, u = (j + (m + 1/2) 2^-50) / 8 uniform on 2^53 points: j (the
// top 3 bits) picks the octant and m (the next 50) the position in it. Octant symmetry reduces the
// angle exactly to x in (0, pi/4), where fdlibm's k_sin.c / k_cos.c polynomials (error < 1 ulp)
// apply; signs and the sin/cos swap are bit operations, so there are no branches.
inline void SinCosOfWord(uint64_t word, double* sin_out, double* cos_out) {
  const uint64_t j = word >> 61;
  const uint64_t odd = uint64_t{0} - (j & 1);  // odd octants run backwards: m -> 2^50 - 1 - m
  const uint64_t m = ((word >> 11) ^ odd) & ((uint64_t{1} << 50) - 1);
  const double x = (SmallToDouble(m) + 0.5) * (0x1p-50 * 0.78539816339744830962);
  const double z = x * x;
  const double sin_r =
      8.33333333332248946124e-03 +
      z * (-1.98412698298579493134e-04 +
           z * (2.75573137070700676789e-06 +
                z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10)));
  const double sin_x = x + z * x * (-1.66666666666666324348e-01 + z * sin_r);
  const double cos_r =
      z * (4.16666666666666019037e-02 +
           z * (-1.38888888888741095749e-03 +
                z * (2.48015872894767294178e-05 +
                     z * (-2.75573143513906633035e-07 +
                          z * (2.08757232129817482790e-09 + z * -1.13596475577881948265e-11)))));
  const double hz = 0.5 * z;
  const double one_minus_hz = 1.0 - hz;
  const double cos_x = one_minus_hz + (((1.0 - one_minus_hz) - hz) + z * cos_r);
  // Octants 1, 2, 5, 6 swap sin and cos; sin < 0 in octants 4-7, cos < 0 in octants 2-5.
  const bool swap = ((j + 1) & 2) != 0;
  const double s = swap ? cos_x : sin_x;
  const double c = swap ? sin_x : cos_x;
  *sin_out = std::bit_cast<double>(std::bit_cast<uint64_t>(s) ^ ((j >> 2) << 63));
  *cos_out = std::bit_cast<double>(std::bit_cast<uint64_t>(c) ^ ((((j + 2) >> 2) & 1) << 63));
}

// Turns raw 64-bit words into uniforms and Gaussians; subclasses only supply the words. Both the
// secure and the seeded source share this code, so tests of the seeded source exercise the very
// transform production uses.
class WordNoiseSource : public NoiseSource {
 public:
  WordNoiseSource() : radius_(kChunkPairs), sin_(kChunkPairs), cos_(kChunkPairs) {}
  ~WordNoiseSource() override {
    // The scratch arrays hold recent noise; an attacker who reads it can subtract it.
    OPENSSL_cleanse(radius_.data(), sizeof(double) * kChunkPairs);
    OPENSSL_cleanse(sin_.data(), sizeof(double) * kChunkPairs);
    OPENSSL_cleanse(cos_.data(), sizeof(double) * kChunkPairs);
  }

  // Box-Muller (Box and Muller 1958): with U uniform on (0, 1] and theta uniform on [0, 2 pi),
  // R cos(theta) and R sin(theta), R = sqrt(-2 ln U), are independent N(0, 1). No rejection and
  // no data-dependent branch: every pair costs the same time whatever its value. The passes over a
  // chunk are separate so each vectorises (std::sqrt's errno path would block it in the first).
  void FillGaussian(float* out, size_t n, double stddev) final { Gaussians(out, n, stddev); }
  void FillGaussian(double* out, size_t n, double stddev) final { Gaussians(out, n, stddev); }

  void FillUniform(double* out, size_t n) final {
    size_t k = 0;
    while (k < n) {
      const size_t c = std::min(n - k, kBufferWords);
      const uint64_t* w = Words(c);
      if (w == nullptr) {
        std::fill(out + k, out + n, kNaN);
        return;
      }
      for (size_t i = 0; i < c; ++i) out[k + i] = Uniform53(w[i]);
      k += c;
    }
  }

  Status status() const final { return status_; }

 protected:
  // `count` (<= kBufferWords) fresh random words, valid until the next call; nullptr once the
  // source has failed (Words itself calls Fail for its own errors).
  virtual const uint64_t* Words(size_t count) = 0;

  // Records the first error; the source stays failed.
  void Fail(Status status) {
    if (status_.ok()) status_ = std::move(status);
  }
  bool failed() const { return !status_.ok(); }

 private:
  template <typename T>
  void Gaussians(T* out, size_t n, double stddev) {
    size_t k = 0;
    while (k < n) {
      const size_t pairs = std::min(kChunkPairs, (n - k + 1) / 2);
      const uint64_t* w = Words(2 * pairs);
      if (w == nullptr) {
        std::fill(out + k, out + n, static_cast<T>(kNaN));
        return;
      }
      double* radius = radius_.data();
      double* sine = sin_.data();
      double* cosine = cos_.data();
      for (size_t i = 0; i < pairs; ++i) {
        radius[i] = MinusTwoLog(RadiusUniform(w[2 * i]));
        SinCosOfWord(w[2 * i + 1], &sine[i], &cosine[i]);
      }
      const Eigen::Index p = static_cast<Eigen::Index>(pairs);
      radius_.head(p) = radius_.head(p).sqrt() * stddev;
      const size_t full = std::min(pairs, (n - k) / 2);
      T* o = out + k;
      for (size_t i = 0; i < full; ++i) {
        o[2 * i] = static_cast<T>(radius[i] * cosine[i]);
        o[2 * i + 1] = static_cast<T>(radius[i] * sine[i]);
      }
      k += 2 * full;
      if (full < pairs) out[k++] = static_cast<T>(radius[full] * cosine[full]);  // odd n
    }
  }

  Eigen::ArrayXd radius_, sin_, cos_;
  Status status_;
};

bool OpenSslBytes(unsigned char* buf, size_t n) {
  // RAND_priv_bytes: OpenSSL's DRBG instance reserved for secret values, so our noise does not
  // share a stream with bytes that become public (nonces, TLS randoms).
  return RAND_priv_bytes(buf, static_cast<int>(n)) == 1;
}

// All bits from a CSPRNG (OpenSSL's by default), buffered 64 KiB at a time.
class SecureNoiseSource final : public WordNoiseSource {
 public:
  explicit SecureNoiseSource(std::function<bool(unsigned char*, size_t)> bytes)
      : bytes_(std::move(bytes)), buffer_(new uint64_t[kBufferWords]), pos_(kBufferWords) {}
  ~SecureNoiseSource() override { OPENSSL_cleanse(buffer_.get(), kBufferWords * sizeof(uint64_t)); }
  SecureNoiseSource(const SecureNoiseSource&) = delete;
  SecureNoiseSource& operator=(const SecureNoiseSource&) = delete;

 private:
  const uint64_t* Words(size_t count) override {
    if (failed()) return nullptr;
    // After fork() the child holds a copy of the buffer; drawing from it would repeat the
    // parent's noise. getpid() is a cheap syscall and this runs once per chunk, not per value.
    const pid_t pid = getpid();
    if (pid != pid_) {
      pid_ = pid;
      pos_ = kBufferWords;
    }
    if (kBufferWords - pos_ < count) {
      // Leftover words are dropped, never reused.
      if (!bytes_(reinterpret_cast<unsigned char*>(buffer_.get()),
                  kBufferWords * sizeof(uint64_t))) {
        // Do not hand out the stale buffer (or zeros): poison it and fail for good.
        OPENSSL_cleanse(buffer_.get(), kBufferWords * sizeof(uint64_t));
        Fail(Status::IOError("the CSPRNG failed to produce random bytes: " + TakeOpenSslError()));
        return nullptr;
      }
      pos_ = 0;
    }
    const uint64_t* w = buffer_.get() + pos_;
    pos_ += count;
    return w;
  }

  std::function<bool(unsigned char*, size_t)> bytes_;
  std::unique_ptr<uint64_t[]> buffer_;
  size_t pos_;  // next unused word; kBufferWords when the buffer is spent
  pid_t pid_ = getpid();
};

}  // namespace

double NoiseSource::Gaussian() {
  // Box-Muller on two FillUniform draws (53 bits each; 1 - u is in (0, 1]). NaN once the source
  // has failed.
  double u[2];
  FillUniform(u, 2);
  if (!status().ok()) return kNaN;
  return std::sqrt(-2.0 * std::log(1.0 - u[0])) * std::cos(kTwoPi * u[1]);
}

Result<std::unique_ptr<NoiseSource>> MakeNoiseSource() {
  std::unique_ptr<NoiseSource> source = std::make_unique<SecureNoiseSource>(OpenSslBytes);
  // Draw once now, so a CSPRNG that cannot seed itself is reported here rather than mid-training.
  double probe;
  source->FillUniform(&probe, 1);
  FEDSEG_RETURN_IF_ERROR(source->status().WithContext("creating the secure noise source"));
  return source;
}

std::unique_ptr<NoiseSource> MakeSecureNoiseWithBytesForTesting(
    std::function<bool(unsigned char* buf, size_t n)> bytes) {
  return std::make_unique<SecureNoiseSource>(std::move(bytes));
}

}  // namespace fedseg::privacy
