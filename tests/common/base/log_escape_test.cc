// Tests of EscapeForLog (common/base/log_escape.h): peer-provided text cannot break a log line.
#include "common/base/log_escape.h"

#include <gtest/gtest.h>

#include <string>

namespace fedseg {
namespace {

TEST(LogEscapeTest, PlainTextIsUnchanged) {
  EXPECT_EQ(EscapeForLog("fedseg 0.1.0 (eu-west)"), "fedseg 0.1.0 (eu-west)");
  EXPECT_EQ(EscapeForLog(""), "");
  EXPECT_EQ(EscapeForLog("Zürich-1"), "Zürich-1");  // UTF-8 stays readable
}

TEST(LogEscapeTest, ControlCharactersAndBackslashesAreEscaped) {
  EXPECT_EQ(EscapeForLog("a\nb"), "a\\nb");
  EXPECT_EQ(EscapeForLog("a\r\n[info] region r2 joined"), "a\\r\\n[info] region r2 joined");
  EXPECT_EQ(EscapeForLog("tab\there"), "tab\\there");
  EXPECT_EQ(EscapeForLog("\x1b[2J"), "\\x1b[2J");
  EXPECT_EQ(EscapeForLog(std::string("nul\0byte", 8)), "nul\\x00byte");
  EXPECT_EQ(EscapeForLog("del\x7f"), "del\\x7f");
  // A literal backslash-n in the input stays distinguishable from an escaped newline.
  EXPECT_EQ(EscapeForLog("a\\nb"), "a\\\\nb");
  for (char c : EscapeForLog("\x01\x02\x1f\n\r\t")) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "control byte left in the output";
  }
}

TEST(LogEscapeTest, LongTextIsCutWithItsLength) {
  const std::string big(10'000, 'x');
  EXPECT_EQ(EscapeForLog(big), std::string(256, 'x') + "...(10000 bytes)");
  EXPECT_EQ(EscapeForLog(big, 4), "xxxx...(10000 bytes)");
  EXPECT_EQ(EscapeForLog("abcd", 4), "abcd");
}

}  // namespace
}  // namespace fedseg
