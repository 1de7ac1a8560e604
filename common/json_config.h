// Reading JSON config files: one parser for the coordinator's and the regions' configs. Comments
// are allowed; syntax errors name file:line:column; command-line overrides are applied as JSON
// pointers; fields are read with type checks, and an unknown field is an error naming its path (a
// typo must never silently fall back to a default).
#ifndef FEDSEG_COMMON_JSON_CONFIG_H_
#define FEDSEG_COMMON_JSON_CONFIG_H_

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "common/status.h"

namespace fedseg {

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

#endif  // FEDSEG_COMMON_JSON_CONFIG_H_
