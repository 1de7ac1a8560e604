#include "common/base/json_config.h"

#include <charconv>

#include "common/base/file_util.h"

namespace fedseg {

using nlohmann::json;

Result<json> LoadJsonConfig(const std::string& path, const json& overrides) {
  FEDSEG_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 16 << 20));
  return ParseJsonConfig(text, path, overrides);
}

Result<json> ParseJsonConfig(std::string_view text, const std::string& path,
                             const json& overrides) {
  json j;
  try {
    j = json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based offset of the error; report it as line:column.
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return Status::InvalidArgument(path + ":" + std::to_string(line) + ":" + std::to_string(col) +
                                   ": invalid JSON: " + e.what());
  } catch (const json::exception& e) {
    // Not a syntax error but a value nlohmann cannot hold: a number beyond the range of a double
    // (1e999) throws out_of_range.406, without a position. Found by the json_config fuzz target;
    // it used to escape as an exception and terminate the program.
    return Status::InvalidArgument(path + ": invalid JSON: " + e.what());
  }
  if (!j.is_object()) return Status::InvalidArgument(path + ": the config must be a JSON object");
  if (overrides.is_object()) {
    for (auto it = overrides.begin(); it != overrides.end(); ++it) {
      try {
        j[json::json_pointer(it.key())] = it.value();
      } catch (const std::exception& e) {
        return Status::InvalidArgument("override " + it.key() + ": " + e.what());
      }
    }
  }
  return j;
}

JsonConfigReader::JsonConfigReader(const json& object, std::string path, std::string source)
    : object_(object), path_(std::move(path)), source_(std::move(source)) {}

JsonConfigReader JsonConfigReader::Sub(const char* key) {
  seen_.insert(key);
  static const json kEmpty = json::object();
  if (!object_.contains(key)) return JsonConfigReader(kEmpty, path_ + key + ".", source_);
  if (!object_.at(key).is_object() && status_.ok()) {
    status_ = Status::InvalidArgument(source_ + ": field '" + path_ + key + "' must be an object");
  }
  return JsonConfigReader(object_.at(key).is_object() ? object_.at(key) : kEmpty, path_ + key + ".",
                          source_);
}

Status JsonConfigReader::Finish() {
  if (!status_.ok()) return status_;
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (!seen_.count(it.key())) {
      return Status::InvalidArgument(source_ + ": unknown field '" + path_ + it.key() + "'");
    }
  }
  return Status::OK();
}

void JsonConfigReader::Merge(const Status& st) {
  if (status_.ok() && !st.ok()) status_ = st;
}

namespace {

std::string FormatValue(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v.get<double>());
    return std::string(buf, r.ptr);
  }
  if (v.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + FormatValue(v[i]);
    return out + "]";
  }
  return v.dump();
}

}  // namespace

std::string FormatConfigDefault(const json& value) { return "`" + FormatValue(value) + "`"; }

namespace internal {

std::pair<std::string, std::string> SplitFieldPath(const std::string& path) {
  const size_t dot = path.find('.');
  if (dot == std::string::npos) return {"", path};
  return {path.substr(0, dot), path.substr(dot + 1)};
}

}  // namespace internal

}  // namespace fedseg
