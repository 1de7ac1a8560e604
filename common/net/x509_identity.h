// A party's identity is the subject common name (CN) of its certificate. This is the one reader
// of that name: the TLS sessions, the client's own certificate and the ledger's signing
// certificate all use it, with the same checks.
#ifndef FEDSEG_COMMON_NET_X509_IDENTITY_H_
#define FEDSEG_COMMON_NET_X509_IDENTITY_H_

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>

#include "common/base/status.h"

namespace fedseg::net {

// The subject CN of `cert` as UTF-8. InvalidArgument (naming `where`) when the certificate has no
// CN, the CN cannot be converted, is empty, or holds an embedded NUL ("eu-west\0evil" would pass
// for "eu-west" in any C string API).
Result<std::string> CommonName(X509* cert, std::string_view where);

// The subject CN of the PEM certificate in the file `path`: NotFound when the file cannot be
// read, InvalidArgument when it is not a PEM certificate or its CN is unusable.
Result<std::string> CertificateFileCommonName(const std::string& path);

// The verified peer's CN on an established TLS connection, or "" when the peer presented no
// certificate, its chain did not verify, or its CN is unusable.
std::string PeerCommonName(SSL* ssl);

}  // namespace fedseg::net

#endif  // FEDSEG_COMMON_NET_X509_IDENTITY_H_
