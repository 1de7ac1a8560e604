#include "common/data/timestamp.h"

#include <gtest/gtest.h>

namespace fedseg::data {
namespace {

TEST(TimestampTest, DaysFromCivilKnownDates) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(1997, 1, 1), 9862);
}

TEST(TimestampTest, ParsesFormats) {
  double d = 0;
  ASSERT_TRUE(ParseTimestamp("11/8/2016", "%m/%d/%Y", &d));
  EXPECT_EQ(d, DaysFromCivil(2016, 11, 8));
  ASSERT_TRUE(ParseTimestamp("19970101", "%Y%m%d", &d));
  EXPECT_EQ(d, DaysFromCivil(1997, 1, 1));
  ASSERT_TRUE(ParseTimestamp(" 2020-01-02 06:00:00 ", "%Y-%m-%d %H:%M:%S", &d));
  EXPECT_DOUBLE_EQ(d, DaysFromCivil(2020, 1, 2) + 0.25);
  ASSERT_TRUE(ParseTimestamp("86400", "unix", &d));
  EXPECT_EQ(d, 1.0);
  ASSERT_TRUE(ParseTimestamp("2020-02-29", "%Y-%m-%d", &d));
}

TEST(TimestampTest, RejectsWhatDoesNotMatch) {
  double d = 0;
  EXPECT_FALSE(ParseTimestamp("2019-02-29", "%Y-%m-%d", &d));  // not a leap year
  EXPECT_FALSE(ParseTimestamp("2019-13-01", "%Y-%m-%d", &d));
  EXPECT_FALSE(ParseTimestamp("2019-01-01x", "%Y-%m-%d", &d));
  EXPECT_FALSE(ParseTimestamp("19-01-01", "%Y-%m-%d", &d));
  EXPECT_FALSE(ParseTimestamp("", "%Y-%m-%d", &d));
  EXPECT_FALSE(ParseTimestamp("2019-01-01 24:00:00", "%Y-%m-%d %H:%M:%S", &d));
  EXPECT_FALSE(ParseTimestamp("abc", "unix", &d));
}

TEST(TimestampTest, ValidatesFormats) {
  EXPECT_TRUE(ValidateTimestampFormat("%Y-%m-%d").ok());
  EXPECT_TRUE(ValidateTimestampFormat("unix").ok());
  const Status st = ValidateTimestampFormat("%Y-%q");
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("unknown conversion at position 4"), std::string::npos)
      << st.message();
  EXPECT_FALSE(ValidateTimestampFormat("%").ok());
  EXPECT_FALSE(ValidateTimestampFormat("").ok());
}

TEST(TimestampTest, ReferenceTime) {
  double d = 0;
  ASSERT_TRUE(ParseReferenceTime("2017-12-31", &d));
  EXPECT_EQ(d, DaysFromCivil(2017, 12, 31));
  ASSERT_TRUE(ParseReferenceTime("2017-12-31 12:00:00", &d));
  EXPECT_EQ(d, DaysFromCivil(2017, 12, 31) + 0.5);
  EXPECT_FALSE(ParseReferenceTime("31/12/2017", &d));
}

TEST(TimestampTest, CivilFromDaysInvertsDaysFromCivilOverFourCenturies) {
  // Every day from 1800-01-01 to 2200-12-31, walked by the calendar independently of the formula.
  int64_t z = DaysFromCivil(1800, 1, 1);
  for (int64_t y = 1800; y <= 2200; ++y) {
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    const unsigned days_in[12] = {31, leap ? 29u : 28u, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (unsigned m = 1; m <= 12; ++m) {
      for (unsigned d = 1; d <= days_in[m - 1]; ++d, ++z) {
        const CivilDate c = CivilFromDays(z);
        ASSERT_EQ(c.year, y) << z;
        ASSERT_EQ(c.month, m) << z;
        ASSERT_EQ(c.day, d) << z;
      }
    }
  }
}

TEST(TimestampTest, WeekdaysOfKnownDates) {
  EXPECT_EQ(WeekdayFromDays(0), 3u);                            // 1970-01-01, a Thursday
  EXPECT_EQ(WeekdayFromDays(DaysFromCivil(2000, 1, 1)), 5u);    // a Saturday
  EXPECT_EQ(WeekdayFromDays(DaysFromCivil(2016, 11, 8)), 1u);   // a Tuesday
  EXPECT_EQ(WeekdayFromDays(DaysFromCivil(1969, 12, 29)), 0u);  // a Monday, before the epoch
  EXPECT_EQ(WeekdayFromDays(DaysFromCivil(1900, 1, 1)), 0u);    // a Monday
  EXPECT_EQ(WeekdayFromDays(DaysFromCivil(2026, 12, 1)), 1u);   // a Tuesday
}

}  // namespace
}  // namespace fedseg::data
