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

  // Categories are trimmed, case kept.
  const RawColumn* cat = Find(d, "cat");
  ASSERT_NE(cat, nullptr);
  EXPECT_EQ(cat->type, ColumnType::kCategorical);
  EXPECT_EQ(cat->text, (std::vector<std::string>{"red", "blue", "Red"}));
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
  for (const RawColumn& c : d.features) {
    EXPECT_EQ(c.missing, 0u) << c.name;
    ColumnType expected = ColumnType::kNumeric;
    if (c.name == "Month" || c.name == "VisitorType") expected = ColumnType::kCategorical;
    if (c.name == "Weekend") expected = ColumnType::kBoolean;
    EXPECT_EQ(c.type, expected) << c.name;
  }
  const RawColumn* month = Find(d, "Month");
  ASSERT_NE(month, nullptr);
  EXPECT_EQ(Count(month->text)["June"], 288);
  EXPECT_EQ(Count(month->text)["Nov"], 2998);
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

}  // namespace
}  // namespace fedseg::data
