// Guarded reading of the JSON parts a run record keeps as written (the configuration echo and
// the final model's full report), and the page's number formats.
// nlohmann::json's operator[] on a missing key of a const object is undefined and get<T>() throws
// on a type mismatch, so every read of those parts goes through these.
#ifndef FEDSEG_COORDINATOR_REPORT_INTERNAL_REPORT_JSON_H_
#define FEDSEG_COORDINATOR_REPORT_INTERNAL_REPORT_JSON_H_

#include <limits>
#include <nlohmann/json.hpp>
#include <string>

namespace fedseg::coordinator::internal {

using Json = nlohmann::json;
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The member `key` of object `j`, or null.
const Json* Find(const Json* j, const std::string& key);
// The number at member `key` (NaN when missing, null or not a number; json_number.h).
double Num(const Json* j, const std::string& key);
// A string, or a number or boolean as written; "" otherwise.
std::string Str(const Json* j);
std::string Str(const Json* j, const std::string& key);
// `j` as indented text, invalid UTF-8 replaced.
std::string Dump(const Json& j, int indent);

std::string FormatMetric(double v);
std::string FormatSeconds(double s);
std::string FormatBytes(double b);

}  // namespace fedseg::coordinator::internal

#endif  // FEDSEG_COORDINATOR_REPORT_INTERNAL_REPORT_JSON_H_
