#include "privacy/ledger/internal/json_fields.h"

#include <cmath>
#include <limits>

#include "common/base/sha256.h"

namespace fedseg::privacy::internal {

using json = nlohmann::json;

// A JSON value in a message: short, and never throwing on odd content.
std::string Show(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

Result<double> GetNumber(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::InvalidArgument(where + key + " is missing");
  if (!it->is_number()) {
    return Status::InvalidArgument(where + key + " must be a number, got " + Show(*it));
  }
  const double v = it->get<double>();
  if (!std::isfinite(v)) {
    return Status::InvalidArgument(where + key + " must be finite, got " + Show(*it));
  }
  return v;
}

// Integers may arrive as JSON floats with an integral value (1e3); anything else is refused.
Result<int64_t> GetInteger(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::InvalidArgument(where + key + " is missing");
  const Status bad = Status::InvalidArgument(where + key + " must be an integer, got " + Show(*it));
  if (it->is_number_unsigned()) {
    const uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return bad;
    return static_cast<int64_t>(u);
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) {
    const double d = it->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.2e18) {
      return static_cast<int64_t>(d);
    }
  }
  return bad;
}

Result<std::string> GetString(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::InvalidArgument(where + key + " is missing");
  if (!it->is_string()) {
    return Status::InvalidArgument(where + key + " must be a string, got " + Show(*it));
  }
  return it->get<std::string>();
}

Status CheckKeys(const json& obj, const std::set<std::string>& required,
                 const std::set<std::string>& optional, const std::string& where) {
  for (const std::string& k : required) {
    if (!obj.contains(k)) return Status::InvalidArgument(where + k + " is missing");
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!required.count(it.key()) && !optional.count(it.key())) {
      return Status::InvalidArgument("unknown field '" + where + it.key() + "'");
    }
  }
  return Status::OK();
}

bool IsLowerHex64(std::string_view s) { return IsSha256Hex(s); }

bool IsPrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// "YYYY-MM-DDTHH:MM:SSZ" with plausible field ranges.
bool IsIsoUtcTime(std::string_view s) {
  static constexpr std::string_view kPattern = "dddd-dd-ddTdd:dd:ddZ";
  if (s.size() != kPattern.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (kPattern[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != kPattern[i]) return false;
  }
  auto num = [&](size_t pos) { return (s[pos] - '0') * 10 + (s[pos + 1] - '0'); };
  return num(5) >= 1 && num(5) <= 12 && num(8) >= 1 && num(8) <= 31 && num(11) <= 23 &&
         num(14) <= 59 && num(17) <= 60;
}

}  // namespace fedseg::privacy::internal
