#include "common/base/json_config.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fedseg {
namespace {

using nlohmann::json;

// Numbers an integer field cannot hold are refused instead of converted: get<int>() of 1e10 is
// undefined behaviour (found with UBSan by the json_config fuzz target; see
// tests/fuzz/regressions/json_config/), and 70000 in a uint16_t port would wrap silently.
TEST(JsonConfigTest, RefusesIntegersOutOfRange) {
  json j = json::parse(R"({"rounds": 1e10, "port": 70000, "hidden": [64, -1e300],
                           "ok": 1e3, "seed": 18446744073709551615, "half": 2.5})");
  JsonConfigReader r(j, "training.", "c.json");
  int rounds = 7;
  r.Get("rounds", &rounds);
  Status st = r.Finish();
  EXPECT_EQ(rounds, 7);
  EXPECT_EQ(st.message(),
            "c.json: field 'training.rounds' is out of range for an integer (10000000000.0)");

  for (const char* key : {"port", "hidden", "half"}) {
    JsonConfigReader r2(j, "", "c.json");
    uint16_t port = 1;
    std::vector<int> hidden;
    int half = 0;
    if (std::string(key) == "port") r2.Get(key, &port);
    if (std::string(key) == "hidden") r2.Get(key, &hidden);
    if (std::string(key) == "half") r2.Get(key, &half);
    Status s2 = r2.Finish();
    EXPECT_NE(s2.message().find(std::string("field '") + key + "' is out of range"),
              std::string::npos)
        << s2.message();
  }

  JsonConfigReader r3(j, "", "c.json");
  int ok = 0;
  uint64_t seed = 0;
  r3.Get("ok", &ok);
  r3.Get("seed", &seed);
  EXPECT_EQ(ok, 1000);
  EXPECT_EQ(seed, UINT64_MAX);
}

TEST(JsonConfigTest, ParseNamesLineAndColumn) {
  auto r = ParseJsonConfig("{\n  \"a\": 1,\n  oops\n}", "c.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("c.json:3:3: invalid JSON", 0), 0u) << r.status().message();
  EXPECT_TRUE(ParseJsonConfig("// comment\n{\"a\": 1}", "c.json").ok());
  EXPECT_FALSE(ParseJsonConfig("[1]", "c.json").ok());
  // A number beyond a double's range used to escape as an uncaught exception (fuzz finding:
  // tests/fuzz/regressions/json_config/number_overflow_uncaught_exception).
  auto big = ParseJsonConfig(R"({"rounds": 888888E8888})", "c.json");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().message().rfind("c.json: invalid JSON: ", 0), 0u)
      << big.status().message();
  EXPECT_NE(big.status().message().find("number overflow"), std::string::npos);
}

}  // namespace
}  // namespace fedseg
