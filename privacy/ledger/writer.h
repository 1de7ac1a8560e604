// The writer of a region's privacy ledger: validates each release, composes it with every
// earlier entry (with the accountant chosen at Open, recorded in each entry), signs it with the
// region's key and appends it durably as one line of the format in entry.h, holding an exclusive
// lock on the file while it lives.
#ifndef FEDSEG_PRIVACY_LEDGER_WRITER_H_
#define FEDSEG_PRIVACY_LEDGER_WRITER_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/base/file_lock.h"
#include "common/base/status.h"
#include "privacy/accounting/accountant.h"
#include "privacy/ledger/entry.h"

namespace fedseg::privacy {

// One release, as the caller describes it; the writer adds everything else.
struct LedgerRelease {
  uint32_t round = 0;        // 0 for the statistics release
  std::string mechanism;     // "sampled_gaussian" or "gaussian"
  nlohmann::json params;     // the mechanism's parameters (see entry.h)
  double delta = 0.0;        // in (0, 1); ε is reported at this delta
  std::string model_sha256;  // lowercase hex; may be empty for "gaussian"
};

// Appends releases to one region's ledger. Holds an exclusive flock(2) on the file while it lives,
// so a second writer (another process of the same region, or a second LedgerWriter in the same
// process: destroy the old one before opening a new one) fails to open instead of forking the
// chain. Not thread-safe.
class LedgerWriter {
 public:
  // Opens the v2 ledger at `path` (made by InitLedger, init.h), signing with the PEM private key
  // (EC or RSA, unencrypted) at key_file, which must be the key of its genesis entry. A missing
  // ledger is NotFound (never created here: a fresh ledger would reset the spent budget); a legacy
  // (v1) ledger is FailedPrecondition. The ledger is verified first, exactly as VerifyLedger does
  // but against key_file's public half and `region`: a broken ledger (any problem, including a
  // last line cut short by a crash) is a Corruption error, never extended.
  // region and run_id must be 1-256 printable ASCII characters. `accountant` computes the
  // epsilon_after of the entries this writer appends (earlier entries keep theirs).
  static Result<std::unique_ptr<LedgerWriter>> Open(
      const std::string& path, const std::string& key_file, const std::string& region,
      const std::string& run_id, AccountantKind accountant = AccountantKind::kRdp);
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
  // The same under another accountant (e.g. a fast RDP bracket before a PLD calibration).
  Result<EpsilonResult> EpsilonIfAppended(const LedgerRelease& release, AccountantKind kind) const;
  // The same for several releases at once (at the last one's delta): a round's DP-SGD together
  // with the evaluations the region keeps budget for. Nothing is written.
  Result<EpsilonResult> EpsilonIfAppended(const std::vector<LedgerRelease>& releases,
                                          AccountantKind kind) const;
  AccountantKind accountant() const { return kind_; }
  // ε over every entry so far at `delta`; {0, 0} while the ledger is empty (nothing released).
  Result<EpsilonResult> CurrentEpsilon(double delta) const;

  // The last entry's hash (the genesis entry's while no release is recorded): what the region
  // reports to the coordinator so an audit can detect a truncated ledger.
  std::string head_hash() const { return head_hash_; }
  // Release entries (the genesis entry is not counted): the seq of the head.
  int64_t entries() const { return entries_; }
  // The budget recorded in the genesis entry, and its delta.
  double epsilon_budget() const { return epsilon_budget_; }
  double budget_delta() const { return budget_delta_; }

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
  AccountantKind kind_ = AccountantKind::kRdp;
  Accountant accountant_;  // every entry so far
  std::string head_hash_ = kLedgerGenesisHash;
  int64_t entries_ = 0;
  double epsilon_budget_ = 0.0;
  double budget_delta_ = 0.0;
};

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_LEDGER_WRITER_H_
