// Verification of a region's privacy ledger against its certificate: the hash chain, every
// signature, the region's name, the canonical form of each line, and a recomputation of the ε
// every entry records (entry.h has the format, docs/ledger.md every check).
//
// What verification proves, and what it cannot: an edited, removed, inserted or reordered entry,
// or one signed by any other key, is detected from the file and the certificate alone. Removing
// entries from the END leaves a shorter, still valid ledger; only comparing the head hash or entry
// count with what the region reported (the coordinator's report.json `ledger_head`) catches it,
// hence LedgerVerifyOptions.
#ifndef FEDSEG_PRIVACY_LEDGER_VERIFIER_H_
#define FEDSEG_PRIVACY_LEDGER_VERIFIER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "privacy/ledger/entry.h"

namespace fedseg::privacy {

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
  double epsilon_recorded = 0.0;   // epsilon_after as written
  double epsilon_after = 0.0;      // the verifier's own ε over entries 1..seq at this delta
  double order = 0.0;              // the RDP order that gave epsilon_after (0 for PLD)
  std::string accountant = "rdp";  // the entry's accountant, which both figures use
  double epsilon_round = 0.0;      // ε of this entry alone at this delta (its own cost)
  bool ok = false;                 // no problem was found on this line
};

struct LedgerVerification {
  bool ok = false;  // no problem at all
  // kLedgerFormatV2, or "legacy-v1" for a ledger without a genesis entry (signed with the TLS key
  // over the bare hash; verified under that rule against a certificate, never extended).
  std::string format = kLedgerFormatV2;
  bool legacy = false;
  std::string region;         // the genesis entry's region (v2), else the certificate's CN
  std::string public_key;     // v2: the ledger's own public key (base64 DER), from its genesis
  double epsilon_budget = 0;  // v2: the budget recorded in the genesis entry; 0 for legacy
  bool over_budget = false;   // v2: `epsilon` (at the budget's delta) exceeds epsilon_budget
  // Release entries (lines after the genesis entry; every line of a legacy ledger), readable or
  // not: the seq of the last one.
  int64_t entries = 0;
  // `hash` of the last line ("" if it cannot be read): the genesis hash while a v2 ledger has no
  // release; kLedgerGenesisHash (64 zeros) for an empty file.
  std::string head_hash = kLedgerGenesisHash;
  // Recomputed total over every readable release: for v2 at the budget's delta (the genesis
  // entry's), for a legacy ledger at the last readable entry's delta.
  double epsilon = 0.0;
  double delta = 0.0;  // that delta; 0 for an empty legacy ledger
  double order = 0.0;
  std::string accountant = "rdp";       // the last entry's accountant, which `epsilon` uses
  std::vector<LedgerEntryReport> rows;  // one per entry whose fields could be read
  std::vector<std::string> problems;    // "line N (seq S): what is wrong: what it suggests"
};

// Verifies the ledger at ledger_path; see entry.h and docs/ledger.md for every check. A v2 ledger
// is checked against the public key of its own genesis entry, and, when cert_file is not empty,
// its region against the certificate's subject CN and its key against the certificate's (a
// ledger signed with the TLS key is refused); a v2 ledger whose ε exceeds its recorded budget is a
// problem. A legacy ledger needs cert_file (its entries are signed with that key). Problems found
// in the ledger are reported in the result (ok = false), never as an error; the Status is an error
// only when a file cannot be read or the certificate or options are unusable.
Result<LedgerVerification> VerifyLedger(const std::string& ledger_path,
                                        const std::string& cert_file,
                                        const LedgerVerifyOptions& options = {});

// The same checks on a ledger already in memory, against a PEM certificate given as text, or
// none when cert_pem is empty (`cert_source` names it in messages). For tools that hold the bytes,
// and for fuzzing.
Result<LedgerVerification> VerifyLedgerText(std::string_view ledger_text, std::string_view cert_pem,
                                            const std::string& cert_source,
                                            const LedgerVerifyOptions& options = {});

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_LEDGER_VERIFIER_H_
