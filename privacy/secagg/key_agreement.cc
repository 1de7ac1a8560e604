#include "privacy/secagg/key_agreement.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>
#include <string>

#include "common/base/openssl_error.h"
#include "common/base/openssl_ptr.h"

namespace fedseg::privacy::secagg {
namespace {


Status Fail(std::string what) {
  return Status::Internal("secure aggregation: " + what + ": " + TakeOpenSslError());
}

Result<EvpPkeyPtr> PrivateKey(const X25519Key& key) {
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, key.data(), key.size()));
  if (!pkey) return Fail("cannot load an X25519 private key");
  return pkey;
}

}  // namespace

Result<X25519KeyPair> GenerateX25519KeyPair(const RandomBytes& random) {
  X25519KeyPair pair;
  FEDSEG_RETURN_IF_ERROR(random(pair.private_key));
  FEDSEG_ASSIGN_OR_RETURN(pair.public_key, X25519PublicKey(pair.private_key));
  return pair;
}

Result<X25519Key> X25519PublicKey(const X25519Key& private_key) {
  FEDSEG_ASSIGN_OR_RETURN(EvpPkeyPtr pkey, PrivateKey(private_key));
  X25519Key public_key{};
  size_t length = public_key.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), public_key.data(), &length) != 1 ||
      length != public_key.size()) {
    return Fail("cannot compute an X25519 public key");
  }
  return public_key;
}

Result<SymmetricKey> DeriveSharedKey(const X25519Key& private_key, const X25519Key& peer_public_key,
                                     std::string_view label) {
  FEDSEG_ASSIGN_OR_RETURN(X25519Agreement agreement, X25519Agreement::Create(private_key));
  return agreement.Derive(peer_public_key, label);
}

Result<X25519Agreement> X25519Agreement::Create(const X25519Key& private_key) {
  FEDSEG_ASSIGN_OR_RETURN(EvpPkeyPtr pkey, PrivateKey(private_key));
  return X25519Agreement(std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free));
}

Result<SymmetricKey> X25519Agreement::Derive(const X25519Key& peer_public_key,
                                             std::string_view label) const {
  FEDSEG_ASSIGN_OR_RETURN(X25519Key shared, SharedSecret(peer_public_key));
  Result<SymmetricKey> key = Hkdf(shared, label);
  OPENSSL_cleanse(shared.data(), shared.size());
  return key;
}

Result<std::array<SymmetricKey, 2>> X25519Agreement::Derive(const X25519Key& peer_public_key,
                                                            std::string_view first_label,
                                                            std::string_view second_label) const {
  FEDSEG_ASSIGN_OR_RETURN(X25519Key shared, SharedSecret(peer_public_key));
  Result<SymmetricKey> first = Hkdf(shared, first_label);
  Result<SymmetricKey> second = Hkdf(shared, second_label);
  OPENSSL_cleanse(shared.data(), shared.size());
  if (!first.ok()) return first.status();
  if (!second.ok()) return second.status();
  return std::array<SymmetricKey, 2>{*first, *second};
}

Result<X25519Key> X25519Agreement::SharedSecret(const X25519Key& peer_public_key) const {
  EvpPkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public_key.data(),
                                              peer_public_key.size()));
  if (!peer) return Fail("cannot load a peer's X25519 public key");
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
  X25519Key shared{};
  size_t length = shared.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared.data(), &length) != 1 || length != shared.size()) {
    // OpenSSL refuses an all-zero result (a small-order peer key) here.
    return Status::InvalidArgument(
        "secure aggregation: X25519 with the peer's public key failed "
        "(a small-order or malformed key?): " +
        TakeOpenSslError());
  }
  return shared;
}

Result<SymmetricKey> X25519Agreement::Hkdf(const X25519Key& shared, std::string_view label) {
  // Fetched once: each fetch takes OpenSSL's global method-store lock, and a round does thousands.
  static EVP_KDF* const kHkdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EvpKdfCtxPtr kctx(kHkdf ? EVP_KDF_CTX_new(kHkdf) : nullptr);
  if (!kctx) return Fail("HKDF is not available");
  char digest[] = "SHA256";
  X25519Key ikm = shared;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm.data(), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(label.data()),
                                        label.size()),
      OSSL_PARAM_construct_end()};
  SymmetricKey key{};
  const int rc = EVP_KDF_derive(kctx.get(), key.data(), key.size(), params);
  OPENSSL_cleanse(ikm.data(), ikm.size());
  if (rc != 1) return Fail("HKDF-SHA-256 failed");
  return key;
}

}  // namespace fedseg::privacy::secagg
