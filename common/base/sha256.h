// SHA-256 (OpenSSL EVP) for model-file checksums, model hashes in the ledger and its hash chain.
#ifndef FEDSEG_COMMON_BASE_SHA256_H_
#define FEDSEG_COMMON_BASE_SHA256_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace fedseg {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::string_view data);
std::string ToHex(const uint8_t* data, size_t n);
inline std::string Sha256Hex(std::string_view data) {
  Sha256Digest d = Sha256(data);
  return ToHex(d.data(), d.size());
}
// True iff `s` is what Sha256Hex returns: exactly 64 lowercase hex digits.
bool IsSha256Hex(std::string_view s);

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_SHA256_H_
