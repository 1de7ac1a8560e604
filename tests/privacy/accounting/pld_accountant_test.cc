// The PLD accountant against Google's dp_accounting (pld_reference.inc, written by
// gen_pld_reference.py), against the exact epsilon of the Gaussian mechanism, and its errors.
#include "privacy/accounting/pld_accountant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "privacy/accounting/accountant.h"
#include "privacy/accounting/rdp_accountant.h"

namespace fedseg::privacy {
namespace {

struct Reference {
  double q, sigma;
  int64_t steps;
  double delta, epsilon;
};
const std::vector<Reference>& References() {
  static const std::vector<Reference> rows = {
#include "tests/privacy/accounting/pld_reference.inc"
  };
  return rows;
}

// Exact delta(eps) of `count` compositions of the Gaussian mechanism with noise multiplier sigma
// (sensitivity 1): its PLD is N(mu^2 / 2, mu^2) with mu = sqrt(count) / sigma, and
// delta(eps) = Phi(-eps / mu + mu / 2) - e^eps Phi(-eps / mu - mu / 2) (Balle and Wang 2018,
// Theorem 8).
double GaussianDelta(double sigma, int64_t count, double eps) {
  const double mu = std::sqrt(static_cast<double>(count)) / sigma;
  auto phi = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  return phi(-eps / mu + mu / 2) - std::exp(eps) * phi(-eps / mu - mu / 2);
}
// The exact epsilon, by bisection on the decreasing delta(eps).
double GaussianEpsilon(double sigma, int64_t count, double delta) {
  double lo = 0.0, hi = 1.0;
  while (GaussianDelta(sigma, count, hi) > delta) hi *= 2;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (GaussianDelta(sigma, count, mid) > delta ? lo : hi) = mid;
  }
  return lo;
}

double CpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Target of the accountant: within 1% of dp_accounting's PLD epsilon everywhere on the grid, and
// never below it by more than its discretization error. Both discretize with interval 1e-4 by
// connect-the-dots; dp_accounting's own epsilon is at most about interval * (1 + epsilon) above
// the exact one on this grid (docs/accountant.md), which bounds how far below it a valid upper
// bound can lie. By default every 5th case and the issue's case run (a few seconds); with
// FEDSEG_PLD_FULL_REFERENCE=1 every case runs and the comparison table of docs/accountant.md is
// printed.
TEST(PldAccountantTest, MatchesDpAccountingWithinOnePercent) {
  std::map<std::tuple<double, double, int64_t>, std::vector<Reference>> cases;
  for (const Reference& r : References()) cases[{r.q, r.sigma, r.steps}].push_back(r);
  ASSERT_GE(cases.size(), 100u);
  const char* full_env = std::getenv("FEDSEG_PLD_FULL_REFERENCE");
  const bool full = full_env != nullptr && std::string(full_env) == "1";
  if (full) {
    std::printf(
        "| q | sigma | steps | delta | dp_accounting PLD | fedseg PLD | difference | fedseg "
        "RDP | PLD query CPU s |\n|---|---|---|---|---|---|---|---|---|\n");
  }
  double worst = 0.0;
  size_t index = 0;
  for (const auto& [key, rows] : cases) {
    const bool issue_case = rows[0].q == 0.00256;
    if (!full && !issue_case && index++ % 5 != 0) continue;
    PldAccountant acc;
    ASSERT_TRUE(acc.AddSampledGaussian(rows[0].q, rows[0].sigma, rows[0].steps).ok());
    for (const Reference& r : rows) {
      SCOPED_TRACE("q " + std::to_string(r.q) + " sigma " + std::to_string(r.sigma) + " steps " +
                   std::to_string(r.steps) + " delta " + std::to_string(r.delta));
      const double start = CpuSeconds();
      Result<double> e = acc.GetEpsilon(r.delta);
      const double seconds = CpuSeconds() - start;
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      if (full) {
        std::printf("| %g | %g | %lld | %g | %.6g | %.6g | %+.4f%% | %.6g | %.3f |\n", r.q, r.sigma,
                    static_cast<long long>(r.steps), r.delta, r.epsilon, *e,
                    100.0 * (*e - r.epsilon) / r.epsilon,
                    ComputeEpsilon(r.q, r.sigma, r.steps, r.delta)->epsilon, seconds);
      }
      EXPECT_LE(std::abs(*e - r.epsilon), 0.01 * r.epsilon) << *e << " vs " << r.epsilon;
      EXPECT_GE(*e, r.epsilon - 1e-4 * (1.0 + r.epsilon)) << *e << " vs " << r.epsilon;
      worst = std::max(worst, std::abs(*e - r.epsilon) / r.epsilon);
    }
  }
  RecordProperty("worst_relative_difference", std::to_string(worst));
}

// The case the issue quotes: dp_accounting's PLD gives 1.169, RDP 1.354.
TEST(PldAccountantTest, KnownDpSgdCaseIsTighterThanRdp) {
  const double pld = *ComputePldEpsilon(0.00256, 1.0, 7812, 1e-5);
  EXPECT_NEAR(pld, 1.1685687423030038, 1e-4);
  const double rdp = ComputeEpsilon(0.00256, 1.0, 7812, 1e-5)->epsilon;
  EXPECT_NEAR(rdp, 1.354, 1e-3);
  EXPECT_LT(pld, rdp * 0.9);
}

// q = 1 is the Gaussian mechanism, whose epsilon is known exactly: the accountant's is an upper
// bound and close to it, also when the grid had to be coarsened (large epsilon).
TEST(PldAccountantTest, UpperBoundsTheExactGaussianEpsilon) {
  struct Case {
    double sigma;
    int64_t count;
  };
  for (Case c : {Case{1.0, 1}, Case{2.0, 10}, Case{4.0, 100}, Case{0.8, 3}}) {
    for (double delta : {1e-5, 1e-6}) {
      PldAccountant acc;
      ASSERT_TRUE(acc.AddGaussian(c.sigma, c.count).ok());
      const double exact = GaussianEpsilon(c.sigma, c.count, delta);
      const double pld = *acc.GetEpsilon(delta);
      EXPECT_GE(pld, exact) << c.sigma << " " << c.count << " " << delta;
      EXPECT_LE(pld, exact * 1.001 + 1e-3) << c.sigma << " " << c.count << " " << delta;
    }
  }
  // mu = 10: the composed losses spread over more than kPldMaxGridPoints points of 1e-4, so the
  // grid is coarsened.
  PldAccountant acc;
  ASSERT_TRUE(acc.AddGaussian(1.0, 100).ok());
  const double exact = GaussianEpsilon(1.0, 100, 1e-5);
  const double pld = *acc.GetEpsilon(1e-5);
  EXPECT_GT(acc.last_interval(), kPldDefaultInterval);
  EXPECT_GE(pld, exact);
  EXPECT_LE(pld, exact * 1.01);
}

TEST(PldAccountantTest, DeltaOfTheReportedEpsilonMeetsDelta) {
  PldAccountant acc;
  ASSERT_TRUE(acc.AddSampledGaussian(0.01, 1.1, 1000).ok());
  for (double delta : {1e-3, 1e-5, 1e-7}) {
    const double eps = *acc.GetEpsilon(delta);
    EXPECT_LE(*acc.GetDelta(eps), delta);
    EXPECT_GT(*acc.GetDelta(eps * 0.99), delta);
  }
  EXPECT_EQ(*acc.GetDelta(1e6), acc.GetDelta(1e6).value());
  EXPECT_LT(*acc.GetDelta(1e3), 1e-15);
}

TEST(PldAccountantTest, ComposesStepsAndMechanisms) {
  PldAccountant split, whole, with_stats;
  ASSERT_TRUE(split.AddSampledGaussian(0.02, 1.2, 300).ok());
  ASSERT_TRUE(split.AddSampledGaussian(0.02, 1.2, 700).ok());
  ASSERT_TRUE(whole.AddSampledGaussian(0.02, 1.2, 1000).ok());
  EXPECT_EQ(*split.GetEpsilon(1e-5), *whole.GetEpsilon(1e-5));
  ASSERT_TRUE(with_stats.AddSampledGaussian(0.02, 1.2, 1000).ok());
  ASSERT_TRUE(with_stats.AddGaussian(20.0, 2).ok());
  const double both = *with_stats.GetEpsilon(1e-5);
  EXPECT_GT(both, *whole.GetEpsilon(1e-5));
  // Still tighter than RDP on the same heterogeneous composition.
  RdpAccountant rdp;
  ASSERT_TRUE(rdp.AddSampledGaussian(0.02, 1.2, 1000).ok());
  ASSERT_TRUE(rdp.AddGaussian(20.0, 2).ok());
  EXPECT_LT(both, rdp.GetEpsilon(1e-5)->epsilon);
}

TEST(PldAccountantTest, MonotoneInStepsAndNoise) {
  double previous = 0.0;
  for (int64_t steps : {1, 10, 100, 1000}) {
    const double e = *ComputePldEpsilon(0.01, 1.0, steps, 1e-5);
    EXPECT_GT(e, previous) << steps;
    previous = e;
  }
  EXPECT_GT(*ComputePldEpsilon(0.01, 0.9, 500, 1e-5), *ComputePldEpsilon(0.01, 1.1, 500, 1e-5));
}

TEST(PldAccountantTest, NothingComposedIsZero) {
  PldAccountant acc;
  EXPECT_EQ(*acc.GetEpsilon(1e-5), 0.0);
  EXPECT_EQ(*acc.GetDelta(0.0), 0.0);
}

TEST(PldAccountantTest, RefusesBadParameters) {
  PldAccountant acc;
  EXPECT_EQ(acc.AddSampledGaussian(0.0, 1.0, 1).message(),
            "sampling_rate must be in (0, 1], got 0");
  EXPECT_EQ(acc.AddSampledGaussian(0.1, -1.0, 1).message(),
            "noise_multiplier must be finite and positive, got -1");
  EXPECT_EQ(acc.AddSampledGaussian(0.1, 1.0, 0).message(), "steps must be positive, got 0");
  EXPECT_EQ(acc.GetEpsilon(1.0).status().message(), "delta must be in (0, 1), got 1");
  EXPECT_EQ(acc.GetDelta(-1.0).status().message(), "epsilon must be finite and >= 0, got -1");
  Result<PldAccountant> bad = PldAccountant::Create({1e-9});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "PLD interval must be in [1e-06, 1], got 1e-09");
  PldAccountant remembered({1e-9});
  EXPECT_FALSE(remembered.AddGaussian(1.0).ok());
  EXPECT_FALSE(remembered.GetEpsilon(1e-5).ok());
}

TEST(PldAccountantTest, DeltaBelowTheTruncatedMassIsAnError) {
  PldAccountant acc;
  ASSERT_TRUE(acc.AddSampledGaussian(0.1, 1.0, 100).ok());
  Result<double> e = acc.GetEpsilon(1e-30);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("is not above the mass the PLD accountant charges"),
            std::string::npos)
      << e.status().message();
}

TEST(AccountantTest, NamesAndDispatch) {
  EXPECT_EQ(AccountantName(AccountantKind::kPld), "pld");
  EXPECT_EQ(AccountantName(AccountantKind::kRdp), "rdp");
  EXPECT_EQ(*ParseAccountantKind("pld"), AccountantKind::kPld);
  EXPECT_EQ(*ParseAccountantKind("rdp"), AccountantKind::kRdp);
  EXPECT_EQ(ParseAccountantKind("PLD").status().message(),
            "accountant must be \"pld\" or \"rdp\", got \"PLD\"");
  const EpsilonResult pld = *ComputeEpsilon(AccountantKind::kPld, 0.01, 1.0, 1000, 1e-5);
  const EpsilonResult rdp = *ComputeEpsilon(AccountantKind::kRdp, 0.01, 1.0, 1000, 1e-5);
  EXPECT_EQ(pld.order, 0.0);
  EXPECT_EQ(pld.epsilon, *ComputePldEpsilon(0.01, 1.0, 1000, 1e-5));
  EXPECT_EQ(rdp.epsilon, ComputeEpsilon(0.01, 1.0, 1000, 1e-5)->epsilon);
  EXPECT_LT(pld.epsilon, rdp.epsilon);

  Accountant both;
  ASSERT_TRUE(both.AddSampledGaussian(0.01, 1.0, 1000).ok());
  EXPECT_EQ(both.GetEpsilon(AccountantKind::kPld, 1e-5)->epsilon, pld.epsilon);
  EXPECT_EQ(both.GetEpsilon(AccountantKind::kRdp, 1e-5)->epsilon, rdp.epsilon);
  EXPECT_FALSE(both.AddSampledGaussian(2.0, 1.0, 1).ok());  // neither changes
  EXPECT_EQ(both.GetEpsilon(AccountantKind::kPld, 1e-5)->epsilon, pld.epsilon);
}

TEST(AccountantTest, PldCalibrationNeedsLessNoiseAndMeetsTheTarget) {
  const double rdp = *CalibrateNoiseMultiplier(AccountantKind::kRdp, 2.0, 0.01, 2000, 1e-5);
  const double pld = *CalibrateNoiseMultiplier(AccountantKind::kPld, 2.0, 0.01, 2000, 1e-5);
  EXPECT_EQ(rdp, *CalibrateNoiseMultiplier(2.0, 0.01, 2000, 1e-5));
  EXPECT_LT(pld, rdp * 0.98);
  EXPECT_LE(*ComputePldEpsilon(0.01, pld, 2000, 1e-5), 2.0);
  EXPECT_GT(*ComputePldEpsilon(0.01, pld * (1 - 2 * kPldCalibrationRelativeTolerance), 2000, 1e-5),
            2.0);
  EXPECT_FALSE(CalibrateNoiseMultiplier(AccountantKind::kPld, -1.0, 0.01, 2000, 1e-5).ok());
}

TEST(AccountantTest, AddedDeltaIsTakenFromTheDeltaEpsilonIsStatedAt) {
  Accountant plain, with;
  ASSERT_TRUE(plain.AddGaussian(30.0, 20).ok());
  ASSERT_TRUE(with.AddGaussian(30.0, 20).ok());
  ASSERT_TRUE(with.AddDelta(1e-7).ok());
  ASSERT_TRUE(with.AddDelta(2e-7).ok());
  EXPECT_DOUBLE_EQ(with.added_delta(), 3e-7);
  for (AccountantKind kind : {AccountantKind::kRdp, AccountantKind::kPld}) {
    const double at_rest = plain.GetEpsilon(kind, 1e-6 - 3e-7)->epsilon;
    EXPECT_EQ(with.GetEpsilon(kind, 1e-6)->epsilon, at_rest) << AccountantName(kind);
    EXPECT_GT(at_rest, plain.GetEpsilon(kind, 1e-6)->epsilon) << AccountantName(kind);
    Result<EpsilonResult> none = with.GetEpsilon(kind, 3e-7);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.status().message(),
              "delta 3e-07 is used up: partition selection took 3e-07 of it, leaving nothing for "
              "the Gaussian mechanisms");
  }
  EXPECT_FALSE(with.AddDelta(0.0).ok());
  EXPECT_FALSE(with.AddDelta(1.0).ok());
  EXPECT_FALSE(with.AddDelta(std::nan("")).ok());
  EXPECT_DOUBLE_EQ(with.added_delta(), 3e-7);
}

}  // namespace
}  // namespace fedseg::privacy
