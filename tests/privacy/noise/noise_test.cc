#include "privacy/noise/noise.h"
#include "privacy/noise/testing/seeded_noise.h"

#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace fedseg::privacy {
namespace {

struct Moments {
  double mean = 0, var = 0, kurtosis = 0;  // kurtosis = E[(x - mean)^4] / var^2 (3 for a normal)
  double max_abs = 0;
};

Moments MomentsOf(const std::vector<float>& v) {
  Moments m;
  const double n = static_cast<double>(v.size());
  for (float x : v) m.mean += x;
  m.mean /= n;
  double m4 = 0;
  for (float x : v) {
    const double d = x - m.mean;
    m.var += d * d;
    m4 += d * d * d * d;
    m.max_abs = std::max(m.max_abs, std::abs(static_cast<double>(x)));
  }
  m.var /= n;
  m.kurtosis = (m4 / n) / (m.var * m.var);
  return m;
}

// Mean, variance (within 1%), kurtosis and a tail fraction of 1e6 draws of N(0, sigma^2).
void ExpectGaussianMoments(NoiseSource& source, double sigma) {
  constexpr size_t kN = 1000000;
  std::vector<float> v(kN);
  source.FillGaussian(v.data(), kN, sigma);
  ASSERT_TRUE(source.status().ok()) << source.status().ToString();
  const Moments m = MomentsOf(v);
  EXPECT_LT(std::abs(m.mean), 5 * sigma / std::sqrt(static_cast<double>(kN)));
  EXPECT_NEAR(m.var / (sigma * sigma), 1.0, 0.01);
  EXPECT_NEAR(m.kurtosis, 3.0, 0.03);  // standard error ~0.005
  // P(|Z| > 2) = 0.0455; standard error of the fraction ~0.0002.
  size_t beyond = 0;
  for (float x : v) beyond += std::abs(x) > 2 * sigma;
  EXPECT_NEAR(static_cast<double>(beyond) / kN, 0.04550, 0.001);
  // The largest of 1e6 normal draws is ~4.9 sigma; the sampler's bound is 9.49 sigma.
  EXPECT_GT(m.max_abs, 4.0 * sigma);
  EXPECT_LT(m.max_abs, 7.0 * sigma);
}

void ExpectUniformMoments(NoiseSource& source) {
  constexpr size_t kN = 1000000;
  std::vector<double> u(kN);
  source.FillUniform(u.data(), kN);
  ASSERT_TRUE(source.status().ok());
  double mean = 0, var = 0;
  size_t finer_than_float = 0;
  for (double x : u) {
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
    // Every value is a multiple of 2^-53 ...
    const double scaled = std::ldexp(x, 53);
    ASSERT_EQ(scaled, std::floor(scaled));
    // ... and almost none is a multiple of 2^-24 (what a float uniform would give).
    const double coarse = std::ldexp(x, 24);
    finer_than_float += coarse != std::floor(coarse);
    mean += x;
  }
  mean /= kN;
  for (double x : u) var += (x - mean) * (x - mean);
  var /= kN;
  EXPECT_NEAR(mean, 0.5, 5 * std::sqrt(1.0 / 12 / kN));
  EXPECT_NEAR(var * 12, 1.0, 0.01);
  EXPECT_GT(finer_than_float, kN - 10);
}

TEST(NoiseTest, SeededGaussianMoments) {
  auto source = MakeInsecureSeededNoiseForTesting(7);
  ExpectGaussianMoments(*source, 2.5);
}

TEST(NoiseTest, SecureGaussianMoments) {
  auto source = MakeNoiseSource();
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  ExpectGaussianMoments(**source, 0.3);
}

TEST(NoiseTest, SeededUniformMoments) {
  auto source = MakeInsecureSeededNoiseForTesting(8);
  ExpectUniformMoments(*source);
}

TEST(NoiseTest, SecureUniformMoments) {
  auto source = MakeNoiseSource();
  ASSERT_TRUE(source.ok());
  ExpectUniformMoments(**source);
}

TEST(NoiseTest, GaussianConvenienceMoments) {
  auto source = MakeNoiseSource();
  ASSERT_TRUE(source.ok());
  constexpr int kN = 200000;
  double mean = 0, sq = 0;
  for (int i = 0; i < kN; ++i) {
    const double g = (*source)->Gaussian();
    mean += g;
    sq += g * g;
  }
  mean /= kN;
  EXPECT_LT(std::abs(mean), 5 / std::sqrt(static_cast<double>(kN)));
  EXPECT_NEAR(sq / kN - mean * mean, 1.0, 0.02);
}

TEST(NoiseTest, SeededIsReproducibleForASeed) {
  auto a = MakeInsecureSeededNoiseForTesting(42);
  auto b = MakeInsecureSeededNoiseForTesting(42);
  auto c = MakeInsecureSeededNoiseForTesting(43);
  // Interleave odd sizes so both buffering paths are exercised.
  for (size_t n : {1, 7, 5000, 20001}) {
    std::vector<float> ga(n), gb(n), gc(n);
    std::vector<double> ua(n), ub(n);
    a->FillGaussian(ga.data(), n, 1.0);
    b->FillGaussian(gb.data(), n, 1.0);
    c->FillGaussian(gc.data(), n, 1.0);
    EXPECT_EQ(ga, gb);
    if (n > 1) {
      EXPECT_NE(ga, gc);
    }
    a->FillUniform(ua.data(), n);
    b->FillUniform(ub.data(), n);
    EXPECT_EQ(ua, ub);
  }
  EXPECT_EQ(a->Gaussian(), b->Gaussian());
}

TEST(NoiseTest, TwoSecureSourcesGiveDifferentStreams) {
  auto a = MakeNoiseSource();
  auto b = MakeNoiseSource();  // same (ignored) seed
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<float> ga(1000), gb(1000);
  (*a)->FillGaussian(ga.data(), ga.size(), 1.0);
  (*b)->FillGaussian(gb.data(), gb.size(), 1.0);
  size_t equal = 0;
  for (size_t i = 0; i < ga.size(); ++i) equal += ga[i] == gb[i];
  EXPECT_LT(equal, 5u);
  // Consecutive calls on one source do not repeat either.
  std::vector<float> ga2(1000);
  (*a)->FillGaussian(ga2.data(), ga2.size(), 1.0);
  EXPECT_NE(ga, ga2);
}

TEST(NoiseTest, ZeroStddevGivesZeros) {
  auto source = MakeInsecureSeededNoiseForTesting(1);
  std::vector<float> v(100, 1.0f);
  source->FillGaussian(v.data(), v.size(), 0.0);
  for (float x : v) EXPECT_EQ(x, 0.0f);
}

// A byte source that works `good_calls` times, then fails, counting its calls.
struct FlakyBytes {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  int good_calls = 0;
  bool operator()(unsigned char* buf, size_t n) const {
    if ((*calls)++ >= good_calls) return false;
    return RAND_bytes(buf, static_cast<int>(n)) == 1;
  }
};

TEST(NoiseTest, CsprngFailureIsRecordedNeverZeros) {
  FlakyBytes bytes;
  bytes.good_calls = 0;
  auto source = MakeSecureNoiseWithBytesForTesting(bytes);
  std::vector<float> g(1000, 0.0f);
  source->FillGaussian(g.data(), g.size(), 1.0);
  EXPECT_TRUE(source->status().IsIOError()) << source->status().ToString();
  EXPECT_NE(source->status().message().find("CSPRNG"), std::string::npos);
  for (float x : g) ASSERT_TRUE(std::isnan(x));
  std::vector<double> u(10, 0.0);
  source->FillUniform(u.data(), u.size());
  for (double x : u) ASSERT_TRUE(std::isnan(x));
  EXPECT_TRUE(std::isnan(source->Gaussian()));
}

TEST(NoiseTest, CsprngFailureMidStreamIsSticky) {
  FlakyBytes bytes;
  bytes.good_calls = 1;  // one 64 KiB buffer, then failure
  auto source = MakeSecureNoiseWithBytesForTesting(bytes);
  std::vector<float> g(100);
  source->FillGaussian(g.data(), g.size(), 1.0);
  ASSERT_TRUE(source->status().ok());
  for (float x : g) ASSERT_TRUE(std::isfinite(x));
  // 100000 Gaussians need ~1 MB of bytes: the second refill fails part-way through the call.
  std::vector<float> big(100000, 0.0f);
  source->FillGaussian(big.data(), big.size(), 1.0);
  EXPECT_TRUE(source->status().IsIOError());
  EXPECT_TRUE(std::isnan(big.back()));
  size_t zeros = 0;
  for (float x : big) zeros += x == 0.0f;
  EXPECT_EQ(zeros, 0u);
  // Sticky: no more calls to the byte source, and every later draw is NaN.
  const int calls = bytes.calls->load();
  source->FillGaussian(g.data(), g.size(), 1.0);
  for (float x : g) ASSERT_TRUE(std::isnan(x));
  EXPECT_EQ(bytes.calls->load(), calls);
  EXPECT_TRUE(source->status().IsIOError());
}

// White-box check of the transform against long-double libm: word 2i gives the radius uniform
// (w + 1/2) 2^-64, word 2i+1 the angle 2 pi (j + (m + 1/2) 2^-50) / 8 with j its top 3 bits and m
// the next 50 (see noise.cc). Includes the extremes and every octant.
TEST(NoiseTest, BoxMullerMatchesLibmIncludingExtremes) {
  constexpr size_t kPairs = 4000;
  std::vector<uint64_t> words(2 * kPairs);
  std::mt19937_64 rng(5);
  for (uint64_t& w : words) w = rng();
  words[0] = 0;             // smallest radius uniform, 2^-65: the largest radius, 9.49
  words[1] = 0;             // angle just above 0
  words[2] = ~uint64_t{0};  // radius uniform rounds to 1: radius 0
  words[4] = 1;
  words[5] = ~uint64_t{0};  // angle just below 2 pi
  for (uint64_t j = 0; j < 8; ++j) {
    words[2 * (3 + j) + 1] = (j << 61) | (rng() >> 3);
    words[2 * (11 + j) + 1] = j << 61;  // the start of each octant
  }
  auto source = MakeSecureNoiseWithBytesForTesting([&words](unsigned char* buf, size_t n) {
    std::memset(buf, 0, n);
    std::memcpy(buf, words.data(), std::min(n, words.size() * sizeof(uint64_t)));
    return true;
  });
  const double sigma = 1.7;
  std::vector<float> out(2 * kPairs);
  source->FillGaussian(out.data(), out.size(), sigma);
  ASSERT_TRUE(source->status().ok());
  const long double pi = 3.141592653589793238462643383279502884L;
  double worst = 0;
  for (size_t i = 0; i < kPairs; ++i) {
    const long double u = (static_cast<long double>(words[2 * i]) + 0.5L) * 0x1p-64L;
    // The implementation rounds u to double once; compare with that u.
    const long double r =
        std::sqrt(-2.0L * std::log(static_cast<long double>(static_cast<double>(u)))) * sigma;
    const uint64_t a = words[2 * i + 1];
    const long double theta =
        pi / 4 *
        (static_cast<long double>(a >> 61) +
         (static_cast<long double>((a >> 11) & ((uint64_t{1} << 50) - 1)) + 0.5L) * 0x1p-50L);
    const long double z0 = r * std::cos(theta), z1 = r * std::sin(theta);
    const double err = static_cast<double>(
        std::max(std::abs(out[2 * i] - z0), std::abs(out[2 * i + 1] - z1)) / std::max(r, 1e-3L));
    worst = std::max(worst, err);
    ASSERT_LT(err, 2e-7) << "pair " << i << ": " << out[2 * i] << ", " << out[2 * i + 1] << " vs "
                         << static_cast<double>(z0) << ", " << static_cast<double>(z1);
  }
  EXPECT_NEAR(out[0], 9.492583 * sigma, 1e-5 * sigma);  // the largest possible draw
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_EQ(out[3], 0.0f);
}

TEST(NoiseTest, DoubleDrawsAreTheFloatDrawsBeforeRounding) {
  auto as_float = MakeInsecureSeededNoiseForTesting(21);
  auto as_double = MakeInsecureSeededNoiseForTesting(21);
  std::vector<float> f(1001);
  std::vector<double> d(1001);
  as_float->FillGaussian(f.data(), f.size(), 2.5);
  as_double->FillGaussian(d.data(), d.size(), 2.5);
  int not_representable = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    ASSERT_EQ(f[i], static_cast<float>(d[i])) << i;
    not_representable += static_cast<double>(f[i]) != d[i];
  }
  EXPECT_GT(not_representable, 990);  // the double draws carry bits a float cannot hold
}

TEST(NoiseTest, OddCountsAndSmallCalls) {
  auto a = MakeInsecureSeededNoiseForTesting(3);
  std::vector<float> v(2049, std::nanf(""));
  a->FillGaussian(v.data(), v.size(), 1.0);
  for (float x : v) ASSERT_TRUE(std::isfinite(x));
  float one = std::nanf("");
  a->FillGaussian(&one, 1, 1.0);
  EXPECT_TRUE(std::isfinite(one));
  a->FillGaussian(static_cast<float*>(nullptr), 0, 1.0);  // nothing to do
  EXPECT_TRUE(a->status().ok());
}

TEST(NoiseTest, ForkedChildDoesNotRepeatParentNoise) {
  auto source = MakeNoiseSource();
  ASSERT_TRUE(source.ok());
  std::vector<float> warm(16);
  (*source)->FillGaussian(warm.data(), warm.size(), 1.0);  // fills the 64 KiB buffer
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  constexpr size_t kN = 256;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::vector<float> child(kN);
    (*source)->FillGaussian(child.data(), kN, 1.0);
    const ssize_t w = write(fds[1], child.data(), kN * sizeof(float));
    _exit(w == static_cast<ssize_t>(kN * sizeof(float)) ? 0 : 1);
  }
  close(fds[1]);
  std::vector<float> parent(kN), child(kN);
  (*source)->FillGaussian(parent.data(), kN, 1.0);
  size_t got = 0;
  while (got < kN * sizeof(float)) {
    const ssize_t r =
        read(fds[0], reinterpret_cast<char*>(child.data()) + got, kN * sizeof(float) - got);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  close(fds[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  ASSERT_EQ(got, kN * sizeof(float));
  ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  size_t equal = 0;
  for (size_t i = 0; i < kN; ++i) equal += parent[i] == child[i];
  EXPECT_LT(equal, 3u);
}

}  // namespace
}  // namespace fedseg::privacy
