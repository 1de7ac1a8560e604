#include "coordinator/report/html_chart.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/coordinator/report/report_fixture.h"

namespace fedseg::coordinator {
namespace {

using fedseg::testing::AttributeNear;
using fedseg::testing::CountOccurrences;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(HtmlChartTest, EscapesMarkupQuotesAndControls) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">O'Neil & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape(std::string("a\0b\x1b[31mc\td\n", 12)), "ab[31mc\td\n");
  EXPECT_EQ(HtmlEscape("\u03b5 r\u00e9gion"), "\u03b5 r\u00e9gion");  // UTF-8 untouched
}

TEST(HtmlChartTest, FormatsNumbers) {
  EXPECT_EQ(FormatNumber(0.83196, 4), "0.8320");
  EXPECT_EQ(FormatNumber(12330.5, 1), "12,330.5");
  EXPECT_EQ(FormatNumber(-1234567, 0), "-1,234,567");
  EXPECT_EQ(FormatNumber(-0.00001, 3), "0.000");
  EXPECT_EQ(FormatNumber(kNaN, 2), "\u2013");
  EXPECT_EQ(FormatNumber(std::numeric_limits<double>::infinity(), 2), "\u2013");
  EXPECT_EQ(FormatCount(2466), "2,466");
  EXPECT_EQ(FormatNumber(1e308, 2), "1e+308");
}

TEST(HtmlChartTest, NiceTicksCoverTheRangeWithRoundSteps) {
  Ticks t = NiceTicks(0.62, 0.83, 5, false);
  EXPECT_DOUBLE_EQ(t.step, 0.05);
  EXPECT_LE(t.values.front(), 0.62);
  EXPECT_GE(t.values.back(), 0.83);
  EXPECT_EQ(t.decimals, 2);
  Ticks r = NiceTicks(0, 5, 8, true);
  EXPECT_DOUBLE_EQ(r.step, 1);
  EXPECT_EQ(r.values.size(), 6u);
  Ticks flat = NiceTicks(3, 3, 5, false);  // a constant series still gets an axis
  EXPECT_LT(flat.values.front(), 3);
  EXPECT_GT(flat.values.back(), 3);
  Ticks bad = NiceTicks(kNaN, 1, 5, false);
  EXPECT_FALSE(bad.values.empty());
}

TEST(HtmlChartTest, DrawsOneGroupPerSeriesWithItsPoints) {
  LineChart c;
  c.title = "t";
  c.x_label = "round";
  c.y_label = "v";
  c.series.push_back({"a", {{0, 1}, {1, 2}, {2, 3}}, PaletteColor(0)});
  c.series.push_back({"b", {{0, 2}, {1, kNaN}, {2, 1}, {3, 0.5}}, PaletteColor(1)});
  c.marks.push_back({"declined round", {{3, 3}}});
  const std::string svg = RenderLineChart(c);
  EXPECT_EQ(svg.rfind("<svg class=\"plot\"", 0), 0u);
  EXPECT_EQ(AttributeNear(svg, "<svg", "data-series"), "2");
  EXPECT_EQ(AttributeNear(svg, "<svg", "data-points"), "6");
  EXPECT_EQ(AttributeNear(svg, "data-name=\"a\"", "data-points"), "3");
  EXPECT_EQ(AttributeNear(svg, "data-name=\"b\"", "data-points"), "3");
  // b has a gap at x = 1: its line is drawn as one polyline (x 2..3) and a lone marker at 0.
  EXPECT_EQ(CountOccurrences(svg, "<polyline"), 2u);
  EXPECT_EQ(CountOccurrences(svg, "<circle"), 6u);
  EXPECT_NE(svg.find("class=\"marks\""), std::string::npos);
  EXPECT_NE(svg.find(">round</text>"), std::string::npos);  // axis titles
  EXPECT_NE(svg.find(">v</text>"), std::string::npos);
  EXPECT_NE(svg.find(">declined round</text>"), std::string::npos);  // legend
}

TEST(HtmlChartTest, NothingToDrawGivesNoSvg) {
  LineChart c;
  EXPECT_EQ(RenderLineChart(c), "");
  c.series.push_back({"empty", {{0, kNaN}}, PaletteColor(0)});
  EXPECT_EQ(RenderLineChart(c), "");
}

TEST(HtmlChartTest, LongLegendsWrapInsteadOfOverflowing) {
  LineChart c;
  for (int i = 0; i < 12; ++i) {
    c.series.push_back(
        {"a rather long region name " + std::to_string(i), {{0, 1.0 * i}}, PaletteColor(i)});
  }
  const std::string svg = RenderLineChart(c);
  ASSERT_FALSE(svg.empty());
  // Every legend label starts inside the 640-unit-wide canvas.
  size_t pos = svg.find("<g class=\"legend\">");
  ASSERT_NE(pos, std::string::npos);
  int labels = 0;
  while ((pos = svg.find("<text x=\"", pos)) != std::string::npos) {
    pos += 9;
    EXPECT_LT(std::stod(svg.substr(pos)), 640.0);
    ++labels;
  }
  EXPECT_EQ(labels, 12);
  // The canvas grows by the extra legend rows instead of squeezing the plot.
  const std::string view_box = AttributeNear(svg, "<svg", "viewBox");
  EXPECT_GT(std::stod(view_box.substr(view_box.rfind(' ') + 1)), 300.0) << view_box;
}

}  // namespace
}  // namespace fedseg::coordinator
