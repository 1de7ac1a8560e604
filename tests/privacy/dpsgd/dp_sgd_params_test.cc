#include "privacy/dpsgd/dp_sgd_params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "privacy/dpsgd/dp_sgd.h"
#include "privacy/noise/testing/seeded_noise.h"

namespace fedseg::privacy {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(DpSgdParamsTest, KeepsValidValues) {
  auto p = DpSgdParams::Create(1.5, 0.8);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->clip_norm(), 1.5);
  EXPECT_EQ(p->noise_multiplier(), 0.8);
  EXPECT_EQ(p->sampling_rate(), 1.0);
  EXPECT_EQ(p->steps(), 0);
  auto s = p->WithSampling(0.01, 300);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->clip_norm(), 1.5);
  EXPECT_EQ(s->noise_multiplier(), 0.8);
  EXPECT_EQ(s->sampling_rate(), 0.01);
  EXPECT_EQ(s->steps(), 300);
  // Boundaries: sigma 0 (no noise) and q = 1 are allowed.
  EXPECT_TRUE(DpSgdParams::Create(1e-9, 0).ok());
  EXPECT_TRUE(p->WithSampling(1.0, 0).ok());
}

TEST(DpSgdParamsTest, RefusalsNameTheParameterAndTheValue) {
  EXPECT_EQ(DpSgdParams::Create(0, 1).status().message(),
            "clip_norm must be finite and positive, got 0.000000");
  EXPECT_EQ(DpSgdParams::Create(-2, 1).status().message(),
            "clip_norm must be finite and positive, got -2.000000");
  EXPECT_EQ(DpSgdParams::Create(std::nan(""), 1).status().message(),
            "clip_norm must be finite and positive, got nan");
  EXPECT_EQ(DpSgdParams::Create(kInf, 1).status().message(),
            "clip_norm must be finite and positive, got inf");
  EXPECT_EQ(DpSgdParams::Create(1, -1).status().message(),
            "noise_multiplier must be finite and >= 0, got -1.000000");
  EXPECT_EQ(DpSgdParams::Create(1, kInf).status().message(),
            "noise_multiplier must be finite and >= 0, got inf");
  const DpSgdParams p = *DpSgdParams::Create(1, 1);
  EXPECT_EQ(p.WithSampling(0, 1).status().message(),
            "sampling_rate must be finite and in (0, 1], got 0.000000");
  EXPECT_EQ(p.WithSampling(1.5, 1).status().message(),
            "sampling_rate must be finite and in (0, 1], got 1.500000");
  EXPECT_EQ(p.WithSampling(0.5, -1).status().message(), "steps must be >= 0, got -1");
  EXPECT_TRUE(DpSgdParams::Create(0, 1).status().IsInvalidArgument());
}

// Every other place that takes these parameters answers with the same message.
TEST(DpSgdParamsTest, DpSgdConfigAndGradientComputerUseTheSameChecks) {
  DpSgdConfig c;
  c.clip_norm = 0;
  EXPECT_EQ(c.Validate().message(), DpSgdParams::CheckClipNorm(0).message());
  c = DpSgdConfig{};
  c.noise_multiplier = -3;
  EXPECT_EQ(c.Validate().message(), DpSgdParams::CheckNoiseMultiplier(-3).message());
  c = DpSgdConfig{};
  c.sampling_rate = 2;
  EXPECT_EQ(c.Validate().message(), DpSgdParams::CheckSamplingRate(2).message());
  EXPECT_EQ(PrivateGradientComputer::Create(-1, 1, 1).status().message(),
            DpSgdParams::CheckClipNorm(-1).message());
  EXPECT_EQ(PrivateGradientComputer::Create(1, std::nan(""), 1).status().message(),
            DpSgdParams::CheckNoiseMultiplier(std::nan("")).message());
  std::vector<size_t> rows = {7};
  auto noise = MakeInsecureSeededNoiseForTesting(1);
  EXPECT_EQ(PoissonSample(10, 0, *noise, &rows).message(),
            DpSgdParams::CheckSamplingRate(0).message());
  EXPECT_TRUE(rows.empty());
}

}  // namespace
}  // namespace fedseg::privacy
