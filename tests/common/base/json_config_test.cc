#include "common/base/json_config.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
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

struct Demo {
  int rounds = 30;
  std::string host = "127.0.0.1";
  std::vector<int> hidden = {64, 32};
  double rate = 0.001;
  std::string label;
  bool dp = false;
};

std::vector<ConfigField<Demo>> DemoFields() {
  return {
      Field<Demo>("label", [](auto& d) -> auto& { return d.label; }, "the label", "required"),
      Field<Demo>("listen.host", [](auto& d) -> auto& { return d.host; }, "where"),
      Field<Demo>("training.rounds", [](auto& d) -> auto& { return d.rounds; }, "how many"),
      Field<Demo>("training.rate", [](auto& d) -> auto& { return d.rate; }, "how fast"),
      Field<Demo>("model.hidden", [](auto& d) -> auto& { return d.hidden; }, "widths"),
      Field<Demo>("dp", [](auto& d) -> auto& { return d.dp; }, "private"),
  };
}

TEST(JsonConfigFieldTest, ReadsWritesAndDocumentsEachDeclaredField) {
  const json j = json::parse(R"({"label": "y", "training": {"rounds": 5},
                                 "model": {"hidden": [8]}, "dp": true})");
  Demo d;
  ASSERT_TRUE(ReadConfigFields(j, "c.json", DemoFields(), &d).ok());
  EXPECT_EQ(d.label, "y");
  EXPECT_EQ(d.rounds, 5);
  EXPECT_EQ(d.rate, 0.001);  // absent: the default stays
  EXPECT_EQ(d.hidden, std::vector<int>{8});
  EXPECT_TRUE(d.dp);
  EXPECT_EQ(WriteConfigFields(DemoFields(), d),
            json::parse(R"({"label": "y", "listen": {"host": "127.0.0.1"},
                            "training": {"rounds": 5, "rate": 0.001}, "model": {"hidden": [8]},
                            "dp": true})"));
  EXPECT_EQ(ConfigFieldDocRows(DemoFields()),
            (std::vector<std::string>{"| `label` | required | the label |",
                                      "| `listen.host` | `127.0.0.1` | where |",
                                      "| `training.rounds` | `30` | how many |",
                                      "| `training.rate` | `0.001` | how fast |",
                                      "| `model.hidden` | `[64, 32]` | widths |",
                                      "| `dp` | `false` | private |"}));
}

TEST(JsonConfigFieldTest, UnknownFieldsAndWrongTypesNameTheirPathAndTheFirstErrorWins) {
  Demo d;
  Status st = ReadConfigFields(json::parse(R"({"training": {"roundz": 5}})"), "c.json",
                               DemoFields(), &d);
  EXPECT_EQ(st.message(), "c.json: unknown field 'training.roundz'");
  st = ReadConfigFields(json::parse(R"({"extra": 1})"), "c.json", DemoFields(), &d);
  EXPECT_EQ(st.message(), "c.json: unknown field 'extra'");
  st = ReadConfigFields(json::parse(R"({"model": 3})"), "c.json", DemoFields(), &d);
  EXPECT_EQ(st.message(), "c.json: field 'model' must be an object");
  // Both wrong: the field read first (table order) is reported.
  st = ReadConfigFields(json::parse(R"({"dp": 1, "listen": {"host": 7}, "training": {"x": 0}})"),
                        "c.json", DemoFields(), &d);
  EXPECT_EQ(st.message(), "c.json: field 'listen.host' has the wrong type (7)");
  st = ReadConfigFields(json::parse(R"({"training": {"rounds": 1e10}})"), "c.json", DemoFields(),
                        &d);
  EXPECT_EQ(st.message(),
            "c.json: field 'training.rounds' is out of range for an integer (10000000000.0)");
}

TEST(JsonConfigFieldTest, FormatsDefaultsAsTheDocsShowThem) {
  EXPECT_EQ(FormatConfigDefault(json(1.0)), "`1`");
  EXPECT_EQ(FormatConfigDefault(json(300.0)), "`300`");
  EXPECT_EQ(FormatConfigDefault(json(0.99)), "`0.99`");
  EXPECT_EQ(FormatConfigDefault(json(268435456u)), "`268435456`");
  EXPECT_EQ(FormatConfigDefault(json(-3)), "`-3`");
  EXPECT_EQ(FormatConfigDefault(json("adam")), "`adam`");
  EXPECT_EQ(FormatConfigDefault(json(true)), "`true`");
  EXPECT_EQ(FormatConfigDefault(json::array({64, 32})), "`[64, 32]`");
  EXPECT_EQ(FormatConfigDefault(json::object()), "`{}`");
  EXPECT_EQ(internal::SplitFieldPath("a.b"), (std::pair<std::string, std::string>{"a", "b"}));
  EXPECT_EQ(internal::SplitFieldPath("a"), (std::pair<std::string, std::string>{"", "a"}));
}

}  // namespace
}  // namespace fedseg
