// The status endpoint's renderings (without a network) and its config section.
#include "coordinator/status/status_snapshot.h"

#include <gtest/gtest.h>

#include <cmath>

#include "coordinator/config.h"

namespace fedseg::coordinator {
namespace {

StatusSnapshot Example() {
  StatusSnapshot s;
  s.run_id = "run-1";
  s.phase = "round";
  s.round = 3;
  s.rounds_total = 10;
  s.completed_rounds = 2;
  s.min_regions = 2;
  s.updates_received = 1;
  s.round_seconds = {0.5, 3.0};
  s.last_round_seconds = 3.0;
  s.bytes_received = 12345;
  s.evaluated_round = 2;
  s.last_evaluation.rows = 100;
  s.last_evaluation.loss = 0.25;
  s.last_evaluation.roc_auc = NAN;  // one class only: not computable
  s.last_evaluation.accuracy = 0.9;
  RegionStatus a;
  a.name = "eu-west";
  a.connected = a.selected = a.replied = true;
  a.epsilon_spent = 0.5;
  a.epsilon_budget = 2;
  RegionStatus b;
  b.updates_refused = 3;
  b.last_refused_round = 2;
  b.name = "odd\"name\\with\nnewline";
  s.regions = {a, b};
  s.refused = {{"unknown region", 2}};
  return s;
}

TEST(StatusSnapshotTest, JsonHasTheRunState) {
  const nlohmann::json j = StatusJson(Example());
  EXPECT_EQ(j["phase"], "round");
  EXPECT_EQ(j["status"], "running") << "the status word of report.json and --json";
  EXPECT_EQ(j["round"], 3);
  EXPECT_EQ(j["completed_rounds"], 2);
  EXPECT_EQ(j["connected_regions"], nlohmann::json({"eu-west"}));
  EXPECT_EQ(j["selected_regions"], nlohmann::json({"eu-west"}));
  EXPECT_EQ(j["regions"]["eu-west"]["epsilon_spent"], 0.5);
  EXPECT_EQ(j["regions"]["eu-west"]["epsilon_budget"], 2.0);
  EXPECT_EQ(j["last_metrics"]["loss"], 0.25);
  EXPECT_EQ(j["last_metrics"]["model_round"], 2);
  EXPECT_EQ(j["last_metrics"]["rows"], 100);
  EXPECT_TRUE(j["last_metrics"]["roc_auc"].is_null());
  EXPECT_FALSE(j["last_metrics"].contains("train_loss"));
  EXPECT_EQ(j["refused_connections"]["unknown region"], 2);
  EXPECT_EQ(j["regions"]["eu-west"]["updates_refused"], 0);
  EXPECT_EQ(j["regions"]["odd\"name\\with\nnewline"]["updates_refused"], 3);
  EXPECT_EQ(j["regions"]["odd\"name\\with\nnewline"]["last_refused_round"], 2);
}

TEST(StatusSnapshotTest, PrometheusTextHasTypedFamiliesAndEscapedLabels) {
  const std::string t = PrometheusText(Example(), {{"no client certificate", 4}});
  EXPECT_NE(
      t.find("# TYPE fedseg_rounds_completed_total counter\nfedseg_rounds_completed_total 2\n"),
      std::string::npos)
      << t;
  EXPECT_NE(t.find("fedseg_phase{phase=\"round\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("fedseg_phase{phase=\"joining\"} 0\n"), std::string::npos);
  // Histogram: cumulative buckets, +Inf equals the count.
  EXPECT_NE(t.find("fedseg_round_duration_seconds_bucket{le=\"0.5\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("fedseg_round_duration_seconds_bucket{le=\"5\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("fedseg_round_duration_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("fedseg_round_duration_seconds_sum 3.5\n"), std::string::npos);
  EXPECT_NE(t.find("fedseg_bytes_received_total 12345\n"), std::string::npos);
  EXPECT_NE(t.find("fedseg_region_epsilon{region=\"eu-west\"} 0.5\n"), std::string::npos);
  EXPECT_NE(t.find("fedseg_region_epsilon{region=\"odd\\\"name\\\\with\\nnewline\"} 0\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("# TYPE fedseg_region_updates_refused_total counter\n"
                   "fedseg_region_updates_refused_total{region=\"eu-west\"} 0\n"
                   "fedseg_region_updates_refused_total{region=\"odd\\\"name\\\\with\\nnewline\"} 3\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("fedseg_model_loss 0.25\n"), std::string::npos);
  EXPECT_EQ(t.find("fedseg_model_roc_auc"), std::string::npos);  // null: not exported
  EXPECT_NE(t.find("fedseg_refused_connections_total{listener=\"federation\",reason=\"unknown "
                   "region\"} 2\n"),
            std::string::npos);
  EXPECT_NE(t.find("fedseg_refused_connections_total{listener=\"status\",reason=\"no client "
                   "certificate\"} 4\n"),
            std::string::npos);
  EXPECT_EQ(t.back(), '\n');
}

TEST(StatusSnapshotTest, EscapesLabelValues) {
  EXPECT_EQ(EscapePrometheusLabel("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapePrometheusLabel("plain"), "plain");
}

TEST(StatusConfigTest, OffByDefaultOnLocalhostAndValidated) {
  nlohmann::json j = nlohmann::json::parse(
      R"({"tls": {"ca": "a", "cert": "b", "key": "c"}, "regions": ["r"], "data": {"label": "y"},
          "federation": {"min_regions": 1}})");
  auto c = CoordinatorConfigFromJson(j, "c.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->status.enabled);
  EXPECT_EQ(c->status.listen, "127.0.0.1");
  EXPECT_EQ(c->status.port, 9443);
  EXPECT_TRUE(c->status.require_client_cert);

  j["status"] = {{"enabled", true}, {"listen", "::1"}, {"port", 0}, {"require_client_cert", false}};
  c = CoordinatorConfigFromJson(j, "c.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->status.enabled);
  EXPECT_EQ(c->status.listen, "::1");
  EXPECT_FALSE(c->status.require_client_cert);

  auto error = [&](const nlohmann::json& status) {
    j["status"] = status;
    auto r = CoordinatorConfigFromJson(j, "c.json");
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(error({{"listen", "localhost"}}).find("c.json: status.listen must be an IP address"),
            std::string::npos);
  EXPECT_NE(error({{"port", 70000}}).find("status.port must be in [0, 65535]"), std::string::npos);
  EXPECT_NE(error({{"enabled", true}, {"port", 7443}}).find("must differ from listen.port"),
            std::string::npos);
  EXPECT_NE(error({{"max_connections", 0}}).find("status.max_connections"), std::string::npos);
  EXPECT_NE(error({{"enabeld", true}}).find("unknown field 'status.enabeld'"), std::string::npos);
  EXPECT_NE(error({{"enabled", "yes"}}).find("'status.enabled' has the wrong type"),
            std::string::npos);
}

TEST(StatusSnapshotTest, LastMetricsIsNullBeforeAnyEvaluationOrTraining) {
  StatusSnapshot s;
  EXPECT_TRUE(LastMetricsJson(s).is_null());
  EXPECT_TRUE(StatusJson(s)["last_metrics"].is_null());
  EXPECT_EQ(PrometheusText(s, {}).find("fedseg_model_"), std::string::npos);
}

TEST(StatusSnapshotTest, TrainLossWithoutAnEvaluationIsTheOnlyMetric) {
  StatusSnapshot s;
  s.train_loss = 0.5;
  EXPECT_EQ(LastMetricsJson(s), nlohmann::json({{"train_loss", 0.5}}));
  s.train_loss = NAN;
  EXPECT_EQ(LastMetricsJson(s), nlohmann::json({{"train_loss", nullptr}}));
  EXPECT_EQ(PrometheusText(s, {}).find("fedseg_train_loss"), std::string::npos);
}

TEST(StatusSnapshotTest, TrainLossJoinsTheEvaluation) {
  StatusSnapshot s = Example();
  s.train_loss = 0.125;
  const nlohmann::json m = LastMetricsJson(s);
  EXPECT_EQ(m["train_loss"], 0.125);
  EXPECT_EQ(m["model_round"], 2);
  EXPECT_NE(PrometheusText(s, {}).find("fedseg_train_loss 0.125\n"), std::string::npos);
}

}  // namespace
}  // namespace fedseg::coordinator
