#include "privacy/ledger/entry.h"

#include <cmath>
#include <ctime>
#include <limits>
#include <set>
#include <string_view>

#include "common/base/sha256.h"
#include "privacy/accounting/number_format.h"
#include "privacy/accounting/parameter_checks.h"
#include "privacy/ledger/internal/json_fields.h"

namespace fedseg::privacy {
namespace {

using json = nlohmann::json;
using internal::CheckKeys;
using internal::GetInteger;
using internal::GetNumber;
using internal::GetString;
using internal::IsIsoUtcTime;
using internal::IsLowerHex64;
using internal::IsPrintableAscii;
using internal::Show;

constexpr std::string_view kSampledGaussian = "sampled_gaussian";
constexpr std::string_view kGaussian = "gaussian";
// Names are copied into every entry; bounded so an entry always fits in kMaxLedgerLineBytes.
constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxSensitivityBytes = 1024;

const std::set<std::string>& EntryKeys() {
  static const std::set<std::string> keys = {
      "seq",   "time",          "region", "run_id",       "round",     "mechanism", "params",
      "delta", "epsilon_after", "order",  "model_sha256", "prev_hash", "hash",      "signature"};
  return keys;
}

const std::set<std::string>& GenesisKeys() {
  static const std::set<std::string> keys = {"seq",        "format",         "time",  "region",
                                             "public_key", "epsilon_budget", "delta", "prev_hash",
                                             "hash",       "signature"};
  return keys;
}

}  // namespace

bool IsLedgerGenesis(const json& j) { return j.is_object() && j.contains("format"); }

Result<LedgerGenesis> ParseLedgerGenesis(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("not a JSON object");
  FEDSEG_RETURN_IF_ERROR(CheckKeys(j, GenesisKeys(), {}, ""));
  LedgerGenesis g;
  FEDSEG_ASSIGN_OR_RETURN(std::string format, GetString(j, "format", ""));
  if (format != kLedgerFormatV2) {
    return Status::InvalidArgument("format must be \"" + std::string(kLedgerFormatV2) +
                                   "\", got \"" + format.substr(0, 80) +
                                   "\": a ledger format this verifier does not know");
  }
  FEDSEG_ASSIGN_OR_RETURN(int64_t seq, GetInteger(j, "seq", ""));
  if (seq != 0) {
    return Status::InvalidArgument("the genesis entry's seq must be 0, got " + std::to_string(seq));
  }
  FEDSEG_ASSIGN_OR_RETURN(g.time, GetString(j, "time", ""));
  if (!IsIsoUtcTime(g.time)) {
    return Status::InvalidArgument("time must be UTC ISO-8601 (YYYY-MM-DDTHH:MM:SSZ), got \"" +
                                   g.time.substr(0, 80) + "\"");
  }
  FEDSEG_ASSIGN_OR_RETURN(g.region, GetString(j, "region", ""));
  FEDSEG_RETURN_IF_ERROR(CheckLedgerName(g.region, "region"));
  FEDSEG_ASSIGN_OR_RETURN(g.public_key, GetString(j, "public_key", ""));
  FEDSEG_ASSIGN_OR_RETURN(g.epsilon_budget, GetNumber(j, "epsilon_budget", ""));
  if (!(g.epsilon_budget > 0) || !std::isfinite(g.epsilon_budget)) {
    return Status::InvalidArgument("epsilon_budget must be finite and positive, got " +
                                   FormatShortest(g.epsilon_budget));
  }
  FEDSEG_ASSIGN_OR_RETURN(g.delta, GetNumber(j, "delta", ""));
  FEDSEG_RETURN_IF_ERROR(CheckDelta(g.delta));
  FEDSEG_ASSIGN_OR_RETURN(g.prev_hash, GetString(j, "prev_hash", ""));
  if (g.prev_hash != kLedgerGenesisHash) {
    return Status::InvalidArgument("the genesis entry's prev_hash must be 64 zeros");
  }
  FEDSEG_ASSIGN_OR_RETURN(g.hash, GetString(j, "hash", ""));
  if (!IsLowerHex64(g.hash)) return Status::InvalidArgument("hash must be 64 lowercase hex digits");
  FEDSEG_ASSIGN_OR_RETURN(g.signature, GetString(j, "signature", ""));
  return g;
}

json MakeLedgerGenesisContent(const std::string& time, const std::string& region,
                              const std::string& public_key, double epsilon_budget, double delta) {
  json g = json::object();
  g["seq"] = 0;
  g["format"] = kLedgerFormatV2;
  g["time"] = time;
  g["region"] = region;
  g["public_key"] = public_key;
  g["epsilon_budget"] = epsilon_budget;
  g["delta"] = delta;
  g["prev_hash"] = kLedgerGenesisHash;
  return g;
}

std::string LedgerMechanism::name() const {
  return std::string(sampled ? kSampledGaussian : kGaussian);
}

json LedgerMechanism::Params() const {
  json p = json::object();
  p["noise_multiplier"] = noise_multiplier;
  p["clip_norm"] = clip_norm;
  if (sampled) {
    p["sampling_rate"] = sampling_rate;
    p["steps"] = steps;
  } else {
    p["count"] = steps;
    if (has_sensitivity) p["sensitivity"] = sensitivity;
    if (selection_delta > 0.0) p["selection_delta"] = selection_delta;
  }
  return p;
}

Status LedgerMechanism::AddTo(RdpAccountant& accountant) const {
  if (selection_delta > 0.0) {
    return Status::InvalidArgument(
        "a release with a selection_delta needs an accountant that adds deltas");
  }
  return sampled ? accountant.AddSampledGaussian(sampling_rate, noise_multiplier, steps)
                 : accountant.AddGaussian(noise_multiplier, steps);
}

Status LedgerMechanism::AddTo(Accountant& accountant) const {
  if (sampled) return accountant.AddSampledGaussian(sampling_rate, noise_multiplier, steps);
  // All or nothing: the delta is checked (by the parser, and here again) before the Gaussian
  // mechanisms are added.
  if (selection_delta != 0.0 && !(selection_delta > 0.0 && selection_delta < 1.0)) {
    return Status::InvalidArgument("params.selection_delta must be in (0, 1), got " +
                                   FormatShortest(selection_delta));
  }
  FEDSEG_RETURN_IF_ERROR(accountant.AddGaussian(noise_multiplier, steps));
  return selection_delta > 0.0 ? accountant.AddDelta(selection_delta) : Status::OK();
}

Result<LedgerMechanism> ParseLedgerMechanism(const std::string& name, const json& params) {
  LedgerMechanism m;
  if (name == kSampledGaussian) {
    m.sampled = true;
  } else if (name != kGaussian) {
    return Status::InvalidArgument(
        "mechanism must be \"sampled_gaussian\" or \"gaussian\", got \"" + name + "\"");
  }
  const std::string where = "params.";
  if (!params.is_object()) {
    return Status::InvalidArgument("params must be an object, got " + Show(params));
  }
  if (m.sampled) {
    FEDSEG_RETURN_IF_ERROR(
        CheckKeys(params, {"sampling_rate", "noise_multiplier", "clip_norm", "steps"}, {}, where));
    FEDSEG_ASSIGN_OR_RETURN(m.sampling_rate, GetNumber(params, "sampling_rate", where));
    FEDSEG_ASSIGN_OR_RETURN(m.steps, GetInteger(params, "steps", where));
    if (!(m.sampling_rate > 0.0 && m.sampling_rate <= 1.0)) {
      return Status::InvalidArgument("params.sampling_rate must be in (0, 1], got " +
                                     FormatShortest(m.sampling_rate));
    }
  } else {
    FEDSEG_RETURN_IF_ERROR(CheckKeys(params, {"noise_multiplier", "count", "clip_norm"},
                                     {"sensitivity", "selection_delta"}, where));
    FEDSEG_ASSIGN_OR_RETURN(m.steps, GetInteger(params, "count", where));
    if (params.contains("selection_delta")) {
      FEDSEG_ASSIGN_OR_RETURN(m.selection_delta, GetNumber(params, "selection_delta", where));
      if (!(m.selection_delta > 0.0 && m.selection_delta < 1.0)) {
        return Status::InvalidArgument("params.selection_delta must be in (0, 1), got " +
                                       FormatShortest(m.selection_delta));
      }
    }
    if (params.contains("sensitivity")) {
      FEDSEG_ASSIGN_OR_RETURN(m.sensitivity, GetString(params, "sensitivity", where));
      m.has_sensitivity = true;
      // ASCII keeps every entry valid UTF-8 whatever the caller passes (dump() would throw).
      if (m.sensitivity.size() > kMaxSensitivityBytes || !IsPrintableAscii(m.sensitivity)) {
        return Status::InvalidArgument("params.sensitivity must be at most " +
                                       std::to_string(kMaxSensitivityBytes) +
                                       " printable ASCII characters");
      }
    }
  }
  FEDSEG_ASSIGN_OR_RETURN(m.noise_multiplier, GetNumber(params, "noise_multiplier", where));
  FEDSEG_ASSIGN_OR_RETURN(m.clip_norm, GetNumber(params, "clip_norm", where));
  if (!(m.noise_multiplier > 0.0)) {
    return Status::InvalidArgument("params.noise_multiplier must be positive, got " +
                                   FormatShortest(m.noise_multiplier));
  }
  if (!(m.clip_norm > 0.0)) {
    return Status::InvalidArgument("params.clip_norm must be positive, got " +
                                   FormatShortest(m.clip_norm));
  }
  if (m.steps < 1) {
    return Status::InvalidArgument(std::string("params.") + (m.sampled ? "steps" : "count") +
                                   " must be a positive integer, got " + std::to_string(m.steps));
  }
  return m;
}

Status CheckLedgerModelHash(const std::string& hash, bool required) {
  if (hash.empty()) {
    if (required) return Status::InvalidArgument("model_sha256 is required for sampled_gaussian");
    return Status::OK();
  }
  if (!IsLowerHex64(hash)) {
    return Status::InvalidArgument("model_sha256 must be 64 lowercase hex digits, got \"" +
                                   hash.substr(0, 80) + "\"");
  }
  return Status::OK();
}

Status CheckLedgerName(const std::string& value, const char* what) {
  if (value.empty() || value.size() > kMaxNameBytes || !IsPrintableAscii(value)) {
    return Status::InvalidArgument(
        std::string(what) + " must be 1-" + std::to_string(kMaxNameBytes) +
        " printable ASCII characters, got \"" + value.substr(0, 80) + "\"");
  }
  return Status::OK();
}

Result<LedgerEntry> ParseLedgerEntry(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("not a JSON object");
  FEDSEG_RETURN_IF_ERROR(CheckKeys(j, EntryKeys(), {"accountant"}, ""));
  LedgerEntry e;
  FEDSEG_ASSIGN_OR_RETURN(e.seq, GetInteger(j, "seq", ""));
  if (e.seq < 1) return Status::InvalidArgument("seq must be >= 1, got " + std::to_string(e.seq));
  FEDSEG_ASSIGN_OR_RETURN(e.time, GetString(j, "time", ""));
  if (!IsIsoUtcTime(e.time)) {
    return Status::InvalidArgument("time must be UTC ISO-8601 (YYYY-MM-DDTHH:MM:SSZ), got \"" +
                                   e.time.substr(0, 80) + "\"");
  }
  FEDSEG_ASSIGN_OR_RETURN(e.region, GetString(j, "region", ""));
  FEDSEG_RETURN_IF_ERROR(CheckLedgerName(e.region, "region"));
  FEDSEG_ASSIGN_OR_RETURN(e.run_id, GetString(j, "run_id", ""));
  FEDSEG_RETURN_IF_ERROR(CheckLedgerName(e.run_id, "run_id"));
  FEDSEG_ASSIGN_OR_RETURN(int64_t round, GetInteger(j, "round", ""));
  if (round < 0 || round > int64_t{std::numeric_limits<uint32_t>::max()}) {
    return Status::InvalidArgument("round must be in [0, 2^32), got " + std::to_string(round));
  }
  e.round = static_cast<uint32_t>(round);
  FEDSEG_ASSIGN_OR_RETURN(e.mechanism, GetString(j, "mechanism", ""));
  FEDSEG_ASSIGN_OR_RETURN(e.mech, ParseLedgerMechanism(e.mechanism, *j.find("params")));
  FEDSEG_ASSIGN_OR_RETURN(e.delta, GetNumber(j, "delta", ""));
  FEDSEG_RETURN_IF_ERROR(CheckDelta(e.delta));
  FEDSEG_ASSIGN_OR_RETURN(e.epsilon_after, GetNumber(j, "epsilon_after", ""));
  if (e.epsilon_after < 0) {
    return Status::InvalidArgument("epsilon_after must be >= 0, got " +
                                   FormatShortest(e.epsilon_after));
  }
  FEDSEG_ASSIGN_OR_RETURN(e.order, GetNumber(j, "order", ""));
  if (j.contains("accountant")) {
    FEDSEG_ASSIGN_OR_RETURN(std::string accountant, GetString(j, "accountant", ""));
    FEDSEG_ASSIGN_OR_RETURN(e.accountant, ParseAccountantKind(accountant));
  }
  FEDSEG_ASSIGN_OR_RETURN(e.model_sha256, GetString(j, "model_sha256", ""));
  FEDSEG_RETURN_IF_ERROR(CheckLedgerModelHash(e.model_sha256, e.mech.sampled));
  FEDSEG_ASSIGN_OR_RETURN(e.prev_hash, GetString(j, "prev_hash", ""));
  if (!IsLowerHex64(e.prev_hash)) {
    return Status::InvalidArgument("prev_hash must be 64 lowercase hex digits");
  }
  FEDSEG_ASSIGN_OR_RETURN(e.hash, GetString(j, "hash", ""));
  if (!IsLowerHex64(e.hash)) return Status::InvalidArgument("hash must be 64 lowercase hex digits");
  FEDSEG_ASSIGN_OR_RETURN(e.signature, GetString(j, "signature", ""));
  return e;
}

std::string LedgerEntryHash(const json& entry) {
  json content = entry;
  content.erase("hash");
  content.erase("signature");
  return Sha256Hex(content.dump());
}

std::string LedgerTimeUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace fedseg::privacy
