#include "common/net/identity_signature.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>

#include "common/base/openssl_error.h"
#include "common/net/tls.h"
#include "common/net/x509_identity.h"

namespace fedseg::net {
namespace {

struct SigBioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct SigPkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct SigX509Free {
  void operator()(X509* c) const { X509_free(c); }
};
struct SigStoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct SigStoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct SigMdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using SigX509Ptr = std::unique_ptr<X509, SigX509Free>;

Result<SigX509Ptr> ParseCertificatePem(std::string_view pem, const std::string& where) {
  std::unique_ptr<BIO, SigBioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  SigX509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return Status::InvalidArgument(where + ": not a PEM certificate: " + TakeOpenSslError());
  }
  return cert;
}

}  // namespace

Result<std::string> SignWithKeyFile(const std::string& key_file, std::string_view message) {
  std::unique_ptr<BIO, SigBioFree> bio(BIO_new_file(key_file.c_str(), "r"));
  if (!bio) return Status::NotFound("cannot read the identity key " + key_file);
  std::unique_ptr<EVP_PKEY, SigPkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return Status::InvalidArgument(key_file + ": not a PEM private key: " + TakeOpenSslError());
  }
  std::unique_ptr<EVP_MD_CTX, SigMdCtxFree> ctx(EVP_MD_CTX_new());
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return Status::Internal("signing with " + key_file + ": " + TakeOpenSslError());
  }
  std::string sig(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return Status::Internal("signing with " + key_file + ": " + TakeOpenSslError());
  }
  sig.resize(length);
  return sig;
}

Result<std::string> ReadCertificatePem(const std::string& path) {
  std::unique_ptr<BIO, SigBioFree> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return Status::NotFound("cannot read the certificate " + path);
  SigX509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Status::InvalidArgument(path + ": not a PEM certificate");
  std::unique_ptr<BIO, SigBioFree> out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), cert.get()) != 1) {
    return Status::Internal("cannot encode " + path + ": " + TakeOpenSslError());
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> CertificatePemSpkiSha256(std::string_view cert_pem) {
  FEDSEG_ASSIGN_OR_RETURN(SigX509Ptr cert, ParseCertificatePem(cert_pem, "certificate"));
  return SpkiSha256Hex(cert.get());
}

Status VerifyIdentitySignature(const std::string& ca_file, std::string_view cert_pem,
                               const std::string& identity, std::string_view message,
                               std::string_view signature) {
  FEDSEG_ASSIGN_OR_RETURN(IdentityVerifier verifier, IdentityVerifier::Create(ca_file));
  return verifier.Verify(cert_pem, identity, message, signature);
}

Result<IdentityVerifier> IdentityVerifier::Create(const std::string& ca_file) {
  std::shared_ptr<X509_STORE> store(X509_STORE_new(), SigStoreFree());
  if (!store || X509_STORE_load_file(store.get(), ca_file.c_str()) != 1) {
    return Status::NotFound("cannot load the federation CA " + ca_file + ": " + TakeOpenSslError());
  }
  return IdentityVerifier(std::move(store));
}

Result<const IdentityVerifier::Checked*> IdentityVerifier::Check(std::string_view cert_pem,
                                                                 const std::string& identity) {
  const std::string where = "the certificate of '" + identity + "'";
  const auto now = std::chrono::steady_clock::now();
  Digest digest{};
  SHA256(reinterpret_cast<const unsigned char*>(cert_pem.data()), cert_pem.size(), digest.data());
  auto it = checked_.find(digest);
  if (it == checked_.end() || now >= it->second.until) {
    if (it != checked_.end()) {
      checked_.erase(it);
      it = checked_.end();
    }
    FEDSEG_ASSIGN_OR_RETURN(SigX509Ptr cert, ParseCertificatePem(cert_pem, where));
    std::unique_ptr<X509_STORE_CTX, SigStoreCtxFree> ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store_.get(), cert.get(), nullptr) != 1) {
      return Status::Internal("X509_STORE_CTX_init failed");
    }
    if (X509_verify_cert(ctx.get()) != 1) {
      return Status::PermissionDenied(
          where + " does not verify against the federation CA: " +
          X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
    }
    Checked c;
    FEDSEG_ASSIGN_OR_RETURN(c.cn, CommonName(cert.get(), where));
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    if (key == nullptr || EVP_PKEY_up_ref(key) != 1) {
      return Status::Internal("no public key in " + where + ": " + TakeOpenSslError());
    }
    c.key = std::shared_ptr<EVP_PKEY>(key, SigPkeyFree());
    // Remembered for a day at most, and never past the certificate's notAfter.
    int days = 0, secs = 0;
    std::chrono::seconds left(86400);
    if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert.get())) == 1) {
      left = std::min(left, std::chrono::seconds(int64_t{days} * 86400 + secs));
    } else {
      left = std::chrono::seconds(0);
    }
    c.until = now + left;
    // Bounded, the oldest first. order_ may name a digest twice (an entry checked again once it
    // expired) or one already gone: forgetting an entry early only costs another check.
    while (checked_.size() >= kMaxRemembered || order_.size() >= 2 * kMaxRemembered) {
      checked_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(digest);
    it = checked_.insert_or_assign(digest, std::move(c)).first;
  }
  if (it->second.cn != identity) {
    return Status::PermissionDenied(where + " is issued to '" + it->second.cn + "'");
  }
  return &it->second;
}

Status IdentityVerifier::Verify(std::string_view cert_pem, const std::string& identity,
                                std::string_view message, std::string_view signature) {
  FEDSEG_ASSIGN_OR_RETURN(const Checked* checked, Check(cert_pem, identity));
  EVP_PKEY* key = checked->key.get();
  std::unique_ptr<EVP_MD_CTX, SigMdCtxFree> md(EVP_MD_CTX_new());
  if (key == nullptr || !md ||
      EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return Status::Internal("cannot verify signatures of '" + identity +
                            "': " + TakeOpenSslError());
  }
  if (EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1) {
    TakeOpenSslError();
    return Status::PermissionDenied("the signature of '" + identity +
                                    "' does not verify under its certificate");
  }
  return Status::OK();
}

}  // namespace fedseg::net
