#include "privacy/stats/private_summary.h"

#include <gtest/gtest.h>

#include <cmath>

#include "privacy/noise/testing/seeded_noise.h"

namespace fedseg::privacy {
namespace {

data::RawDataset Table(int n) {
  data::RawDataset d;
  d.source = "mem";
  data::RawColumn amount{"amount", data::ColumnType::kNumeric, {}, {}, 0};
  data::RawColumn city{"city", data::ColumnType::kCategorical, {}, {}, 0};
  for (int i = 0; i < n; ++i) {
    amount.numeric.push_back(i % 2 ? 5000.0 : 10.0);  // 5000 is clipped to the bound 100
    city.text.push_back(i == 0 ? "Rare" : (i % 3 ? "Paris" : "Oslo"));
    d.labels.push_back(i % 4 ? "no" : "yes");
  }
  d.features = {amount, city};
  d.line_numbers.assign(n, 1);
  return d;
}

TEST(PrivateSummaryTest, ZeroNoiseIsTheExactSummary) {
  auto noise = MakeInsecureSeededNoiseForTesting(1);
  data::RawDataset d = Table(10);
  auto ps = PrivateSummarize(d, {}, *noise);
  ASSERT_TRUE(ps.ok());
  EXPECT_EQ(ps->mechanisms, 0);
  EXPECT_EQ(ps->summary.columns[0].sum, data::Summarize(d).columns[0].sum);
}

TEST(PrivateSummaryTest, NeedsBoundsForNumericColumns) {
  auto noise = MakeInsecureSeededNoiseForTesting(1);
  StatsPrivacyConfig c;
  c.noise_multiplier = 1.0;
  Status st = PrivateSummarize(Table(10), c, *noise).status();
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("'amount'"), std::string::npos) << st.message();
}

TEST(PrivateSummaryTest, ClipsNoisesCountsMechanismsAndThresholdsCategories) {
  StatsPrivacyConfig c;
  c.noise_multiplier = 0.5;
  c.bounds["amount"] = {0.0, 100.0};
  const int n = 3000;
  data::RawDataset d = Table(n);
  // Many independent releases: the noise on each statistic has the calibrated spread.
  std::vector<double> sum_err, count_err;
  int rare_released = 0;
  const double exact_sum = 1500 * 10.0 + 1500 * 100.0;  // after clipping to [0, 100]
  for (int t = 0; t < 400; ++t) {
    auto noise = MakeInsecureSeededNoiseForTesting(100 + t);
    auto ps = PrivateSummarize(d, c, *noise);
    ASSERT_TRUE(ps.ok()) << ps.status().ToString();
    // rows, labels, 3 for the numeric column, 1 for the categorical one.
    EXPECT_EQ(ps->mechanisms, 6);
    EXPECT_NEAR(ps->category_threshold, 1.0 + 0.5 * NormalUpperQuantile(1e-6), 1e-9);
    sum_err.push_back(ps->summary.columns[0].sum - exact_sum);
    count_err.push_back(static_cast<double>(ps->summary.columns[0].count) - n);
    rare_released += ps->summary.columns[1].categories.count("Rare");
    EXPECT_EQ(ps->summary.columns[1].categories.count("Paris"), 1u);
  }
  auto stddev = [](const std::vector<double>& v) {
    double m = 0, s = 0;
    for (double x : v) m += x;
    m /= v.size();
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / (v.size() - 1));
  };
  // Sensitivity of the sum is the bound 100: noise stddev 0.5 * 100 = 50.
  EXPECT_NEAR(stddev(sum_err), 50.0, 6.0);
  // Counts are rounded to integers after the noise (post-processing): N(0, 0.25) rounded has
  // standard deviation ~0.56.
  EXPECT_NEAR(stddev(count_err), 0.56, 0.12);
  // A category held by one user passes the threshold with probability <= 1e-6.
  EXPECT_EQ(rare_released, 0);
}

// The old release added float noise to a double sum, whose low-order bits then told a dataset
// with and without one row apart. Now the sum is an integer count of grid steps with integer
// noise: the same noise draws shift it by exactly the row's rounded value, and every release lies
// on the grid.
TEST(PrivateSummaryTest, NoisySumsAreOnTheGridAndShiftedOnlyByTheRow) {
  StatsPrivacyConfig c;
  c.noise_multiplier = 2.0;
  c.bounds["amount"] = {0.0, 100.0};
  data::RawDataset d = Table(501);
  d.features[0].numeric[500] = 37.123456789;  // the row that differs
  data::RawDataset without = Table(500);
  const double step = FixedPointStep(100.0);
  EXPECT_EQ(step, std::ldexp(1.0, 6 - 20));  // 2^floor(log2 100) / 2^20
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    auto n1 = MakeInsecureSeededNoiseForTesting(seed), n2 = MakeInsecureSeededNoiseForTesting(seed);
    auto a = PrivateSummarize(d, c, *n1), b = PrivateSummarize(without, c, *n2);
    ASSERT_TRUE(a.ok() && b.ok());
    const double sa = a->summary.columns[0].sum, sb = b->summary.columns[0].sum;
    EXPECT_EQ(std::fmod(sa / step, 1.0), 0.0) << sa;
    EXPECT_EQ(sa - sb, step * std::llround(37.123456789 / step)) << "seed " << seed;
  }
}

// A column read as a logarithm (amount[log1p]) is clipped to its source's public bounds in the
// same transform, and its sums' noise is calibrated to that bound: ln(1 + 100), not 100.
TEST(PrivateSummaryTest, ALogColumnUsesItsSourcesBoundsTransformed) {
  StatsPrivacyConfig c;
  c.noise_multiplier = 0.5;
  c.bounds["amount"] = {0.0, 100.0};
  data::RawDataset d = Table(2000);
  d.features[0].name = data::LogColumnName("amount");
  for (double& v : d.features[0].numeric) v = data::SignedLog1p(v);
  const double exact_sum = 1000 * std::log1p(10.0) + 1000 * std::log1p(100.0);  // 5000 clipped
  std::vector<double> err;
  for (int t = 0; t < 400; ++t) {
    auto noise = MakeInsecureSeededNoiseForTesting(700 + t);
    auto ps = PrivateSummarize(d, c, *noise);
    ASSERT_TRUE(ps.ok()) << ps.status().ToString();
    err.push_back(ps->summary.columns[0].sum - exact_sum);
  }
  double m = 0, s = 0;
  for (double x : err) m += x;
  m /= err.size();
  for (double x : err) s += (x - m) * (x - m);
  const double sd = std::sqrt(s / (err.size() - 1));
  EXPECT_NEAR(m, 0.0, 4 * 0.5 * std::log1p(100.0) / std::sqrt(400.0)) << "clipped at ln(101)";
  EXPECT_NEAR(sd, 0.5 * std::log1p(100.0), 0.3);  // 2.31, against 50 for the raw bound
  // Without bounds for its source the column is refused like any numeric one.
  c.bounds.clear();
  c.bounds["other"] = {0.0, 1.0};
  auto noise = MakeInsecureSeededNoiseForTesting(1);
  Status st = PrivateSummarize(d, c, *noise).status();
  EXPECT_NE(st.message().find("'amount[log1p]'"), std::string::npos) << st.message();
}

TEST(PrivateSummaryTest, RoundedGaussianIsAPureShift) {
  for (int64_t x : {int64_t{0}, int64_t{1}, int64_t{-7}, int64_t{1} << 40}) {
    auto n1 = MakeInsecureSeededNoiseForTesting(9), n2 = MakeInsecureSeededNoiseForTesting(9);
    for (int i = 0; i < 100; ++i) {
      EXPECT_EQ(AddRoundedGaussian(x, 3.5, *n1) - x, AddRoundedGaussian(0, 3.5, *n2));
    }
  }
}

TEST(PrivateSummaryTest, NormalQuantile) {
  EXPECT_NEAR(NormalUpperQuantile(0.5), 0.0, 1e-9);
  EXPECT_NEAR(NormalUpperQuantile(0.025), 1.959963985, 1e-6);
  EXPECT_NEAR(NormalUpperQuantile(1e-6), 4.753424309, 1e-6);
}

}  // namespace
}  // namespace fedseg::privacy
