// The entry format of the privacy ledger (ledger.h): one release as one JSON line, its canonical
// form and hash, and the parsing and range checks of every field, shared by the writer (which
// builds entries) and the verifier (which reads them back).
//
// Format (docs/ledger.md has the full description and an openssl command-line recipe). The file
// is UTF-8 JSON lines, one entry per line, each line ending in '\n'. An entry is an object with
// exactly these keys:
//   seq            integer, 1 on the first line, +1 on each following line
//   time           string, UTC ISO-8601 with second resolution: "2024-05-01T12:34:56Z"
//   region         string, the region's name; equals the subject CN of its certificate
//   run_id         string, the federation run that made the release (a ledger spans runs)
//   round          integer, the training round; 0 for the preprocessing-statistics release
//   mechanism      "sampled_gaussian" (one round of DP-SGD) or "gaussian" (noisy statistics)
//   params         object; for "sampled_gaussian": sampling_rate (q in (0, 1]),
//                  noise_multiplier (sigma > 0), clip_norm (C > 0), steps (integer >= 1); for
//                  "gaussian": noise_multiplier (sigma > 0), count (integer >= 1, Gaussian
//                  releases composed), clip_norm (the L2 sensitivity the noise is scaled to, > 0)
//                  and optionally sensitivity (string: what was bounded, and how)
//   delta          number in (0, 1)
//   epsilon_after  number, the region's ε over entries 1..seq composed with the entry's
//                  accountant, at this entry's delta, as the writer computed it
//   order          number, the RDP order that gave epsilon_after; 0 for the PLD accountant
//   accountant     optional string, "pld" (privacy/accounting/pld_accountant.h) or "rdp"
//                  (rdp_accountant.h): which accountant produced epsilon_after; an entry without
//                  it is RDP (ledgers written before the PLD accountant existed)
//   model_sha256   string, lowercase hex SHA-256 of what was released (the model weights, or the
//                  statistics); required for "sampled_gaussian", may be "" for "gaussian"
//   prev_hash      string, the previous entry's `hash`; 64 '0' characters on seq 1
//   hash           string, lowercase hex SHA-256 of the entry without `hash` and `signature`,
//                  serialized by nlohmann::json dump() (no indentation: compact, object keys
//                  sorted since its objects are std::maps, doubles in its round-trip Grisu2 form)
//   signature      string, standard base64 (with padding) of the region's signature over the 64
//                  ASCII characters of `hash`, made with EVP_DigestSign and SHA-256 by the private
//                  key of the region's TLS certificate: ECDSA (DER-encoded) for EC keys,
//                  RSA-PSS with MGF1-SHA-256 and a 32-byte salt for RSA keys
// The line itself is the dump() of the whole entry (all keys sorted), so a line that is not in
// that form was re-serialized or edited; and, equivalently, `hash` is the SHA-256 of the line with
// the members "hash":"...", and "signature":"...", cut out (a rule any language can follow).
#ifndef FEDSEG_PRIVACY_LEDGER_ENTRY_H_
#define FEDSEG_PRIVACY_LEDGER_ENTRY_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/base/status.h"
#include "privacy/accounting/accountant.h"

namespace fedseg::privacy {

// The `prev_hash` of the first entry, and the head hash of an empty ledger.
inline constexpr char kLedgerGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Files larger than this are refused before they are read (a ledger grows by ~1 KiB per round).
inline constexpr uint64_t kMaxLedgerBytes = uint64_t{256} << 20;
// Lines longer than this are reported as bad instead of being parsed.
inline constexpr size_t kMaxLedgerLineBytes = size_t{64} << 10;

// A release's mechanism and parameters, validated.
struct LedgerMechanism {
  bool sampled = false;  // "sampled_gaussian"; else "gaussian" (q = 1)
  double sampling_rate = 1.0;
  double noise_multiplier = 0.0;
  double clip_norm = 0.0;
  int64_t steps = 0;        // steps, or count for "gaussian"
  std::string sensitivity;  // "gaussian" only; optional
  bool has_sensitivity = false;

  // "sampled_gaussian" or "gaussian".
  std::string name() const;
  // The params object exactly as the writer stores it: typed (doubles stay doubles even when the
  // caller passed 1, counts are integers), so the canonical form does not depend on the caller.
  nlohmann::json Params() const;
  // Composes the release into `accountant` (AddSampledGaussian, or AddGaussian for "gaussian").
  Status AddTo(RdpAccountant& accountant) const;
  Status AddTo(Accountant& accountant) const;
};

// Validates `mechanism` and its `params` object (keys, types and ranges; see the format above).
Result<LedgerMechanism> ParseLedgerMechanism(const std::string& name, const nlohmann::json& params);

// An entry's fields, read and checked for type and range (not for integrity: the chain, hash and
// signature are the verifier's).
struct LedgerEntry {
  int64_t seq = 0;
  std::string time, region, run_id, mechanism;
  uint32_t round = 0;
  LedgerMechanism mech;
  double delta = 0.0, epsilon_after = 0.0, order = 0.0;
  AccountantKind accountant = AccountantKind::kRdp;  // RDP when the key is absent
  std::string model_sha256, prev_hash, hash, signature;
};

// Reads one parsed line: exactly the keys of the format, each of its type and in its range. The
// message names the first bad field ("seq must be >= 1, got 0").
Result<LedgerEntry> ParseLedgerEntry(const nlohmann::json& j);

// The `hash` of an entry: SHA-256 of the dump() of everything but `hash` and `signature`.
std::string LedgerEntryHash(const nlohmann::json& entry);

// model_sha256: empty (allowed unless `required`, i.e. for "gaussian") or 64 lowercase hex digits.
Status CheckLedgerModelHash(const std::string& hash, bool required);
// region and run_id: 1-256 printable ASCII characters; `what` names the field in the message.
Status CheckLedgerName(const std::string& value, const char* what);

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_LEDGER_ENTRY_H_
