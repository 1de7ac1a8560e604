#include "common/data/schema.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fedseg::data {
namespace {

RawDataset MakeTable(std::vector<double> amount, std::vector<std::string> month,
                     std::vector<std::string> label) {
  RawDataset d;
  d.source = "mem.csv";
  RawColumn a{"amount", ColumnType::kNumeric, amount, {}, 0};
  for (double v : amount) a.missing += std::isnan(v);
  RawColumn m{"month", ColumnType::kCategorical, {}, month, 0};
  d.features = {a, m};
  d.label_name = "buy";
  d.labels = label;
  for (size_t i = 0; i < label.size(); ++i) {
    d.ids.push_back(std::to_string(i + 1));
    d.line_numbers.push_back(i + 2);
  }
  return d;
}

TEST(SchemaTest, FitsScalingVocabularyAndClasses) {
  RawDataset d = MakeTable({1, 2, 3, NAN}, {"Feb", "Mar", "Feb", "<missing>"}, {"no", "yes", "no", "no"});
  Schema s = *Schema::FromSummary(Summarize(d), "buy");
  ASSERT_EQ(s.columns().size(), 2u);
  EXPECT_DOUBLE_EQ(s.columns()[0].mean, 2.0);
  EXPECT_DOUBLE_EQ(s.columns()[0].stddev, std::sqrt(2.0 / 3.0));
  EXPECT_EQ(s.columns()[1].vocabulary, (std::vector<std::string>{"<missing>", "Feb", "Mar"}));
  EXPECT_EQ(s.input_dim(), 4);
  EXPECT_EQ(s.class_names(), (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(s.FeatureName(2), "month=Feb");

  EncodedData e = *s.Encode(d);
  ASSERT_EQ(e.x.rows(), 4);
  ASSERT_EQ(e.x.cols(), 4);
  EXPECT_NEAR(e.x(0, 0), (1 - 2) / std::sqrt(2.0 / 3.0), 1e-6);
  EXPECT_EQ(e.x(0, 3), 0.0f);  // missing numeric -> mean -> 0
  EXPECT_EQ(e.x(2, 0), 1.0f);  // Feb
  EXPECT_EQ(e.x(3, 1), 1.0f);  // Mar
  EXPECT_EQ(e.x(1, 3), 1.0f);  // <missing> category
  EXPECT_EQ(e.y, (std::vector<int>{0, 1, 0, 0}));
}

TEST(SchemaTest, MergedSummariesEqualPooledSummary) {
  RawDataset a = MakeTable({1, 5}, {"Feb", "Mar"}, {"no", "yes"});
  RawDataset b = MakeTable({2, 9, 4}, {"Mar", "Nov", "Mar"}, {"no", "no", "yes"});
  RawDataset pooled = MakeTable({1, 5, 2, 9, 4}, {"Feb", "Mar", "Mar", "Nov", "Mar"},
                                {"no", "yes", "no", "no", "yes"});
  DataSummary merged = Summarize(a);
  ASSERT_TRUE(merged.Merge(Summarize(b)).ok());
  Schema s1 = *Schema::FromSummary(merged, "buy");
  Schema s2 = *Schema::FromSummary(Summarize(pooled), "buy");
  EXPECT_NEAR(s1.columns()[0].mean, s2.columns()[0].mean, 1e-12);
  EXPECT_NEAR(s1.columns()[0].stddev, s2.columns()[0].stddev, 1e-12);
  EXPECT_EQ(s1.columns()[1].vocabulary, s2.columns()[1].vocabulary);
  EXPECT_EQ(merged.rows, 5u);
  EXPECT_EQ(merged.label_counts.at("no"), 3.0);
}

TEST(SchemaTest, MergeRefusesDifferentColumns) {
  DataSummary a = Summarize(MakeTable({1}, {"Feb"}, {"no"}));
  DataSummary b = a;
  b.columns[1].type = ColumnType::kNumeric;
  Status st = a.Merge(b);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("month"), std::string::npos);
}

TEST(SchemaTest, UnseenCategoryEncodesAsZerosAndUnknownLabelFails) {
  RawDataset train = MakeTable({1, 2}, {"Feb", "Mar"}, {"no", "yes"});
  Schema s = *Schema::FromSummary(Summarize(train), "buy");
  RawDataset other = MakeTable({1}, {"Dec"}, {"no"});
  EncodedData e = *s.Encode(other);
  EXPECT_EQ(e.x.col(0).tail(2).sum(), 0.0f);
  RawDataset bad = MakeTable({1}, {"Feb"}, {"maybe"});
  Status st = s.Encode(bad).status();
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("mem.csv:2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("maybe"), std::string::npos);
}

TEST(SchemaTest, NeedsTwoClasses) {
  Status st = Schema::FromSummary(Summarize(MakeTable({1, 2}, {"a", "b"}, {"x", "x"})), "buy")
                  .status();
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("at least two classes"), std::string::npos);
}

TEST(SchemaTest, NoisyCountsBelowThresholdLeaveTheVocabulary) {
  DataSummary s = Summarize(MakeTable({1, 2, 3}, {"a", "a", "b"}, {"x", "y", "x"}));
  SchemaOptions o;
  o.min_category_count = 2.0;
  Schema schema = *Schema::FromSummary(s, "buy", o);
  EXPECT_EQ(schema.columns()[1].vocabulary, (std::vector<std::string>{"a"}));
}

TEST(SchemaTest, SummaryValidateRefusesNonFinite) {
  DataSummary s = Summarize(MakeTable({1}, {"a"}, {"x"}));
  s.columns[0].sum = INFINITY;
  EXPECT_FALSE(s.Validate().ok());
}

}  // namespace
}  // namespace fedseg::data
