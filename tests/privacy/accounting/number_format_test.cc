#include "privacy/accounting/number_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace fedseg::privacy {
namespace {

TEST(FormatShortestTest, ShortestTextThatReadsBack) {
  EXPECT_EQ(FormatShortest(0.0), "0");
  EXPECT_EQ(FormatShortest(1.0), "1");
  EXPECT_EQ(FormatShortest(1.5), "1.5");
  EXPECT_EQ(FormatShortest(0.1), "0.1");
  EXPECT_EQ(FormatShortest(1e-4), "0.0001");
  EXPECT_EQ(FormatShortest(1e-5), "1e-05");
  EXPECT_EQ(FormatShortest(-2.5e300), "-2.5e+300");
  EXPECT_EQ(FormatShortest(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(FormatShortest(0.1 + 0.2), "0.30000000000000004");  // 17 digits: the longest form
  EXPECT_EQ(FormatShortest(123456789.0), "123456789");
  // Fixed notation when it is no longer than the exponent form %g picks (3e+01).
  EXPECT_EQ(FormatShortest(30.0), "30");
  EXPECT_EQ(FormatShortest(10.0), "10");
  EXPECT_EQ(FormatShortest(1500.0), "1500");
  EXPECT_EQ(FormatShortest(-200.0), "-200");
  EXPECT_EQ(FormatShortest(1e-7), "1e-07");
  EXPECT_EQ(FormatShortest(1e16), "1e+16");
}

TEST(FormatShortestTest, RoundTripsEveryDouble) {
  for (double v : {std::nextafter(1.0, 2.0), std::numeric_limits<double>::min(),
                   std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::max(),
                   -std::numeric_limits<double>::max(), 6.02214076e23, 1e-10 / 7}) {
    const std::string text = FormatShortest(v);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
    EXPECT_LE(text.size(), 24u) << text;
  }
}

TEST(FormatShortestTest, NonFiniteValues) {
  EXPECT_EQ(FormatShortest(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(FormatShortest(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(FormatShortest(std::numeric_limits<double>::quiet_NaN()), "nan");
}

}  // namespace
}  // namespace fedseg::privacy
