#include "common/data/schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "common/data/csv.h"
#include "common/data/dataset_loader.h"

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

// A date column's three derived columns, loaded from CSV text (dataset_loader.h).
RawDataset DateTable(std::string_view csv, LoadOptions o = {}) {
  o.label = "buy";
  Result<CsvTable> t = ParseCsv(csv, "d.csv");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  Result<RawDataset> d = LoadDataset(*t, o);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : RawDataset{};
}

TEST(SchemaDateTest, MergeKeepsAgreeingFormatsAndRefusesOthers) {
  const DataSummary a = Summarize(DateTable("when,buy\n13-01-2021,no\n14-02-2021,yes\n"));
  DataSummary merged = a;
  ASSERT_TRUE(merged.Merge(Summarize(DateTable("when,buy\n20-03-2021,no\n"))).ok());
  EXPECT_EQ(merged.date_formats, (std::map<std::string, std::string>{{"when", "%d-%m-%Y"}}));
  EXPECT_EQ(merged.rows, 3u);

  // The other region's days are all <= 12 with '/': read month first; the formats differ.
  DataSummary slash = a;
  slash.date_formats["when"] = "%m-%d-%Y";
  DataSummary b = a;
  Status st = b.Merge(slash);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("dates of column 'when' are read as %d-%m-%Y here and %m-%d-%Y "
                              "there; declare the format in the data contract"),
            std::string::npos)
      << st.message();
  // A region that did not read the column as dates at all (with another column after it, so
  // the counts agree and the names are compared).
  LoadOptions no_dates;
  no_dates.detect_dates = false;
  DataSummary c = Summarize(DateTable("when,buy\n13-01-2021,no\n"));
  st = c.Merge(Summarize(DateTable("when,x,y,buy\n13-01-2021,1,2,no\n", no_dates)));
  EXPECT_NE(st.message().find("one side reads 'when' as dates and the other does not"),
            std::string::npos)
      << st.message();
}

TEST(SchemaDateTest, ASchemaFromDatesRecordsThemAndEncodesATableReadBackThroughIt) {
  const RawDataset train =
      DateTable("when,buy\n13-01-2021,no\n14-01-2021,yes\n15-02-2021,no\n16-02-2021,yes\n");
  DataSummary summary = Summarize(train);
  Schema s = *Schema::FromSummary(summary, "buy");
  EXPECT_EQ(s.date_formats(), (std::map<std::string, std::string>{{"when", "%d-%m-%Y"}}));
  ASSERT_EQ(s.columns().size(), 3u);
  EXPECT_EQ(s.columns()[1].vocabulary, (std::vector<std::string>{"feb", "jan"}));
  EXPECT_EQ(s.columns()[2].vocabulary, (std::vector<std::string>{"mon", "thu", "tue", "wed"}));
  EXPECT_EQ(s.FeatureName(0), "when[days]");
  EXPECT_EQ(s.FeatureName(1), "when[month]=feb");
  EXPECT_EQ(s.notes(), (std::vector<std::string>{
                           "column 'when': dates (%d-%m-%Y) encoded as when[days], when[month] "
                           "and when[weekday]"}));
  // segment's table, read back with the schema's options: its one day is <= 12, so detection
  // alone would guess; the recorded format decides. 01-02-2021 is a Monday in February.
  const RawDataset later = DateTable("when,buy\n01-02-2021,no\n", s.MakeLoadOptions(true));
  const EncodedData e = *s.Encode(later);
  EXPECT_EQ(e.x(1, 0), 1.0f);  // feb
  EXPECT_EQ(e.x(2, 0), 0.0f);  // not jan
  EXPECT_EQ(e.x(3, 0), 1.0f);  // a Monday
  EXPECT_EQ(e.x.col(0).segment(3, 4).sum(), 1.0f);
  EXPECT_NEAR(e.x(0, 0), (18659 - s.columns()[0].mean) / s.columns()[0].stddev, 1e-4);
}

TEST(SchemaDateTest, AWidthZeroPartOfADateDoesNotBreakReadingTheTableBack) {
  // Every weekday rarer than the threshold: [weekday] has no vocabulary (width 0) while [days]
  // and [month] are inputs. The table read back has all three; Encode skips the empty one.
  const RawDataset train =
      DateTable("when,buy\n13-01-2021,no\n13-01-2021,yes\n14-01-2021,no\n20-01-2021,yes\n");
  SchemaOptions o;
  o.min_category_count = 4;
  Schema s = *Schema::FromSummary(Summarize(train), "buy", o);
  ASSERT_EQ(s.columns()[2].name, "when[weekday]");
  EXPECT_EQ(s.columns()[2].width, 0);
  EXPECT_EQ(s.columns()[1].width, 1);  // jan, held by 4 rows
  const RawDataset later = DateTable("when,buy\n21-01-2021,no\n", s.MakeLoadOptions(true));
  ASSERT_EQ(later.features.size(), 3u);
  const Result<EncodedData> e = s.Encode(later);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->x(1, 0), 1.0f);
  EXPECT_NE(std::find(s.notes().begin(), s.notes().end(),
                      "column 'when[weekday]': no input (an identifier, or every category held "
                      "by too few rows)"),
            s.notes().end());
}

}  // namespace
}  // namespace fedseg::data
