// X25519 key pairs and the keys two parties derive from them: X25519 (RFC 7748) followed by
// HKDF-SHA-256 (RFC 5869) with a context label, so one Diffie-Hellman secret never keys two
// purposes (the pairwise mask seed and the share envelope use different labels, and the labels
// carry the round and the two parties' names).
#ifndef FEDSEG_PRIVACY_SECAGG_KEY_AGREEMENT_H_
#define FEDSEG_PRIVACY_SECAGG_KEY_AGREEMENT_H_

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "common/base/status.h"
#include "privacy/secagg/random_bytes.h"

namespace fedseg::privacy::secagg {

inline constexpr size_t kX25519KeySize = 32;
using X25519Key = std::array<uint8_t, kX25519KeySize>;
// A 256-bit symmetric key (AES-256, a mask seed).
using SymmetricKey = std::array<uint8_t, 32>;

struct X25519KeyPair {
  X25519Key private_key{};  // kept by its owner; Shamir-shared for the mask key pair
  X25519Key public_key{};
};

// A fresh key pair: 32 bytes from `random` as the private scalar (clamped by X25519 itself).
Result<X25519KeyPair> GenerateX25519KeyPair(const RandomBytes& random);

// The public key of `private_key` (to check a reconstructed private key against the one announced).
Result<X25519Key> X25519PublicKey(const X25519Key& private_key);

// HKDF-SHA-256(IKM = X25519(private_key, peer_public_key), salt = none, info = `label`). Fails on a
// peer key of small order (an all-zero shared secret, RFC 7748 section 6.1).
Result<SymmetricKey> DeriveSharedKey(const X25519Key& private_key, const X25519Key& peer_public_key,
                                     std::string_view label);

// One private key loaded once for many agreements. Loading an X25519 private key into OpenSSL
// computes its public key, a scalar multiplication as costly as the agreement itself, so a party
// agreeing keys with each of its neighbours loads its own key once (fedseg_secagg_bench: this
// halved the X25519 work of a round). Copies share the loaded key, which OpenSSL wipes when the
// last one goes.
class X25519Agreement {
 public:
  static Result<X25519Agreement> Create(const X25519Key& private_key);
  // DeriveSharedKey(private_key, peer_public_key, label).
  Result<SymmetricKey> Derive(const X25519Key& peer_public_key, std::string_view label) const;
  // Derive for each of two labels from one X25519 computation: the same keys as two calls, for
  // half the scalar multiplications (a region seals its shares to a neighbour and opens the
  // neighbour's with keys of the same pair of envelope keys, under different labels).
  Result<std::array<SymmetricKey, 2>> Derive(const X25519Key& peer_public_key,
                                             std::string_view first_label,
                                             std::string_view second_label) const;

 private:
  explicit X25519Agreement(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  Result<X25519Key> SharedSecret(const X25519Key& peer_public_key) const;
  static Result<SymmetricKey> Hkdf(const X25519Key& shared, std::string_view label);
  std::shared_ptr<EVP_PKEY> key_;
};

}  // namespace fedseg::privacy::secagg

#endif  // FEDSEG_PRIVACY_SECAGG_KEY_AGREEMENT_H_
