// Where secure aggregation gets its randomness: OpenSSL's private CSPRNG in production, a
// replaceable function in tests (the protocol's correctness does not depend on the values, only its
// secrecy does, so tests may pin them).
#ifndef FEDSEG_PRIVACY_SECAGG_RANDOM_BYTES_H_
#define FEDSEG_PRIVACY_SECAGG_RANDOM_BYTES_H_

#include <cstdint>
#include <functional>
#include <span>

#include "common/base/status.h"

namespace fedseg::privacy::secagg {

// Fills `out` with random bytes, or fails (never leaves `out` half-random and reports OK).
using RandomBytes = std::function<Status(std::span<uint8_t> out)>;

// RAND_priv_bytes: the generator every production caller uses.
RandomBytes SecureRandomBytes();

// A uniform 64-bit value from `random`.
Result<uint64_t> RandomUint64(const RandomBytes& random);

}  // namespace fedseg::privacy::secagg

#endif  // FEDSEG_PRIVACY_SECAGG_RANDOM_BYTES_H_
