#include "privacy/secagg/internal/share_plaintext.h"

#include <cstring>
#include <string>

namespace fedseg::privacy::secagg::internal {
namespace {

void Put(std::vector<uint8_t>& out, uint64_t v) {
  for (int b = 0; b < 8; ++b) out.push_back(static_cast<uint8_t>(v >> (8 * b)));
}
uint64_t Get(std::span<const uint8_t> bytes, size_t word) {
  uint64_t v = 0;
  for (int b = 0; b < 8; ++b) v |= uint64_t{bytes[word * 8 + b]} << (8 * b);
  return v;
}

}  // namespace

std::vector<uint8_t> EncodeSharePlaintext(const ShamirShare& mask_key,
                                          const ShamirShare& self_mask) {
  std::vector<uint8_t> out;
  out.reserve(8 * (1 + mask_key.y.size() + self_mask.y.size()));
  Put(out, mask_key.x);
  for (uint64_t y : mask_key.y) Put(out, y);
  for (uint64_t y : self_mask.y) Put(out, y);
  return out;
}

Status DecodeSharePlaintext(std::span<const uint8_t> bytes, ShamirShare& mask_key,
                            ShamirShare& self_mask) {
  const size_t limbs = ShamirLimbCount(kSecretSize);
  if (bytes.size() != 8 * (1 + 2 * limbs)) {
    return Status::Corruption("secure aggregation: a share envelope holds " +
                              std::to_string(bytes.size()) + " bytes, expected " +
                              std::to_string(8 * (1 + 2 * limbs)));
  }
  mask_key.x = self_mask.x = Get(bytes, 0);
  mask_key.y.resize(limbs);
  self_mask.y.resize(limbs);
  for (size_t i = 0; i < limbs; ++i) {
    mask_key.y[i] = Get(bytes, 1 + i);
    self_mask.y[i] = Get(bytes, 1 + limbs + i);
  }
  return Status::OK();
}

}  // namespace fedseg::privacy::secagg::internal
