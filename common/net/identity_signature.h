// Signatures by a party's TLS identity: the private key of its certificate signs a message, and a
// verifier checks the certificate (issued by the federation's CA, valid now, subject CN = the
// claimed identity) before the signature. Secure aggregation signs each region's per-round public
// keys this way, so a coordinator that relays them cannot substitute its own (docs/protocol.md).
#ifndef FEDSEG_COMMON_NET_IDENTITY_SIGNATURE_H_
#define FEDSEG_COMMON_NET_IDENTITY_SIGNATURE_H_

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
Status VerifyIdentitySignature(const std::string& ca_file, std::string_view cert_pem,
                               const std::string& identity, std::string_view message,
                               std::string_view signature);

}  // namespace fedseg::net

#endif  // FEDSEG_COMMON_NET_IDENTITY_SIGNATURE_H_
