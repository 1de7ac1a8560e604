// Reading JSON config files: one parser for the coordinator's and the regions' configs. Comments
// are allowed; syntax errors name file:line:column; command-line overrides are applied as JSON
// pointers; fields are read with type checks, and an unknown field is an error naming its path (a
// typo must never silently fall back to a default). A config declares each of its fields once, in a
// ConfigField table that the reader, the writer (ToJson) and the documentation test all walk.
#ifndef FEDSEG_COMMON_BASE_JSON_CONFIG_H_
#define FEDSEG_COMMON_BASE_JSON_CONFIG_H_

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
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
  // Keeps the first error of a sub-reader (or any other error found while reading).
  void Merge(const Status& st);
  // The file name that prefixes messages.
  const std::string& source() const { return source_; }

 private:
  const nlohmann::json& object_;
  std::string path_, source_;
  std::set<std::string> seen_;
  Status status_;
};

// One declared config field: its JSON path ("training.rounds": a section and a key, or a top-level
// key), how it is read into and written from the config struct, the default as
// docs/configuration.md shows it, and a one-line meaning.
template <typename Config>
struct ConfigField {
  std::string path;
  std::function<void(JsonConfigReader& section, const char* key, Config* config)> read;
  std::function<nlohmann::json(const Config& config)> write;
  std::string doc_default;  // Markdown: "`30`", "required", "`[]`"
  std::string doc;          // Markdown, one line
};

// The default of a field as docs/configuration.md shows it: numbers in their shortest exact form
// (1 for 1.0, 0.001), arrays as [64, 32], strings verbatim, all in backticks.
std::string FormatConfigDefault(const nlohmann::json& value);

// A field bound to the member that `ref` selects, a generic lambda such as
// `[](auto& c) -> auto& { return c.plan.batch_size; }`. Its documented default is the value in a
// default-constructed Config unless `doc_default` is given (e.g. "required").
template <typename Config, typename Ref>
ConfigField<Config> Field(std::string path, Ref ref, std::string doc,
                          std::string doc_default = "") {
  if (doc_default.empty()) {
    const Config defaults{};
    doc_default = FormatConfigDefault(nlohmann::json(ref(defaults)));
  }
  return ConfigField<Config>{
      std::move(path),
      [ref](JsonConfigReader& r, const char* key, Config* c) { r.Get(key, &ref(*c)); },
      [ref](const Config& c) { return nlohmann::json(ref(c)); }, std::move(doc_default),
      std::move(doc)};
}

namespace internal {
// Splits "section.key" into {"section", "key"}; a path without a dot has an empty section.
std::pair<std::string, std::string> SplitFieldPath(const std::string& path);
}  // namespace internal

// Reads every field of `fields` from the JSON object `j` into *config, section by section in table
// order (keep a section's fields together); the first error wins, and a field that is not
// declared is an "unknown field" error naming its path. Does not validate values.
template <typename Config>
Status ReadConfigFields(const nlohmann::json& j, const std::string& source,
                        const std::vector<ConfigField<Config>>& fields, Config* config) {
  JsonConfigReader root(j, "", source);
  std::vector<JsonConfigReader> section;  // at most one: the section being read
  std::string section_name;
  for (const ConfigField<Config>& f : fields) {
    auto [name, key] = internal::SplitFieldPath(f.path);
    if (name != section_name || (section.empty() && !name.empty())) {
      if (!section.empty()) root.Merge(section.back().Finish());
      section.clear();
      if (!name.empty()) section.push_back(root.Sub(name.c_str()));
      section_name = name;
    }
    f.read(section.empty() ? root : section.back(), key.c_str(), config);
  }
  if (!section.empty()) root.Merge(section.back().Finish());
  return root.Finish();
}

// The config as JSON, one key per declared field.
template <typename Config>
nlohmann::json WriteConfigFields(const std::vector<ConfigField<Config>>& fields,
                                 const Config& config) {
  nlohmann::json j = nlohmann::json::object();
  for (const ConfigField<Config>& f : fields) {
    auto [name, key] = internal::SplitFieldPath(f.path);
    if (name.empty()) {
      j[key] = f.write(config);
    } else {
      j[name][key] = f.write(config);
    }
  }
  return j;
}

// The rows of the field table in docs/configuration.md, one per field:
// "| `path` | default | meaning |".
template <typename Config>
std::vector<std::string> ConfigFieldDocRows(const std::vector<ConfigField<Config>>& fields) {
  std::vector<std::string> rows;
  for (const ConfigField<Config>& f : fields) {
    rows.push_back("| `" + f.path + "` | " + f.doc_default + " | " + f.doc + " |");
  }
  return rows;
}

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_JSON_CONFIG_H_
