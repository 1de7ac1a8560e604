#include "common/data/dataset_loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/data/csv.h"
#include "tests/common/data/data_test_util.h"

namespace fedseg::data {
namespace {

using test::SharedData;

CsvTable Table(std::string_view text) {
  Result<CsvTable> t = ParseCsv(text, "t.csv");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : CsvTable{};
}

RawDataset MustLoad(std::string_view text, const LoadOptions& o) {
  Result<RawDataset> d = LoadDataset(Table(text), o);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : RawDataset{};
}

Status LoadError(std::string_view text, const LoadOptions& o) {
  Result<RawDataset> d = LoadDataset(Table(text), o);
  EXPECT_FALSE(d.ok()) << "loaded without error";
  return d.ok() ? Status::OK() : d.status();
}

LoadOptions Label(std::string label) {
  LoadOptions o;
  o.label = std::move(label);
  return o;
}

const RawColumn* Find(const RawDataset& d, std::string_view name) {
  for (const RawColumn& c : d.features) {
    if (c.name == name) return &c;
  }
  ADD_FAILURE() << "no feature column " << name;
  return nullptr;
}

std::vector<std::string> Names(const RawDataset& d) {
  std::vector<std::string> out;
  for (const RawColumn& c : d.features) out.push_back(c.name);
  return out;
}

std::map<std::string, int> Count(const std::vector<std::string>& v) {
  std::map<std::string, int> out;
  for (const std::string& s : v) ++out[s];
  return out;
}

TEST(DatasetTypeTest, ColumnTypeNames) {
  EXPECT_EQ(ColumnTypeName(ColumnType::kNumeric), "numeric");
  EXPECT_EQ(ColumnTypeName(ColumnType::kCategorical), "categorical");
  EXPECT_EQ(ColumnTypeName(ColumnType::kBoolean), "boolean");
}

TEST(DatasetTypeTest, InfersNumericBooleanCategorical) {
  RawDataset d = MustLoad(
      "num,excel,flag,yn,bit,cat,y\n"
      "1.5,7.50E-05,TRUE,yes,0,red,a\n"
      " -2 ,9.83E-05,false,No,1,blue,b\n"
      "3e2,1E+03,True,YES,1,Red ,a\n",
      Label("y"));
  ASSERT_EQ(d.num_rows(), 3u);
  EXPECT_EQ(Names(d), (std::vector<std::string>{"num", "excel", "flag", "yn", "bit", "cat"}));

  const RawColumn* num = Find(d, "num");
  ASSERT_NE(num, nullptr);
  EXPECT_EQ(num->type, ColumnType::kNumeric);
  EXPECT_EQ(num->numeric, (std::vector<double>{1.5, -2, 300}));
  EXPECT_TRUE(num->text.empty());

  const RawColumn* excel = Find(d, "excel");
  ASSERT_NE(excel, nullptr);
  EXPECT_EQ(excel->type, ColumnType::kNumeric);
  EXPECT_DOUBLE_EQ(excel->numeric[0], 7.5e-05);
  EXPECT_DOUBLE_EQ(excel->numeric[1], 9.83e-05);
  EXPECT_DOUBLE_EQ(excel->numeric[2], 1000);

  for (const char* name : {"flag", "yn"}) {
    const RawColumn* b = Find(d, name);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->type, ColumnType::kBoolean) << name;
    EXPECT_EQ(b->numeric, (std::vector<double>{1, 0, 1})) << name;
    EXPECT_EQ(b->text, (std::vector<std::string>{"true", "false", "true"})) << name;
  }

  // 0/1 stay numeric.
  const RawColumn* bit = Find(d, "bit");
  ASSERT_NE(bit, nullptr);
  EXPECT_EQ(bit->type, ColumnType::kNumeric);

  // Categories are trimmed and normalised ("Red " and "red" are one category).
  const RawColumn* cat = Find(d, "cat");
  ASSERT_NE(cat, nullptr);
  EXPECT_EQ(cat->type, ColumnType::kCategorical);
  EXPECT_EQ(cat->text, (std::vector<std::string>{"red", "blue", "red"}));
  EXPECT_TRUE(cat->numeric.empty());

  EXPECT_EQ(d.label_name, "y");
  EXPECT_EQ(d.labels, (std::vector<std::string>{"a", "b", "a"}));
  EXPECT_EQ(d.ids, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(d.line_numbers, (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(d.source, "t.csv");
}

TEST(DatasetTypeTest, MixedNumbersAndWordsAreCategorical) {
  RawDataset d = MustLoad("v,y\n1,a\ntwo,b\n3,a\n", Label("y"));
  ASSERT_EQ(d.features.size(), 1u);
  EXPECT_EQ(d.features[0].type, ColumnType::kCategorical);
  EXPECT_EQ(d.features[0].text, (std::vector<std::string>{"1", "two", "3"}));
  // A boolean word among numbers is not enough for boolean either.
  RawDataset e = MustLoad("v,y\ntrue,a\n1,b\n", Label("y"));
  EXPECT_EQ(e.features[0].type, ColumnType::kCategorical);
}

TEST(DatasetMissingTest, EachMissingTokenCounts) {
  const std::vector<std::string> tokens = {"",    "  ",   "NA",   "na", "N/A", "NaN",
                                           "nan", "null", "NULL", "?",  " ? "};
  std::string text = "v,c,b,y\n1,x,yes,a\n";
  for (const std::string& t : tokens) text += "\"" + t + "\"," + t + "," + t + ",b\n";
  RawDataset d = MustLoad(text, Label("y"));
  ASSERT_EQ(d.num_rows(), tokens.size() + 1);

  const RawColumn* v = Find(d, "v");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->type, ColumnType::kNumeric);
  EXPECT_EQ(v->missing, tokens.size());
  EXPECT_EQ(v->numeric[0], 1);
  for (size_t i = 1; i < v->numeric.size(); ++i) EXPECT_TRUE(std::isnan(v->numeric[i])) << i;

  const RawColumn* c = Find(d, "c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->type, ColumnType::kCategorical);
  EXPECT_EQ(c->missing, tokens.size());
  EXPECT_EQ(c->text[0], "x");
  for (size_t i = 1; i < c->text.size(); ++i) EXPECT_EQ(c->text[i], data::kMissingCategory) << i;

  const RawColumn* b = Find(d, "b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->type, ColumnType::kBoolean);
  EXPECT_EQ(b->missing, tokens.size());
  EXPECT_EQ(b->numeric[0], 1);
  EXPECT_EQ(b->text[0], "true");
  for (size_t i = 1; i < b->numeric.size(); ++i) {
    EXPECT_TRUE(std::isnan(b->numeric[i])) << i;
    EXPECT_EQ(b->text[i], data::kMissingCategory) << i;
  }
}

TEST(DatasetMissingTest, RowsWithMissingLabelAreDroppedAndCounted) {
  RawDataset d = MustLoad(
      "id,v,y\n"
      "u1,1,a\n"
      "u2,NA,\n"
      "u3,3, NA \n"
      "u4,,b\n"
      "u5,5,?\n"
      "u6,6, a \n",
      [] {
        LoadOptions o = Label("y");
        o.id_column = "id";
        return o;
      }());
  EXPECT_EQ(d.dropped_missing_label, 3u);
  ASSERT_EQ(d.num_rows(), 3u);
  EXPECT_EQ(d.labels, (std::vector<std::string>{"a", "b", "a"}));
  EXPECT_EQ(d.ids, (std::vector<std::string>{"u1", "u4", "u6"}));
  EXPECT_EQ(d.line_numbers, (std::vector<uint64_t>{2, 5, 7}));
  ASSERT_EQ(d.features.size(), 1u);
  // The NA on a dropped row does not count; the empty value on a kept row does.
  EXPECT_EQ(d.features[0].missing, 1u);
  EXPECT_TRUE(std::isnan(d.features[0].numeric[1]));
  // Without an id column, ids are 1-based data row numbers of the source.
  RawDataset e = MustLoad("v,y\n1,a\n2,\n3,b\n", Label("y"));
  EXPECT_EQ(e.ids, (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(e.id_name, "");
}

TEST(DatasetMissingTest, AllLabelsMissingOrNoRows) {
  Status s = LoadError("v,y\n1,\n2,NA\n", Label("y"));
  EXPECT_EQ(s.message(), "t.csv: all 2 rows have a missing value in label column 'y'");
  s = LoadError("v,y\n", Label("y"));
  EXPECT_EQ(s.message(), "t.csv: no data rows after the header");
}

TEST(DatasetMissingTest, AllMissingColumnNeedsAType) {
  const char* text = "v,w,y\n1,,a\n2,NA,b\n";
  Status s = LoadError(text, Label("y"));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(),
            "t.csv: column 'w' has no values (all 2 are missing); drop it or give it a type");
  LoadOptions o = Label("y");
  o.types["w"] = ColumnType::kNumeric;
  RawDataset d = MustLoad(text, o);
  EXPECT_EQ(Find(d, "w")->type, ColumnType::kNumeric);
  EXPECT_EQ(Find(d, "w")->missing, 2u);
  o = Label("y");
  o.drop = {"w"};
  EXPECT_EQ(Names(MustLoad(text, o)), (std::vector<std::string>{"v"}));
}

TEST(DatasetForcedTypeTest, OverridesWinOverInference) {
  LoadOptions o = Label("y");
  o.categorical = {"region"};
  o.types["flag"] = ColumnType::kCategorical;
  o.types["code"] = ColumnType::kNumeric;
  RawDataset d = MustLoad("region,flag,code,y\n1,yes,7,a\n2,no,8,b\n", o);
  EXPECT_EQ(Find(d, "region")->type, ColumnType::kCategorical);
  EXPECT_EQ(Find(d, "region")->text, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(Find(d, "flag")->type, ColumnType::kCategorical);
  EXPECT_EQ(Find(d, "flag")->text, (std::vector<std::string>{"yes", "no"}));
  EXPECT_EQ(Find(d, "code")->type, ColumnType::kNumeric);
}

TEST(DatasetForcedTypeTest, NonNumericValueInNumericColumnNamesTheCell) {
  LoadOptions o = Label("y");
  o.numeric = {"b"};
  Status s = LoadError("a,b,y\n1,2,x\n3,abc,z\n", o);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "t.csv:3:3: column 'b' is numeric but value 'abc' is not a number");
  // Same through `types`, with a cell after a multi-line quoted field and a quoted value.
  o = Label("y");
  o.types["b"] = ColumnType::kNumeric;
  s = LoadError("a,b,y\n1,2,x\n\"multi\nline\",\"1,5\",z\n", o);
  EXPECT_EQ(s.message(), "t.csv:4:7: column 'b' is numeric but value '1,5' is not a number");
}

// A summary adds up squares of every value; 1e200 would make it infinite (a fuzz finding: the
// local summary of such a table did not validate). The cell is named, in both typing paths.
TEST(DatasetLoaderTest, NumbersBeyondTheFeatureRangeNameTheCell) {
  Status s = LoadError("a,b,y\n1,2,x\n3,-1e200,z\n", Label("y"));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(),
            "t.csv:3:3: column 'b' has value '-1e200', beyond the largest magnitude a feature may "
            "have (1e15); is it in the wrong unit, or an identifier?");
  LoadOptions o = Label("y");
  o.numeric = {"b"};
  s = LoadError("a,b,y\n1,2e16,x\n3,4,z\n", o);
  EXPECT_EQ(s.message(),
            "t.csv:2:3: column 'b' has value '2e16', beyond the largest magnitude a feature may "
            "have (1e15); is it in the wrong unit, or an identifier?");
  // The bound itself is a number, and a column with some text in it stays categorical.
  RawDataset d = MustLoad("a,b,y\n1,1e15,x\n3,-1e15,z\n", Label("y"));
  EXPECT_EQ(Find(d, "b")->numeric, (std::vector<double>{1e15, -1e15}));
  d = MustLoad("a,b,y\n1,1e300,x\n3,n/a-ish,z\n", Label("y"));
  EXPECT_EQ(Find(d, "b")->type, ColumnType::kCategorical);
}

TEST(DatasetForcedTypeTest, ForcedBooleanRejectsOtherValues) {
  LoadOptions o = Label("y");
  o.types["b"] = ColumnType::kBoolean;
  RawDataset d = MustLoad("b,y\nYes,x\n,z\nFALSE,x\n", o);
  EXPECT_EQ(Find(d, "b")->text, (std::vector<std::string>{"true", "<missing>", "false"}));
  Status s = LoadError("b,y\nyes,x\nmaybe,z\n", o);
  EXPECT_EQ(s.message(),
            "t.csv:3:1: column 'b' is boolean but value 'maybe' is not true/false/yes/no");
  s = LoadError("b,y\nyes,x\n1,z\n", o);
  EXPECT_EQ(s.message(), "t.csv:3:1: column 'b' is boolean but value '1' is not true/false/yes/no");
}

TEST(DatasetForcedTypeTest, ConflictingOverridesAreErrors) {
  const char* text = "a,b,y\n1,2,x\n3,4,z\n";
  LoadOptions o = Label("y");
  o.categorical = {"a"};
  o.numeric = {"a"};
  EXPECT_EQ(LoadError(text, o).message(),
            "t.csv: column 'a' is forced to be both categorical and numeric");
  o = Label("y");
  o.numeric = {"a"};
  o.drop = {"a"};
  EXPECT_EQ(LoadError(text, o).message(), "t.csv: column 'a' is dropped but also given a type");
  o = Label("y");
  o.categorical = {"y"};
  EXPECT_EQ(LoadError(text, o).message(),
            "t.csv: column 'y' is the label column and cannot be listed in categorical");
}

TEST(DatasetColumnsTest, UnknownNamesListTheColumns) {
  const char* text = "a,b,y\n1,2,x\n3,4,z\n";
  const std::string tail = "; columns are: a, b, y";
  struct Case {
    LoadOptions options;
    std::string message;
  };
  std::vector<Case> cases;
  cases.push_back({Label("label"), "t.csv: unknown column 'label' (given as label)" + tail});
  LoadOptions o = Label("y");
  o.categorical = {"a", "zz"};
  cases.push_back({o, "t.csv: unknown column 'zz' (given as categorical)" + tail});
  o = Label("y");
  o.numeric = {"B"};  // names are case-sensitive
  cases.push_back({o, "t.csv: unknown column 'B' (given as numeric)" + tail});
  o = Label("y");
  o.drop = {"c"};
  cases.push_back({o, "t.csv: unknown column 'c' (given as drop)" + tail});
  o = Label("y");
  o.types["q"] = ColumnType::kNumeric;
  cases.push_back({o, "t.csv: unknown column 'q' (given as types)" + tail});
  o = Label("y");
  o.id_column = "uid";
  cases.push_back({o, "t.csv: unknown column 'uid' (given as id_column)" + tail});
  o = Label("y");
  o.feature_columns = {"a", "m", "b", "n"};
  cases.push_back({o, "t.csv: the model needs column(s) 'm', 'n', which the file lacks" + tail});
  // A model's schema forces the types of the columns it needs: a missing one is still reported as
  // needed by the model, not as an unknown name "given as types".
  o = Label("y");
  o.types["m"] = ColumnType::kBoolean;
  o.feature_columns = {"a", "m"};
  cases.push_back({o, "t.csv: the model needs column(s) 'm', which the file lacks" + tail});
  for (const Case& c : cases) {
    Status s = LoadError(text, c.options);
    EXPECT_TRUE(s.IsNotFound()) << s.ToString();
    EXPECT_EQ(s.message(), c.message);
  }
  // No label at all.
  Status s = LoadError(text, LoadOptions{});
  EXPECT_EQ(s.message(), "t.csv: no label column given; columns are: a, b, y");
}

TEST(DatasetColumnsTest, IdAndLabelAreNeverFeatures) {
  LoadOptions o = Label("y");
  o.id_column = "customer";
  RawDataset d = MustLoad("customer,v,y,w\n c1 ,1,a,x\nc2,2,b,y\n", o);
  EXPECT_EQ(Names(d), (std::vector<std::string>{"v", "w"}));
  EXPECT_EQ(d.id_name, "customer");
  EXPECT_EQ(d.ids, (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(d.labels, (std::vector<std::string>{"a", "b"}));
  o.feature_columns = {"customer"};
  EXPECT_EQ(LoadError("customer,v,y\nc1,1,a\n", o).message(),
            "t.csv: column 'customer' is the id column and cannot be listed in feature_columns");
}

TEST(DatasetColumnsTest, FeatureColumnsSelectAndOrder) {
  LoadOptions o = Label("y");
  o.feature_columns = {"c", "a"};
  o.types = {{"c", ColumnType::kCategorical}, {"a", ColumnType::kNumeric}};
  RawDataset d = MustLoad("a,b,c,y\n1,x,3,p\n2,z,4,q\n", o);
  EXPECT_EQ(Names(d), (std::vector<std::string>{"c", "a"}));  // b ignored
  EXPECT_EQ(d.features[0].type, ColumnType::kCategorical);
  EXPECT_EQ(d.features[0].text, (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(d.features[1].numeric, (std::vector<double>{1, 2}));
}

TEST(DatasetColumnsTest, OptionalLabelMayBeAbsent) {
  LoadOptions o = Label("Revenue");
  o.label_optional = true;
  RawDataset d = MustLoad("a,b\n1,x\n2,y\n", o);
  EXPECT_EQ(d.label_name, "");
  EXPECT_TRUE(d.labels.empty());
  EXPECT_EQ(d.num_rows(), 2u);
  EXPECT_EQ(Names(d), (std::vector<std::string>{"a", "b"}));
  // When present it is still the label.
  RawDataset e = MustLoad("a,Revenue\n1,x\n2,y\n", o);
  EXPECT_EQ(e.label_name, "Revenue");
  EXPECT_EQ(e.labels, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(Names(e), (std::vector<std::string>{"a"}));
  Result<std::vector<std::string>> classes = DistinctLabels(d);
  ASSERT_FALSE(classes.ok());
  EXPECT_EQ(classes.status().message(), "t.csv: the dataset has no label column");
}

TEST(DatasetLabelsTest, DistinctLabelsSortedAndNeedsTwo) {
  RawDataset d = MustLoad("v,y\n1,b\n2,a\n3,c\n4,a\n", Label("y"));
  Result<std::vector<std::string>> classes = DistinctLabels(d);
  ASSERT_TRUE(classes.ok()) << classes.status().ToString();
  EXPECT_EQ(*classes, (std::vector<std::string>{"a", "b", "c"}));

  RawDataset one = MustLoad("v,y\n1,yes\n2,yes\n3,\n", Label("y"));
  classes = DistinctLabels(one);
  ASSERT_FALSE(classes.ok());
  EXPECT_TRUE(classes.status().IsInvalidArgument());
  EXPECT_EQ(classes.status().message(),
            "t.csv: label column 'y' has only one class, 'yes'; at least two classes are needed");
}

TEST(DatasetSplitTest, StratifiedProportionsAndPartition) {
  std::vector<std::string> labels;
  for (int i = 0; i < 1000; ++i) labels.push_back(i % 10 == 0 ? "pos" : "neg");  // 100 / 900
  labels.push_back("solo");                                                      // one row
  labels.push_back("pair");
  labels.push_back("pair");
  auto [train, test] = StratifiedSplit(labels, 0.2, 42);
  EXPECT_EQ(train.size() + test.size(), labels.size());
  EXPECT_TRUE(std::is_sorted(train.begin(), train.end()));
  EXPECT_TRUE(std::is_sorted(test.begin(), test.end()));
  std::set<size_t> all(train.begin(), train.end());
  all.insert(test.begin(), test.end());
  EXPECT_EQ(all.size(), labels.size());  // disjoint and complete

  std::map<std::string, int> test_counts;
  for (size_t i : test) ++test_counts[labels[i]];
  EXPECT_EQ(test_counts["pos"], 20);
  EXPECT_EQ(test_counts["neg"], 180);
  EXPECT_EQ(test_counts["pair"], 1);  // at least one test row per class with >= 2 rows
  EXPECT_EQ(test_counts.count("solo"), 0u);

  // Deterministic for a seed, different for another.
  EXPECT_EQ(StratifiedSplit(labels, 0.2, 42).second, test);
  EXPECT_NE(StratifiedSplit(labels, 0.2, 43).second, test);
  // Pinned: the generator and shuffle are ours, so these indices hold on every platform.
  auto small = StratifiedSplit({"a", "a", "a", "a", "b", "b", "b", "b"}, 0.5, 7);
  EXPECT_EQ(small.first, (std::vector<size_t>{0, 3, 5, 6}));
  EXPECT_EQ(small.second, (std::vector<size_t>{1, 2, 4, 7}));
}

TEST(DatasetSplitTest, ShuffleIsUnbiased) {
  // Over many seeds every row of a class is equally likely to be held out.
  const std::vector<std::string> labels(5, "a");
  std::vector<int> held_out(labels.size(), 0);
  const int kSeeds = 5000;
  for (int seed = 0; seed < kSeeds; ++seed) {
    for (size_t i : StratifiedSplit(labels, 0.4, static_cast<uint64_t>(seed)).second) ++held_out[i];
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    // Expected 2000 (2 of 5 per seed); the standard deviation is about 35.
    EXPECT_NEAR(held_out[i], 2000, 200) << "row " << i;
  }
}

TEST(DatasetSplitTest, EdgeFractions) {
  const std::vector<std::string> labels = {"a", "b", "a", "b"};
  auto [train0, test0] = StratifiedSplit(labels, 0.0, 1);
  EXPECT_EQ(train0, (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_TRUE(test0.empty());
  auto [train1, test1] = StratifiedSplit(labels, 1.0, 1);
  EXPECT_TRUE(train1.empty());
  EXPECT_EQ(test1, (std::vector<size_t>{0, 1, 2, 3}));
  // A tiny fraction still gives each class one test row; a large one leaves one in train.
  auto [train2, test2] = StratifiedSplit(labels, 0.01, 1);
  EXPECT_EQ(test2.size(), 2u);
  auto [train3, test3] = StratifiedSplit(labels, 0.99, 1);
  EXPECT_EQ(train3.size(), 2u);
}

TEST(DatasetSplitTest, SelectRowsKeepsColumnsAligned) {
  LoadOptions o = Label("y");
  o.id_column = "id";
  RawDataset d = MustLoad("id,v,c,y\nr1,1,x,a\nr2,,,b\nr3,3,z,a\nr4,NA,w,b\n", o);
  RawDataset s = SelectRows(d, {3, 0});
  EXPECT_EQ(s.num_rows(), 2u);
  EXPECT_EQ(s.ids, (std::vector<std::string>{"r4", "r1"}));
  EXPECT_EQ(s.labels, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(s.line_numbers, (std::vector<uint64_t>{5, 2}));
  EXPECT_EQ(s.id_name, "id");
  EXPECT_EQ(s.label_name, "y");
  ASSERT_EQ(s.features.size(), 2u);
  EXPECT_TRUE(std::isnan(s.features[0].numeric[0]));
  EXPECT_EQ(s.features[0].numeric[1], 1);
  EXPECT_EQ(s.features[0].missing, 1u);  // recomputed for the subset (was 2)
  EXPECT_EQ(s.features[1].text, (std::vector<std::string>{"w", "x"}));
  EXPECT_EQ(s.features[1].missing, 0u);  // was 1
  EXPECT_DEATH(SelectRows(d, {4}), "out of range");
}

TEST(DatasetRealFileTest, OnlineShoppers) {
  Result<RawDataset> r =
      LoadDatasetFile(SharedData("online_shoppers_intention.csv"), Label("Revenue"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const RawDataset& d = *r;
  EXPECT_EQ(d.num_rows(), 12330u);
  EXPECT_EQ(d.features.size() + 1, 18u);
  EXPECT_EQ(d.dropped_missing_label, 0u);
  std::map<std::string, int> counts = Count(d.labels);
  EXPECT_EQ(counts, (std::map<std::string, int>{{"FALSE", 10422}, {"TRUE", 1908}}));
  std::vector<std::string> names;
  for (const RawColumn& c : d.features) {
    EXPECT_EQ(c.missing, 0u) << c.name;
    ColumnType expected = ColumnType::kNumeric;
    if (c.name == "Month" || c.name == "VisitorType") expected = ColumnType::kCategorical;
    if (c.name == "Weekend") expected = ColumnType::kBoolean;
    EXPECT_EQ(c.type, expected) << c.name;
    names.push_back(c.name);
  }
  // The page counts and durations and PageValues are heavy-tailed (skewness 1.96 to 7.58) and
  // read as logarithms; the two rates (in [0, 0.2]) and SpecialDay are skewed too, but the
  // transform hardly changes values that small, so they stay as they are. OperatingSystems,
  // Browser and TrafficType are codes, numbers to the loader unless declared categorical (as
  // every command on this table does), and skewed ones.
  EXPECT_EQ(names,
            (std::vector<std::string>{"Administrative[log1p]", "Administrative_Duration[log1p]",
                                      "Informational[log1p]", "Informational_Duration[log1p]",
                                      "ProductRelated[log1p]", "ProductRelated_Duration[log1p]",
                                      "BounceRates", "ExitRates", "PageValues[log1p]", "SpecialDay",
                                      "Month", "OperatingSystems[log1p]", "Browser[log1p]",
                                      "Region", "TrafficType[log1p]", "VisitorType", "Weekend"}));
  const RawColumn* page_values = Find(d, "PageValues[log1p]");
  ASSERT_NE(page_values, nullptr);
  EXPECT_NEAR(*std::max_element(page_values->numeric.begin(), page_values->numeric.end()),
              std::log1p(361.763742), 1e-9);
  EXPECT_EQ(d.notes.size(), 20u) << "a skewness note and an encoding note per column";
  EXPECT_NE(std::find(d.notes.begin(), d.notes.end(), LogNote("PageValues")), d.notes.end());
  const RawColumn* month = Find(d, "Month");
  ASSERT_NE(month, nullptr);
  EXPECT_EQ(Count(month->text)["june"], 288);
  EXPECT_EQ(Count(month->text)["nov"], 2998);
  const RawColumn* region = Find(d, "Region");
  ASSERT_NE(region, nullptr);
  EXPECT_EQ(std::count(region->numeric.begin(), region->numeric.end(), 1.0), 4780);

  Result<std::vector<std::string>> classes = DistinctLabels(d);
  ASSERT_TRUE(classes.ok());
  EXPECT_EQ(*classes, (std::vector<std::string>{"FALSE", "TRUE"}));

  auto [train, test] = StratifiedSplit(d.labels, 0.2, 2024);
  EXPECT_EQ(test.size(), 2084u + 382u);
  RawDataset t = SelectRows(d, test);
  counts = Count(t.labels);
  EXPECT_EQ(counts["TRUE"], 382);  // round(1908 * 0.2)
  EXPECT_EQ(counts["FALSE"], 2084);
}

TEST(DatasetRealFileTest, BankSemicolonQuoted) {
  Result<RawDataset> r = LoadDatasetFile(SharedData("bank.csv"), Label("y"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const RawDataset& d = *r;
  EXPECT_EQ(d.num_rows(), 4521u);
  EXPECT_EQ(d.features.size(), 16u);
  std::map<std::string, int> counts = Count(d.labels);
  EXPECT_EQ(counts, (std::map<std::string, int>{{"no", 4000}, {"yes", 521}}));
  EXPECT_EQ(Find(d, "age")->type, ColumnType::kNumeric);
  EXPECT_EQ(Find(d, "balance")->type, ColumnType::kNumeric);
  EXPECT_EQ(Find(d, "pdays")->type, ColumnType::kNumeric);
  EXPECT_EQ(Find(d, "job")->type, ColumnType::kCategorical);
  EXPECT_EQ(Find(d, "housing")->type, ColumnType::kBoolean);
  EXPECT_EQ(Find(d, "default")->type, ColumnType::kBoolean);
  EXPECT_EQ(Count(Find(d, "poutcome")->text)["unknown"], 3705);  // a category, not missing
  for (const RawColumn& c : d.features) EXPECT_EQ(c.missing, 0u) << c.name;
}

TEST(DatasetRealFileTest, TelcoBlankTotalCharges) {
  LoadOptions o = Label("Churn");
  o.id_column = "customerID";
  Result<RawDataset> r = LoadDatasetFile(SharedData("WA_Fn-UseC_-Telco-Customer-Churn.csv"), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const RawDataset& d = *r;
  EXPECT_EQ(d.num_rows(), 7043u);
  EXPECT_EQ(d.features.size(), 19u);
  EXPECT_EQ(d.ids.front(), "7590-VHVEG");
  EXPECT_EQ(Count(d.labels), (std::map<std::string, int>{{"No", 5174}, {"Yes", 1869}}));
  const RawColumn* total = Find(d, "TotalCharges");
  ASSERT_NE(total, nullptr);
  EXPECT_EQ(total->type, ColumnType::kNumeric);
  EXPECT_EQ(total->missing, 11u);
  const RawColumn* tenure = Find(d, "tenure");
  ASSERT_NE(tenure, nullptr);
  for (size_t i = 0; i < d.num_rows(); ++i) {
    if (std::isnan(total->numeric[i])) {
      EXPECT_EQ(tenure->numeric[i], 0) << d.ids[i];
    }
  }
  EXPECT_EQ(Find(d, "SeniorCitizen")->type, ColumnType::kNumeric);  // 0/1
  EXPECT_EQ(Find(d, "Partner")->type, ColumnType::kBoolean);
  EXPECT_EQ(Find(d, "Contract")->type, ColumnType::kCategorical);
  for (const RawColumn& c : d.features) {
    if (c.name != "TotalCharges") {
      EXPECT_EQ(c.missing, 0u) << c.name;
    }
  }
}

TEST(DatasetRealFileTest, MissingFileIsNotFound) {
  Result<RawDataset> r = LoadDatasetFile(SharedData("no_such_file.csv"), Label("y"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound());
}

// ---- Date columns and category normalisation -------------------------------------------------

std::string NoteMatching(const RawDataset& d, std::string_view needle) {
  for (const std::string& n : d.notes) {
    if (n.find(needle) != std::string::npos) return n;
  }
  return "";
}

TEST(DateColumnTest, DayFirstDatesAreDetectedAndEncodedAsDaysMonthAndWeekday) {
  // 13-01-2021 can only be day first: the whole column is read as %d-%m-%Y.
  const RawDataset d =
      MustLoad("Signup,y\n13-01-2021,a\n01-02-2021,b\n,a\n29-02-2020,b\n", Label("y"));
  EXPECT_EQ(Names(d),
            (std::vector<std::string>{"Signup[days]", "Signup[month]", "Signup[weekday]"}));
  EXPECT_EQ(d.date_formats, (std::map<std::string, std::string>{{"Signup", "%d-%m-%Y"}}));
  const RawColumn* days = Find(d, "Signup[days]");
  const RawColumn* month = Find(d, "Signup[month]");
  const RawColumn* weekday = Find(d, "Signup[weekday]");
  ASSERT_TRUE(days && month && weekday);
  EXPECT_EQ(days->type, ColumnType::kNumeric);
  EXPECT_EQ(month->type, ColumnType::kCategorical);
  EXPECT_EQ(weekday->type, ColumnType::kCategorical);
  // 2021-01-13 is day 18640 since 1970-01-01 (a Wednesday); 2021-02-01 a Monday; 2020-02-29 a
  // Saturday, day 18321.
  ASSERT_EQ(days->numeric.size(), 4u);
  EXPECT_EQ(days->numeric[0], 18640.0);
  EXPECT_EQ(days->numeric[1], 18659.0);
  EXPECT_TRUE(std::isnan(days->numeric[2]));
  EXPECT_EQ(days->numeric[3], 18321.0);
  EXPECT_EQ(month->text,
            (std::vector<std::string>{"jan", "feb", std::string(kMissingCategory), "feb"}));
  EXPECT_EQ(weekday->text,
            (std::vector<std::string>{"wed", "mon", std::string(kMissingCategory), "sat"}));
  EXPECT_EQ(days->missing, 1u);
  EXPECT_EQ(month->missing, 1u);
  EXPECT_NE(NoteMatching(d, "column 'Signup': dates (%d-%m-%Y) encoded as Signup[days]"), "");
  EXPECT_EQ(NoteMatching(d, "guess"), "");  // 13 settles it
}

TEST(DateColumnTest, SlashDatesAreMonthFirstUnlessADaySaysOtherwise) {
  // The superstore table's style: 11/8/2016 is November 8th.
  RawDataset d = MustLoad("When,y\n11/8/2016,a\n6/12/2016,b\n10/11/2015,a\n", Label("y"));
  EXPECT_EQ(d.date_formats.at("When"), "%m/%d/%Y");
  EXPECT_EQ(Find(d, "When[month]")->text[0], "nov");
  EXPECT_NE(NoteMatching(d, "is a guess"), "") << "every day is 12 or less: the reading is a guess";
  // A 25 in the first field settles it the other way.
  d = MustLoad("When,y\n11/8/2016,a\n25/12/2016,b\n", Label("y"));
  EXPECT_EQ(d.date_formats.at("When"), "%d/%m/%Y");
  EXPECT_EQ(Find(d, "When[month]")->text[0], "aug");
  EXPECT_EQ(NoteMatching(d, "is a guess"), "");
}

TEST(DateColumnTest, IsoDatetimesKeepTheTimeOfDayInTheDays) {
  const RawDataset d = MustLoad("t,y\n2020-01-02 06:00:00,a\n2020-01-03 18:00:00,b\n", Label("y"));
  EXPECT_EQ(d.date_formats.at("t"), "%Y-%m-%d %H:%M:%S");
  const RawColumn* days = Find(d, "t[days]");
  ASSERT_NE(days, nullptr);
  EXPECT_DOUBLE_EQ(days->numeric[0], 18263.25);
  EXPECT_DOUBLE_EQ(days->numeric[1], 18264.75);
}

TEST(DateColumnTest, ColumnsThatAreNotAllDatesStayWhatTheyWere) {
  // One value that no format reads (and mixed formats) keep a column categorical; numbers such as
  // 20161108 stay numbers.
  RawDataset d = MustLoad("a,b,c,y\n2020-01-01,2020-01-01,20161108,x\nsoon,01/02/2020,20161109,z\n",
                          Label("y"));
  EXPECT_EQ(Names(d), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Find(d, "a")->type, ColumnType::kCategorical);
  EXPECT_EQ(Find(d, "b")->type, ColumnType::kCategorical);
  EXPECT_EQ(Find(d, "c")->type, ColumnType::kNumeric);
  EXPECT_TRUE(d.date_formats.empty());
  // Forced categorical, or detection off: no dates.
  LoadOptions o = Label("y");
  o.categorical = {"a"};
  d = MustLoad("a,y\n2020-01-01,x\n2020-01-02,z\n", o);
  EXPECT_EQ(Names(d), (std::vector<std::string>{"a"}));
  o = Label("y");
  o.detect_dates = false;
  d = MustLoad("a,y\n2020-01-01,x\n2020-01-02,z\n", o);
  EXPECT_EQ(Names(d), (std::vector<std::string>{"a"}));
}

TEST(DateColumnTest, DeclaredFormatsAreUsedAndAValueTheyDoNotReadIsAnError) {
  // Day and month both <= 12: detection would read month first with '/'; the declaration wins.
  LoadOptions o = Label("y");
  o.dates = {{"d", "%d/%m/%Y"}};
  const RawDataset d = MustLoad("d,y\n01/02/2020,a\n03/04/2020,b\n", o);
  EXPECT_EQ(d.date_formats.at("d"), "%d/%m/%Y");
  EXPECT_EQ(Find(d, "d[month]")->text, (std::vector<std::string>{"feb", "apr"}));
  EXPECT_TRUE(d.notes.empty()) << "a declared format is no decision of the loader";

  Status st = LoadError("d,y\n01/02/2020,a\n2020-04-03,b\n", o);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("t.csv:3:1"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'2020-04-03' is not one"), std::string::npos) << st.message();

  o.dates = {{"d", ""}};  // declared, format detected: nothing fits
  st = LoadError("d,y\nsoon,a\n", o);
  EXPECT_NE(st.message().find("no usual date format reads all its values"), std::string::npos)
      << st.message();
  o.dates = {{"d", "unix"}};  // seconds: 1e300 is no day of any calendar
  st = LoadError("d,y\n86400,a\n1e300,b\n", o);
  EXPECT_NE(st.message().find("t.csv:3:1: column 'd' has date '1e300', outside the years 0 to 9999"),
            std::string::npos)
      << st.message();
  o.dates = {{"d", "%Y-%q"}};
  st = LoadError("d,y\n2020-01-01,a\n", o);
  EXPECT_NE(st.message().find("date format of column 'd'"), std::string::npos) << st.message();
  o.dates = {{"nope", ""}};
  st = LoadError("d,y\n2020-01-01,a\n", o);
  EXPECT_TRUE(st.IsNotFound()) << st.ToString();
  o.dates = {{"d", ""}};
  o.categorical = {"d"};
  st = LoadError("d,y\n2020-01-01,a\n", o);
  EXPECT_NE(st.message().find("declared a date but also given the type categorical"),
            std::string::npos)
      << st.message();
}

TEST(DateColumnTest, ADerivedNameThatIsAlreadyAColumnIsAnError) {
  const Status st = LoadError("d,d[month],y\n2020-01-01,x,a\n", Label("y"));
  EXPECT_NE(st.message().find("derived column 'd[month]' is already a column"), std::string::npos)
      << st.message();
}

TEST(DateColumnTest, SameColumnsAsReloadsAnotherTableIntoTheSameColumns) {
  const RawDataset train = MustLoad("id,when,kind,y\n1,13-01-2021,A,a\n2,14-01-2021,b,b\n", [] {
    LoadOptions o = Label("y");
    o.id_column = "id";
    return o;
  }());
  LoadOptions base = Label("y");
  base.id_column = "id";
  const LoadOptions again = SameColumnsAs(train, base);
  EXPECT_EQ(again.feature_columns, (std::vector<std::string>{"when", "kind"}));
  EXPECT_EQ(again.dates, (std::map<std::string, std::string>{{"when", "%d-%m-%Y"}}));
  // The test table's one date reads either way round; the training table fixed the format.
  const RawDataset test = MustLoad("id,kind,when,y\n3,a,01-02-2021,a\n", again);
  EXPECT_EQ(Names(test), Names(train));
  EXPECT_EQ(Find(test, "when[month]")->text[0], "feb");
  EXPECT_TRUE(test.notes.empty());
}

// A table of n rows: `spend` heavy-tailed (mostly small, a few very large amounts), `visits`
// symmetric, `refund` heavy-tailed with one negative value, `rate` a skewed share in [0, 0.2].
std::string SkewedTable(int n) {
  std::string text = "spend,visits,refund,rate,y\n";
  for (int i = 0; i < n; ++i) {
    const double spend = std::round(std::exp(i % 10));  // 1, 3, 7, 20, ... 8103
    const double refund = i == 3 ? -2.0 : (i % 9 == 0 ? 900.0 : 1.0);
    const double rate = i % 8 == 0 ? 0.2 : 0.01 * (i % 3);
    text += std::to_string(spend) + "," + std::to_string(10 + i % 5) + "," +
            std::to_string(refund) + "," + std::to_string(rate) + "," + (i % 2 ? "a" : "b") + "\n";
  }
  return text;
}

TEST(LogColumnTest, SkewnessMatchesTheThirdStandardisedMoment) {
  // 1, 2, 3, 10: mean 4, central moments m2 = (9 + 4 + 1 + 36) / 4 = 12.5,
  // m3 = (-27 - 8 - 1 + 216) / 4 = 45; skewness 45 / 12.5^1.5.
  EXPECT_NEAR(Skewness({1, 2, 3, 10}), 45 / std::pow(12.5, 1.5), 1e-12);
  EXPECT_NEAR(Skewness({1, 2, std::nan(""), 3, 10}), 45 / std::pow(12.5, 1.5), 1e-12)
      << "missing values are left out";
  EXPECT_NEAR(Skewness({-10, -3, -2, -1}), -45 / std::pow(12.5, 1.5), 1e-12);
  EXPECT_EQ(Skewness({4, 4, 4}), 0);
  EXPECT_EQ(Skewness({4}), 0);
  EXPECT_EQ(SignedLog1p(0), 0);
  EXPECT_DOUBLE_EQ(SignedLog1p(std::exp(2.0) - 1), 2.0);
  EXPECT_DOUBLE_EQ(SignedLog1p(-(std::exp(2.0) - 1)), -2.0);
  EXPECT_TRUE(std::isnan(SignedLog1p(std::nan(""))));
  for (const double x : {0.0, 0.5, -3.25, 1234.5, -1e9}) {
    EXPECT_NEAR(SignedExpm1(SignedLog1p(x)), x, 1e-12 * std::max(1.0, std::fabs(x))) << x;
  }
  EXPECT_EQ(LogColumnName("spend"), "spend[log1p]");
  EXPECT_EQ(LogSourceOf("spend[log1p]"), "spend");
  EXPECT_EQ(LogSourceOf("spend"), "");
  EXPECT_EQ(LogSourceOf("[log1p]"), "");
}

TEST(LogColumnTest, OnlyNonNegativeHeavyTailedColumnsAreDetected) {
  const RawDataset d = MustLoad(SkewedTable(40), Label("y"));
  EXPECT_EQ(Names(d), (std::vector<std::string>{"spend[log1p]", "visits", "refund", "rate"}))
      << "visits is symmetric, refund has a negative value, rate is a small share the transform "
         "hardly changes";
  const RawColumn* spend = Find(d, "spend[log1p]");
  ASSERT_NE(spend, nullptr);
  EXPECT_DOUBLE_EQ(spend->numeric[0], std::log1p(1.0));
  EXPECT_DOUBLE_EQ(spend->numeric[9], std::log1p(8103.0));
  ASSERT_EQ(d.notes.size(), 2u);
  EXPECT_NE(d.notes[0].find("column 'spend': heavy-tailed (skewness"), std::string::npos)
      << d.notes[0];
  EXPECT_EQ(d.notes[1], LogNote("spend"));
  EXPECT_EQ(d.notes[1], "column 'spend': encoded as spend[log1p] = sign(spend) ln(1 + |spend|)");

  // Too few values to judge: nothing is detected.
  EXPECT_EQ(Names(MustLoad(SkewedTable(19), Label("y")))[0], "spend");
  // Detection off: the column stays as it is.
  LoadOptions off = Label("y");
  off.detect_log = false;
  EXPECT_EQ(Names(MustLoad(SkewedTable(40), off))[0], "spend");
}

TEST(LogColumnTest, DeclaredColumnsAreTransformedWithTheirSignAndOthersAreChecked) {
  LoadOptions o = Label("y");
  o.detect_log = false;
  o.log_columns = {"refund", "visits"};
  const RawDataset d = MustLoad(SkewedTable(40), o);
  EXPECT_EQ(Names(d),
            (std::vector<std::string>{"spend", "visits[log1p]", "refund[log1p]", "rate"}));
  const RawColumn* refund = Find(d, "refund[log1p]");
  ASSERT_NE(refund, nullptr);
  EXPECT_DOUBLE_EQ(refund->numeric[3], -std::log1p(2.0));
  EXPECT_DOUBLE_EQ(refund->numeric[0], std::log1p(900.0));
  EXPECT_TRUE(d.notes.empty()) << "a declared transform is no decision of the loader's";

  o.log_columns = {"y"};
  EXPECT_NE(LoadError(SkewedTable(40), o).message().find("column 'y' is the label column"),
            std::string::npos);
  o.log_columns = {"nope"};
  EXPECT_NE(LoadError(SkewedTable(40), o).message().find("unknown column 'nope'"),
            std::string::npos);
  o.log_columns = {"visits"};
  o.drop = {"visits"};
  EXPECT_EQ(LoadError(SkewedTable(40), o).message(),
            "t.csv: column 'visits' is declared log-transformed but also dropped");
  o.drop.clear();
  o.categorical = {"visits"};
  EXPECT_EQ(LoadError(SkewedTable(40), o).message(),
            "t.csv: column 'visits' is declared log-transformed but given the type categorical");
  LoadOptions inferred = Label("y");
  inferred.log_columns = {"city"};
  EXPECT_EQ(LoadError("city,y\nparis,a\nrome,b\n", inferred).message(),
            "t.csv: column 'city' is declared log-transformed but is categorical");
  LoadOptions date = Label("y");
  date.log_columns = {"day"};
  date.dates = {{"day", ""}};
  EXPECT_EQ(LoadError("day,y\n2024-01-02,a\n2024-02-03,b\n", date).message(),
            "t.csv: column 'day' is declared both a date and log-transformed");
}

TEST(LogColumnTest, ADerivedNameThatIsAlreadyAColumnIsAnError) {
  LoadOptions o = Label("y");
  o.log_columns = {"x"};
  EXPECT_EQ(LoadError("x,x[log1p],y\n1,2,a\n3,4,b\n", o).message(),
            "t.csv: column 'x' would be read as 'x[log1p]', which the table already has; rename "
            "one of them");
}

TEST(LogColumnTest, SameColumnsAsReadsAnotherTableWithTheSameTransformWhateverItsShape) {
  const RawDataset train = MustLoad(SkewedTable(40), Label("y"));
  // A later table whose spend is not skewed at all: it is still read as a logarithm, and its
  // symmetric visits still not.
  const RawDataset later = MustLoad("visits,spend,refund,rate,y\n11,3,1,0.1,a\n12,4,1,0.1,b\n",
                                    SameColumnsAs(train, Label("y")));
  EXPECT_EQ(Names(later), Names(train));
  const RawColumn* spend = Find(later, "spend[log1p]");
  ASSERT_NE(spend, nullptr);
  EXPECT_EQ(spend->numeric, (std::vector<double>{std::log1p(3.0), std::log1p(4.0)}));
  EXPECT_TRUE(later.notes.empty());
  // Nor does a column the training table read as written become a logarithm because the later
  // table's values are skewed: SkewedTable's heavy-tailed spend, loaded into the columns of a
  // table where it was not.
  LoadOptions plain = Label("y");
  plain.detect_log = false;
  const RawDataset unlogged = MustLoad(SkewedTable(40), plain);
  const RawDataset again = MustLoad(SkewedTable(40), SameColumnsAs(unlogged, Label("y")));
  EXPECT_EQ(Names(again), Names(unlogged));
  EXPECT_EQ(Names(again)[0], "spend");
  // The source column is what the later table must have.
  Status st = LoadError("visits,refund,rate,y\n11,1,0.1,a\n", SameColumnsAs(train, Label("y")));
  EXPECT_NE(st.message().find("the model needs column(s) 'spend'"), std::string::npos)
      << st.message();
}

TEST(CategoryNormalizationTest, CaseAndSpacingVariantsAreOneCategory) {
  EXPECT_EQ(NormalizeCategory("Credit  Card"), "credit card");
  EXPECT_EQ(NormalizeCategory("CREDIT\tCARD"), "credit card");
  EXPECT_EQ(NormalizeCategory("credit card"), "credit card");
  EXPECT_EQ(NormalizeCategory("Ünï Code"), "Ünï code");  // ASCII only: bytes above 127 kept
  const RawDataset d =
      MustLoad("pay,y\nCredit Card,a\ncredit  card,b\nCREDIT CARD,a\nCash,b\n,a\n", Label("y"));
  const RawColumn* pay = Find(d, "pay");
  ASSERT_NE(pay, nullptr);
  EXPECT_EQ(pay->text, (std::vector<std::string>{"credit card", "credit card", "credit card",
                                                 "cash", std::string(kMissingCategory)}));
  EXPECT_EQ(NoteMatching(d, "column 'pay'"),
            "column 'pay': 4 spellings that differ only in case or spacing are 2 categories");
  // Lower-casing alone merges nothing: no note.
  EXPECT_TRUE(MustLoad("pay,y\nCash,a\nCard,b\n", Label("y")).notes.empty());
  // Off (a model file from before the rule): values as written.
  LoadOptions o = Label("y");
  o.normalize_categories = false;
  EXPECT_EQ(Find(MustLoad("pay,y\nCredit Card,a\n", o), "pay")->text[0], "Credit Card");
}

}  // namespace
}  // namespace fedseg::data
