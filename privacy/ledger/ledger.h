// A region's tamper-evident privacy ledger: every differential-privacy release the region makes is
// appended as one signed, hash-chained JSON line, and anyone holding the region's certificate can
// check that the file is intact and recompute the ε it records.
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
//   epsilon_after  number, the region's ε over entries 1..seq composed with the RDP accountant
//                  (privacy/accounting/rdp_accountant.h), at this entry's delta, as the writer computed it
//   order          number, the RDP order that gave epsilon_after
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
//
// Accounting: all entries of a ledger compose, in file order (RdpAccountant: AddSampledGaussian
// for "sampled_gaussian", AddGaussian(noise_multiplier, count) for "gaussian"), whatever their
// run_id: the budget belongs to the region's data. Each epsilon_after is stated at its own delta.
//
// What verification proves, and what it cannot: an edited, removed, inserted or reordered entry,
// or one signed by any other key, is detected from the file and the certificate alone. Removing
// entries from the END leaves a shorter, still valid ledger; only comparing the head hash or entry
// count with what the region reported (the coordinator's report.json `ledger_head`) catches it,
// hence LedgerVerifyOptions.
#ifndef FEDSEG_PRIVACY_LEDGER_LEDGER_H_
#define FEDSEG_PRIVACY_LEDGER_LEDGER_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "privacy/accounting/rdp_accountant.h"
#include "common/base/file_lock.h"

namespace fedseg::privacy {

// The `prev_hash` of the first entry, and the head hash of an empty ledger.
inline constexpr char kLedgerGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Files larger than this are refused before they are read (a ledger grows by ~1 KiB per round).
inline constexpr uint64_t kMaxLedgerBytes = uint64_t{256} << 20;
// Lines longer than this are reported as bad instead of being parsed.
inline constexpr size_t kMaxLedgerLineBytes = size_t{64} << 10;

// One release, as the caller describes it; the writer adds everything else.
struct LedgerRelease {
  uint32_t round = 0;        // 0 for the statistics release
  std::string mechanism;     // "sampled_gaussian" or "gaussian"
  nlohmann::json params;     // the mechanism's parameters (see the top of this file)
  double delta = 0.0;        // in (0, 1); ε is reported at this delta
  std::string model_sha256;  // lowercase hex; may be empty for "gaussian"
};

// Appends releases to one region's ledger. Holds an exclusive flock(2) on the file while it lives,
// so a second writer (another process of the same region, or a second LedgerWriter in the same
// process: destroy the old one before opening a new one) fails to open instead of forking the
// chain. Not thread-safe.
class LedgerWriter {
 public:
  // Opens (creating if absent, mode 0600) the ledger at `path`, signing with the PEM private key
  // (EC or RSA, unencrypted) at key_file. An existing ledger is verified first, exactly as
  // VerifyLedger does but against key_file's public half and `region`: a broken ledger (any
  // problem, including a last line cut short by a crash) is a Corruption error, never extended.
  // region and run_id must be 1-256 printable ASCII characters.
  static Result<std::unique_ptr<LedgerWriter>> Open(const std::string& path,
                                                    const std::string& key_file,
                                                    const std::string& region,
                                                    const std::string& run_id);
  ~LedgerWriter();
  LedgerWriter(const LedgerWriter&) = delete;
  LedgerWriter& operator=(const LedgerWriter&) = delete;

  // Validates the release, composes it with every earlier entry, computes epsilon_after and order
  // at release.delta, signs, and appends one line durably (write + fsync). Returns the entry as
  // written. Append the release BEFORE the released data leaves the region: an entry may then
  // describe a release that never happened (safe), never the reverse. Fails, without changing
  // the writer's state, when the file changed since the last append (then it never appends again;
  // reopen to re-verify).
  Result<nlohmann::json> Append(const LedgerRelease& release);

  // ε after every entry plus `release`, at release.delta, without writing: the budget check to
  // make BEFORE training.
  Result<EpsilonResult> EpsilonIfAppended(const LedgerRelease& release) const;
  // ε over every entry so far at `delta`; {0, 0} while the ledger is empty (nothing released).
  Result<EpsilonResult> CurrentEpsilon(double delta) const;

  // The last entry's hash (kLedgerGenesisHash while empty): what the region reports to the
  // coordinator so an audit can detect a truncated ledger.
  std::string head_hash() const { return head_hash_; }
  int64_t entries() const { return entries_; }

 private:
  struct Key;  // the signing key, OpenSSL-owned
  LedgerWriter() = default;

  std::string path_;
  std::string region_;
  std::string run_id_;
  std::unique_ptr<Key> key_;
  FileLock lock_;               // open on path_, holds the flock
  uint64_t expected_size_ = 0;  // file size after our last append
  bool failed_ = false;         // an append went wrong: never append again
  RdpAccountant accountant_;    // every entry so far
  std::string head_hash_ = kLedgerGenesisHash;
  int64_t entries_ = 0;
};

// What to compare the ledger's end with: the head the region reported (report.json `ledger_head`)
// and/or its entry count. Unset options are not checked.
struct LedgerVerifyOptions {
  std::optional<std::string> expect_head;
  std::optional<int64_t> expect_entries;
};

// One entry as the verifier read and recomputed it.
struct LedgerEntryReport {
  int64_t line = 0;  // 1-based line number in the file
  int64_t seq = 0;
  uint32_t round = 0;
  std::string run_id;
  std::string mechanism;
  double sampling_rate = 0.0;     // q; 1 for "gaussian"
  double noise_multiplier = 0.0;  // sigma
  int64_t steps = 0;              // steps, or count for "gaussian"
  double delta = 0.0;
  double epsilon_recorded = 0.0;  // epsilon_after as written
  double epsilon_after = 0.0;     // the verifier's own ε over entries 1..seq at this delta
  double order = 0.0;             // the RDP order that gave epsilon_after
  double epsilon_round = 0.0;     // ε of this entry alone at this delta (its own cost)
  bool ok = false;                // no problem was found on this line
};

struct LedgerVerification {
  bool ok = false;      // no problem at all
  int64_t entries = 0;  // lines in the file, each one entry (readable or not)
  // `hash` of the last line ("" if it cannot be read); kLedgerGenesisHash when empty.
  std::string head_hash = kLedgerGenesisHash;
  double epsilon = 0.0;  // recomputed total after the last readable entry, at its delta
  double delta = 0.0;    // that delta; 0 when the ledger is empty
  double order = 0.0;
  std::vector<LedgerEntryReport> rows;  // one per entry whose fields could be read
  std::vector<std::string> problems;    // "line N (seq S): what is wrong: what it suggests"
};

// Verifies the ledger at ledger_path against the PEM certificate at cert_file (its public key
// and subject CN); see the top of this file and docs/ledger.md for every check. Problems found in
// the ledger are reported in the result (ok = false), never as an error; the Status is an error
// only when a file cannot be read or the certificate or options are unusable.
Result<LedgerVerification> VerifyLedger(const std::string& ledger_path,
                                        const std::string& cert_file,
                                        const LedgerVerifyOptions& options = {});

// The same checks on a ledger already in memory, against a PEM certificate given as text
// (`cert_source` names it in messages). For tools that hold the bytes, and for fuzzing.
Result<LedgerVerification> VerifyLedgerText(std::string_view ledger_text, std::string_view cert_pem,
                                            const std::string& cert_source,
                                            const LedgerVerifyOptions& options = {});

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_LEDGER_LEDGER_H_
