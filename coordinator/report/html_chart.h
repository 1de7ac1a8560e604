// Building blocks of the run report (report_html.h): HTML escaping, number formatting, and line
// charts drawn as inline SVG, so the page needs no script, font or file from anywhere else.
//
// A chart is a value (LineChart) rendered by a pure function; the SVG it returns carries
// machine-readable attributes (class="plot", data-series, and per series data-name and data-points)
// that the tests and the page's self-check read instead of parsing geometry.
#ifndef FEDSEG_COORDINATOR_REPORT_HTML_CHART_H_
#define FEDSEG_COORDINATOR_REPORT_HTML_CHART_H_

#include <string>
#include <string_view>
#include <vector>

namespace fedseg::coordinator {

// Escapes text for HTML element content and for double- or single-quoted attribute values:
// & < > " ' become entities; other control characters except tab and newline are dropped.
std::string HtmlEscape(std::string_view text);

// A finite number with `decimals` digits after the point and thousands separators ("12,330.5");
// "–" (an en dash) for NaN and infinities.
std::string FormatNumber(double value, int decimals);

// "1,234" for an integer count.
std::string FormatCount(double value);

// Tick positions covering [lo, hi] with a step of 1, 2 or 5 times a power of ten, aiming at
// about `target` ticks; the first tick is <= lo and the last >= hi. `integer` forces whole steps.
struct Ticks {
  std::vector<double> values;
  double step = 1;
  int decimals = 0;  // digits needed to print every tick exactly
};
Ticks NiceTicks(double lo, double hi, int target, bool integer);

struct ChartPoint {
  double x = 0, y = 0;
};

struct ChartSeries {
  std::string name;                // legend text (escaped on output)
  std::vector<ChartPoint> points;  // in x order; a NaN y breaks the line and draws no marker
  std::string color = "#1f77b4";
  bool dashed = false;  // e.g. a budget line
  bool markers = true;  // a circle (with a tooltip) at every point
};

// Points drawn as a cross, e.g. the rounds a region declined.
struct ChartMarks {
  std::string name;  // legend text
  std::vector<ChartPoint> points;
  std::string color = "#d62728";
};

struct LineChart {
  std::string title;    // aria-label and <title> of the SVG
  std::string x_label;  // axis titles
  std::string y_label;
  std::vector<ChartSeries> series;
  std::vector<ChartMarks> marks;
  bool integer_x = true;  // rounds
  bool y_from_zero = false;
  int y_decimals = -1;  // digits in tooltips; -1 = from the tick step, plus two
  int width = 640, height = 300;
};

// Number of points with a finite y over all series.
size_t CountPoints(const LineChart& chart);

// <svg class="plot" ...> with axes, ticks, grid lines, axis titles, a legend and one polyline per
// series. Returns an empty string when no series has a finite point (callers say what is missing).
std::string RenderLineChart(const LineChart& chart);

// The palette lines cycle through (colour-blind friendly, readable on white and in print).
const std::string& PaletteColor(size_t i);

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_REPORT_HTML_CHART_H_
