#include "common/net/x509_identity.h"

#include <openssl/pem.h>

#include <memory>

#include "common/base/file_util.h"
#include "common/base/openssl_error.h"
#include "common/base/openssl_ptr.h"

namespace fedseg::net {
namespace {


// Never prompt on the terminal for a passphrase.
int NoPassword(char*, int, int, void*) { return 0; }

}  // namespace

Result<std::string> CommonName(X509* cert, std::string_view where) {
  const std::string at(where);
  if (cert == nullptr) return Status::InvalidArgument(at + ": no certificate");
  X509_NAME* subject = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return Status::InvalidArgument(at + " has no subject common name");
  unsigned char* utf8 = nullptr;
  const int length =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
  if (length < 0) return Status::InvalidArgument(at + ": unreadable subject common name");
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  if (cn.empty()) return Status::InvalidArgument(at + " has an empty subject common name");
  if (cn.find('\0') != std::string::npos) {
    return Status::InvalidArgument(at + ": subject common name holds a NUL byte");
  }
  return cn;
}

Result<std::string> CertificateFileCommonName(const std::string& path) {
  FEDSEG_ASSIGN_OR_RETURN(std::string pem, ReadFile(path, 1 << 20));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf: " + TakeOpenSslError());
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr));
  if (!cert) {
    return Status::InvalidArgument(path + " is not a PEM certificate (" + TakeOpenSslError() +
                                   ")");
  }
  return CommonName(cert.get(), path);
}

std::string PeerCommonName(SSL* ssl) {
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return "";
  Result<std::string> cn = CommonName(SSL_get0_peer_certificate(ssl), "peer certificate");
  return cn.ok() ? std::move(cn).value() : "";
}

}  // namespace fedseg::net
