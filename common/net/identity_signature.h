// Signatures by a party's TLS identity: the private key of its certificate signs a message, and a
// verifier checks the certificate (issued by the federation's CA, valid now, subject CN = the
// claimed identity) before the signature. Secure aggregation signs each region's per-round public
// keys this way, so a coordinator that relays them cannot substitute its own (docs/protocol.md).
#ifndef FEDSEG_COMMON_NET_IDENTITY_SIGNATURE_H_
#define FEDSEG_COMMON_NET_IDENTITY_SIGNATURE_H_

#include <openssl/types.h>

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace fedseg::net {

// The signature of `message` (SHA-256, DER) by the PEM private key in `key_file`.
Result<std::string> SignWithKeyFile(const std::string& key_file, std::string_view message);

// The PEM text of the certificate file `path`, checked to parse.
Result<std::string> ReadCertificatePem(const std::string& path);

// Hex SHA-256 of the SubjectPublicKeyInfo of `cert_pem` (the form of TlsSession's pins).
Result<std::string> CertificatePemSpkiSha256(std::string_view cert_pem);

// OK when `cert_pem` is a certificate issued by the CA in `ca_file`, valid now, whose subject CN is
// `identity`, and `signature` is its key's signature of `message`. Errors name the identity.
// Loads the CA on every call: a party that verifies many signatures keeps an IdentityVerifier.
Status VerifyIdentitySignature(const std::string& ca_file, std::string_view cert_pem,
                               const std::string& identity, std::string_view message,
                               std::string_view signature);

// VerifyIdentitySignature for many signatures: the CA is loaded once, and a certificate that
// verified against it is remembered (its public key and CN, by the SHA-256 of its PEM text) for
// up to a day and never past its notAfter, so a long-lived region whose SecAgg+ neighbours change
// every round parses and chain-checks each peer's certificate about once a day, not once every
// few rounds (parsing and chain-checking cost several times the signature check:
// fedseg_secagg_bench, docs/quality.md). The check depends only on the certificate, the CA loaded
// at Create and the time (no CRL here: a revoked region is refused at its TLS handshake with the
// coordinator), so remembering it accepts nothing that would fail it, except past a CA change,
// which needs a new verifier anyway. Only certificates that verified are remembered, at most
// kMaxRemembered (the oldest forgotten first). Not thread-safe: one per thread or session.
class IdentityVerifier {
 public:
  static Result<IdentityVerifier> Create(const std::string& ca_file);

  // As VerifyIdentitySignature, with this verifier's CA.
  Status Verify(std::string_view cert_pem, const std::string& identity, std::string_view message,
                std::string_view signature);

 private:
  struct Checked {
    std::shared_ptr<EVP_PKEY> key;
    std::string cn;
    std::chrono::steady_clock::time_point until;  // checked against the CA again after this
  };
  explicit IdentityVerifier(std::shared_ptr<X509_STORE> store) : store_(std::move(store)) {}
  Result<const Checked*> Check(std::string_view cert_pem, const std::string& identity);

  using Digest = std::array<unsigned char, 32>;
  static constexpr size_t kMaxRemembered = 100000;

  std::shared_ptr<X509_STORE> store_;
  std::map<Digest, Checked> checked_;  // by SHA-256 of the certificate's PEM text
  std::deque<Digest> order_;           // checked_'s keys, oldest first
};

}  // namespace fedseg::net

#endif  // FEDSEG_COMMON_NET_IDENTITY_SIGNATURE_H_
