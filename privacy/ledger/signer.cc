#include "privacy/ledger/signer.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <optional>

#include "common/base/base64.h"
#include "common/base/file_util.h"
#include "common/base/openssl_error.h"
#include "common/base/openssl_ptr.h"
#include "common/net/x509_identity.h"

namespace fedseg::privacy {

namespace {

// Never prompt on the terminal for a passphrase: an encrypted key simply fails to load.
int NoPassword(char*, int, int, void*) { return 0; }

// The padding rule of the format: ECDSA needs none; RSA keys sign with PSS, salt = digest length
// (32 bytes), because PKCS#1 v1.5 has no security proof and PSS with a fixed salt length is what
// `openssl dgst -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest` verifies.
Status ConfigureSignature(EVP_PKEY* key, EVP_PKEY_CTX* pctx) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC) return Status::OK();
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0) {
      return Status::Internal("setting RSA-PSS parameters: " + TakeOpenSslError());
    }
    return Status::OK();
  }
  return Status::InvalidArgument(std::string("unsupported key type ") + OBJ_nid2sn(id) +
                                 " (the ledger signs with EC or RSA keys)");
}

}  // namespace

Result<PkeyPtr> LoadLedgerPrivateKey(const std::string& path) {
  FEDSEG_ASSIGN_OR_RETURN(std::string pem, ReadFile(path, 1 << 20));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf: " + TakeOpenSslError());
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (!key) {
    return Status::InvalidArgument(path + " is not an unencrypted PEM private key (" +
                                   TakeOpenSslError() + ")");
  }
  return key;
}

Result<LedgerCertificate> ParseLedgerCertificate(std::string_view pem, const std::string& path) {
  if (pem.size() > (1 << 20)) {
    return Status::InvalidArgument(path + " is larger than 1 MiB: not a PEM certificate");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf: " + TakeOpenSslError());
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr));
  if (!cert) {
    return Status::InvalidArgument(path + " is not a PEM certificate (" + TakeOpenSslError() + ")");
  }
  LedgerCertificate out;
  out.public_key.reset(X509_get_pubkey(cert.get()));
  if (!out.public_key) {
    return Status::InvalidArgument(path + ": unreadable public key (" + TakeOpenSslError() + ")");
  }
  FEDSEG_ASSIGN_OR_RETURN(out.common_name, net::CommonName(cert.get(), path));
  return out;
}

Result<LedgerCertificate> LoadLedgerCertificate(const std::string& path) {
  FEDSEG_ASSIGN_OR_RETURN(std::string pem, ReadFile(path, 1 << 20));
  return ParseLedgerCertificate(pem, path);
}

Status CheckLedgerKeyType(EVP_PKEY* key, const std::string& path) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC || id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) return Status::OK();
  return Status::InvalidArgument(path + ": unsupported key type " + OBJ_nid2sn(id) +
                                 " (the ledger signs with EC or RSA keys)");
}

Result<std::string> SignLedgerHash(EVP_PKEY* key, const std::string& hash_hex,
                                   std::string_view context) {
  std::string signed_bytes(context);
  signed_bytes += hash_hex;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) != 1) {
    return Status::Internal("EVP_DigestSignInit: " + TakeOpenSslError());
  }
  FEDSEG_RETURN_IF_ERROR(ConfigureSignature(key, pctx));
  const auto* msg = reinterpret_cast<const unsigned char*>(signed_bytes.data());
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, msg, signed_bytes.size()) != 1) {
    return Status::Internal("EVP_DigestSign: " + TakeOpenSslError());
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, msg,
                     signed_bytes.size()) != 1) {
    return Status::Internal("EVP_DigestSign: " + TakeOpenSslError());
  }
  sig.resize(len);
  return Base64Encode(sig);
}

bool VerifyLedgerHashSignature(EVP_PKEY* key, const std::string& hash_hex,
                               const std::string& signature, std::string_view context) {
  std::string signed_bytes(context);
  signed_bytes += hash_hex;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) == 1 &&
            ConfigureSignature(key, pctx).ok() &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(),
                             reinterpret_cast<const unsigned char*>(signed_bytes.data()),
                             signed_bytes.size()) == 1;
  ERR_clear_error();  // a bad signature leaves reasons in the queue; the caller reports its own
  return ok;
}

Result<std::string> GenerateLedgerKeyPem() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Status::Internal("generating an EC P-256 key: " + TakeOpenSslError());
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Status::Internal("encoding the ledger key: " + TakeOpenSslError());
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<size_t>(len));
  OPENSSL_cleanse(data, static_cast<size_t>(len));
  return pem;
}

Result<std::string> LedgerPublicKeyBase64(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return Status::Internal("encoding a public key: " + TakeOpenSslError());
  std::string out = Base64Encode(std::string_view(reinterpret_cast<const char*>(der), len));
  OPENSSL_free(der);
  return out;
}

Result<PkeyPtr> ParseLedgerPublicKey(std::string_view base64) {
  const std::optional<std::string> der = Base64Decode(base64);
  if (!der || der->empty() || der->size() > 4096) {
    return Status::InvalidArgument("public_key must be standard base64 of a DER public key");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der->size())));
  if (!key || p != reinterpret_cast<const unsigned char*>(der->data()) + der->size()) {
    ERR_clear_error();
    return Status::InvalidArgument("public_key is not a DER SubjectPublicKeyInfo");
  }
  FEDSEG_RETURN_IF_ERROR(CheckLedgerKeyType(key.get(), "public_key"));
  return key;
}

bool SameLedgerKey(EVP_PKEY* a, EVP_PKEY* b) {
  const bool same = EVP_PKEY_eq(a, b) == 1;
  ERR_clear_error();
  return same;
}

}  // namespace fedseg::privacy
