// Test helpers for the run report: the report.json of a real run (testdata/report_dp.json: 9
// regions of the bundled table, 5 rounds, DP-SGD with a budget of 3 per region; testdata/
// report_plain.json: the same federation for 3 rounds without DP) and small readers of the page.
#ifndef FEDSEG_TESTS_COORDINATOR_REPORT_FIXTURE_H_
#define FEDSEG_TESTS_COORDINATOR_REPORT_FIXTURE_H_

#include <cstddef>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace fedseg::testing {

inline nlohmann::json LoadReportFixture(const std::string& name) {
  std::ifstream f(std::string(FEDSEG_SOURCE_DIR) + "/tests/coordinator/report/testdata/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
}

inline size_t CountOccurrences(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// The <svg class="plot"> element whose aria-label is `label` (escaped form), or "".
inline std::string PlotByLabel(const std::string& html, const std::string& label) {
  const size_t at = html.find("aria-label=\"" + label + "\"");
  if (at == std::string::npos) return "";
  const size_t start = html.rfind("<svg class=\"plot\"", at);
  const size_t end = html.find("</svg>", at);
  if (start == std::string::npos || end == std::string::npos) return "";
  return html.substr(start, end + 6 - start);
}

// The value of attribute `name` in the first tag that contains `marker`, or "".
inline std::string AttributeNear(const std::string& html, const std::string& marker,
                                 const std::string& name) {
  const size_t at = html.find(marker);
  if (at == std::string::npos) return "";
  const size_t tag_start = html.rfind('<', at);
  const size_t tag_end = html.find('>', at);
  if (tag_start == std::string::npos || tag_end == std::string::npos) return "";
  const std::string tag = html.substr(tag_start, tag_end - tag_start);
  const size_t a = tag.find(" " + name + "=\"");
  if (a == std::string::npos) return "";
  const size_t v = a + name.size() + 3;
  return tag.substr(v, tag.find('"', v) - v);
}

}  // namespace fedseg::testing

#endif  // FEDSEG_TESTS_COORDINATOR_REPORT_FIXTURE_H_
