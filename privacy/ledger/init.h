// Creating a region's ledger, once: `fedseg-client ledger init`. Generates the region's own
// ledger-signing key (EC P-256, never its TLS key) and writes the v2 genesis entry (entry.h) that
// records the key's public half, the region and its lifetime budget. Neither file is ever
// replaced: a ledger that exists is refused, so no command can hand a region a fresh budget.
#ifndef FEDSEG_PRIVACY_LEDGER_INIT_H_
#define FEDSEG_PRIVACY_LEDGER_INIT_H_

#include <string>

#include "common/base/status.h"

namespace fedseg::privacy {

struct LedgerInitOptions {
  std::string ledger_path;    // absolute; must not exist
  std::string key_path;       // absolute; must not exist; written mode 0600
  std::string region;         // 1-256 printable ASCII (the region's certificate CN)
  double epsilon_budget = 0;  // finite, > 0
  double delta = 0;           // in (0, 1): the budget's delta
};

struct LedgerInitResult {
  std::string genesis_hash;  // the new ledger's head
  std::string public_key;    // base64 DER of the ledger key's public half
};

// Writes a new ledger (mode 0600, never over an existing file) whose genesis entry records the
// public half of the EXISTING key at options.key_path and signs with it: the second half of
// InitLedger, for tools and tests that hold a key already. Returns the genesis hash.
Result<LedgerInitResult> CreateLedgerWithKey(const LedgerInitOptions& options);

// Generates the key, writes it (mode 0600, crash-safe, never over an existing file), then the
// ledger with its genesis entry (mode 0600, the same way). If the ledger cannot be written, the key
// just made is removed. Errors name the path or the field.
Result<LedgerInitResult> InitLedger(const LedgerInitOptions& options);

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_LEDGER_INIT_H_
