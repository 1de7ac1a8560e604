// Owning pointers to OpenSSL objects: one deleter for every library that holds them.
#ifndef FEDSEG_COMMON_BASE_OPENSSL_PTR_H_
#define FEDSEG_COMMON_BASE_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>

#include <memory>

namespace fedseg {

// Calls OpenSSL's `FreeFn` (which accepts null) on the held pointer.
template <auto FreeFn>
struct OpenSslFree {
  template <class T>
  void operator()(T* p) const {
    FreeFn(p);
  }
};

template <class T, auto FreeFn>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree<FreeFn>>;

using BioPtr = OpenSslPtr<BIO, BIO_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;
using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EvpCipherCtxPtr = OpenSslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using EvpKdfPtr = OpenSslPtr<EVP_KDF, EVP_KDF_free>;
using EvpKdfCtxPtr = OpenSslPtr<EVP_KDF_CTX, EVP_KDF_CTX_free>;

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_OPENSSL_PTR_H_
