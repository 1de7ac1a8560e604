#include "common/features/feature_table.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

namespace fedseg::features {
namespace {

std::string ToChars(double v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  EXPECT_EQ(ec, std::errc());
  return std::string(buf, p);
}

// ToCsv writes small whole numbers without to_chars; every cell must still be exactly what
// to_chars writes (the shortest round-trip form), and NaN an empty cell.
TEST(FeatureTableTest, NumbersAreWrittenAsToCharsWrites) {
  std::vector<double> values;
  for (int i = -10050; i <= 10050; ++i) values.push_back(i);
  for (double v : {-0.0, 0.5, -0.5, 9999.5, -9999.5, 1e5, 1e15, 123456789.0, 1e-7, 0.1, 2.5e-300,
                   std::numeric_limits<double>::max(), std::nextafter(10000.0, 0.0),
                   std::nextafter(1.0, 2.0)}) {
    values.push_back(v);
  }
  FeatureTable t;
  t.id_column = "id";
  FeatureColumn c;
  c.name = "x";
  for (size_t i = 0; i < values.size(); ++i) {
    t.ids.push_back("u" + std::to_string(i));
    c.numbers.push_back(values[i]);
  }
  t.ids.push_back("missing");
  c.numbers.push_back(std::numeric_limits<double>::quiet_NaN());
  t.columns.push_back(c);
  std::istringstream in(t.ToCsv());
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "id,x");
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_TRUE(std::getline(in, line));
    EXPECT_EQ(line, "u" + std::to_string(i) + "," + ToChars(values[i])) << values[i];
  }
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "missing,");
  EXPECT_FALSE(std::getline(in, line));
  const data::CsvTable table = t.ToCsvTable("x.csv");
  ASSERT_EQ(table.rows.size(), values.size() + 1);
  EXPECT_EQ(table.rows[5][1], ToChars(values[5]));
}

}  // namespace
}  // namespace fedseg::features
