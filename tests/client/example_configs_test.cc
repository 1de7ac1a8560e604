// The example configs in examples/ are parsed and validated here, so they cannot go stale.
#include <gtest/gtest.h>

#include "client/region_config.h"
#include "coordinator/config.h"

namespace fedseg {
namespace {

TEST(ExampleConfigsTest, CoordinatorExampleIsValid) {
  auto c = coordinator::LoadCoordinatorConfig(FEDSEG_SOURCE_DIR "/examples/coordinator.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->regions.size(), 9u);
  EXPECT_EQ(c->data.label, "Revenue");
  EXPECT_EQ(c->rounds, 30);
  EXPECT_EQ(c->hidden, (std::vector<int>{64, 32}));
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
