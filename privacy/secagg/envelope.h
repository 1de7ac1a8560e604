// AES-256-GCM envelopes for what one region sends another through the coordinator (its Shamir
// shares): confidential and authenticated end to end, bound by associated data to the round and to
// the sender and recipient, so the coordinator can neither read a share nor move it between rounds
// or recipients unnoticed.
//
// Layout: a 12-byte random nonce, the ciphertext, the 16-byte tag. Each key (derived per round and
// per pair, key_agreement.h) seals one envelope, so random nonces never repeat under one key.
#ifndef FEDSEG_PRIVACY_SECAGG_ENVELOPE_H_
#define FEDSEG_PRIVACY_SECAGG_ENVELOPE_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "privacy/secagg/key_agreement.h"
#include "privacy/secagg/random_bytes.h"

namespace fedseg::privacy::secagg {

inline constexpr size_t kEnvelopeOverhead = 12 + 16;

Result<std::vector<uint8_t>> SealEnvelope(const SymmetricKey& key, std::string_view associated_data,
                                          std::span<const uint8_t> plaintext,
                                          const RandomBytes& random);

// The plaintext, or Corruption when the envelope was altered, truncated, or sealed under another
// key or other associated data.
Result<std::vector<uint8_t>> OpenEnvelope(const SymmetricKey& key, std::string_view associated_data,
                                          std::span<const uint8_t> envelope);

}  // namespace fedseg::privacy::secagg

#endif  // FEDSEG_PRIVACY_SECAGG_ENVELOPE_H_
