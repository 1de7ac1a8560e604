#include "client/segment_profile.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace fedseg::client {
namespace {

// Six rows in two segments: an amount read as a logarithm, a visit count as written, a city.
data::RawDataset Table() {
  data::RawDataset d;
  d.source = "mem";
  data::RawColumn amount{data::LogColumnName("amount"), data::ColumnType::kNumeric, {}, {}, 0};
  data::RawColumn visits{"visits", data::ColumnType::kNumeric, {}, {}, 0};
  data::RawColumn city{"city", data::ColumnType::kCategorical, {}, {}, 0};
  const double amounts[] = {10, 1000, 0, 5, 20, -4};
  const double counts[] = {1, 2, 3, std::nan(""), 5, 6};
  const char* cities[] = {"oslo", "oslo", "rome", "rome", "rome", "oslo"};
  for (int i = 0; i < 6; ++i) {
    amount.numeric.push_back(data::SignedLog1p(amounts[i]));
    visits.numeric.push_back(counts[i]);
    city.text.emplace_back(cities[i]);
  }
  d.features = {amount, visits, city};
  d.line_numbers.assign(6, 1);
  return d;
}

TEST(SegmentProfileTest, SizesMeansAndTopCategoriesPerSegmentInOriginalUnits) {
  // Segment 0: rows 0, 1, 2; segment 1: rows 3, 4, 5.
  const std::vector<int> segment = {0, 0, 0, 1, 1, 1};
  const std::vector<float> confidence = {0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 1.0f};
  const auto p = ComputeProfiles(Table(), segment, confidence, {"low", "high"});
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].segment, "low");
  EXPECT_EQ(p[0].size, 3u);
  EXPECT_DOUBLE_EQ(p[0].share, 0.5);
  EXPECT_NEAR(p[0].mean_confidence, (0.9 + 0.8 + 0.7) / 3, 1e-6);
  ASSERT_EQ(p[0].features.size(), 3u);
  // The log column: under its source's name, the mean of the amounts as written (the inverse of
  // the transform is exact to rounding), a negative one included.
  EXPECT_EQ(p[0].features[0].name, "amount");
  EXPECT_NEAR(p[0].features[0].mean, (10 + 1000 + 0) / 3.0, 1e-9);
  EXPECT_NEAR(p[1].features[0].mean, (5 + 20 - 4) / 3.0, 1e-9);
  // A missing value is left out of its segment's mean.
  EXPECT_EQ(p[1].features[1].name, "visits");
  EXPECT_DOUBLE_EQ(p[1].features[1].mean, (5 + 6) / 2.0);
  EXPECT_EQ(p[0].features[2].top_category, "oslo");
  EXPECT_NEAR(p[0].features[2].top_share, 2 / 3.0, 1e-12);
  EXPECT_EQ(p[1].features[2].top_category, "rome");
  // The text and JSON forms carry the source's name, not the encoded one.
  EXPECT_EQ(ProfilesToText(p).find("[log1p]"), std::string::npos) << ProfilesToText(p);
  EXPECT_EQ(ProfilesToJson(p).dump().find("[log1p]"), std::string::npos);
  EXPECT_NE(ProfilesToJson(p).dump().find("\"amount\""), std::string::npos)
      << ProfilesToJson(p).dump();
}

TEST(SegmentProfileTest, AnEmptySegmentHasNoMeanAndNoShare) {
  const auto p = ComputeProfiles(Table(), {0, 0, 0, 0, 0, 0}, std::vector<float>(6, 1.0f),
                                 {"all", "none"});
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[1].size, 0u);
  EXPECT_EQ(p[1].share, 0.0);
  EXPECT_TRUE(std::isnan(p[1].features[1].mean));
  EXPECT_NEAR(p[0].features[0].mean, (10 + 1000 + 0 + 5 + 20 - 4) / 6.0, 1e-9);
}

}  // namespace
}  // namespace fedseg::client
