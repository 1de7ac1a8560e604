#include "privacy/secagg/envelope.h"

#include <openssl/evp.h>

#include <climits>
#include <memory>
#include <string>

#include "common/base/openssl_error.h"
#include "common/base/openssl_ptr.h"

namespace fedseg::privacy::secagg {
namespace {

// Fetched once, not at every init (each fetch takes OpenSSL's global method-store lock).
const EVP_CIPHER* AesGcm() {
  static EVP_CIPHER* const kAesGcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return kAesGcm;
}

constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
// Envelopes carry shares (a few hundred bytes); the bound keeps int conversions exact.
constexpr size_t kMaxPlaintext = size_t{1} << 30;


}  // namespace

Result<std::vector<uint8_t>> SealEnvelope(const SymmetricKey& key, std::string_view associated_data,
                                          std::span<const uint8_t> plaintext,
                                          const RandomBytes& random) {
  if (plaintext.size() > kMaxPlaintext || associated_data.size() > INT_MAX) {
    return Status::InvalidArgument("secure aggregation: envelope of " +
                                   std::to_string(plaintext.size()) + " bytes is too large");
  }
  std::vector<uint8_t> out(kNonceSize + plaintext.size() + kTagSize);
  FEDSEG_RETURN_IF_ERROR(random(std::span<uint8_t>(out.data(), kNonceSize)));
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), AesGcm(), nullptr, key.data(), out.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length,
                        reinterpret_cast<const uint8_t*>(associated_data.data()),
                        static_cast<int>(associated_data.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data() + kNonceSize, &length, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + kNonceSize + length, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                          out.data() + kNonceSize + plaintext.size()) != 1) {
    return Status::Internal("secure aggregation: AES-256-GCM sealing failed: " +
                            TakeOpenSslError());
  }
  return out;
}

Result<std::vector<uint8_t>> OpenEnvelope(const SymmetricKey& key, std::string_view associated_data,
                                          std::span<const uint8_t> envelope) {
  if (envelope.size() < kEnvelopeOverhead || envelope.size() - kEnvelopeOverhead > kMaxPlaintext ||
      associated_data.size() > INT_MAX) {
    return Status::Corruption("secure aggregation: envelope of " + std::to_string(envelope.size()) +
                              " bytes has an impossible size");
  }
  const size_t text = envelope.size() - kEnvelopeOverhead;
  std::vector<uint8_t> plaintext(text);
  std::vector<uint8_t> tag(envelope.end() - kTagSize, envelope.end());
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), AesGcm(), nullptr, key.data(), envelope.data()) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &length,
                        reinterpret_cast<const uint8_t*>(associated_data.data()),
                        static_cast<int>(associated_data.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), plaintext.data(), &length, envelope.data() + kNonceSize,
                        static_cast<int>(text)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), plaintext.data() + length, &length) != 1) {
    TakeOpenSslError();  // GCM tag failures leave no useful reason; drop the queue
    return Status::Corruption(
        "secure aggregation: envelope failed authentication (altered, or sealed for another "
        "round, sender or recipient)");
  }
  return plaintext;
}

}  // namespace fedseg::privacy::secagg
