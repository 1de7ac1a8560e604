#include "common/features/internal/fast_number.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "common/data/csv.h"

namespace fedseg::features::internal {
namespace {

uint64_t Bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// Where the fast path answers, its value must be bit for bit what data::ParseNumber (from_chars)
// gives; where it declines, ParseNumber decides.
void ExpectSame(const std::string& s) {
  double fast = 0, slow = 0;
  if (!FastParseDecimal(s, &fast)) return;
  ASSERT_TRUE(data::ParseNumber(s, &slow)) << s;
  EXPECT_EQ(Bits(fast), Bits(slow)) << s << ": " << fast << " vs " << slow;
}

TEST(FastNumberTest, AgreesBitForBitWithParseNumber) {
  for (const char* s : {"0", "-0", "0.0", "-0.00", "1", "-1", "12.34", "0.1", "0.3", "2.675",
                        "9007199254740.993", "999999999999999", "123456789012345", "0.000000000000001",
                        "1.000000000000000", "00001.50", "-00.10", "4503599627370.497"}) {
    ExpectSame(s);
  }
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200000; ++i) {
    const int int_digits = static_cast<int>(rng() % 9);
    const int frac_digits = static_cast<int>(rng() % 9);
    std::string s = rng() % 4 == 0 ? "-" : "";
    s += std::to_string(rng() % 10);
    for (int d = 0; d < int_digits; ++d) s += static_cast<char>('0' + rng() % 10);
    if (frac_digits > 0) {
      s += '.';
      for (int d = 0; d < frac_digits; ++d) s += static_cast<char>('0' + rng() % 10);
    }
    ExpectSame(s);
  }
}

TEST(FastNumberTest, DeclinesWhatItCannotProve) {
  double v = 0;
  for (const char* s : {"", "-", ".5", "5.", "+1", " 1", "1 ", "1e5", "1E5", "inf", "nan", "0x10",
                        "1,5", "1234567890123456", "0.1234567890123456", "--1", "1.2.3"}) {
    EXPECT_FALSE(FastParseDecimal(s, &v)) << s;
  }
  EXPECT_TRUE(FastParseDecimal("-12.5", &v));
  EXPECT_EQ(v, -12.5);
}

}  // namespace
}  // namespace fedseg::features::internal
