// Typed reads of a ledger entry's JSON members and the character checks of its strings, each
// failing with "<where><key> <what is wrong>" so the verifier can report the field by name.
#ifndef FEDSEG_PRIVACY_LEDGER_INTERNAL_JSON_FIELDS_H_
#define FEDSEG_PRIVACY_LEDGER_INTERNAL_JSON_FIELDS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace fedseg::privacy::internal {

// A JSON value in a message: compact, at most 80 characters, never throwing on invalid UTF-8.
std::string Show(const nlohmann::json& v);

// obj[key] as a finite number; `where` prefixes the key in messages ("params.").
Result<double> GetNumber(const nlohmann::json& obj, const char* key, const std::string& where);
// obj[key] as an integer; a JSON float with an integral value (1e3) is accepted.
Result<int64_t> GetInteger(const nlohmann::json& obj, const char* key, const std::string& where);
// obj[key] as a string.
Result<std::string> GetString(const nlohmann::json& obj, const char* key, const std::string& where);
// Every `required` key is present and no key is outside required + optional.
Status CheckKeys(const nlohmann::json& obj, const std::set<std::string>& required,
                 const std::set<std::string>& optional, const std::string& where);

// 64 characters of [0-9a-f]: a SHA-256 as the ledger writes it.
bool IsLowerHex64(std::string_view s);
// Every character in [0x20, 0x7e].
bool IsPrintableAscii(std::string_view s);
// "YYYY-MM-DDTHH:MM:SSZ" with plausible field ranges (month 1-12, day 1-31, second <= 60).
bool IsIsoUtcTime(std::string_view s);

}  // namespace fedseg::privacy::internal

#endif  // FEDSEG_PRIVACY_LEDGER_INTERNAL_JSON_FIELDS_H_
