#include "client/features_command.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace fedseg::client {
namespace {

using nlohmann::json;

TEST(FeaturesCommandTest, DefinitionIgnoresSourcesOnly) {
  const json a =
      json::parse(R"({"reference_time": "2020-01-01", "sources": {"o": {"path": "a.csv"}},
                                 "features": [{"name": "n", "agg": "count"}]})");
  json b = a;
  b["sources"]["o"]["path"] = "/elsewhere/b.csv";
  EXPECT_TRUE(CheckSameDefinition(a, b, "the model").ok());
  b["features"][0]["agg"] = "sum";
  const Status st = CheckSameDefinition(a, b, "the model");
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_EQ(st.message(),
            "the feature spec's features[0] 'n' differs from the model's; every region must "
            "compute the same features");
  b = a;
  b["reference_time"] = "2021-01-01";
  EXPECT_EQ(CheckSameDefinition(a, b, "the model").message(),
            "the feature spec's 'reference_time' differs from the model's");
}

TEST(FeaturesCommandTest, SpecLoadsLikeItsCsv) {
  const std::string path = FEDSEG_SOURCE_DIR "/examples/features/superstore.json";
  json spec;
  Result<data::RawDataset> d = LoadSpecDataset(path, data::LoadOptions{}, /*quiet=*/true, &spec);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->num_rows(), 793u);
  EXPECT_EQ(d->label_name, "Segment");
  EXPECT_EQ(d->id_name, "customer_id");
  EXPECT_EQ(d->features.size(), 15u);
  EXPECT_EQ(d->features[0].name, "order_count");
  EXPECT_EQ(spec["reference_time"], "2018-01-01");
}

TEST(FeaturesCommandTest, BadSpecIsAnErrorNotACrash) {
  const std::string dir = std::filesystem::temp_directory_path() / "fedseg_features_command_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/spec.json") << R"({"reference_time": "2020-01-01",
    "sources": {"o": {"path": "missing.csv", "user_id": "u", "timestamp": "t"}},
    "features": [{"name": "n", "source": "o", "agg": "count"}]})";
  Result<data::RawDataset> d = LoadSpecDataset(dir + "/spec.json", data::LoadOptions{}, true);
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(d.status().IsNotFound()) << d.status().ToString();
  EXPECT_NE(d.status().message().find("missing.csv: cannot open"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fedseg::client
