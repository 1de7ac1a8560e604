#include "common/data/category_policy.h"

#include <gtest/gtest.h>

#include <string>

namespace fedseg::data {
namespace {

// `n` rows: a unique id per row, a plan with a frequent and a rare value, and a label.
RawDataset Customers(int n, int rare) {
  RawDataset d;
  d.source = "customers.csv";
  RawColumn id{"customerID", ColumnType::kCategorical, {}, {}, 0};
  RawColumn plan{"plan", ColumnType::kCategorical, {}, {}, 0};
  for (int i = 0; i < n; ++i) {
    id.text.push_back("C-" + std::to_string(1000 + i));
    plan.text.push_back(i < rare ? "legacy" : (i % 2 ? "basic" : "pro"));
    d.labels.push_back(i % 3 ? "stay" : "churn");
    d.ids.push_back(std::to_string(i + 1));
    d.line_numbers.push_back(static_cast<uint64_t>(i) + 2);
  }
  d.features = {id, plan};
  d.label_name = "churn";
  return d;
}

TEST(CategoryPolicyTest, IdentifierColumnKeepsNoCategoryAndIsNamedInAWarning) {
  DataSummary s = Summarize(Customers(50, 3));
  CategoryPolicyReport r = ApplyCategoryPolicy(CategoryPolicy{}, &s);
  ASSERT_EQ(r.identifiers.size(), 1u);
  EXPECT_EQ(r.identifiers[0].column, "customerID");
  EXPECT_EQ(r.identifiers[0].distinct, 50u);
  EXPECT_EQ(r.identifiers[0].present, 50u);
  EXPECT_TRUE(s.columns[0].categories.empty());
  ASSERT_EQ(r.Warnings().size(), 1u);
  EXPECT_NE(r.Warnings()[0].find("column 'customerID' looks like an identifier (50 distinct values "
                                 "in 50 rows)"),
            std::string::npos)
      << r.Warnings()[0];
  // No value of the column is in the warning.
  EXPECT_EQ(r.Warnings()[0].find("C-10"), std::string::npos);

  // The schema keeps the column with width 0: no customer id reaches the model.
  Schema schema = *Schema::FromSummary(s, "churn");
  EXPECT_EQ(schema.columns()[0].width, 0);
  EXPECT_EQ(schema.input_dim(), 2);  // basic, pro

  // Evaluate and segment do not ask for the column (it may be the id column there), and a table
  // without it encodes the same as one with it.
  LoadOptions o = schema.MakeLoadOptions(/*label_optional=*/true);
  EXPECT_EQ(o.feature_columns, (std::vector<std::string>{"plan"}));
  EXPECT_EQ(o.types.count("customerID"), 0u);
  RawDataset with = Customers(50, 3);
  RawDataset without = with;
  without.features.erase(without.features.begin());
  EXPECT_EQ(schema.Encode(with)->x, schema.Encode(without)->x);
}

// `n` rows with numeric columns: a row number (1..n), a customer number named like an id but
// spread thin, an amount of whole cents all distinct over a wide range, and an age.
RawDataset NumericColumns(int n) {
  RawDataset d;
  d.source = "numbers.csv";
  RawColumn row{"Row", ColumnType::kNumeric, {}, {}, 0};
  RawColumn cust{"CustomerId", ColumnType::kNumeric, {}, {}, 0};
  RawColumn cents{"amount_cents", ColumnType::kNumeric, {}, {}, 0};
  RawColumn age{"age", ColumnType::kNumeric, {}, {}, 0};
  for (int i = 0; i < n; ++i) {
    row.numeric.push_back(i + 1);
    cust.numeric.push_back(100000 + 977.0 * i);
    cents.numeric.push_back(1000 + 391.0 * i);
    age.numeric.push_back(20 + i % 50);
    d.labels.push_back(i % 3 ? "stay" : "churn");
  }
  d.features = {row, cust, cents, age};
  d.label_name = "churn";
  return d;
}

TEST(CategoryPolicyTest, NumericIdentifiersFillTheirRangeOrAreNamedSo) {
  const RawDataset d = NumericColumns(200);
  DataSummary s = Summarize(d);
  const CategoryPolicyReport r = ApplyCategoryPolicy(CategoryPolicy{}, &s, &d);
  ASSERT_EQ(r.identifiers.size(), 2u);
  EXPECT_EQ(r.identifiers[0].column, "Row");
  EXPECT_EQ(r.identifiers[1].column, "CustomerId");
  EXPECT_EQ(r.identifiers[0].distinct, 200u);
  // Flagged, and nothing of their values is left in the summary.
  EXPECT_TRUE(s.columns[0].identifier);
  EXPECT_TRUE(s.columns[1].identifier);
  EXPECT_EQ(s.columns[0].count, 0u);
  EXPECT_EQ(s.columns[1].sum, 0.0);
  EXPECT_EQ(s.columns[1].sum_sq, 0.0);
  // An all-distinct amount over a wide range and a repetitive age are features.
  EXPECT_FALSE(s.columns[2].identifier);
  EXPECT_FALSE(s.columns[3].identifier);
  EXPECT_GT(s.columns[2].count, 0u);
  // The schema gives the identifiers no input; a merged summary keeps a flag any side set.
  DataSummary other = Summarize(d);
  ASSERT_TRUE(other.Merge(s).ok());
  EXPECT_TRUE(other.columns[0].identifier);
  const Schema schema = *Schema::FromSummary(s, "churn");
  EXPECT_EQ(schema.columns()[0].width, 0);
  EXPECT_EQ(schema.columns()[1].width, 0);
  EXPECT_EQ(schema.columns()[2].width, 1);
  EXPECT_EQ(schema.input_dim(), 2);
  EXPECT_TRUE(schema.Validate().ok());
  // Without the table (a released DP summary) nothing is flagged.
  DataSummary released = Summarize(d);
  EXPECT_TRUE(ApplyCategoryPolicy(CategoryPolicy{}, &released).identifiers.empty());
  EXPECT_FALSE(released.columns[0].identifier);
}

TEST(CategoryPolicyTest, FractionsFewRowsAndNamesLikeValidAreNotIdentifiers) {
  RawDataset d = NumericColumns(19);  // below kIdentifierMinRows
  EXPECT_TRUE(FindNumericIdentifiers(CategoryPolicy{}, d).empty());
  d = NumericColumns(100);
  d.features[0].numeric[5] = 5.5;  // one fraction: not a count of anything
  d.features[1].name = "Valid";    // "valid" is not the word "id"
  EXPECT_TRUE(FindNumericIdentifiers(CategoryPolicy{}, d).empty());
  d.features[1].name = "user_uuid";
  ASSERT_EQ(FindNumericIdentifiers(CategoryPolicy{}, d).size(), 1u);
  d.features[1].name = "Row ID";
  EXPECT_EQ(FindNumericIdentifiers(CategoryPolicy{}, d)[0].column, "Row ID");
}

TEST(CategoryPolicyTest, CategoriesBelowKAreDroppedAndEncodeAsUnseen) {
  RawDataset d = Customers(50, 3);
  DataSummary s = Summarize(d);
  CategoryPolicyReport r = ApplyCategoryPolicy(CategoryPolicy{}, &s);
  EXPECT_EQ(r.rare_categories_dropped, 1u);  // legacy: 3 rows < 10
  EXPECT_EQ(r.rare_rows, 3u);
  EXPECT_EQ(s.columns[1].categories.count("legacy"), 0u);
  EXPECT_EQ(s.columns[1].categories.count("basic"), 1u);

  Schema schema = *Schema::FromSummary(s, "churn");
  EncodeStats stats;
  EncodedData e = *schema.Encode(d, &stats);
  EXPECT_EQ(e.x.col(0).sum(), 0.0f);  // legacy: the all-zero "other" bucket
  // The rare values are counted as unseen; the width-0 identifier column is not counted.
  ASSERT_EQ(stats.unseen_categories.size(), 1u);
  EXPECT_EQ(stats.unseen_categories.at("plan"), 3u);
  EXPECT_EQ(stats.total_unseen(), 3u);

  // A smaller k keeps the rare value.
  CategoryPolicy k2;
  k2.min_category_count = 2;
  DataSummary s2 = Summarize(d);
  EXPECT_EQ(ApplyCategoryPolicy(k2, &s2).rare_categories_dropped, 0u);
  EXPECT_EQ(s2.columns[1].categories.count("legacy"), 1u);
}

TEST(CategoryPolicyTest, SmallOrRepetitiveColumnsAreNotIdentifiers) {
  // 10 rows all distinct: too few to call it an identifier (the k rule drops the values anyway).
  DataSummary s = Summarize(Customers(10, 0));
  CategoryPolicyReport r = ApplyCategoryPolicy(CategoryPolicy{}, &s);
  EXPECT_TRUE(r.identifiers.empty());
  EXPECT_EQ(r.rare_categories_dropped, 10u + 2u);  // ids and basic/pro (5 each)
}

TEST(CategoryPolicyTest, ValidateRejectsUnsoundSettings) {
  CategoryPolicy p;
  p.min_category_count = 0.5;
  EXPECT_TRUE(p.Validate().IsInvalidArgument());
  p = CategoryPolicy{};
  p.identifier_distinct_share = 0;
  EXPECT_TRUE(p.Validate().IsInvalidArgument());
  EXPECT_TRUE(CategoryPolicy{}.Validate().ok());
}

TEST(SchemaLabelTest, TooManyClassesAreRefusedAndNumericLabelsWarn) {
  std::vector<std::string> classes;
  DataSummary s;
  s.rows = 150;
  for (int i = 0; i < 150; ++i) s.label_counts[std::to_string(i)] = 1;
  s.columns.push_back(ColumnSummary{"x", ColumnType::kNumeric, 150, 1.0, 2.0, 0, {}});
  Result<Schema> r = Schema::FromSummary(s, "score");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("label 'score' has 150 classes, more than the 100"),
            std::string::npos)
      << r.status().message();

  for (int i = 1; i <= 84; ++i) classes.push_back(std::to_string(i));
  EXPECT_EQ(NumericLabelWarning("Spending Score (1-100)", classes),
            "label 'Spending Score (1-100)' has 84 distinct numeric values: the model becomes a "
            "classifier with 84 classes; bin it into a few segments first (e.g. low/medium/high)");
  EXPECT_EQ(NumericLabelWarning("segment", {"a", "b", "c"}), "");
  classes.push_back("high");  // not all numbers: a real segment name list
  EXPECT_EQ(NumericLabelWarning("segment", classes), "");
}

}  // namespace
}  // namespace fedseg::data
