// The masks of secure aggregation: a 256-bit seed expanded by AES-256-CTR (a PRG whose output is
// indistinguishable from uniform to anyone without the seed) into 32-bit words, added to or
// subtracted from a vector in the ring Z/2^32. Two regions that derive the same pairwise seed add
// and subtract the same words, so their masks cancel exactly in the sum; a self mask is removed by
// the coordinator once enough regions reveal its seed's shares.
//
// Each seed keys exactly one expansion (seeds are derived per round and per pair, or drawn fresh
// per round), so the all-zero counter block as IV never repeats under one key.
#ifndef FEDSEG_PRIVACY_SECAGG_MASK_H_
#define FEDSEG_PRIVACY_SECAGG_MASK_H_

#include <cstdint>
#include <span>

#include "common/base/status.h"
#include "privacy/secagg/key_agreement.h"

namespace fedseg::privacy::secagg {

enum class MaskSign { kAdd, kSubtract };

// values[i] += (or -=) word i of the seed's stream, modulo 2^32 (little-endian words).
Status ApplyMask(const SymmetricKey& seed, MaskSign sign, std::span<uint32_t> values);

}  // namespace fedseg::privacy::secagg

#endif  // FEDSEG_PRIVACY_SECAGG_MASK_H_
