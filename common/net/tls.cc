#include "common/net/tls.h"

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <filesystem>
#include <fstream>

#include "common/base/openssl_error.h"

namespace fedseg::net {
namespace {

namespace ssl = boost::asio::ssl;

// A PEM file must exist and be readable before OpenSSL is asked to parse it: OpenSSL's message for
// a missing file ("system lib") says nothing useful.
Status CheckReadable(const std::string& what, const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("TLS config: " + what + " is empty");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::NotFound(what + " '" + path + "' does not exist or is not a regular file");
  }
  std::ifstream in(path);
  if (!in) return Status::PermissionDenied(what + " '" + path + "' is not readable");
  return Status::OK();
}

Status LoadError(const std::string& what, const std::string& path,
                 const boost::system::error_code& ec) {
  return Status::InvalidArgument("load " + what + " '" + path + "': " + DescribeTlsError(ec));
}

}  // namespace

// The leaf only is checked: the CA is the trust anchor and intermediates are not used.
Status EnableCrlCheck(ssl::context& ctx, const std::string& path) {
  FEDSEG_RETURN_IF_ERROR(CheckReadable("CRL file", path));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.native_handle());
  ERR_clear_error();
  X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
  if (lookup == nullptr || X509_load_crl_file(lookup, path.c_str(), X509_FILETYPE_PEM) < 1) {
    return Status::InvalidArgument("load CRL file '" + path +
                                   "': no PEM CRL in it (" + TakeOpenSslError() + ")");
  }
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  return Status::OK();
}

namespace {

// Settings common to both ends: TLS 1.3 only (min = max), no interactive passphrase prompt (an
// encrypted key fails to load instead of blocking a daemon on a terminal), and the CA that peers
// must chain to.
Status ConfigureCommon(ssl::context& ctx, const TlsConfig& config) {
  SSL_CTX* native = ctx.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    return Status::Internal("TLS: this OpenSSL refuses to restrict the protocol to TLS 1.3");
  }
  boost::system::error_code ec;
  ctx.set_password_callback(
      [](std::size_t, ssl::context::password_purpose) { return std::string(); }, ec);
  if (ec) return Status::Internal("TLS: set password callback: " + DescribeTlsError(ec));

  FEDSEG_RETURN_IF_ERROR(CheckReadable("CA file", config.ca_file));
  ctx.load_verify_file(config.ca_file, ec);
  if (ec) return LoadError("CA file", config.ca_file, ec);
  // A host name is matched against the subjectAltName only, never the subject CN: a CA-issued
  // region certificate whose CN happens to be "localhost" must not pass for the coordinator.
  X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(native), X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  return Status::OK();
}

Status LoadIdentity(ssl::context& ctx, const TlsConfig& config) {
  FEDSEG_RETURN_IF_ERROR(CheckReadable("certificate file", config.cert_file));
  FEDSEG_RETURN_IF_ERROR(CheckReadable("key file", config.key_file));
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(config.cert_file, ec);
  if (ec) return LoadError("certificate file", config.cert_file, ec);
  ctx.use_private_key_file(config.key_file, ssl::context::pem, ec);
  if (ec) return LoadError("key file", config.key_file, ec);
  ERR_clear_error();
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    const std::string reason = OpenSslReason(ERR_get_error());
    return Status::InvalidArgument("key file '" + config.key_file +
                                   "' does not match certificate '" + config.cert_file +
                                   "': " + reason);
  }
  return Status::OK();
}

// Asio's context constructor throws when OpenSSL cannot allocate a context; errors are values here.
Result<std::shared_ptr<ssl::context>> NewContext(ssl::context::method method) {
  try {
    return std::make_shared<ssl::context>(method);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("TLS: cannot create an OpenSSL context: ") + e.what());
  }
}

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeServerTlsContext(const TlsConfig& config) {
  FEDSEG_ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> ctx, NewContext(ssl::context::tls_server));
  FEDSEG_RETURN_IF_ERROR(ConfigureCommon(*ctx, config));
  FEDSEG_RETURN_IF_ERROR(LoadIdentity(*ctx, config));
  SSL_CTX* native = ctx->native_handle();

  boost::system::error_code ec;
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  if (ec) return Status::Internal("TLS: set verify mode: " + DescribeTlsError(ec));

  // Advertise the CA in the CertificateRequest so a client holding several certificates picks the
  // federation's one.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.ca_file.c_str());
  if (names == nullptr) {
    ERR_clear_error();
    return Status::InvalidArgument("CA file '" + config.ca_file + "' holds no CA certificate");
  }
  SSL_CTX_set_client_CA_list(native, names);  // takes ownership

  // No resumption: regions hold one long connection each, and without tickets or a cache a client
  // certificate is always verified in full.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 0);
  // A coordinator holds one connection per region, idle while the region trains: let OpenSSL free
  // a connection's read and write buffers (~34 KiB) between records instead of keeping them for
  // the connection's life.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

Result<std::shared_ptr<ssl::context>> MakeClientTlsContext(const TlsConfig& config) {
  FEDSEG_ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> ctx, NewContext(ssl::context::tls_client));
  FEDSEG_RETURN_IF_ERROR(ConfigureCommon(*ctx, config));
  if (!config.cert_file.empty() || !config.key_file.empty()) {
    FEDSEG_RETURN_IF_ERROR(LoadIdentity(*ctx, config));
  }
  boost::system::error_code ec;
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (ec) return Status::Internal("TLS: set verify mode: " + DescribeTlsError(ec));
  return ctx;
}

std::string PeerVerifyFailure::reason() const {
  if (!note.empty()) return note;
  return X509_verify_cert_error_string(x509_error);
}

std::string SpkiSha256Hex(X509* cert) {
  if (cert == nullptr) return "";
  unsigned char* der = nullptr;
  const int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (length <= 0) return "";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(length), digest);
  OPENSSL_free(der);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : digest) {
    hex += kHex[b >> 4];
    hex += kHex[b & 0xf];
  }
  return hex;
}

bool RecordingVerifyCallback::operator()(bool preverified,
                                         boost::asio::ssl::verify_context& ctx) const {
  X509_STORE_CTX* store = ctx.native_handle();
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  const int depth = X509_STORE_CTX_get_error_depth(store);
  std::string note;
  if (preverified && depth == 0 && cert != nullptr) {
    // OpenSSL's purpose check lets a certificate without extendedKeyUsage act in any role; a
    // peer must say which role its certificate is for.
    auto* ssl = static_cast<SSL*>(
        X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    const bool we_are_server = ssl != nullptr && SSL_is_server(ssl) == 1;
    const uint32_t wanted = we_are_server ? XKU_SSL_CLIENT : XKU_SSL_SERVER;
    const bool has_eku = (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) != 0;
    if (!has_eku || (X509_get_extended_key_usage(cert) & wanted) == 0) {
      preverified = false;
      X509_STORE_CTX_set_error(store, X509_V_ERR_INVALID_PURPOSE);
      note = std::string("certificate lacks the ") + (we_are_server ? "clientAuth" : "serverAuth") +
             " extended key usage";
    }
  }
  if (preverified || record_ == nullptr || record_->failed()) return preverified;
  record_->x509_error = X509_STORE_CTX_get_error(store);
  record_->depth = depth;
  record_->note = std::move(note);
  if (cert != nullptr) {
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
    record_->subject = buf;
  }
  return false;
}

bool IsCleanClose(const boost::system::error_code& ec) {
  return ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated;
}

std::string DescribeTlsError(const boost::system::error_code& ec) {
  if (ec == boost::asio::ssl::error::stream_truncated) {
    return "connection closed without TLS close_notify";
  }
  if (ec == boost::asio::error::eof) return "connection closed by peer";
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    return OpenSslReason(static_cast<unsigned long>(ec.value()));
  }
  return ec.message();
}

bool IsPeerTlsAlert(const boost::system::error_code& ec) {
  if (ec.category() != boost::asio::error::get_ssl_category()) return false;
  const auto code = static_cast<unsigned long>(ec.value());
  return ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) >= SSL_AD_REASON_OFFSET;
}

std::string DescribeHandshakeError(const boost::system::error_code& ec,
                                   const PeerVerifyFailure& record) {
  if (record.failed()) return "certificate verify failed (" + record.reason() + ")";
  return DescribeTlsError(ec);
}

}  // namespace fedseg::net
