#include "coordinator/report/internal/report_json.h"

#include <cmath>
#include <cstdio>

#include "coordinator/record/json_number.h"
#include "coordinator/report/html_chart.h"

namespace fedseg::coordinator::internal {

const Json* Find(const Json* j, const std::string& key) {
  if (j == nullptr || !j->is_object()) return nullptr;
  auto it = j->find(key);
  return it == j->end() ? nullptr : &*it;
}

double Num(const Json* j, const std::string& key) { return NumberOrNaN(Find(j, key)); }

std::string Str(const Json* j) {
  if (j == nullptr) return "";
  if (j->is_string()) return j->get_ref<const std::string&>();
  if (j->is_number() || j->is_boolean()) return j->dump();
  return "";
}
std::string Str(const Json* j, const std::string& key) { return Str(Find(j, key)); }

std::string Dump(const Json& j, int indent) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

std::string FormatMetric(double v) { return FormatNumber(v, 4); }

std::string FormatSeconds(double s) {
  if (!std::isfinite(s)) return "\u2013";
  char buf[64];
  if (s < 60 || s >= 1e9) {  // (the int conversions below need a sane range)
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s / 60),
                  static_cast<int>(std::fmod(s, 60)));
  } else {
    std::snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(s / 3600),
                  static_cast<int>(std::fmod(s, 3600) / 60));
  }
  return buf;
}

std::string FormatBytes(double b) {
  if (!std::isfinite(b)) return "\u2013";
  if (b < 1024) return FormatCount(b) + " B";
  if (b < 1024.0 * 1024) return FormatNumber(b / 1024, 1) + " KiB";
  if (b < 1024.0 * 1024 * 1024) return FormatNumber(b / 1024 / 1024, 1) + " MiB";
  return FormatNumber(b / 1024 / 1024 / 1024, 2) + " GiB";
}

}  // namespace fedseg::coordinator::internal
