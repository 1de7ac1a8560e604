// Reading JSON config files: one parser for the coordinator's and the regions' configs. Comments
// are allowed; syntax errors name file:line:column; command-line overrides are applied as JSON
// pointers; fields are read with type checks, and an unknown field is an error naming its path (a
// typo must never silently fall back to a default).
#ifndef FEDSEG_COMMON_BASE_JSON_CONFIG_H_
#define FEDSEG_COMMON_BASE_JSON_CONFIG_H_

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/base/status.h"

namespace fedseg {
namespace internal {

template <typename T>
struct IsVector : std::false_type {};
template <typename U, typename A>
struct IsVector<std::vector<U, A>> : std::true_type {};

// False when `v` is a number that the integer type T (or, for a vector, its elements) cannot hold
// exactly: nlohmann's get<int>() of 1e10 or 70000 for a uint16_t would convert out of range, which
// is undefined behaviour for floats (UBSan in the json_config fuzz target) and a silent wrap for
// integers. True for everything else; a wrong JSON type is left to get<T>() to report.
template <typename T>
bool JsonFits(const nlohmann::json& v) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (v.is_number_unsigned()) {
      return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    }
    if (v.is_number_integer()) {
      const int64_t i = v.get<int64_t>();
      if constexpr (std::is_unsigned_v<T>) {
        return i >= 0 &&
               static_cast<uint64_t>(i) <= static_cast<uint64_t>(std::numeric_limits<T>::max());
      } else {
        return i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
               i <= static_cast<int64_t>(std::numeric_limits<T>::max());
      }
    }
    if (v.is_number_float()) {
      // Integral values written as floats (1e3) are accepted when in range.
      const double d = v.get<double>();
      return std::isfinite(d) && d == std::floor(d) &&
             d >= static_cast<double>(std::numeric_limits<T>::min()) &&
             d < std::ldexp(1.0, std::numeric_limits<T>::digits);
    }
    return true;
  } else if constexpr (IsVector<T>::value) {
    if (!v.is_array()) return true;
    for (const auto& e : v) {
      if (!JsonFits<typename T::value_type>(e)) return false;
    }
    return true;
  } else {
    return true;
  }
}

}  // namespace internal

// Reads and parses `path`, then sets each override ("/section/field" -> value). The result is an
// object.
Result<nlohmann::json> LoadJsonConfig(const std::string& path,
                                      const nlohmann::json& overrides = nlohmann::json::object());
// The same from the file's text; `source` names it in messages.
Result<nlohmann::json> ParseJsonConfig(std::string_view text, const std::string& source,
                                       const nlohmann::json& overrides = nlohmann::json::object());

// Reads optional fields of one JSON object. Errors are sticky: after the first, reads are no-ops
// and Finish() returns it.
class JsonConfigReader {
 public:
  // `path` prefixes field names in messages ("training."); `source` names the file.
  JsonConfigReader(const nlohmann::json& object, std::string path, std::string source);

  // Sets *out from `key` if present; a value of the wrong type is an error.
  template <typename T>
  void Get(const char* key, T* out) {
    seen_.insert(key);
    if (!status_.ok() || !object_.contains(key)) return;
    if (!internal::JsonFits<T>(object_.at(key))) {
      status_ = Status::InvalidArgument(source_ + ": field '" + path_ + key +
                                        "' is out of range for an integer (" +
                                        object_.at(key).dump() + ")");
      return;
    }
    try {
      *out = object_.at(key).template get<T>();
    } catch (const std::exception&) {
      status_ = Status::InvalidArgument(source_ + ": field '" + path_ + key +
                                        "' has the wrong type (" + object_.at(key).dump() + ")");
    }
  }
  // A reader for the sub-object `key` (empty if absent; an error if not an object).
  JsonConfigReader Sub(const char* key);
  // The first error of this reader, or an unknown field, or OK.
  Status Finish();
  // Keeps the first error of a sub-reader.
  void Merge(const Status& st);

 private:
  const nlohmann::json& object_;
  std::string path_, source_;
  std::set<std::string> seen_;
  Status status_;
};

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_JSON_CONFIG_H_
