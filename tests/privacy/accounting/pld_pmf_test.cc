// The connect-the-dots discretization (privacy/accounting/internal/pld_pmf.h) against the exact
// hockey-stick divergence of one step of the sampled Gaussian mechanism, and the FFT composition.
#include "privacy/accounting/internal/pld_pmf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "privacy/accounting/internal/pld_composition.h"

namespace fedseg::privacy::internal {
namespace {

double Phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Exact delta(eps) of one step: remove, P = (1 - q) N(0, s^2) + q N(1, s^2) against Q = N(0, s^2),
// where the loss exceeds eps for noise above x*; add, the pair swapped, for noise below x'.
double ExactDelta(double q, double s, PldDirection d, double eps) {
  if (d == PldDirection::kRemove) {
    const double v = std::exp(eps) - (1 - q);
    if (v <= 0) return 1 - std::exp(eps);
    const double x = s * s * std::log(v / q) + 0.5;
    return (1 - q) * Phi(-x / s) + q * Phi(-(x - 1) / s) - std::exp(eps) * Phi(-x / s);
  }
  const double v = std::exp(-eps) - (1 - q);
  if (v <= 0) return 0.0;
  const double x = s * s * std::log(v / q) + 0.5;
  return Phi(x / s) - std::exp(eps) * ((1 - q) * Phi(x / s) + q * Phi((x - 1) / s));
}

TEST(PldPmfTest, ConnectTheDotsIsExactAtGridPointsAndAboveBetween) {
  for (PldDirection d : {PldDirection::kRemove, PldDirection::kAdd}) {
    for (double q : {0.01, 0.3, 1.0}) {
      const double s = 0.9, h = 1e-3;
      const PldPmf pmf = DiscretizeSampledGaussian(q, s, d, h, -50.0);
      const double total =
          std::accumulate(pmf.mass.begin(), pmf.mass.end(), 0.0) + pmf.infinity_mass;
      EXPECT_NEAR(total, 1.0, 1e-12);
      double q_side = 0.0;
      for (size_t i = 0; i < pmf.mass.size(); ++i) {
        EXPECT_GE(pmf.mass[i], 0.0);
        q_side += pmf.mass[i] * std::exp(-static_cast<double>(pmf.offset + i) * h);
      }
      EXPECT_LE(q_side, 1.0 + 1e-12);
      for (int k = 1; k <= 40; ++k) {
        const double grid = k * 0.05;  // a grid point (a multiple of h)
        const double exact = ExactDelta(q, s, d, grid);
        SCOPED_TRACE(std::to_string(q) + (d == PldDirection::kAdd ? " add " : " remove ") +
                     std::to_string(grid));
        EXPECT_NEAR(HockeyStickDelta(pmf, grid), exact, 1e-12 + 1e-9 * exact);
        const double between = grid + 0.37 * h;
        EXPECT_GE(HockeyStickDelta(pmf, between), ExactDelta(q, s, d, between) - 1e-15);
      }
    }
  }
}

TEST(PldPmfTest, EpsilonForDeltaInvertsHockeyStick) {
  const PldPmf pmf = DiscretizeSampledGaussian(0.2, 1.0, PldDirection::kRemove, 1e-4, -50.0);
  for (double delta : {1e-2, 1e-4, 1e-6}) {
    const double eps = EpsilonForDelta(pmf, delta);
    EXPECT_NEAR(HockeyStickDelta(pmf, eps), delta, 1e-9 * delta);
    EXPECT_GT(HockeyStickDelta(pmf, eps * (1 - 1e-6)), delta);
  }
  EXPECT_EQ(EpsilonForDelta(pmf, 0.999), 0.0);
  PldPmf infinite = pmf;
  infinite.infinity_mass = 1e-3;
  EXPECT_TRUE(std::isinf(EpsilonForDelta(infinite, 1e-4)));
}

// FFT composition against a direct convolution, and the window's truncation charged to the
// infinite loss.
TEST(PldPmfTest, FftCompositionMatchesDirectConvolution) {
  const PldPmf one = DiscretizeSampledGaussian(0.5, 2.0, PldDirection::kRemove, 1e-2, -50.0);
  std::vector<double> direct = one.mass;
  for (int step = 1; step < 4; ++step) {
    std::vector<double> next(direct.size() + one.mass.size() - 1, 0.0);
    for (size_t i = 0; i < direct.size(); ++i) {
      for (size_t j = 0; j < one.mass.size(); ++j) next[i + j] += direct[i] * one.mass[j];
    }
    direct.swap(next);
  }
  const std::vector<PldComponent> parts = {{&one, 4}};
  const PldWindow w = ComposedWindow(parts, -50.0);
  const PldPmf composed = ComposePlds(parts, w, -50.0);
  ASSERT_EQ(composed.offset, w.lo);
  for (size_t k = 0; k < composed.mass.size(); ++k) {
    const int64_t index = composed.offset + static_cast<int64_t>(k) - 4 * one.offset;
    ASSERT_GE(index, 0);
    ASSERT_LT(index, static_cast<int64_t>(direct.size()));
    EXPECT_NEAR(composed.mass[k], direct[static_cast<size_t>(index)], 1e-14);
  }
  EXPECT_GE(composed.infinity_mass, 1 - std::pow(1 - one.infinity_mass, 4));
  EXPECT_LE(composed.infinity_mass, 1e-20);
}

}  // namespace
}  // namespace fedseg::privacy::internal
