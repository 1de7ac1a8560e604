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

// The domain separation of v2 ledgers: what is signed is this context string followed by the 64
// ASCII characters of the entry's hash, so a ledger signature can never be taken for (or made
// from) a signature over the same bytes in any other protocol, and the reverse. Legacy (v1)
// ledgers signed the bare hash (kLedgerLegacyContext).
inline constexpr std::string_view kLedgerSignatureContext = "fedseg-ledger-v2:";
inline constexpr std::string_view kLedgerLegacyContext = "";

// Standard base64 of key's signature over `context` followed by the 64 ASCII characters of
// `hash_hex`.
Result<std::string> SignLedgerHash(EVP_PKEY* key, const std::string& hash_hex,
                                   std::string_view context);
// True iff `signature` (raw bytes, base64-decoded) is key's signature over `context` + `hash_hex`.
bool VerifyLedgerHashSignature(EVP_PKEY* key, const std::string& hash_hex,
                               const std::string& signature, std::string_view context);

// A new ledger-signing key: EC P-256 from OpenSSL's CSPRNG, as an unencrypted PKCS#8 PEM (the
// caller writes it mode 0600 and wipes the string).
Result<std::string> GenerateLedgerKeyPem();
// Standard base64 of the DER SubjectPublicKeyInfo of key's public half: the `public_key` of a
// ledger's genesis entry (`openssl pkey -pubout -outform DER | base64 -w0` gives the same).
Result<std::string> LedgerPublicKeyBase64(EVP_PKEY* key);
// The public key a genesis entry records; InvalidArgument when it is not base64 DER of an EC or
// RSA SubjectPublicKeyInfo.
Result<PkeyPtr> ParseLedgerPublicKey(std::string_view base64);
// True iff the two keys have the same public half.
bool SameLedgerKey(EVP_PKEY* a, EVP_PKEY* b);

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_LEDGER_SIGNER_H_
