#include "coordinator/record/internal/json_reader.h"

#include <limits>

#include "coordinator/record/json_number.h"

namespace fedseg::coordinator::internal {
namespace {

// Parsed text holds non-negative integers as unsigned; JSON built in code may hold them signed.
bool IsNonNegativeInteger(const nlohmann::json& j) {
  return j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0);
}

}  // namespace

std::string JsonTypeName(const nlohmann::json& j) {
  if (j.is_number_float()) return "a fractional number";
  if (j.is_number_integer() && j.get<int64_t>() < 0) return "a negative integer";
  return j.type_name();
}

Result<JsonReader> JsonReader::Open(const nlohmann::json& j, std::string where, std::string path) {
  JsonReader r(&j, std::move(where), std::move(path));
  if (!j.is_object()) {
    return r.Error("", "expected an object, found " + JsonTypeName(j));
  }
  return r;
}

std::string JsonReader::PathOf(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

Status JsonReader::Error(const std::string& key, const std::string& what) const {
  const std::string path = key.empty() ? path_ : PathOf(key);
  return Status::Corruption(where_ + ": " + (path.empty() ? "" : path + ": ") + what);
}

Status JsonReader::Mistyped(const std::string& key, const std::string& expected,
                            const nlohmann::json& found) const {
  return Error(key, "expected " + expected + ", found " + JsonTypeName(found));
}

Result<const nlohmann::json*> JsonReader::Member(const std::string& key) const {
  const auto it = j_->find(key);
  if (it == j_->end()) return Error(key, "missing");
  return &*it;
}

Result<JsonReader> JsonReader::Object(const std::string& key) const {
  FEDSEG_ASSIGN_OR_RETURN(const nlohmann::json* v, Member(key));
  return Open(*v, where_, PathOf(key));
}

Status JsonReader::String(const std::string& key, std::string* out) const {
  FEDSEG_ASSIGN_OR_RETURN(const nlohmann::json* v, Member(key));
  if (!v->is_string()) return Mistyped(key, "a string", *v);
  *out = v->get<std::string>();
  return Status::OK();
}

Status JsonReader::Bool(const std::string& key, bool* out) const {
  FEDSEG_ASSIGN_OR_RETURN(const nlohmann::json* v, Member(key));
  if (!v->is_boolean()) return Mistyped(key, "true or false", *v);
  *out = v->get<bool>();
  return Status::OK();
}

Status JsonReader::Uint64(const std::string& key, uint64_t* out) const {
  FEDSEG_ASSIGN_OR_RETURN(const nlohmann::json* v, Member(key));
  if (!IsNonNegativeInteger(*v)) return Mistyped(key, "a non-negative integer", *v);
  *out = v->get<uint64_t>();
  return Status::OK();
}

Status JsonReader::Uint32(const std::string& key, uint32_t* out) const {
  uint64_t v = 0;
  FEDSEG_RETURN_IF_ERROR(Uint64(key, &v));
  if (v > std::numeric_limits<uint32_t>::max()) return Error(key, "out of range");
  *out = static_cast<uint32_t>(v);
  return Status::OK();
}

Status JsonReader::Int(const std::string& key, int* out) const {
  uint64_t v = 0;
  FEDSEG_RETURN_IF_ERROR(Uint64(key, &v));
  if (v > static_cast<uint64_t>(std::numeric_limits<int>::max())) return Error(key, "out of range");
  *out = static_cast<int>(v);
  return Status::OK();
}

Status JsonReader::Int64(const std::string& key, int64_t* out) const {
  uint64_t v = 0;
  FEDSEG_RETURN_IF_ERROR(Uint64(key, &v));
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Error(key, "out of range");
  }
  *out = static_cast<int64_t>(v);
  return Status::OK();
}

Status JsonReader::NumberOrNull(const std::string& key, double* out) const {
  FEDSEG_ASSIGN_OR_RETURN(const nlohmann::json* v, Member(key));
  if (!v->is_number() && !v->is_null()) return Mistyped(key, "a number or null", *v);
  *out = NumberOrNaN(v);
  return Status::OK();
}

Status JsonReader::Strings(const std::string& key, std::vector<std::string>* out) const {
  FEDSEG_ASSIGN_OR_RETURN(const nlohmann::json* v, Member(key));
  if (!v->is_array()) return Mistyped(key, "an array of strings", *v);
  out->clear();
  for (size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& e = (*v)[i];
    if (!e.is_string()) return Mistyped(key + "[" + std::to_string(i) + "]", "a string", e);
    out->push_back(e.get<std::string>());
  }
  return Status::OK();
}

Status JsonReader::Uint32s(const std::string& key, std::vector<uint32_t>* out) const {
  FEDSEG_ASSIGN_OR_RETURN(const nlohmann::json* v, Member(key));
  if (!v->is_array()) return Mistyped(key, "an array of round numbers", *v);
  out->clear();
  for (size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& e = (*v)[i];
    if (!IsNonNegativeInteger(e) || e.get<uint64_t>() > std::numeric_limits<uint32_t>::max()) {
      return Mistyped(key + "[" + std::to_string(i) + "]", "a round number", e);
    }
    out->push_back(e.get<uint32_t>());
  }
  return Status::OK();
}

}  // namespace fedseg::coordinator::internal
