// TLS 1.3 contexts for fedseg's mutual-TLS transport, and the helpers both ends use to explain a
// refused handshake.
//
// Coordinator and regions authenticate each other with certificates from the federation's private
// CA (scripts/gen-certs.sh): the coordinator requires a client certificate and identifies a region
// by its subject CN; a region checks that the coordinator's certificate names the host it dialled
// in its subjectAltName (never the subject CN: X509_CHECK_FLAG_NEVER_CHECK_SUBJECT). Each side
// requires the other's certificate to carry the right extended key usage: clientAuth for a
// region, serverAuth for the coordinator (a certificate without the extension is refused, unlike
// OpenSSL's default purpose check, which lets it pass).
// Only TLS 1.3 is accepted, so there are no cipher or renegotiation settings to get wrong. The
// helpers turn OpenSSL's error codes into the short reasons that end up in logs, in Status messages
// and in the server's refusal counters ("certificate has expired", "no client certificate").
#ifndef FEDSEG_COMMON_NET_TLS_H_
#define FEDSEG_COMMON_NET_TLS_H_

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/verify_context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "common/base/status.h"

namespace fedseg::net {

// Where a TLS endpoint finds its trust anchor and its own identity. All files are PEM.
struct TlsConfig {
  std::string ca_file;    // the federation CA; peers must present a certificate it issued
  std::string cert_file;  // this endpoint's certificate (chain), issued by that CA
  std::string key_file;   // the private key of cert_file (unencrypted; keep it mode 0600)
};

// A context for the coordinator: TLS 1.3 only, requires and verifies a client certificate issued
// by config.ca_file, presents config.cert_file. No session tickets or cache: each region keeps one
// long connection, so resumption would only add state. Errors name the file and OpenSSL's reason.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const TlsConfig& config);

// A context for a region: TLS 1.3 only, verifies the server against config.ca_file and presents
// config.cert_file. cert_file and key_file may both be empty (a client without a certificate; the
// coordinator refuses it, which the tests rely on). The host-name check is per connection (see
// TlsClientConnection), since it depends on the host dialled.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeClientTlsContext(const TlsConfig& config);


// Adds the CRLs of the PEM file `crl_file` (issued by the CA) to `ctx` and checks every peer
// certificate against them (X509_V_FLAG_CRL_CHECK): a revoked one is refused as "certificate
// revoked", and a CRL past its nextUpdate refuses every peer ("CRL has expired") until a fresh
// one is installed, so a stale revocation list is noticed rather than silently ignored. Errors
// name the file.
Status EnableCrlCheck(boost::asio::ssl::context& ctx, const std::string& crl_file);

// The first reason OpenSSL refused a peer's certificate chain during one handshake.
struct PeerVerifyFailure {
  int x509_error = X509_V_OK;  // an X509_V_ERR_* code; X509_V_OK while nothing was refused
  int depth = -1;              // 0 = the peer's own certificate, 1 = its issuer, ...
  std::string subject;         // one-line subject of the refused certificate
  std::string note;            // our own reason when OpenSSL had none (the EKU check)

  bool failed() const { return x509_error != X509_V_OK; }
  // OpenSSL's text for x509_error: "certificate has expired", "unable to get local issuer
  // certificate", "hostname mismatch", ...
  std::string reason() const;
};

// The hex SHA-256 of the DER SubjectPublicKeyInfo of `cert` (what `openssl x509 -pubkey -noout |
// openssl pkey -pubin -outform DER | sha256sum` prints): the pin of a region's key. "" on error.
std::string SpkiSha256Hex(X509* cert);

// Verify callback for ssl::stream::set_verify_callback. It accepts what OpenSSL's own chain
// verification accepted (expiry, CA, purpose, CRL, host name via the SSL's X509_VERIFY_PARAM),
// then additionally requires the peer's own certificate (depth 0) to carry an extended key usage
// extension naming its role: clientAuth when we are the server, serverAuth when we are the client.
// It records the first refusal in *record, because once the handshake has failed all that is left
// is the generic "certificate verify failed". One record per connection.
class RecordingVerifyCallback {
 public:
  explicit RecordingVerifyCallback(std::shared_ptr<PeerVerifyFailure> record)
      : record_(std::move(record)) {}
  bool operator()(bool preverified, boost::asio::ssl::verify_context& ctx) const;

 private:
  std::shared_ptr<PeerVerifyFailure> record_;
};

// A short description of a socket or TLS error: OpenSSL's reason text without the library suffix
// ("tlsv13 alert certificate required"), "connection closed without TLS close_notify" for a
// truncated stream, the system message otherwise ("Connection refused").
std::string DescribeTlsError(const boost::system::error_code& ec);

// True when the peer closed the connection: EOF, or a TLS stream cut without close_notify.
bool IsCleanClose(const boost::system::error_code& ec);

// True when `ec` reports a TLS alert received from the peer, i.e. the peer refused us (our
// certificate, our CA, our protocol version) rather than the network failing.
bool IsPeerTlsAlert(const boost::system::error_code& ec);

// The reason a handshake failed, for logs and Status messages: "certificate verify failed (<what
// `record` says>)" when our side refused the peer's certificate, DescribeTlsError(ec) otherwise.
std::string DescribeHandshakeError(const boost::system::error_code& ec,
                                   const PeerVerifyFailure& record);

}  // namespace fedseg::net

#endif  // FEDSEG_COMMON_NET_TLS_H_
