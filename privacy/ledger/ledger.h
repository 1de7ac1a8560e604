// A region's tamper-evident privacy ledger: created once with the region's own signing key and its
// budget in a genesis entry, then every differential-privacy release the region makes is appended
// as one signed, hash-chained JSON line, and anyone holding the file can check that it is intact,
// recompute the ε it records and compare it with the budget. The public header of
// fedseg_privacy_ledger; the library is split by concept:
//   entry.h     the file format (every key of an entry), its canonical form, parsing and checks
//   signer.h    keys, certificates, signing and verifying an entry's hash
//   verifier.h  VerifyLedger / VerifyLedgerText: the chain, signatures and recomputed ε
//   init.h      InitLedger: the ledger key and the genesis entry, made once
//   writer.h    LedgerWriter: validate, compose, sign and append a release under a file lock
// docs/ledger.md has the full description and an openssl command-line recipe.
//
// Accounting: all entries of a ledger compose, in file order (RdpAccountant: AddSampledGaussian
// for "sampled_gaussian", AddGaussian(noise_multiplier, count) for "gaussian"), whatever their
// run_id: the budget belongs to the region's data. Each epsilon_after is stated at its own delta;
// the verifier states the total at the budget's delta.
#ifndef FEDSEG_PRIVACY_LEDGER_LEDGER_H_
#define FEDSEG_PRIVACY_LEDGER_LEDGER_H_

#include "privacy/ledger/entry.h"     // IWYU pragma: export
#include "privacy/ledger/init.h"      // IWYU pragma: export
#include "privacy/ledger/verifier.h"  // IWYU pragma: export
#include "privacy/ledger/writer.h"    // IWYU pragma: export

#endif  // FEDSEG_PRIVACY_LEDGER_LEDGER_H_
