#include "privacy/secagg/mask.h"

#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <memory>

#include "common/base/openssl_error.h"
#include "common/base/openssl_ptr.h"

namespace fedseg::privacy::secagg {
namespace {


constexpr size_t kChunkWords = 4096;  // 16 KiB of keystream at a time

}  // namespace

Status ApplyMask(const SymmetricKey& seed, MaskSign sign, std::span<uint32_t> values) {
  // Fetched once, not at every init (each fetch takes OpenSSL's global method-store lock).
  static EVP_CIPHER* const kAesCtr = EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  const std::array<uint8_t, 16> iv{};
  if (!ctx || kAesCtr == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), kAesCtr, nullptr, seed.data(), iv.data()) != 1) {
    return Status::Internal("secure aggregation: AES-256-CTR is not available: " +
                            TakeOpenSslError());
  }
  static const std::array<uint8_t, kChunkWords * 4> kZeros{};
  std::array<uint8_t, kChunkWords * 4> stream;
  for (size_t start = 0; start < values.size(); start += kChunkWords) {
    const size_t words = std::min(kChunkWords, values.size() - start);
    int length = 0;
    if (EVP_EncryptUpdate(ctx.get(), stream.data(), &length, kZeros.data(),
                          static_cast<int>(words * 4)) != 1 ||
        static_cast<size_t>(length) != words * 4) {
      return Status::Internal("secure aggregation: AES-256-CTR failed: " + TakeOpenSslError());
    }
    uint32_t* out = values.data() + start;
    for (size_t i = 0; i < words; ++i) {
      uint32_t word;
      std::memcpy(&word, stream.data() + 4 * i, 4);  // little-endian on every supported target
      out[i] = sign == MaskSign::kAdd ? out[i] + word : out[i] - word;
    }
  }
  return Status::OK();
}

}  // namespace fedseg::privacy::secagg
