#include "common/features/feature_spec.h"

#include <gtest/gtest.h>

#include "common/data/timestamp.h"

namespace fedseg::features {
namespace {

using nlohmann::json;

json BaseSpec() {
  return json::parse(R"({
    "reference_time": "2020-01-10",
    "id_column": "customer",
    "sources": {"orders": {"path": "orders.csv", "user_id": "user", "timestamp": "date"}},
    "features": [{"name": "n", "source": "orders", "agg": "count"}],
    "label": {"name": "buys", "source": "orders", "window": {"start_days": 0, "end_days": 30}}
  })");
}

std::string ErrorOf(const json& j) {
  Result<FeatureSpec> s = ParseFeatureSpec(j, "spec.json", "/data");
  EXPECT_FALSE(s.ok()) << j.dump();
  return s.ok() ? "" : s.status().message();
}

void ExpectError(const json& j, const std::string& part) {
  const std::string msg = ErrorOf(j);
  EXPECT_NE(msg.find(part), std::string::npos) << "message: " << msg << "\nexpected: " << part;
}

TEST(FeatureSpecTest, ParsesAndResolvesPaths) {
  Result<FeatureSpec> s = ParseFeatureSpec(BaseSpec(), "spec.json", "/data");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->reference_days, data::DaysFromCivil(2020, 1, 10));
  EXPECT_EQ(s->id_column, "customer");
  ASSERT_EQ(s->sources.size(), 1u);
  EXPECT_EQ(s->sources[0].path, "/data/orders.csv");
  ASSERT_EQ(s->features.size(), 1u);
  EXPECT_EQ(s->features[0].agg, Aggregation::kCount);
  EXPECT_EQ(s->features[0].window.end_days, 0.0);
  ASSERT_TRUE(s->features[0].absent.has_value());
  EXPECT_EQ(*s->features[0].absent, 0.0);
  EXPECT_EQ(s->label.kind, LabelSpec::Kind::kWindow);
  EXPECT_EQ(s->label.window.end_days, 30.0);
  EXPECT_EQ(s->json, BaseSpec());
}

TEST(FeatureSpecTest, MeanHasNoDefaultForAbsentUsers) {
  json j = BaseSpec();
  j["features"][0] = {{"name", "m"}, {"source", "orders"}, {"agg", "mean"}, {"column", "amount"}};
  Result<FeatureSpec> s = ParseFeatureSpec(j, "spec.json", "");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_FALSE(s->features[0].absent.has_value());
  j["features"][0]["absent"] = -1;
  s = ParseFeatureSpec(j, "spec.json", "");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s->features[0].absent, -1.0);
}

TEST(FeatureSpecTest, ErrorsNameTheEntry) {
  json j = BaseSpec();
  j["features"][0]["agg"] = "median";
  ExpectError(j, "spec.json: features[0] 'n': agg 'median' is not one of count, distinct_count");

  j = BaseSpec();
  j["features"][0]["colour"] = "x";
  ExpectError(j, "unknown field 'colour'");

  j = BaseSpec();
  j["features"][0]["source"] = "sessions";
  ExpectError(j, "features[0] 'n': source 'sessions' is not declared");

  j = BaseSpec();
  j["features"][0]["agg"] = "sum";
  ExpectError(j, "features[0] 'n': 'column' is required for sum");

  j = BaseSpec();
  j["features"][0]["window"] = {{"start_days", -10}, {"end_days", -20}};
  ExpectError(j, "window start_days must be less than end_days");

  j = BaseSpec();
  j["features"][0]["window"] = {{"end_days", 5}};
  ExpectError(j, "must end at or before the reference time");

  j = BaseSpec();
  j["features"].push_back(j["features"][0]);
  ExpectError(j, "features[1]: name 'n' is already used");

  j = BaseSpec();
  j["features"][0]["filter"] = {{"column", "amount"}, {"op", ">"}, {"value", "big"}};
  ExpectError(j, "filter[0]: op '>' compares numbers");

  j = BaseSpec();
  j["features"][0]["filter"] = {{"column", "amount"}, {"op", "~"}, {"value", 1}};
  ExpectError(j, "op '~' is not one of");

  j = BaseSpec();
  j["sources"]["orders"]["timestamp_format"] = "%Y/%j";
  ExpectError(j, "sources.orders: timestamp format '%Y/%j' has an unknown conversion");

  j = BaseSpec();
  j["sources"]["orders"]["encoding"] = "latin-9";
  ExpectError(j, "encoding 'latin-9'");

  j = BaseSpec();
  j["reference_time"] = "yesterday";
  ExpectError(j, "reference_time 'yesterday'");

  j = BaseSpec();
  j["features"][0]["agg"] = "session_duration";
  ExpectError(j, "exactly one of 'end_column' or 'gap_minutes'");
}

TEST(FeatureSpecTest, LabelWindowMustNotOverlapFeatures) {
  json j = BaseSpec();
  j["features"][0]["window"] = {{"start_days", -30}, {"end_days", 0}};
  j["label"]["window"] = {{"start_days", -1}, {"end_days", 30}};
  ExpectError(j, "label: the label window starts at -1");
  j["label"]["window"] = {{"start_days", 0}, {"end_days", 30}};
  EXPECT_TRUE(ParseFeatureSpec(j, "spec.json", "").ok());
}

TEST(FeatureSpecTest, ProfileLabelNeedsAProfile) {
  json j = BaseSpec();
  j["label"] = {{"column", "Segment"}};
  ExpectError(j, "a label 'column' needs a 'profile'");
  j["sources"]["customers"] = {{"path", "c.csv"}, {"user_id", "user"}};
  j["profile"] = {{"source", "customers"}, {"columns", {"Segment"}}};
  ExpectError(j, "column 'Segment' is also a profile feature");
  j["profile"]["columns"] = {"age"};
  Result<FeatureSpec> s = ParseFeatureSpec(j, "spec.json", "");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->label.kind, LabelSpec::Kind::kProfileColumn);
  EXPECT_EQ(s->label.name, "Segment");
}

TEST(FeatureSpecTest, EventSourceNeedsTimestamp) {
  json j = BaseSpec();
  j["sources"]["orders"].erase("timestamp");
  ExpectError(j, "sources.orders: 'timestamp' is required");
}

}  // namespace
}  // namespace fedseg::features
