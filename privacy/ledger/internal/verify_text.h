// The verifier's core, shared by VerifyLedger (against a certificate) and LedgerWriter::Open
// (against the writer's own key, before it extends a ledger): every check of verifier.h on a
// ledger's text, returning the report and the accountant composed from the readable entries.
#ifndef FEDSEG_PRIVACY_LEDGER_INTERNAL_VERIFY_TEXT_H_
#define FEDSEG_PRIVACY_LEDGER_INTERNAL_VERIFY_TEXT_H_

#include <openssl/types.h>

#include <string>
#include <string_view>

#include "privacy/accounting/rdp_accountant.h"
#include "privacy/ledger/verifier.h"

namespace fedseg::privacy::internal {

// Who checks the ledger, and with what: a certificate (audit), the writer's own key (before it
// extends the ledger), or nothing but the ledger itself (a v2 audit without --cert).
struct SignerIdentity {
  enum class Role { kCertificate, kWriter, kLedgerOnly };
  Role role = Role::kLedgerOnly;
  EVP_PKEY* key =
      nullptr;         // not owned; the certificate's or the writer's key; null for kLedgerOnly
  std::string region;  // expected `region` of every entry; "" for kLedgerOnly
  std::string region_from;  // "the certificate's subject CN" / "the writer's region"
  std::string key_from;     // "the public key of a.crt" / "the signing key a.key"
};

struct VerifiedLedger {
  LedgerVerification report;
  Accountant accountant;  // every entry whose parameters could be read
};

// `options` must have been checked (expect_head lowercase hex, expect_entries >= 0).
VerifiedLedger VerifyText(std::string_view text, const SignerIdentity& signer,
                          const LedgerVerifyOptions& options);

}  // namespace fedseg::privacy::internal

#endif  // FEDSEG_PRIVACY_LEDGER_INTERNAL_VERIFY_TEXT_H_
