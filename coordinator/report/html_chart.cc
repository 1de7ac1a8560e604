#include "coordinator/report/html_chart.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

namespace fedseg::coordinator {
namespace {

// Coordinates in the SVG: one decimal is plenty at these sizes and keeps the page small.
std::string Coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Approximate width of a legend label at font-size 12 in a sans-serif face; only used to wrap the
// legend, so an over-estimate merely wraps earlier.
double TextWidth(std::string_view s) {
  size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;  // count UTF-8 code points
  return 7.0 * static_cast<double>(chars);
}

struct LegendItem {
  std::string name, color;
  bool dashed = false, cross = false;
};

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\t':
      case '\n':
        out += ch;
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F) break;  // controls: dropped
        out += ch;
    }
  }
  return out;
}

std::string FormatNumber(double value, int decimals) {
  if (!std::isfinite(value)) return "\u2013";
  decimals = std::clamp(decimals, 0, 12);
  char buf[64];
  if (std::fabs(value) >= 1e15) {  // beyond any count or metric in a report: keep it short
    std::snprintf(buf, sizeof buf, "%.4g", value);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  std::string s = buf;
  bool negative = !s.empty() && s[0] == '-';
  if (negative) s.erase(0, 1);
  if (s.find_first_not_of("0.") == std::string::npos) negative = false;  // no "-0.00"
  const size_t point = s.find('.');
  const size_t int_len = point == std::string::npos ? s.size() : point;
  std::string grouped;
  for (size_t i = 0; i < int_len; ++i) {
    if (i > 0 && (int_len - i) % 3 == 0) grouped += ',';
    grouped += s[i];
  }
  grouped += s.substr(int_len);
  return negative ? "-" + grouped : grouped;
}

std::string FormatCount(double value) { return FormatNumber(value, 0); }

Ticks NiceTicks(double lo, double hi, int target, bool integer) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo <= 1e-12 * std::max(1.0, std::fabs(hi))) {
    const double pad = integer ? 1.0 : (lo == 0 ? 1.0 : std::fabs(lo) * 0.1);
    lo -= pad;
    hi += pad;
  }
  target = std::max(target, 2);
  const double raw = (hi - lo) / target;
  const double exponent = std::floor(std::log10(raw));
  const double magnitude = std::pow(10.0, exponent);
  const double norm = raw / magnitude;
  double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  if (integer && step < 1) step = 1;
  Ticks t;
  t.step = step;
  const double first = std::floor(lo / step + 1e-9);
  const double last = std::ceil(hi / step - 1e-9);
  for (double k = first; k <= last && t.values.size() < 200; k += 1) t.values.push_back(k * step);
  t.decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  return t;
}

const std::string& PaletteColor(size_t i) {
  // Okabe-Ito (without its yellow, which vanishes on white) extended with three muted tones.
  static const std::array<std::string, 10> kPalette = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                       "#E69F00", "#56B4E9", "#000000", "#8C564B",
                                                       "#7F7F7F", "#6A3D9A"};
  return kPalette[i % kPalette.size()];
}

size_t CountPoints(const LineChart& chart) {
  size_t n = 0;
  for (const ChartSeries& s : chart.series) {
    for (const ChartPoint& p : s.points) n += std::isfinite(p.x) && std::isfinite(p.y);
  }
  return n;
}

std::string RenderLineChart(const LineChart& chart) {
  if (CountPoints(chart) == 0) return "";
  // Data ranges over series and marks.
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin;
  double ymin = xmin, ymax = -xmin;
  auto extend = [&](const ChartPoint& p) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) return;
    xmin = std::min(xmin, p.x), xmax = std::max(xmax, p.x);
    ymin = std::min(ymin, p.y), ymax = std::max(ymax, p.y);
  };
  for (const ChartSeries& s : chart.series) std::for_each(s.points.begin(), s.points.end(), extend);
  for (const ChartMarks& m : chart.marks) std::for_each(m.points.begin(), m.points.end(), extend);
  if (chart.y_from_zero) ymin = std::min(ymin, 0.0);
  if (xmin == xmax) {
    if (xmin >= 0 && xmin < 1) {
      xmax = xmin + 1;
    } else {
      xmin -= 1, xmax += 1;
    }
  }
  const Ticks yt = NiceTicks(ymin, ymax, 5, false);
  const double ylo = yt.values.front(), yhi = yt.values.back();
  Ticks xt = NiceTicks(xmin, xmax, 8, chart.integer_x);
  std::erase_if(xt.values, [&](double v) { return v < xmin - 1e-9 || v > xmax + 1e-9; });
  const int y_decimals = chart.y_decimals >= 0 ? chart.y_decimals : yt.decimals + 2;

  // Legend: series, then marks; wrapped into rows above the plot area.
  std::vector<LegendItem> legend;
  for (const ChartSeries& s : chart.series) {
    size_t finite = 0;
    for (const ChartPoint& p : s.points) finite += std::isfinite(p.y);
    if (finite > 0) legend.push_back({s.name, s.color, s.dashed, false});
  }
  for (const ChartMarks& m : chart.marks) {
    if (!m.points.empty()) legend.push_back({m.name, m.color, false, true});
  }
  const double left = 64, right = 18, bottom = 46;
  const double width = chart.width;
  std::vector<std::pair<double, double>> legend_pos;  // (x, row)
  double lx = left, row = 0;
  for (const LegendItem& it : legend) {
    const double w = 30 + TextWidth(it.name) + 16;
    if (lx > left && lx + w > width - right) lx = left, row += 1;
    legend_pos.emplace_back(lx, row);
    lx += w;
  }
  const double legend_rows = legend.empty() ? 0 : row + 1;
  const double top = 14 + 18 * legend_rows;
  // Each legend row past the first makes the canvas taller, so the plot area keeps its size.
  const double height = chart.height + 18 * std::max(0.0, legend_rows - 1);
  const double pw = width - left - right, ph = height - top - bottom;
  auto px = [&](double x) { return left + (x - xmin) / (xmax - xmin) * pw; };
  auto py = [&](double y) { return top + (1 - (y - ylo) / (yhi - ylo)) * ph; };

  std::string svg;
  svg += "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + Coord(width) +
         " " + Coord(height) + "\" role=\"img\" aria-label=\"" + HtmlEscape(chart.title) +
         "\" data-series=\"" + std::to_string(chart.series.size()) + "\" data-points=\"" +
         std::to_string(CountPoints(chart)) + "\">\n";
  svg += "<title>" + HtmlEscape(chart.title) + "</title>\n";

  // Grid and y axis.
  svg += "<g class=\"axis y\">";
  for (double v : yt.values) {
    const std::string y = Coord(py(v));
    svg += "<line class=\"gridline\" x1=\"" + Coord(left) + "\" x2=\"" + Coord(left + pw) +
           "\" y1=\"" + y + "\" y2=\"" + y + "\"/>";
    svg += "<text x=\"" + Coord(left - 6) + "\" y=\"" + y +
           "\" text-anchor=\"end\" dominant-baseline=\"middle\">" + FormatNumber(v, yt.decimals) +
           "</text>";
  }
  svg += "</g>\n<g class=\"axis x\">";
  for (double v : xt.values) {
    const std::string x = Coord(px(v));
    svg += "<line class=\"tick\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + Coord(top + ph) +
           "\" y2=\"" + Coord(top + ph + 5) + "\"/>";
    svg += "<text x=\"" + x + "\" y=\"" + Coord(top + ph + 18) + "\" text-anchor=\"middle\">" +
           FormatNumber(v, chart.integer_x ? 0 : xt.decimals) + "</text>";
  }
  svg += "<line class=\"frame\" x1=\"" + Coord(left) + "\" x2=\"" + Coord(left + pw) + "\" y1=\"" +
         Coord(top + ph) + "\" y2=\"" + Coord(top + ph) + "\"/>";
  svg += "<line class=\"frame\" x1=\"" + Coord(left) + "\" x2=\"" + Coord(left) + "\" y1=\"" +
         Coord(top) + "\" y2=\"" + Coord(top + ph) + "\"/>";
  svg += "</g>\n";
  svg += "<text class=\"axis-title\" x=\"" + Coord(left + pw / 2) + "\" y=\"" + Coord(height - 8) +
         "\" text-anchor=\"middle\">" + HtmlEscape(chart.x_label) + "</text>\n";
  svg += "<text class=\"axis-title\" transform=\"translate(14 " + Coord(top + ph / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + HtmlEscape(chart.y_label) + "</text>\n";

  // Series.
  for (const ChartSeries& s : chart.series) {
    size_t n = 0;
    for (const ChartPoint& p : s.points) n += std::isfinite(p.x) && std::isfinite(p.y);
    if (n == 0) continue;
    const std::string color = HtmlEscape(s.color);
    svg += "<g class=\"series\" data-name=\"" + HtmlEscape(s.name) + "\" data-points=\"" +
           std::to_string(n) + "\">";
    // One polyline per run of consecutive finite points.
    std::string pts;
    size_t run = 0;
    auto flush = [&] {
      if (run >= 2) {
        svg += "<polyline fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"" +
               (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + " points=\"" + pts + "\"/>";
      }
      pts.clear();
      run = 0;
    };
    for (const ChartPoint& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
        flush();
        continue;
      }
      if (!pts.empty()) pts += ' ';
      pts += Coord(px(p.x)) + "," + Coord(py(p.y));
      ++run;
    }
    flush();
    if (s.markers || n == 1) {
      for (const ChartPoint& p : s.points) {
        if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
        svg += "<circle cx=\"" + Coord(px(p.x)) + "\" cy=\"" + Coord(py(p.y)) +
               "\" r=\"3\" fill=\"" + color + "\"><title>" + HtmlEscape(s.name) + ": " +
               FormatNumber(p.y, y_decimals) + " at " + HtmlEscape(chart.x_label) + " " +
               FormatNumber(p.x, chart.integer_x ? 0 : 2) + "</title></circle>";
      }
    }
    svg += "</g>\n";
  }
  for (const ChartMarks& m : chart.marks) {
    if (m.points.empty()) continue;
    svg += "<g class=\"marks\" data-name=\"" + HtmlEscape(m.name) + "\" data-points=\"" +
           std::to_string(m.points.size()) + "\">";
    for (const ChartPoint& p : m.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      const double cx = px(p.x), cy = py(p.y);
      svg += "<path stroke=\"" + HtmlEscape(m.color) + "\" stroke-width=\"2.5\" d=\"M" +
             Coord(cx - 5) + " " + Coord(cy - 5) + "L" + Coord(cx + 5) + " " + Coord(cy + 5) + "M" +
             Coord(cx - 5) + " " + Coord(cy + 5) + "L" + Coord(cx + 5) + " " + Coord(cy - 5) +
             "\"><title>" + HtmlEscape(m.name) + " " + FormatNumber(p.x, 0) + "</title></path>";
    }
    svg += "</g>\n";
  }

  // Legend.
  svg += "<g class=\"legend\">";
  for (size_t i = 0; i < legend.size(); ++i) {
    const LegendItem& it = legend[i];
    const double x = legend_pos[i].first, y = 12 + 18 * legend_pos[i].second;
    const std::string color = HtmlEscape(it.color);
    if (it.cross) {
      svg += "<path stroke=\"" + color + "\" stroke-width=\"2.5\" d=\"M" + Coord(x + 7) + " " +
             Coord(y - 5) + "L" + Coord(x + 17) + " " + Coord(y + 5) + "M" + Coord(x + 7) + " " +
             Coord(y + 5) + "L" + Coord(x + 17) + " " + Coord(y - 5) + "\"/>";
    } else {
      svg += "<line x1=\"" + Coord(x) + "\" x2=\"" + Coord(x + 24) + "\" y1=\"" + Coord(y) +
             "\" y2=\"" + Coord(y) + "\" stroke=\"" + color + "\" stroke-width=\"2.5\"" +
             (it.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>";
    }
    svg += "<text x=\"" + Coord(x + 30) + "\" y=\"" + Coord(y) +
           "\" dominant-baseline=\"middle\">" + HtmlEscape(it.name) + "</text>";
  }
  svg += "</g>\n</svg>";
  return svg;
}

}  // namespace fedseg::coordinator
