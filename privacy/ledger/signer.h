// The ledger's signatures: loading the region's private key and certificate, signing an entry's
// hash and verifying it (EVP_DigestSign with SHA-256: ECDSA for EC keys, RSA-PSS with a 32-byte
// salt for RSA keys; the format is in entry.h and docs/ledger.md).
#ifndef FEDSEG_PRIVACY_LEDGER_SIGNER_H_
#define FEDSEG_PRIVACY_LEDGER_SIGNER_H_

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/base/openssl_ptr.h"
#include "common/base/status.h"

namespace fedseg::privacy {

// An OpenSSL key, public or private.
using PkeyPtr = EvpPkeyPtr;

// The unencrypted PEM private key at `path` (an encrypted one fails; there is no prompt).
Result<PkeyPtr> LoadLedgerPrivateKey(const std::string& path);

// What the verifier takes from a region's certificate.
struct LedgerCertificate {
  PkeyPtr public_key;
  std::string common_name;  // the subject CN: the region's name
};

// A PEM certificate given as text (at most 1 MiB); `source` names it in messages.
Result<LedgerCertificate> ParseLedgerCertificate(std::string_view pem, const std::string& source);
// The PEM certificate at `path`.
Result<LedgerCertificate> LoadLedgerCertificate(const std::string& path);

// The ledger signs with EC or RSA keys; any other type is InvalidArgument naming `path`.
Status CheckLedgerKeyType(EVP_PKEY* key, const std::string& path);

// Standard base64 of key's signature over the 64 ASCII characters of `hash_hex`.
Result<std::string> SignLedgerHash(EVP_PKEY* key, const std::string& hash_hex);
// True iff `signature` (raw bytes, base64-decoded) is key's signature over `hash_hex`.
bool VerifyLedgerHashSignature(EVP_PKEY* key, const std::string& hash_hex,
                               const std::string& signature);

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_LEDGER_SIGNER_H_
