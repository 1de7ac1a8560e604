// Reads the members of one JSON object into typed fields, refusing a missing or mistyped member
// with a message that names it by its path in the document ("report.json: rounds[2].global.loss:
// expected a number or null, found string"). Used by RunRecord::FromJson; nothing is defaulted
// unless the caller asks for an optional member.
#ifndef FEDSEG_COORDINATOR_RECORD_INTERNAL_JSON_READER_H_
#define FEDSEG_COORDINATOR_RECORD_INTERNAL_JSON_READER_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace fedseg::coordinator::internal {

// The JSON type of `j` in words, for messages ("string", "array", ...).
std::string JsonTypeName(const nlohmann::json& j);

class JsonReader {
 public:
  // `where` names the document ("report.json"), `path` the object within it ("rounds[2]"; "" for
  // the root). Fails unless `j` is an object.
  static Result<JsonReader> Open(const nlohmann::json& j, std::string where, std::string path);

  bool Has(const std::string& key) const { return j_->contains(key); }
  // "rounds[2].global" for key "global".
  std::string PathOf(const std::string& key) const;
  // The member `key`; fails if it is missing.
  Result<const nlohmann::json*> Member(const std::string& key) const;
  // The member `key` as an object reader; fails if it is missing or not an object.
  Result<JsonReader> Object(const std::string& key) const;

  Status String(const std::string& key, std::string* out) const;
  Status Bool(const std::string& key, bool* out) const;
  Status Uint64(const std::string& key, uint64_t* out) const;
  Status Uint32(const std::string& key, uint32_t* out) const;
  Status Int(const std::string& key, int* out) const;  // non-negative counts
  Status Int64(const std::string& key, int64_t* out) const;
  // A number, or null read as NaN (json_number.h).
  Status NumberOrNull(const std::string& key, double* out) const;
  Status Strings(const std::string& key, std::vector<std::string>* out) const;
  Status Uint32s(const std::string& key, std::vector<uint32_t>* out) const;

  // An error about member `key` (or about this object when `key` is empty).
  Status Error(const std::string& key, const std::string& what) const;

  const nlohmann::json& json() const { return *j_; }
  const std::string& where() const { return where_; }

 private:
  JsonReader(const nlohmann::json* j, std::string where, std::string path)
      : j_(j), where_(std::move(where)), path_(std::move(path)) {}
  Status Mistyped(const std::string& key, const std::string& expected,
                  const nlohmann::json& found) const;

  const nlohmann::json* j_;
  std::string where_;
  std::string path_;
};

}  // namespace fedseg::coordinator::internal

#endif  // FEDSEG_COORDINATOR_RECORD_INTERNAL_JSON_READER_H_
