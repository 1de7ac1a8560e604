#include "coordinator/evaluation_tally.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace fedseg::coordinator {
namespace {

// A binary summary of `rows` random rows.
ml::ClassificationSummary RandomSummary(uint32_t seed, int rows) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  ml::ClassificationSummary s(2);
  for (int i = 0; i < rows; ++i) {
    const float p1 = u(rng);
    const float probs[2] = {1.0f - p1, p1};
    s.Add(u(rng) < p1 ? 1 : 0, probs);
  }
  return s;
}

TEST(EvaluationTallyTest, RunningTotalEqualsTheMergeOfAllSummaries) {
  EvaluationTally tally(2);
  ml::ClassificationSummary all(2);
  for (int i = 0; i < 50; ++i) {
    const ml::ClassificationSummary s = RandomSummary(static_cast<uint32_t>(i), 5 + i);
    ASSERT_TRUE(tally.Add("region-" + std::to_string(i), s).ok());
    ASSERT_TRUE(all.Merge(s).ok());
  }
  EXPECT_EQ(tally.size(), 50u);
  const ml::ClassificationReport got = ComputeReport(tally.total());
  const ml::ClassificationReport want = ComputeReport(all);
  EXPECT_EQ(got.count, want.count);
  EXPECT_EQ(got.confusion, want.confusion);
  EXPECT_DOUBLE_EQ(got.roc_auc, want.roc_auc);
  EXPECT_DOUBLE_EQ(got.log_loss, want.log_loss);
  // Each region keeps its own report.
  const ml::ClassificationReport r7 = ComputeReport(RandomSummary(7, 12));
  ASSERT_TRUE(tally.regions().count("region-7"));
  EXPECT_EQ(tally.regions().at("region-7").count, 12u);
  EXPECT_EQ(tally.regions().at("region-7").confusion, r7.confusion);
  EXPECT_DOUBLE_EQ(tally.regions().at("region-7").roc_auc, r7.roc_auc);
}

TEST(EvaluationTallyTest, RefusesAWrongClassCountAndASecondSummaryOfARegion) {
  EvaluationTally tally(2);
  ASSERT_TRUE(tally.Add("a", RandomSummary(1, 10)).ok());
  Status st = tally.Add("a", RandomSummary(2, 10));
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("region 'a' already counted"), std::string::npos) << st.message();
  st = tally.Add("b", ml::ClassificationSummary(3));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("region 'b'"), std::string::npos) << st.message();
  // Neither refusal changed the tally.
  EXPECT_EQ(tally.size(), 1u);
  EXPECT_EQ(tally.total().count(), 10u);
  EXPECT_FALSE(tally.regions().count("b"));
}

TEST(EvaluationTallyTest, ResetStartsTheNextModelsTally) {
  EvaluationTally tally(2);
  ASSERT_TRUE(tally.Add("a", RandomSummary(1, 10)).ok());
  tally.Reset(3);
  EXPECT_TRUE(tally.empty());
  EXPECT_EQ(tally.total().count(), 0u);
  EXPECT_EQ(tally.total().num_classes(), 3);
  EXPECT_FALSE(tally.Add("a", RandomSummary(1, 10)).ok());  // now 3 classes
}

}  // namespace
}  // namespace fedseg::coordinator
