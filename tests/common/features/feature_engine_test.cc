#include "common/features/feature_engine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "tests/common/features/test_files.h"

namespace fedseg::features {
namespace {

using nlohmann::json;

// Reference 2020-01-10. User a: three lines in two orders before it, one order after it (label
// window); b: one order before; c: only after (no history: not a row).
constexpr char kOrders[] =
    "user,date,order,category,amount\n"
    "a,2020-01-01,o1,Furniture,10\n"
    "a,2020-01-01,o1,Office,20\n"
    "a,2020-01-05,o2,Furniture,30\n"
    "b,2020-01-03,o3,Office,5\n"
    "c,2020-02-10,o4,Office,7\n"
    "a,2020-01-20,o5,Office,1\n";

json Spec() {
  return json::parse(R"({
    "reference_time": "2020-01-10",
    "id_column": "customer",
    "sources": {"orders": {"path": "orders.csv", "user_id": "user", "timestamp": "date"}},
    "features": [
      {"name": "lines", "source": "orders", "agg": "count"},
      {"name": "orders", "source": "orders", "agg": "distinct_count", "column": "order"},
      {"name": "sales", "source": "orders", "agg": "sum", "column": "amount"},
      {"name": "avg", "source": "orders", "agg": "mean", "column": "amount"},
      {"name": "lo", "source": "orders", "agg": "min", "column": "amount"},
      {"name": "hi", "source": "orders", "agg": "max", "column": "amount"},
      {"name": "sd", "source": "orders", "agg": "stddev", "column": "amount"},
      {"name": "recency", "source": "orders", "agg": "recency"},
      {"name": "tenure", "source": "orders", "agg": "tenure"},
      {"name": "furniture_share", "source": "orders", "agg": "share", "column": "category", "value": "Furniture"},
      {"name": "per_day", "source": "orders", "agg": "events_per_active_day"},
      {"name": "furniture_sales", "source": "orders", "agg": "sum", "column": "amount",
       "filter": {"column": "category", "value": "Furniture"}},
      {"name": "big", "source": "orders", "agg": "count", "filter": {"column": "amount", "op": ">", "value": 15}},
      {"name": "last_week", "source": "orders", "agg": "count", "window": {"start_days": -7, "end_days": 0}}
    ],
    "label": {"name": "buys", "source": "orders", "window": {"start_days": 0, "end_days": 30}}
  })");
}

Result<FeatureTable> Compute(const TestDir& dir, const json& j) {
  FEDSEG_ASSIGN_OR_RETURN(FeatureSpec spec, ParseFeatureSpec(j, "spec.json", dir.path()));
  return ComputeFeatures(spec);
}

double Value(const FeatureTable& t, const std::string& column, const std::string& id) {
  for (const FeatureColumn& c : t.columns) {
    if (c.name != column) continue;
    for (size_t r = 0; r < t.rows(); ++r) {
      if (t.ids[r] == id) return c.numbers[r];
    }
  }
  ADD_FAILURE() << "no " << column << " for " << id;
  return -999;
}

std::string ErrorOf(const TestDir& dir, const json& j) {
  Result<FeatureTable> t = Compute(dir, j);
  EXPECT_FALSE(t.ok());
  return t.ok() ? "" : t.status().message();
}

#define EXPECT_HAS(msg, part) EXPECT_NE((msg).find(part), std::string::npos) << (msg)

TEST(FeatureEngineTest, HandComputedAggregations) {
  TestDir dir;
  dir.Write("orders.csv", kOrders);
  Result<FeatureTable> t = Compute(dir, Spec());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t->users_without_history, 1u);
  EXPECT_EQ(Value(*t, "lines", "a"), 3);
  EXPECT_EQ(Value(*t, "orders", "a"), 2);
  EXPECT_EQ(Value(*t, "orders", "b"), 1);
  EXPECT_EQ(Value(*t, "sales", "a"), 60);
  EXPECT_EQ(Value(*t, "avg", "a"), 20);
  EXPECT_EQ(Value(*t, "lo", "a"), 10);
  EXPECT_EQ(Value(*t, "hi", "a"), 30);
  EXPECT_NEAR(Value(*t, "sd", "a"), std::sqrt(200.0 / 3), 1e-12);
  EXPECT_EQ(Value(*t, "sd", "b"), 0);
  EXPECT_EQ(Value(*t, "recency", "a"), 5);  // Jan 5 -> Jan 10
  EXPECT_EQ(Value(*t, "recency", "b"), 7);
  EXPECT_EQ(Value(*t, "tenure", "a"), 9);
  EXPECT_NEAR(Value(*t, "furniture_share", "a"), 2.0 / 3, 1e-12);
  EXPECT_EQ(Value(*t, "furniture_share", "b"), 0);
  EXPECT_EQ(Value(*t, "per_day", "a"), 1.5);  // 3 events on 2 days
  EXPECT_EQ(Value(*t, "furniture_sales", "a"), 40);
  EXPECT_EQ(Value(*t, "furniture_sales", "b"), 0);  // absent: a sum's default
  EXPECT_EQ(Value(*t, "big", "a"), 2);
  EXPECT_EQ(Value(*t, "big", "b"), 0);
  EXPECT_EQ(Value(*t, "last_week", "a"), 1);
  EXPECT_EQ(Value(*t, "last_week", "b"), 1);  // Jan 3 = reference - 7: the start is inclusive
  EXPECT_EQ(t->label_name, "buys");
  EXPECT_EQ(t->labels, (std::vector<std::string>{"1", "0"}));
  ASSERT_EQ(t->sources.size(), 1u);
  EXPECT_EQ(t->sources[0].rows, 6u);
  EXPECT_EQ(t->sources[0].used, 5u);  // c's order (day 31) is in no window
  EXPECT_EQ(t->sources[0].skipped.at("not_selected"), 1u);
  EXPECT_EQ(t->features[11].absent_users, 1u);
  EXPECT_EQ(t->ToCsv().substr(0, 24), "customer,lines,orders,sa");
  const std::string csv = t->ToCsv();
  EXPECT_HAS(csv, "\nb,1,1,5,5,5,5,0,7,7,0,1,0,0,1,0\n");
}

TEST(FeatureEngineTest, ChurnLabelIsTheAbsenceOfOrders) {
  TestDir dir;
  dir.Write("orders.csv", kOrders);
  json j = Spec();
  j["label"]["when"] = "none";
  Result<FeatureTable> t = Compute(dir, j);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->labels, (std::vector<std::string>{"0", "1"}));
}

TEST(FeatureEngineTest, ProfileJoinWithAbsentUsersAndUnknownUsers) {
  TestDir dir;
  dir.Write("orders.csv", kOrders);
  dir.Write("profile.csv", "user;segment;age\na;Consumer;30\nb;Corporate;40\nd;Home Office;50\n");
  json j = Spec();
  j["sources"]["profile"] = {{"path", "profile.csv"}, {"user_id", "user"}, {"delimiter", ";"}};
  j["profile"] = {{"source", "profile"}, {"columns", {"age"}}};
  j["label"] = {{"column", "segment"}};
  Result<FeatureTable> t = Compute(dir, j);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->ids, (std::vector<std::string>{"a", "b", "d"}));
  EXPECT_EQ(t->columns[0].name, "age");
  EXPECT_EQ(t->columns[0].texts, (std::vector<std::string>{"30", "40", "50"}));
  EXPECT_EQ(Value(*t, "lines", "d"), 0);
  EXPECT_TRUE(std::isnan(Value(*t, "avg", "d")));  // a mean of nothing is missing, not 0
  EXPECT_TRUE(std::isnan(Value(*t, "recency", "d")));
  EXPECT_EQ(t->labels, (std::vector<std::string>{"Consumer", "Corporate", "Home Office"}));
  EXPECT_EQ(t->sources[0].skipped.at("user_not_in_profile"), 1u);  // c (sources sorted by name)
  EXPECT_HAS(t->ToCsv(), "\nd,50,0,0,0,,,,,,,0,0,0,0,0,Home Office\n");
}

TEST(FeatureEngineTest, RepeatedProfileUserWouldMultiplyRows) {
  TestDir dir;
  dir.Write("orders.csv", kOrders);
  dir.Write("profile.csv", "user,segment\na,X\nb,Y\na,Z\n");
  json j = Spec();
  j["sources"]["profile"] = {{"path", "profile.csv"}, {"user_id", "user"}};
  j["profile"] = {{"source", "profile"}};
  EXPECT_HAS(ErrorOf(dir, j), "profile.csv:4: user 'a' already appeared on line 2");
  EXPECT_HAS(ErrorOf(dir, j), "multiply rows");
}

TEST(FeatureEngineTest, UnparseableTimestampFailsOrIsSkippedAndCounted) {
  TestDir dir;
  std::string text = kOrders;
  text += "b,01/12/2020,o9,Office,3\n";
  dir.Write("orders.csv", text);
  const std::string msg = ErrorOf(dir, Spec());
  EXPECT_HAS(
      msg, "orders.csv:8: timestamp '01/12/2020' (column 'date') does not match format '%Y-%m-%d'");
  EXPECT_HAS(msg, "sources.orders in spec.json");
  json j = Spec();
  j["sources"]["orders"]["bad_rows"] = "skip";
  Result<FeatureTable> t = Compute(dir, j);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->sources[0].skipped.at("bad_timestamp"), 1u);
  EXPECT_EQ(Value(*t, "lines", "b"), 1);
}

TEST(FeatureEngineTest, MissingUserIdBadNumberAndFieldCount) {
  TestDir dir;
  dir.Write("orders.csv", std::string(kOrders) + ",2020-01-02,o9,Office,3\n");
  EXPECT_HAS(ErrorOf(dir, Spec()), "orders.csv:8: the user id (column 'user') is empty");
  dir.Write("orders.csv", std::string(kOrders) + "b,2020-01-02,o9,Office,three\n");
  EXPECT_HAS(ErrorOf(dir, Spec()), "orders.csv:8: column 'amount' holds 'three', not a number");
  dir.Write("orders.csv", std::string(kOrders) + "b,2020-01-02,o9\n");
  EXPECT_HAS(ErrorOf(dir, Spec()), "orders.csv:8: 3 fields, the header has 5");
  json j = Spec();
  j["sources"]["orders"]["bad_rows"] = "skip";
  Result<FeatureTable> t = Compute(dir, j);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->sources[0].skipped.at("wrong_field_count"), 1u);
}

TEST(FeatureEngineTest, EmptyAmountIsLeftOutAndCounted) {
  TestDir dir;
  dir.Write("orders.csv", std::string(kOrders) + "b,2020-01-04,o9,Office,\n");
  Result<FeatureTable> t = Compute(dir, Spec());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(Value(*t, "lines", "b"), 2);
  EXPECT_EQ(Value(*t, "avg", "b"), 5);
  EXPECT_EQ(t->features[3].missing_values, 1u);
}

TEST(FeatureEngineTest, UnknownColumnNamesEntryAndLists) {
  TestDir dir;
  dir.Write("orders.csv", kOrders);
  json j = Spec();
  j["features"][2]["column"] = "Amount";
  const std::string msg = ErrorOf(dir, j);
  EXPECT_HAS(msg, "spec.json: features[2] 'sales': column 'Amount' is not in source 'orders'");
  EXPECT_HAS(msg, "its columns are: user, date, order, category, amount");
}

TEST(FeatureEngineTest, EmptyWindowIsAnErrorNotZeros) {
  TestDir dir;
  dir.Write("orders.csv", kOrders);
  json j = Spec();
  j["features"][11]["filter"]["value"] = "furniture";  // wrong case: matches nothing
  EXPECT_HAS(ErrorOf(dir, j), "features[11] 'furniture_sales': no event of source 'orders'");
  j = Spec();
  j["label"]["window"] = {{"start_days", 100}, {"end_days", 200}};
  EXPECT_HAS(ErrorOf(dir, j), "label: no event of source 'orders'");
}

TEST(FeatureEngineTest, SessionsFromEndColumnAndFromGaps) {
  TestDir dir;
  dir.Write("s.csv",
            "user,start,end\n"
            "a,2020-01-01 10:00:00,2020-01-01 10:30:00\n"
            "a,2020-01-01 10:40:00,2020-01-01 10:50:00\n"
            "a,2020-01-02 09:00:00,2020-01-02 09:20:00\n"
            "b,2020-01-03 08:00:00,2020-01-03 08:01:00\n");
  json j = json::parse(R"({
    "reference_time": "2020-01-10",
    "sources": {"s": {"path": "s.csv", "user_id": "user", "timestamp": "start",
                      "timestamp_format": "%Y-%m-%d %H:%M:%S"}},
    "features": [
      {"name": "total", "source": "s", "agg": "session_duration", "end_column": "end"},
      {"name": "mean", "source": "s", "agg": "session_duration", "end_column": "end", "stat": "mean"},
      {"name": "gap_total", "source": "s", "agg": "session_duration", "gap_minutes": 30},
      {"name": "gap_count", "source": "s", "agg": "session_duration", "gap_minutes": 30, "stat": "count"}
    ]
  })");
  Result<FeatureTable> t = Compute(dir, j);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_NEAR(Value(*t, "total", "a"), 60, 1e-6);
  EXPECT_NEAR(Value(*t, "mean", "a"), 20, 1e-6);
  // Gaps: 10:00 and 10:40 are one session (40 min apart > 30? no: a new session), so three
  // sessions of length 0 each.
  EXPECT_NEAR(Value(*t, "gap_total", "a"), 0, 1e-6);
  EXPECT_EQ(Value(*t, "gap_count", "a"), 3);
  j["features"][2]["gap_minutes"] = 45;
  j["features"][3]["gap_minutes"] = 45;
  t = Compute(dir, j);
  ASSERT_TRUE(t.ok());
  EXPECT_NEAR(Value(*t, "gap_total", "a"), 40, 1e-6);  // 10:00 -> 10:40
  EXPECT_EQ(Value(*t, "gap_count", "a"), 2);
  EXPECT_TRUE(t->label_name.empty());
}

TEST(FeatureEngineTest, GapSessionsNeedTimeOrder) {
  TestDir dir;
  dir.Write("s.csv", "user,t\na,2020-01-02\na,2020-01-01\n");
  json j = json::parse(R"({
    "reference_time": "2020-01-10",
    "sources": {"s": {"path": "s.csv", "user_id": "user", "timestamp": "t"}},
    "features": [{"name": "g", "source": "s", "agg": "session_duration", "gap_minutes": 30}]
  })");
  EXPECT_HAS(ErrorOf(dir, j), "s.csv:3: spec.json: features[0] 'g': user 'a' has an event earlier");
}

TEST(FeatureEngineTest, Windows1252IdsAndFixedWidthSource) {
  TestDir dir;
  dir.Write("w.txt", " Fran\xE7ois 20200101  1   11.77\r\n Fran\xE7ois 20200105  2   8.23\r\n");
  json j = json::parse(R"({
    "reference_time": "2020-01-10",
    "sources": {"p": {"path": "w.txt", "user_id": "id", "timestamp": "date", "timestamp_format": "%Y%m%d",
                      "delimiter": "whitespace", "header": false, "encoding": "windows-1252",
                      "columns": ["id", "date", "cds", "dollars"]}},
    "features": [{"name": "m", "source": "p", "agg": "sum", "column": "dollars"}]
  })");
  Result<FeatureTable> t = Compute(dir, j);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->ids, (std::vector<std::string>{"Fran\xC3\xA7ois"}));
  EXPECT_NEAR(t->columns[0].numbers[0], 20.0, 1e-9);
  EXPECT_EQ(t->ToCsvTable("x").header, (std::vector<std::string>{"user_id", "m"}));
}

TEST(FeatureEngineTest, LabelFromAnEventColumnMustBeConstantPerUser) {
  TestDir dir;
  dir.Write("orders.csv", "user,date,segment\na,2020-01-01,X\nb,2020-01-02,Y\na,2020-01-03,X\n");
  json j = json::parse(R"({
    "reference_time": "2020-01-10",
    "sources": {"orders": {"path": "orders.csv", "user_id": "user", "timestamp": "date"}},
    "features": [{"name": "n", "source": "orders", "agg": "count"}],
    "label": {"source": "orders", "column": "segment"}
  })");
  Result<FeatureTable> t = Compute(dir, j);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->label_name, "segment");
  EXPECT_EQ(t->labels, (std::vector<std::string>{"X", "Y"}));
  dir.Write("orders.csv", "user,date,segment\na,2020-01-01,X\nb,2020-01-02,Y\na,2020-01-03,Z\n");
  EXPECT_HAS(ErrorOf(dir, j),
             "orders.csv:4: user 'a' has label segment = 'Z' here but 'X' on line 2");
}

TEST(FeatureEngineTest, MissingSourceFile) {
  TestDir dir;
  Result<FeatureTable> t = Compute(dir, Spec());
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().IsNotFound());
  EXPECT_HAS(t.status().message(), "orders.csv: cannot open");
}

}  // namespace
}  // namespace fedseg::features

namespace fedseg::features {
namespace {

// The shipped examples on the bundled real logs; totals from /work/shared/data's SOURCES.md
// (data/README.md): Superstore has 793 customers (Consumer 409, Corporate 236, Home Office 148) and
// 5,009 orders; CDNOW 23,570 customers.
TEST(FeatureEngineTest, ExampleSpecsOnTheBundledLogs) {
  Result<FeatureSpec> spec =
      LoadFeatureSpec(FEDSEG_SOURCE_DIR "/examples/features/superstore.json");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  Result<FeatureTable> t = ComputeFeatures(*spec);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->rows(), 793u);
  std::map<std::string, int> segments;
  for (const std::string& l : t->labels) ++segments[l];
  EXPECT_EQ(segments, (std::map<std::string, int>{
                          {"Consumer", 409}, {"Corporate", 236}, {"Home Office", 148}}));
  double orders = 0, sales = 0;
  for (size_t r = 0; r < t->rows(); ++r) {
    orders += t->columns[0].numbers[r];
    sales += t->columns[2].numbers[r];
  }
  EXPECT_EQ(orders, 5009);
  EXPECT_NEAR(sales, 2297200.8603, 1e-3);

  spec = LoadFeatureSpec(FEDSEG_SOURCE_DIR "/examples/features/cdnow.json");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  t = ComputeFeatures(*spec);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->rows(), 23570u);
  EXPECT_EQ(t->sources[0].rows, 69659u);
}

}  // namespace
}  // namespace fedseg::features
