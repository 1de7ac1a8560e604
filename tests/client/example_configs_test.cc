// The example configs in examples/ are parsed and validated here, so they cannot go stale.
#include <gtest/gtest.h>

#include <fstream>

#include "client/region_config.h"
#include "coordinator/config.h"

namespace fedseg {
namespace {

TEST(ExampleConfigsTest, CoordinatorExampleIsValid) {
  auto c = coordinator::LoadCoordinatorConfig(FEDSEG_SOURCE_DIR "/examples/coordinator.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->regions.size(), 9u);
  EXPECT_EQ(c->data.label, "Revenue");
  EXPECT_EQ(c->rounds(), 30);
  EXPECT_EQ(c->plan.total_rounds, 30);  // the one place the rounds are stored
  EXPECT_EQ(c->hidden, (std::vector<int>{64, 32}));
  EXPECT_FALSE(c->status.enabled);
  EXPECT_EQ(c->status.listen, "127.0.0.1");
  EXPECT_EQ(c->status.port, 9443);
  EXPECT_TRUE(c->status.require_client_cert);
}

TEST(ExampleConfigsTest, RegionExampleIsValid) {
  auto c = client::LoadRegionConfig(FEDSEG_SOURCE_DIR "/examples/region.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->region, "Region-1");
  EXPECT_EQ(c->coordinator_port, 7443);
  EXPECT_DOUBLE_EQ(c->epsilon_budget, 3.0);
}

TEST(ExampleConfigsTest, UnknownFieldsAndBadValuesAreErrorsNamingTheField) {
  nlohmann::json j = nlohmann::json::parse(
      R"({"tls": {"ca": "a", "cert": "b", "key": "c"}, "regions": ["r"], "data": {"label": "y"},
          "federation": {"min_regionz": 2}})");
  auto c = coordinator::CoordinatorConfigFromJson(j, "c.json");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("c.json: unknown field 'federation.min_regionz'"),
            std::string::npos)
      << c.status().message();
  j["federation"] = {{"min_regions", 5}};
  c = coordinator::CoordinatorConfigFromJson(j, "c.json");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("min_regions"), std::string::npos) << c.status().message();
  j["federation"] = {{"min_regions", "two"}};
  c = coordinator::CoordinatorConfigFromJson(j, "c.json");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'federation.min_regions' has the wrong type"),
            std::string::npos)
      << c.status().message();
}

}  // namespace
}  // namespace fedseg

namespace fedseg {
namespace {

TEST(RegionConfigTest, SyntaxErrorsUnknownFieldsAndOverrides) {
  const std::string path = ::testing::TempDir() + "/region_config_test.json";
  std::ofstream(path) << "{\n  \"tls\": {\"ca\": \"a\", \"cert\": \"b\", \"key\": \"c\"},\n  \"data\": {\"train\": \"t.csv\",}\n}\n";
  auto c = client::LoadRegionConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(path + ":3:"), std::string::npos) << c.status().message();

  std::ofstream(path) << R"({"tls": {"ca": "a", "cert": "b", "key": "c"}, "data": {"train": "t.csv",
                           "tset": "x.csv"}})";
  c = client::LoadRegionConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("unknown field 'data.tset'"), std::string::npos)
      << c.status().message();

  std::ofstream(path) << R"({"tls": {"ca": "a", "cert": "b", "key": "c"}, "data": {"train": "t.csv"},
                           "privacy": {"mode": "none"}})";
  c = client::LoadRegionConfig(path, {{"/coordinator/port", 9000}, {"/threads", 2}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->coordinator_port, 9000);
  EXPECT_EQ(c->threads, 2);
  c = client::LoadRegionConfig(path, {{"/threads", "many"}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'threads' has the wrong type"), std::string::npos);
}

}  // namespace
}  // namespace fedseg

namespace fedseg {
namespace {

// Both sides read the dead-peer timeout (TCP keepalive) and refuse values the kernel cannot use.
TEST(DeadPeerTimeoutConfigTest, ReadByBothSidesDefaultsToOneMinuteAndIsValidated) {
  nlohmann::json coord = nlohmann::json::parse(
      R"({"tls": {"ca": "a", "cert": "b", "key": "c"}, "regions": ["r", "s"],
          "data": {"label": "y"}})");
  auto c = coordinator::CoordinatorConfigFromJson(coord, "c.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->dead_peer_timeout_s, 60);
  coord["federation"] = {{"dead_peer_timeout_s", 4}};
  c = coordinator::CoordinatorConfigFromJson(coord, "c.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->dead_peer_timeout_s, 4);
  EXPECT_EQ(c->ToJson()["federation"]["dead_peer_timeout_s"], 4);
  coord["federation"] = {{"dead_peer_timeout_s", 1}};
  c = coordinator::CoordinatorConfigFromJson(coord, "c.json");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("federation.dead_peer_timeout_s: dead-peer timeout must be 0 "
                                      "(off) or in [2, 86400] s, got 1"),
            std::string::npos)
      << c.status().message();

  const std::string path = ::testing::TempDir() + "/dead_peer_region.json";
  std::ofstream(path) << R"({"tls": {"ca": "a", "cert": "b", "key": "c"}, "data": {"train": "t.csv"},
                           "privacy": {"mode": "none"}})";
  auto r = client::LoadRegionConfig(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->dead_peer_timeout_s, 60);
  r = client::LoadRegionConfig(path, {{"/coordinator/dead_peer_timeout_s", 0}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->dead_peer_timeout_s, 0);
  r = client::LoadRegionConfig(path, {{"/coordinator/dead_peer_timeout_s", -5}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("coordinator.dead_peer_timeout_s: dead-peer timeout must be"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace fedseg
