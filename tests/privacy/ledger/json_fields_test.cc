// The typed JSON readers and character checks behind the ledger's entry parser.
#include "privacy/ledger/internal/json_fields.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace fedseg::privacy::internal {
namespace {

using json = nlohmann::json;

TEST(LedgerJsonFieldsTest, Numbers) {
  const json j = {{"a", 1.5}, {"b", 3}, {"s", "x"}};
  EXPECT_EQ(*GetNumber(j, "a", "p."), 1.5);
  EXPECT_EQ(*GetNumber(j, "b", "p."), 3.0);
  EXPECT_EQ(GetNumber(j, "s", "p.").status().message(), "p.s must be a number, got \"x\"");
  EXPECT_EQ(GetNumber(j, "z", "p.").status().message(), "p.z is missing");
}

TEST(LedgerJsonFieldsTest, Integers) {
  const json j = {{"i", -7}, {"f", 1e3}, {"half", 2.5}, {"big", 18446744073709551615u}};
  EXPECT_EQ(*GetInteger(j, "i", ""), -7);
  EXPECT_EQ(*GetInteger(j, "f", ""), 1000);  // an integral float is accepted
  EXPECT_EQ(GetInteger(j, "half", "").status().message(), "half must be an integer, got 2.5");
  EXPECT_EQ(GetInteger(j, "big", "").status().message(),
            "big must be an integer, got 18446744073709551615");
}

TEST(LedgerJsonFieldsTest, StringsAndKeys) {
  const json j = {{"s", "text"}, {"n", 1}};
  EXPECT_EQ(*GetString(j, "s", ""), "text");
  EXPECT_EQ(GetString(j, "n", "").status().message(), "n must be a string, got 1");
  EXPECT_TRUE(CheckKeys(j, {"s"}, {"n"}, "").ok());
  EXPECT_EQ(CheckKeys(j, {"s", "t"}, {"n"}, "x.").message(), "x.t is missing");
  EXPECT_EQ(CheckKeys(j, {"s"}, {}, "x.").message(), "unknown field 'x.n'");
}

TEST(LedgerJsonFieldsTest, ShowIsShortAndNeverThrows) {
  EXPECT_EQ(Show(json("abc")), "\"abc\"");
  const std::string shown = Show(json(std::string(200, 'x')));
  EXPECT_EQ(shown.size(), 80u);
  EXPECT_EQ(shown.substr(77), "...");
  EXPECT_NO_THROW(Show(json(std::string("\xff\xfe"))));
}

TEST(LedgerJsonFieldsTest, CharacterChecks) {
  EXPECT_TRUE(IsLowerHex64(std::string(64, 'a')));
  EXPECT_FALSE(IsLowerHex64(std::string(64, 'A')));
  EXPECT_FALSE(IsLowerHex64(std::string(63, 'a')));
  EXPECT_TRUE(IsPrintableAscii(" ~"));
  EXPECT_FALSE(IsPrintableAscii("\x7f"));
  EXPECT_TRUE(IsIsoUtcTime("2024-02-29T23:59:60Z"));
  EXPECT_FALSE(IsIsoUtcTime("2024-02-29 23:59:59Z"));
  EXPECT_FALSE(IsIsoUtcTime("2024-00-10T00:00:00Z"));
  EXPECT_FALSE(IsIsoUtcTime("2024-01-32T00:00:00Z"));
  EXPECT_FALSE(IsIsoUtcTime("2024-01-01T24:00:00Z"));
  EXPECT_FALSE(IsIsoUtcTime("2024-01-01T00:00:00"));
}

}  // namespace
}  // namespace fedseg::privacy::internal
