// The plaintext of a share envelope: the holder's evaluation point and its shares of the owner's
// mask private key and self-mask seed (32 bytes each, 5 limbs), as 11 little-endian uint64 words.
#ifndef FEDSEG_PRIVACY_SECAGG_INTERNAL_SHARE_PLAINTEXT_H_
#define FEDSEG_PRIVACY_SECAGG_INTERNAL_SHARE_PLAINTEXT_H_

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/status.h"
#include "privacy/secagg/shamir.h"

namespace fedseg::privacy::secagg::internal {

inline constexpr size_t kSecretSize = 32;

std::vector<uint8_t> EncodeSharePlaintext(const ShamirShare& mask_key,
                                          const ShamirShare& self_mask);
// Fails on a wrong size or differing points.
Status DecodeSharePlaintext(std::span<const uint8_t> bytes, ShamirShare& mask_key,
                            ShamirShare& self_mask);

}  // namespace fedseg::privacy::secagg::internal

#endif  // FEDSEG_PRIVACY_SECAGG_INTERNAL_SHARE_PLAINTEXT_H_
